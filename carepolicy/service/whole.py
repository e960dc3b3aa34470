"""A whole answer, sent with its length: for one small bundle, and for an HTTP/1.0 client.

Why an HTTP/1.0 client is not streamed its answer: HTTP/1.0 has no chunks, so a body of unknown
length must be delimited by closing the connection. uvicorn's h11 protocol does that, but the one
`serve` runs, httptools (uvicorn's choice whenever httptools is installed, as the `standard` extra
does), frames every response without a Content-Length in chunks whatever the request's version
(`RequestResponseCycle.send` adds `transfer-encoding: chunked`, and nothing an ASGI app can send
turns that off). So such a client gets the whole answer with its Content-Length, and the answer,
up to 2,000 times the request, is spooled: held in memory up to SPOOL_BYTES, then written to a
temporary file (unlinked as it is made) and read back in pieces as it is sent.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import IO

import anyio
from starlette.responses import Response, StreamingResponse

from carepolicy.cli.batch_input import Work
from carepolicy.evaluator import Evaluator

from .answers import CHUNK_BYTES, Gone, Line, answer_lines

JSONL_MEDIA = "application/x-ndjson"
SPOOL_BYTES = 1024 * 1024  # an answer larger than this goes to a temporary file, not the memory


@dataclass(frozen=True, slots=True)
class Spooled:
    """An answer written whole: where its bytes are (read from the start), its size and counts."""

    file: IO[bytes]
    size: int
    records: int
    failed: int


def spool(evaluator: Evaluator, works: Iterator[Work], deadline: float, gone: threading.Event) -> Spooled:
    """Every line of the answer, decided and written to a spooled file (on a worker thread)."""
    file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed as it is sent)
    records = failed = 0
    try:
        for line in answer_lines(evaluator, works, deadline):
            if gone.is_set():
                raise Gone
            file.write(line.data)
            records += 1
            failed += line.failed
        size = file.tell()
        file.seek(0)
    except BaseException:
        file.close()
        raise
    return Spooled(file, size, records, failed)


def _headers(fmt: str, records: int, failed: int) -> tuple[str, dict[str, str]]:
    # one JSON value for one bundle sent as JSON, else JSON Lines. Built before its headers, a whole
    # answer counts every error record it has (a streamed one, only those known before its first line)
    media = "application/json" if fmt == "json" and records == 1 else JSONL_MEDIA
    return media, {"x-carepolicy-records": str(records), "x-carepolicy-errors": str(failed)}


def lines_response(lines: list[Line], fmt: str) -> Response:
    """A small whole answer (one bundle, decided on the event loop), with its length."""
    failed = sum(line.failed for line in lines)
    media, headers = _headers(fmt, len(lines), failed)
    return Response(b"".join(line.data for line in lines), status_code=422 if failed else 200,
                    media_type=media, headers=headers)


def spooled_response(spooled: Spooled, fmt: str) -> Response:
    """A spooled answer, with its length, read back a piece at a time as it is sent."""
    media, headers = _headers(fmt, spooled.records, spooled.failed)
    headers["content-length"] = str(spooled.size)
    return StreamingResponse(_read_back(spooled.file), status_code=422 if spooled.failed else 200,
                             media_type=media, headers=headers)


async def _read_back(file: IO[bytes]) -> AsyncIterator[bytes]:
    # read on a worker thread: past SPOOL_BYTES it is a disk file. Closed once read, or when the
    # sending is cancelled (a client that leaves) or the generator is dropped: its disk space is freed
    try:
        while piece := await anyio.to_thread.run_sync(file.read, CHUNK_BYTES):
            yield piece
    finally:
        file.close()
