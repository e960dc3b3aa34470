"""`carepolicy lsp` reading what is not a well-formed LSP message: params of the wrong JSON type,
bytes that are not JSON or not UTF-8, JSON that is not a JSON-RPC message. JSON-RPC 2.0 gives each
an answer (InvalidParams -32602, ParseError -32700, InvalidRequest -32600; `id` null when the
message's own id cannot be read), and none of them is the user's to be told about in a popup:
the client that sent it reads the answer.

Driven over stdio (tests/lsp_client.py), with raw bytes where the message is not JSON.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lsp_client import TIMEOUT, LspClient, initialised, told_before_a_request


@pytest.fixture
def client(tmp_path: Path) -> Iterator[LspClient]:
    lsp, _capabilities = initialised(tmp_path)
    yield lsp
    lsp.close()


def send_raw(client: LspClient, body: bytes) -> None:
    stdin = client.process.stdin
    assert stdin is not None
    stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    stdin.flush()


def answer_without_id(client: LspClient) -> dict[str, Any]:
    """The next response whose id is null (the server could not read the message's own id)."""
    with client.lock:
        box = client.responses.setdefault(None, queue.Queue())  # type: ignore[call-overload]
    return box.get(timeout=TIMEOUT)


def popups_after_a_request(client: LspClient, tmp_path: Path) -> list[dict[str, Any]]:
    """The messages shown to the user before the server answered one more request."""
    return [m for m in told_before_a_request(client, tmp_path) if m["method"] == "window/showMessage"]


@pytest.mark.parametrize(
    ("document", "position"),
    [
        ({"uri": 5}, {"line": 0, "character": 0}),
        ({"uri": "file:///p.policy"}, {"line": 0.5, "character": 0}),
        ({"uri": "file:///p.policy"}, {"line": True, "character": 0}),
        ({"uri": "file:///p.policy"}, {"line": 0, "character": "3"}),
        ({"uri": "file:///p.policy"}, {"line": -1, "character": 0}),
    ],
    ids=["uri-number", "line-fraction", "line-boolean", "character-string", "line-negative"],
)
def test_params_of_the_wrong_json_type_are_invalid_params(
    client: LspClient, tmp_path: Path, document: dict[str, Any], position: dict[str, Any]
) -> None:
    """The protocol's integers are JSON integers and its URIs strings. pygls's converter coerced
    them (`int(0.5)`, `int(True)`, `str(5)`) and answered null as if for a real position, so a
    client sending a fraction or a boolean never learnt of its bug. Each request also showed the
    user an `Error in server: Invalid Params` popup although the error was already its answer."""
    for method in ("textDocument/hover", "textDocument/definition", "textDocument/completion"):
        reply = client.reply(method, {"textDocument": document, "position": position})
        assert reply.get("error", {}).get("code") == -32602, (method, reply)
    assert popups_after_a_request(client, tmp_path) == []


@pytest.mark.parametrize(
    "body",
    [b'{"jsonrpc": "2.0", "id": 7, "method": "textDocument/hover",', b'{"jsonrpc": "2.0", "method": "\xff"}'],
    ids=["truncated", "not-utf8"],
)
def test_a_message_that_is_not_json_is_answered_with_parse_error(client: LspClient, tmp_path: Path,
                                                                  body: bytes) -> None:
    """JSON-RPC answers a message it cannot parse with ParseError and a null id; the server
    answered nothing and showed the user the decoder's message (`Expecting property name enclosed
    in double quotes: line 1 column 56`), and the client's request waited for ever."""
    send_raw(client, body)
    reply = answer_without_id(client)
    assert reply["id"] is None, reply
    assert reply["error"]["code"] == -32700, reply
    assert popups_after_a_request(client, tmp_path) == []


@pytest.mark.parametrize(
    ("body", "ident"),
    [
        (b"[1, 2, 3]", None),
        (b'"textDocument/hover"', None),
        (b'{"id": 9, "method": "textDocument/hover", "params": {}}', 9),
        (b'{"jsonrpc": "1.0", "id": 8, "method": "shutdown"}', 8),
    ],
    ids=["batch", "string", "no-jsonrpc", "version-1.0"],
)
def test_json_that_is_not_a_request_is_answered_with_invalid_request(
    client: LspClient, tmp_path: Path, body: bytes, ident: int | None
) -> None:
    """An array (LSP has no batches), a bare value, an object without `"jsonrpc": "2.0"`: each is
    InvalidRequest, with the message's id when it has one. The server showed the user `'list' object
    has no attribute 'jsonrpc'` and left a request with the wrong version unanswered."""
    send_raw(client, body)
    if ident is None:
        reply = answer_without_id(client)
    else:
        with client.lock:
            box = client.responses.setdefault(ident, queue.Queue())
        reply = box.get(timeout=TIMEOUT)
    assert reply["id"] == ident, reply
    assert reply["error"]["code"] == -32600, reply
    assert popups_after_a_request(client, tmp_path) == []


@pytest.mark.parametrize(
    "body",
    [b'{"id": 9999, "result": null}', b'{"jsonrpc": "1.0", "id": 9999, "error": {"code": 1, "message": "no"}}'],
    ids=["no-jsonrpc", "version-1.0"],
)
def test_a_response_that_is_not_json_rpc_is_ignored(client: LspClient, tmp_path: Path, body: bytes) -> None:
    """A response (the client's answer to a request of the server's) is not answered: an
    InvalidRequest with its id would settle the client's own request of that id. The server showed
    the user `'dict' object has no attribute 'jsonrpc'`."""
    send_raw(client, body)
    assert popups_after_a_request(client, tmp_path) == []
    assert 9999 not in client.responses
