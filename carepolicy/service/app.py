"""The HTTP service of `carepolicy serve`: a Starlette app over one loaded `Evaluator`.

Why Starlette and not FastAPI: FastAPI's value is request models and schemas generated from
pydantic types. Here the request is a fact bundle whose contract is already a JSON Schema with its
own validator and diagnostics (those of the CLI, which the service must give byte for byte), and
the response must be the CLI's bytes, so both would be bypassed; Starlette is the layer FastAPI is
built on, without pydantic. The OpenAPI document is written out in `openapi.py`, with the shipped
fact-bundle schema as the request schema. Here a request is routed and answered; what is read of it
before any bundle is (its body, its format) and its refusals as a whole are in `request_intake.py`,
its answer's lines are made in `answers.py`, an answer sent whole is in `whole.py`, and what each
worker process of `serve --workers N` loads is in `workers.py`.

Every response, errors included, carries the policy-set hash and the engine version as headers,
and every error is a JSON error record (`{"bundle_id", "source", "error": [diagnostics]}`), the
form `batch` writes; no traceback ever reaches a client.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from functools import partial
from time import monotonic
from typing import Any, TypeVar

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from carepolicy.engine import Diagnostic, engine_version
from carepolicy.evaluator import Evaluator
from carepolicy.record_lines import Work

from .answers import REQUEST_SOURCE, Gone, Line, answer_lines, chunks, is_error, read, request_work
from .limits import ServiceConfig, nesting_depth
from .openapi import openapi_document
from .request_intake import Refusal, body_format, declared_format, error_body, error_response, listed, read_body, shown
from .whole import JSONL_MEDIA, lines_response, spool, spooled_response

_INLINE_BYTES = 64 * 1024  # one bundle this small is decided on the event loop: no thread hand-off
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
_log = logging.getLogger("carepolicy.serve")
_T = TypeVar("_T")
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


def _one_record(body: bytes, fmt: str) -> bool:
    """Whether `body` is small and holds at most one bundle: decided on the event loop, at once.

    Counted in records, not only bytes: 64 KiB of minimal bundles is 3,000 decisions, seconds in
    which the loop would answer nothing. One JSON Lines line; or a JSON document that is not a list.
    """
    if len(body) > _INLINE_BYTES:
        return False
    if fmt == "jsonl":
        return b"\n" not in body.strip()
    return not body.lstrip(b" \t\r\n\xef\xbb\xbf").startswith(b"[")  # (a byte-order mark, if any, first)


def _tally(body: bytes, fmt: str, max_depth: int, deadline: float, gone: threading.Event) -> tuple[int, int]:
    """How many records `body` holds, and how many are not valid bundles: read, not decided, before
    the answer starts, since its status (200 or 422) and these counts go before its first line.
    Reading is a few per cent of the work of a record; the answer reads each record again rather
    than hold them all."""
    records = errors = 0
    for work in request_work(body, fmt, max_depth):
        if gone.is_set():
            raise Gone
        if monotonic() > deadline:
            raise Refusal(503, "service/timeout", f"the bundles were not read within the request timeout "
                          f"({records} read)", help="send fewer bundles per request")
        records += 1
        errors += is_error(read(work))
    return records, errors


def _all_lines(evaluator: Evaluator, works: Iterator[Work], deadline: float, gone: threading.Event) -> list[Line]:
    return list(answer_lines(evaluator, works, deadline))  # (one record: nothing to stop part-way)


async def _in_thread(request: Request, work: Callable[[threading.Event], _T]) -> _T:
    """`work` on a worker thread, told (by the event it is given) when the client leaves meanwhile:
    one that gave up (its own timeout) and sent again must not leave the service working for no one."""
    gone = threading.Event()

    async def watch() -> None:
        # with the body read, the next message is the disconnect (the server sends it once answered)
        if (await request.receive())["type"] == "http.disconnect":
            gone.set()

    answer: list[_T] = []  # (a list: `work` may return anything)
    failure: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        try:
            answer.append(await run_in_threadpool(work, gone))
        except Exception as error:  # raised below, as itself: inside the group anyio wraps it in an ExceptionGroup
            failure = error
        group.cancel_scope.cancel()
    if failure is not None:
        raise failure
    return answer[0]


async def _streamed(evaluator: Evaluator, works: Iterator[Work], deadline: float) -> AsyncIterator[bytes]:
    """The answer's lines, decided and written on worker threads a chunk at a time, and sent as they
    come: the memory held is a chunk, not the answer (up to 2,000 times the request with the trace).
    A client that leaves is no longer read for (Starlette stops the stream): the work stops with the
    chunk under way. Every record's failure is its own error record (answers.py); a failure of the
    stream itself, after the status was sent, ends the answer with one error record that says so."""
    pieces = chunks(answer_lines(evaluator, works, deadline))
    try:
        while (chunk := await anyio.to_thread.run_sync(next, pieces, None)) is not None:
            yield chunk
    except Exception as error:  # a bug: logged with its traceback; the client gets its kind
        _log.exception("carepolicy serve: the answer stopped part-way")
        yield error_body((Diagnostic("service/internal", f"internal error: {type(error).__name__}; the records "
                                      "after the last line above were not answered", file=REQUEST_SOURCE,
                                      help="this is a bug in carepolicy; please report it"),))


def create_app(evaluator: Evaluator, config: ServiceConfig) -> Starlette:
    """The service for one loaded evaluator (each worker process makes its own)."""

    async def decisions(request: Request) -> Response:
        if request.query_params:  # e.g. `?trace=compact`: never ignored, which would answer another question
            names = listed(list(dict.fromkeys(request.query_params.keys())))
            raise Refusal(400, "service/query", f"the service takes no query parameters; found {names}",
                          help="the trace, switches and fee schedule are set when the service starts "
                               "(carepolicy serve --explain, --switch, --fee-schedule)")
        declared = declared_format(request)
        try:
            body = await read_body(request, config)
        except ClientDisconnect:  # gone mid-body (a timeout on its side): not a bug, and no one to answer
            return Response(status_code=400)  # (never sent: the server drops what is sent after a disconnect)
        if not body:  # e.g. sent with neither a Content-Length nor chunks: HTTP reads no body then, and the
            # reader's words for nothing (`invalid JSON: expecting value` at 1:1) blamed JSON that was sent
            raise Refusal(400, "service/empty-body", "the request has no body", help="send the bundles as the "
                          "body, with its Content-Length (or chunked): without either, what follows is not a body")
        fmt = declared or body_format(body)
        # a JSON document is parsed whole: refused whole. In JSON Lines a line is its own record (answers.py)
        if fmt == "json" and nesting_depth(body) > config.max_depth:
            raise Refusal(413, "service/too-deep", f"the JSON is nested deeper than {config.max_depth} levels",
                          help="a fact bundle needs only a few levels; check what is being sent")
        deadline = monotonic() + config.request_timeout
        if _one_record(body, fmt):  # decided here, on the loop: its line is the whole answer
            return lines_response(list(answer_lines(evaluator, request_work(body, fmt, config.max_depth), deadline)),
                                  fmt)
        works = partial(request_work, body, fmt, config.max_depth)
        try:  # a batch: read, then decided, on worker threads so that health checks are still answered.
            # Read first whatever the HTTP version: unread, a body of records too many to read in time
            # was a 503 in HTTP/1.1 and, in HTTP/1.0, an answer that took as long as they took to read
            records, invalid = await _in_thread(request, partial(_tally, body, fmt, config.max_depth, deadline))
            if records == 1:  # one bundle however large (over 64 KiB, or alone in a JSON list): its one line is
                # the whole answer, with its length and its count of error records, as for a small one; streamed,
                # it had no `x-carepolicy-errors`, which the guide promises for one bundle
                return lines_response(await _in_thread(request, partial(_all_lines, evaluator, works(), deadline)),
                                      fmt)
            if request.scope.get("http_version") == "1.0":  # HTTP/1.0 has no chunks, and uvicorn's httptools
                # sends chunks to it all the same (whole.py): the whole answer with its length, spooled past 1 MiB
                whole = partial(spool, evaluator, works(), deadline, config.max_spool_bytes)
                return spooled_response(await _in_thread(request, whole), fmt)
        except Gone:
            return Response(status_code=400)  # (never sent, as above)
        # several records (one was answered whole above): a line each, a JSON list as JSON Lines is.
        # No `x-carepolicy-errors`: sent before the first decision, it could count only the invalid
        # records, and was short of the error records found later (a timeout, a bug). A count sent
        # under the name of what it counts is one a pipeline can check its lines against
        headers = {"x-carepolicy-records": str(records), "x-carepolicy-invalid": str(invalid)}
        answer = _streamed(evaluator, works(), deadline)
        return StreamingResponse(answer, status_code=422 if invalid else 200, media_type=JSONL_MEDIA, headers=headers)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "policy_set_hash": evaluator.policy_set_hash,
                             "engine_version": engine_version()})

    async def policy_set(request: Request) -> Response:
        limits = {"max_body_bytes": config.max_body_bytes, "max_depth": config.max_depth,
                  "read_timeout": config.read_timeout, "request_timeout": config.request_timeout,
                  "max_spool_bytes": config.max_spool_bytes}
        return JSONResponse({**evaluator.describe(), "limits": limits})

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document(config))

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refusal)
        return error_response(exc.status, exc.diagnostic)

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        message = f"no {request.method} {shown(request.url.path)} here" if status in (404, 405) else "request refused"
        response = error_response(status, Diagnostic("service/route", message, file=REQUEST_SOURCE,
                                                      help="see GET /v1/openapi.json for what the service offers"))
        if isinstance(exc, HTTPException) and exc.headers:  # a 405's `Allow`: the methods the path takes
            response.headers.update(exc.headers)
        return response

    fixed = {"x-carepolicy-policy-set-hash": evaluator.policy_set_hash, "x-carepolicy-engine-version": engine_version()}

    async def internal(request: Request, exc: Exception) -> Response:
        # a bug in carepolicy: the client gets its kind, never the traceback (which stays in the log).
        # Starlette answers it outside every middleware, so the fixed headers are added here.
        diag = Diagnostic("service/internal", f"internal error: {type(exc).__name__}", file=REQUEST_SOURCE,
                          help="this is a bug in carepolicy; please report it")
        return error_response(500, diag, fixed)

    routes = [
        Route("/v1/decisions", decisions, methods=["POST"]),
        Route("/v1/health", health, methods=["GET"]),
        Route("/v1/policy-set", policy_set, methods=["GET"]),
        Route("/v1/openapi.json", openapi, methods=["GET"]),
    ]
    handlers: dict[Any, Any] = {Refusal: refused, HTTPException: http_error, Exception: internal}
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.router.redirect_slashes = False  # `/v1/decisions/` is a 404 that says so, not a 307 with an empty body
    app.add_middleware(_HeadersMiddleware, headers=[(name.encode(), value.encode()) for name, value in fixed.items()])
    return app


class _HeadersMiddleware:
    """Adds fixed headers to every response, errors included (plain ASGI: no per-request task)."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except asyncio.CancelledError:
            # uvicorn cancels what still runs --shutdown-timeout after a SIGTERM (nothing else cancels a
            # request's task). Not a bug: raised on, it was logged with a traceback, and an answer not
            # started yet was uvicorn's plain-text 500. Ended here, the task is done either way
            if started:  # its client was not reading it: cut off, which the client sees as a short body
                _log.warning("carepolicy serve: stopping: an answer not read within --shutdown-timeout was cut off")
                return
            refusal = Refusal(503, "service/shutdown", "the service stopped before this request was answered",
                              help="send it again: to another worker, or once the service is back")
            await error_response(refusal.status, refusal.diagnostic)(scope, receive, send_with_headers)
