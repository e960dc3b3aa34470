"""The service's answers to awkward requests, in process: the app is called as uvicorn calls it.

No server is started (tests/test_service.py has the one over real HTTP): each request is a list of
ASGI messages, so a body cut short, a client that leaves, or the thread a body is decided on can be
set up exactly, with nothing timed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

import carepolicy
from carepolicy.evaluator import Evaluator
from carepolicy.service import app as service_app
from carepolicy.service.limits import ServiceConfig, nesting_depth
from tests.pipeline_data import dumps, mixed_bundles

JSONL = "application/x-ndjson"
VALID = [bundle for bundle in mixed_bundles(3, seed=7) if "colour" not in str(bundle)][:2]


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return carepolicy.load()


class Answer:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages
        starts = [m for m in messages if m["type"] == "http.response.start"]
        self.status: int | None = starts[0]["status"] if starts else None
        self.headers = {k.decode(): v.decode() for k, v in starts[0]["headers"]} if starts else {}
        self.body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.body.splitlines()]


def call(evaluator: Evaluator, body: bytes | list[bytes], media: str | list[str] = "application/json",
         method: str = "POST", path: str = "/v1/decisions", disconnect: bool = False,
         headers: tuple[tuple[str, str], ...] = (), leaves: bool = False, leaves_after: int | None = None,
         config: ServiceConfig | None = None) -> Answer:
    """One request to a fresh app; `body` as one message or as chunks; `media`: the Content-Type
    (a list: one header each); `disconnect`: the client leaves after the chunks, before the body is
    complete; `leaves`: it leaves once the body is sent, before the answer; `leaves_after`: once
    that many pieces of the answer's body have arrived."""
    app = service_app.create_app(evaluator, config or ServiceConfig())
    return asyncio.run(exchange(app, method, path, body, media, disconnect, headers, leaves, leaves_after))


async def exchange(app: Any, method: str, path: str, body: bytes | list[bytes],
                   media: str | list[str] = "application/json", disconnect: bool = False,
                   headers: tuple[tuple[str, str], ...] = (), leaves: bool = False,
                   leaves_after: int | None = None) -> Answer:
    chunks = [body] if isinstance(body, bytes) else body
    incoming: Iterator[dict[str, Any]] = iter(
        [{"type": "http.request", "body": chunk, "more_body": disconnect or i < len(chunks) - 1}
         for i, chunk in enumerate(chunks)]
    )
    sent: list[dict[str, Any]] = []
    answered = asyncio.Event()
    pieces = [0]

    async def receive() -> dict[str, Any]:
        message = next(incoming, None)
        if message is not None:
            return message
        if not (disconnect or leaves):  # as a server does: the client stays until it is answered
            await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            pieces[0] += 1
            if not message.get("more_body") or pieces[0] == leaves_after:
                answered.set()

    path, _, query = path.partition("?")
    version = "1.0" if ("x-test-http-version", "1.0") in headers else "1.1"  # (a header of the test only)
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": query.encode(),
             "root_path": "", "scheme": "http",
             "headers": [(b"content-type", kind.encode()) for kind in ([media] if isinstance(media, str) else media)]
             + [(name.encode(), value.encode()) for name, value in headers],
             "http_version": version, "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1)}
    await app(scope, receive, send)
    return Answer(sent)


