"""pygls's JSON-RPC and LSP plumbing, corrected where it departs from the protocol: requests it
cannot read, messages that are not JSON or not JSON-RPC, params of the wrong JSON type, requests
after `shutdown` or before `initialize`, changes with ranges, the position encoding. No policy
knowledge here; `server` registers the features on top of it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator
from typing import Any
from urllib.parse import unquote

from cattrs import Converter
from lsprotocol import types as t
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
    JsonRpcServerNotInitialized,
)
from pygls.protocol import LanguageServerProtocol, default_converter, lsp_method
from pygls.protocol.json_rpc import RPCMessage, RPCRequest

from .analysis import offset_of

logger = logging.getLogger(__name__)

# What the JSON decoder raises for a body it cannot read: not JSON, or not UTF-8.
UNREADABLE = (json.JSONDecodeError, UnicodeDecodeError)


class Answered(Exception):
    """A message that could not be read and whose sender has had the error as its answer: the
    server tells the user nothing more (pygls showed an `Error in server` popup besides)."""


def _exactly(kind: type, name: str) -> Any:
    def structure(value: Any, _type: Any) -> Any:
        # bool is an int to Python, never an integer to JSON
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise TypeError(f"expected {name}, got {value!r}")
        return value

    return structure


def strict_converter() -> Converter:
    """pygls's converter, but a JSON value of the wrong type is refused (InvalidParams), not
    coerced: it read `"line": 0.5` as 0, `true` as 1 and a `uri` of 5 as the string "5", and
    answered as if for a real position."""
    converter: Converter = default_converter()  # type: ignore[no-untyped-call]  # pygls leaves it unannotated
    for kind, name in ((int, "an integer"), (str, "a string"), (bool, "a boolean")):
        converter.register_structure_hook(kind, _exactly(kind, name))
    return converter


class PolicyProtocol(LanguageServerProtocol):
    """pygls's protocol, but a request whose params it cannot read (a negative line, a missing
    field) is answered with the error; pygls only logged it, and the editor waited for ever. One
    for a method the server does not know is MethodNotFound, with `params` or without."""

    def structure_message(self, data: dict[str, Any]) -> Any:
        method = data.get("method")  # a hook of json.loads: `data` may be any object of the message
        unknown = isinstance(method, str) and "jsonrpc" in data and self.get_message_type(method) is None
        if unknown and "params" not in data:
            # JSON-RPC lets `params` be left out. pygls's generic message types require it, so a
            # method it does not know, sent without params, failed to be read: a request got
            # InternalError (-32603) instead of MethodNotFound (-32601), and a notification, which
            # must be ignored, an `Error in server` popup.
            data = {**data, "params": None}
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            if "id" in data and "method" in data:
                self._send_response(data["id"], error=error.to_response_error())
                raise Answered(f"`{data['method']}` answered with {error}") from error
            raise

    def refuse(self, ident: Any, error: JsonRpcException) -> None:
        """Answer a message that is not a request the server can read. The id is null when the
        message's own cannot be read (JSON-RPC's rule); pygls's response type leaves a null id
        out, so the answer is written as it goes on the wire."""
        answer = self._converter.unstructure(error.to_response_error())
        self._send_data({"jsonrpc": "2.0", "id": ident, "error": answer})

    def refuse_unreadable(self, error: Exception) -> None:
        """A body that is not JSON (or not UTF-8): ParseError, id null. pygls answered nothing, and
        a request in it waited for ever."""
        logger.warning("a message that is not JSON, answered with ParseError: %s", error)
        self.refuse(None, JsonRpcParseError(f"the message is not JSON: {error}"))

    def handle_message(self, message: RPCMessage) -> None:
        """pygls, but as the protocol asks: a request after `shutdown` is answered with InvalidRequest
        (pygls dropped it, and the editor waited for its answer for ever), one before `initialize`
        with ServerNotInitialized, and a notification before `initialize` is dropped. JSON that is
        not a JSON-RPC 2.0 message (an array: LSP has no batches; a bare value; an object without
        `"jsonrpc": "2.0"`) is InvalidRequest, where pygls failed on it or dropped it."""
        if getattr(message, "jsonrpc", None) != "2.0":
            self._refuse_not_json_rpc(message)
            return
        if self._shutdown and isinstance(message, RPCRequest) and message.method != t.EXIT:
            error = JsonRpcInvalidRequest(f"the server is shutting down: `{message.method}` is not answered")
            self._send_response(message.id, error=error.to_response_error())
            return
        method = getattr(message, "method", None)
        if self._workspace is None and method is not None and method not in (t.INITIALIZE, t.EXIT):
            # Before `initialize` there is no workspace: pygls failed with an internal error (a
            # traceback for a request, an `Error in server` popup for a notification).
            if isinstance(message, RPCRequest):  # the protocol's answer; a notification is dropped
                refused = JsonRpcServerNotInitialized("the server is not initialized: send `initialize` first")
                self._send_response(message.id, error=refused.to_response_error())
            return
        super().handle_message(message)

    def _refuse_not_json_rpc(self, message: Any) -> None:
        """InvalidRequest for what is not a JSON-RPC 2.0 request or notification, with its id when
        it has one; a response (to a request of the server's) is only logged: an answer with its id
        would settle the client's own request of that id."""
        names = set(message) if isinstance(message, dict) else {
            name for name in ("id", "method", "result", "error") if hasattr(message, name)}
        if "method" not in names and names & {"result", "error"}:
            logger.warning("a response that is not JSON-RPC 2.0, ignored: %.200r", message)
            return
        ident = message.get("id") if isinstance(message, dict) else getattr(message, "id", None)
        ident = ident if isinstance(ident, (int, str)) and not isinstance(ident, bool) else None
        logger.warning("not a JSON-RPC 2.0 message, answered with InvalidRequest: %.200r", message)
        self.refuse(ident, JsonRpcInvalidRequest("not a JSON-RPC 2.0 request: it needs `\"jsonrpc\": \"2.0\"`"))

    @lsp_method(t.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: t.DidChangeTextDocumentParams) -> Generator[Any, Any, None]:
        """pygls, but a change with a range is applied at its range: the server asks for whole
        texts, and pygls then took any change's text for the whole document, so a client sending
        ranges anyway had its buffer replaced by the snippet it inserted."""
        if unquote(params.text_document.uri) not in self.workspace.text_documents:  # pygls's keys
            logger.warning("change to a document that is not open, ignored: %s", params.text_document.uri)
            return  # nothing to apply it to (pygls raised KeyError, shown to the user as a popup)
        document = self.workspace.get_text_document(params.text_document.uri)
        text = document.source
        for change in params.content_changes:
            if isinstance(change, t.TextDocumentContentChangePartial):
                start, end = (offset_of(text, p.line, p.character) for p in (change.range.start, change.range.end))
                text = text[: min(start, end)] + change.text + text[max(start, end) :]
            else:
                text = change.text
        self.workspace.put_text_document(t.TextDocumentItem(
            uri=params.text_document.uri, language_id=document.language_id or "carepolicy",
            version=params.text_document.version, text=text))
        if (handler := self.fm.features.get(t.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(t.INITIALIZE)
    def lsp_initialize(self, params: t.InitializeParams) -> Generator[Any, Any, t.InitializeResult]:
        """pygls, but the position encoding is always UTF-16: pygls picks the editor's first choice
        (Neovim and Helix offer utf-8 first) while every column here counts UTF-16 code units,
        which every editor must support."""
        if params.capabilities.general is not None:
            params.capabilities.general.position_encodings = None
        return (yield from super().lsp_initialize(params))