def count_decisions(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The bundles Evaluator.decide is given from now on (in this test), in order."""
    decided: list[object] = []
    decide = Evaluator.decide

    def counted(self: Evaluator, item: Any) -> carepolicy.Result:
        decided.append(item)
        return decide(self, item)

    monkeypatch.setattr(Evaluator, "decide", counted)
    return decided


def test_truncated_lines_do_not_add_up_to_a_deep_body(evaluator: Evaluator) -> None:
    """Each JSON line is read alone, so the brackets a cut-off line leaves open close nothing on the
    next: eleven truncated records of depth 3 are eleven error records, not a body `nested deeper
    than 32 levels` refused whole with the valid records around them."""
    cut = b'{"month": "2025-03", "time": [{"minutes": 3\n'
    body = dumps(VALID[0]).encode() + b"\n" + cut * 11 + dumps(VALID[1]).encode() + b"\n"
    answer = call(evaluator, body, JSONL)
    assert answer.status == 422
    lines = answer.lines()
    assert len(lines) == 13
    assert [line.get("bundle_id") for line in (lines[0], lines[-1])] == [VALID[0]["id"], VALID[1]["id"]]
    assert {line["error"][0]["code"] for line in lines[1:-1]} == {"facts/syntax"}


def test_the_depth_of_json_lines_is_that_of_the_deepest_line() -> None:
    assert nesting_depth(b"[[[\n[[[\n", lines=True) == 3
    assert nesting_depth(b"[[[\n[[[\n") == 6  # one JSON document may span lines
    # closing brackets a line has too many of hide nothing that follows
    assert nesting_depth(b"]]]]" + b"[" * 40, lines=True) == 40
    assert nesting_depth(b"]]]]\n" + b"[" * 40) == 40


def test_a_client_that_leaves_mid_body_is_no_internal_error(evaluator: Evaluator) -> None:
    """A client that closes the connection before its body is complete (a timeout on its side) is
    not a bug in carepolicy: no `service/internal` answer, no exception for the server to log as an
    error with a traceback; there is no one left to answer."""
    answer = call(evaluator, [b'{"month": "2025-03", ', b'"beneficiary": '], disconnect=True)
    assert b"service/internal" not in answer.body
    assert answer.status != 500


@pytest.mark.parametrize(("body", "media"), [
    (b'{"month": "2025-03"}\n' * 200, JSONL),
    (b"[" + b",".join([b'{"month": "2025-03"}'] * 200) + b"]", "application/json"),
])
def test_many_records_in_a_small_body_leave_the_health_check_answered(evaluator: Evaluator, body: bytes,
                                                                     media: str) -> None:
    """A body of many bundles is decided off the event loop however few bytes it has: 64 KiB of
    minimal bundles is 3,000 decisions, seconds during which a health check would wait. So a health
    check sent with it is answered first; one bundle is still decided on the loop (no hand-off), so
    it is answered before the health check sent after it."""
    assert len(body) < 64 * 1024
    assert finishing_order(evaluator, body, media) == ["health", "decisions"]
    assert finishing_order(evaluator, b'{"month": "2025-03"}', "application/json") == ["decisions", "health"]
    assert finishing_order(evaluator, b'{"month": "2025-03"}\n', JSONL) == ["decisions", "health"]


def finishing_order(evaluator: Evaluator, body: bytes, media: str) -> list[str]:
    """Which of a decision request and a health check sent just after it is answered first."""
    app = service_app.create_app(evaluator, ServiceConfig())
    finished: list[str] = []

    async def run(name: str, method: str, path: str, sent: bytes, kind: str) -> None:
        await exchange(app, method, path, sent, kind)
        finished.append(name)

    async def both() -> None:
        await asyncio.gather(run("decisions", "POST", "/v1/decisions", body, media),
                             run("health", "GET", "/v1/health", b"", "application/json"))

    asyncio.run(both())
    return finished


@pytest.mark.parametrize(("body", "media"), [
    (b'{"month": "2025-13"}', "application/json"),
    (b'{"month": "2025-13"}\n{"month": "2025-03"}\n', JSONL),
    (b'{"month": "2025-03"}', "application/json"),
    (b'{"month": "2025-03"}\n{"month": "2025-03"}\n', JSONL),
    (b'{"month": "2025-03"}', "text/plain"),
])
def test_the_openapi_document_describes_each_answer(evaluator: Evaluator, body: bytes, media: str) -> None:
    """A client generated from the description must expect the content type each status comes with:
    one bad bundle is answered 422 with one JSON error record (application/json), not JSON Lines."""
    document = json.loads(call(evaluator, b"", method="GET", path="/v1/openapi.json").body)
    answer = call(evaluator, body, media)
    described = document["paths"]["/v1/decisions"]["post"]["responses"][str(answer.status)]
    assert answer.headers["content-type"] in described["content"]


@pytest.mark.parametrize("media", ["application/json; charset=iso-8859-1", "application/x-ndjson; charset=utf-16",
                                   'application/json; charset="windows-1252"'])
def test_a_body_declared_in_another_charset_is_refused(evaluator: Evaluator, media: str) -> None:
    """The service reads UTF-8 only (as JSON is exchanged): a body declared in another character set
    is refused as such, not read as UTF-8 regardless (Latin-1 `Ã©` would be read as `é`)."""
    answer = call(evaluator, '{"month": "2025-03", "id": "JosÃ©"}'.encode("latin-1"), media)
    assert answer.status == 415
    (problem,) = answer.lines()[0]["error"]
    assert problem["code"] == "service/media-type"
    charset = media.split("=")[1].strip('"')
    assert problem["message"] == f"the body is declared `{charset}`; the service reads only UTF-8"


@pytest.mark.parametrize("media", ["application/json; charset=utf-8", "application/json;charset=UTF-8",
                                   'application/x-ndjson; charset="utf8"', "application/json; version=1"])
def test_a_body_declared_utf8_is_read(evaluator: Evaluator, media: str) -> None:
    answer = call(evaluator, b'{"month": "2025-03"}\n', media)
    assert (answer.status, answer.headers["x-carepolicy-records"]) == (200, "1")


THREE = b'{"month": "2025-03"}\n{"month": "2025-13"}\n{"month": "2025-03"}\n'
A_LIST = b'[\n  {"month": "2025-03"},\n  {"month": "2025-13"}\n]\n'


@pytest.mark.parametrize("media", ["", " ", "; charset=utf-8", []])  # ([]: no Content-Type at all)
@pytest.mark.parametrize(("body", "declared"), [(THREE, JSONL), (A_LIST, "application/json"),
                                                (b'\xef\xbb\xbf{"month": "2025-03"}', JSONL)])
def test_a_body_without_a_content_type_is_read_as_evaluate_reads_stdin(evaluator: Evaluator, media: str | list[str],
                                                                        body: bytes, declared: str) -> None:
    """An empty Content-Type (or none) was read as JSON: three JSON Lines were one document that could
    not be parsed, answered with one error record for three bundles. The format is detected from the
    body as `evaluate -` detects its standard input's (one whole object on a line: JSON Lines), and the
    answer is the declared format's."""
    answer = call(evaluator, body, media)
    expected = call(evaluator, body, declared)
    assert (answer.status, answer.headers["content-type"]) == (expected.status, expected.headers["content-type"])
    assert answer.body == expected.body
    assert answer.headers["x-carepolicy-records"] == str(body.count(b'"month"'))


@pytest.mark.parametrize("body", [b"month: 2025-03\n", b"\n\n", b"\xff\xfe{"])
@pytest.mark.parametrize("media", ["", []])
def test_a_body_without_a_content_type_that_is_not_json_is_415(evaluator: Evaluator, body: bytes,
                                                               media: str | list[str]) -> None:
    """What `evaluate -` would read as YAML (or nothing) the service does not read: refused with the
    types it takes, not read as a JSON document that cannot be parsed."""
    answer = call(evaluator, body, media)
    assert answer.status == 415
    (problem,) = answer.lines()[0]["error"]
    assert problem["code"] == "service/media-type"
    assert "no Content-Type" in problem["message"]
    assert "application/x-ndjson" in problem["help"]


@pytest.mark.parametrize(("media", "headers"), [
    (["application/json", "text/plain"], ()),
    ("application/json", (("content-encoding", "identity"), ("content-encoding", "gzip"))),
])
def test_a_header_sent_twice_is_read_whole(evaluator: Evaluator, media: str | list[str],
                                           headers: tuple[tuple[str, str], ...]) -> None:
    """HTTP reads a header sent twice as one, its values joined by a comma: a second Content-Type
    or Content-Encoding is not left unread (a gzip body read as text; a body of two types read as
    the first), whichever order they come in."""
    body = b'{"month": "2025-03"}'
    swapped = media[::-1] if isinstance(media, list) else media
    answers = [call(evaluator, body, media, headers=headers), call(evaluator, body, swapped, headers=headers[::-1])]
    assert [(a.status, a.lines()[0]["error"][0]["code"]) for a in answers] == [(415, "service/media-type")] * 2


@pytest.mark.parametrize("coding", ["gzip, chunked", "deflate,chunked", "GZIP"])
def test_a_transfer_coding_other_than_chunks_is_refused(evaluator: Evaluator, coding: str) -> None:
    """`Transfer-Encoding: gzip, chunked`: uvicorn undoes the chunks and hands on the rest, still
    compressed, which was read as the body's text (a body whose bytes were not compressed after all
    was decided as if the header were not there). Refused, as a Content-Encoding is."""
    answer = call(evaluator, b'{"month": "2025-03"}', headers=(("transfer-encoding", coding),))
    assert answer.status == 415
    (problem,) = answer.lines()[0]["error"]
    assert problem["code"] == "service/media-type"
    assert f"`{coding.lower().replace(',chunked', '').replace(', chunked', '')}`-encoded" in problem["message"]
    assert call(evaluator, b'{"month": "2025-03"}', headers=(("transfer-encoding", "chunked"),)).status == 200


def test_a_client_that_leaves_before_its_answer_stops_the_work(evaluator: Evaluator,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that gives up (its own timeout) and sends again must not leave the service deciding
    for no one, up to --request-timeout each time: the bundles left are not decided. Whether it
    leaves while the records are read (before the answer starts) or once the first lines have
    arrived, at most the chunk under way is decided (a decision with its trace is ~40 kB, a chunk
    64 kB), not the 2,000."""
    decided = count_decisions(monkeypatch)
    body = b'{"month": "2025-03"}\n' * 2_000
    call(evaluator, body, JSONL, leaves=True)
    assert len(decided) < 10
    decided.clear()
    answer = call(evaluator, body, JSONL, leaves_after=1)
    assert answer.status == 200
    assert answer.lines()[0]["bundle_id"] == "#1"  # the first chunk was sent, whole lines
    assert 0 < len(decided) < 10
    decided.clear()
    answer = call(evaluator, body, JSONL)  # a client that stays is answered in full
    assert (answer.status, len(decided), answer.headers["x-carepolicy-records"]) == (200, 2_000, "2000")
    assert len(answer.lines()) == 2_000


@pytest.mark.parametrize(("media", "encoding", "path", "shown"), [
    ("application/" + "x" * 10_000, None, "/v1/decisions", "`application/xxxxxxxxxxxxxxxxxxxxxxxxxxxx…` is not"),
    ("application/json; charset=" + "x" * 10_000, None, "/v1/decisions", "declared `" + "x" * 40 + "…`"),
    ("application/json", "x" * 10_000, "/v1/decisions", "`xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…`-encoded"),
    ("application/json", None, "/v1/decisions?" + "k" * 60_000 + "=1", "found `" + "k" * 40 + "…`"),
    ("application/json", None, "/v1/decisions?" + "&".join(f"k{n}=1" for n in range(3_000)),
     "found `k0`, `k1`, `k2`, `k3`, `k4` and 2,995 more"),
    ("application/json", None, "/v1/" + "p" * 60_000, "no POST /v1/pppppppppppppppppppppppppppppppppppp… here"),
])
def test_what_a_client_sent_is_echoed_short(evaluator: Evaluator, media: str, encoding: str | None, path: str,
                                             shown: str) -> None:
    """A refusal names what it refuses, but a hostile header, query or path was echoed whole: a
    60 kB query name came back as a 60 kB message (3,000 names as a list of 3,000). Each is now
    shown by its first 40 characters, and a list of query names by its first five."""
    headers = (("content-encoding", encoding),) if encoding else ()
    answer = call(evaluator, b'{"month": "2025-03"}', media, path=path, headers=headers)
    (problem,) = answer.lines()[0]["error"]
    assert shown in problem["message"]
    assert len(answer.body) < 1_000


def test_an_http_10_client_gets_the_whole_answer_with_its_length(evaluator: Evaluator) -> None:
    """uvicorn's httptools protocol (the one `serve` runs) frames a body of unknown length in chunks
    whatever the request's version, and an HTTP/1.0 client cannot read chunks: it got the answer
    with the chunk sizes in it (and then a 505, which refused every batch sent through a proxy that
    speaks HTTP/1.0 upstream, as nginx does by default). It gets the whole answer, with its length,
    one line per record, the same lines an HTTP/1.1 client is streamed."""
    http10 = (("x-test-http-version", "1.0"),)
    body = b'{"month": "2025-03"}\n{"month": "2025-13"}\n{"month": "2025-03"}\n'
    answer = call(evaluator, body, JSONL, headers=http10)
    streamed = call(evaluator, body, JSONL)
    assert answer.status == streamed.status == 422
    assert answer.body == streamed.body
    assert [line["bundle_id"] for line in answer.lines()] == ["#1", "#2", "#3"]
    assert answer.headers["content-length"] == str(len(answer.body))
    assert "content-length" not in streamed.headers
    assert (answer.headers["x-carepolicy-records"], answer.headers["x-carepolicy-errors"]) == ("3", "1")
    one = call(evaluator, b'{"month": "2025-03"}', headers=http10)
    assert (one.status, one.headers["x-carepolicy-records"]) == (200, "1")


def test_an_http_10_batch_too_many_to_read_in_time_is_503_as_in_http_11(evaluator: Evaluator) -> None:
    """The records of a batch are read before its answer starts, and a body whose records cannot even
    be read within --request-timeout is a 503. An HTTP/1.0 request skipped that reading: its invalid
    records (whose error records are written past the timeout too) were all answered, however long
    they took (600,000 `{}` lines: 27 s with a 2 s timeout). It is the 503 an HTTP/1.1 request gets."""
    config = ServiceConfig(request_timeout=0.0)  # past at once: the first record read is over the time
    body = b"{}\n" * 3
    for headers in ((("x-test-http-version", "1.0"),), ()):
        answer = call(evaluator, body, JSONL, headers=headers, config=config)
        assert answer.status == 503
        (problem,) = answer.lines()[0]["error"]
        assert problem["code"] == "service/timeout"


@pytest.mark.parametrize("media", ["application/json", JSONL, []])
def test_an_empty_body_is_refused_as_empty(evaluator: Evaluator, media: str | list[str]) -> None:
    """A body sent with neither a Content-Length nor chunks is no body to HTTP: it was read as JSON
    and answered `invalid JSON: expecting value` at line 1, column 1 (JSON Lines: `holds no fact
    bundles`), which blamed JSON the client had sent. It is a 400 that says the body is empty."""
    answer = call(evaluator, b"", media)
    assert answer.status == 400
    (problem,) = answer.lines()[0]["error"]
    assert (problem["code"], problem["message"]) == ("service/empty-body", "the request has no body")
    assert "Content-Length" in problem["help"]
