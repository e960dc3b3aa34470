"""A whole answer, sent with its length: for one small bundle, and for an HTTP/1.0 client.

Why an HTTP/1.0 client is not streamed its answer: HTTP/1.0 has no chunks, so a body of unknown
length must be delimited by closing the connection. uvicorn's h11 protocol does that, but the one
`serve` runs, httptools (uvicorn's choice whenever httptools is installed, as the `standard` extra
does), frames every response without a Content-Length in chunks whatever the request's version
(`RequestResponseCycle.send` adds `transfer-encoding: chunked`, and nothing an ASGI app can send
turns that off). So such a client gets the whole answer with its Content-Length, and the answer,
up to 2,000 times the request, is spooled: held in memory up to SPOOL_BYTES, then written to a
temporary file (unlinked as it is made) and read back in pieces as it is sent.

A spooled answer is limited by --max-spool: the request's own limits allowed gigabytes (8 MiB of
minimal bundles decided for 30 s at ~1,900 a second, ~42 kB each with the trace). One over it, or
one the disk cannot hold (full, its temporary folder gone or unwritable), is found before the
headers are sent, so it is a 507 with its error record, and the file is closed, which frees its
space (it was unlinked as it was made). --max-spool also bounds the spools of one worker process
together (`HELD`): each HTTP/1.0 request in flight has its own, and uvicorn does not limit their
number, so N of them at once could take N times --max-spool of the disk. An answer that would
pass it with the others is a 503, to be asked again once they have been sent.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import IO

import anyio
from starlette.responses import Response, StreamingResponse

from carepolicy.evaluator import Evaluator
from carepolicy.record_lines import Work

from .answers import CHUNK_BYTES, Gone, Line, answer_lines
from .request_intake import Refusal

JSONL_MEDIA = "application/x-ndjson"
SPOOL_BYTES = 1024 * 1024  # an answer larger than this goes to a temporary file, not the memory
_log = logging.getLogger("carepolicy.serve")
_SPOOL_HELP = ("send the request over HTTP/1.1, whose answer is streamed and needs no disk (behind nginx: "
               "proxy_http_version 1.1), or fewer bundles per request")


class SpoolBudget:
    """The bytes the spools of one worker process hold at once, against --max-spool (the answers'
    threads take from it, so a lock). A spool's bytes are given back when its file is closed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.held = 0

    def take(self, size: int, limit: int) -> bool:
        """Whether `size` more bytes fit within `limit` with what is held (then they are held)."""
        with self._lock:
            if self.held + size > limit:
                return False
            self.held += size
            return True

    def give_back(self, size: int) -> None:
        with self._lock:
            self.held -= size


HELD = SpoolBudget()


@dataclass(frozen=True, slots=True)
class Spooled:
    """An answer written whole: where its bytes are (read from the start), its size and counts, and
    what gives its bytes back to `HELD` (once: when it is sent, or when its file is dropped unsent)."""

    file: IO[bytes]
    size: int
    records: int
    failed: int
    invalid: int
    release: weakref.finalize[[int], IO[bytes]]


def spool(evaluator: Evaluator, works: Iterator[Work], deadline: float, limit: int, gone: threading.Event) -> Spooled:
    """Every line of the answer, decided and written to a spooled file of at most `limit` bytes
    (--max-spool), on a worker thread."""
    file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed as it is sent)
    records = failed = invalid = size = 0
    try:
        for line in answer_lines(evaluator, works, deadline):
            if gone.is_set():
                raise Gone
            records += 1
            if size + len(line.data) > limit:  # checked before the line is written: the file never passes it
                raise _over(limit, records)
            if not HELD.take(len(line.data), limit):  # nor the spools of the worker together
                raise _crowded(limit, records)
            size += len(line.data)
            file.write(line.data)
            failed += line.failed
            invalid += line.invalid
        file.seek(0)
    except BaseException as error:
        with contextlib.suppress(OSError):  # (closing flushes what is buffered: on a full disk, it fails too)
            file.close()
        HELD.give_back(size)
        if isinstance(error, OSError):  # the file's write, or its making when it rolls over to the disk
            raise _unwritable(error) from None
        raise
    # given back when the answer is sent (`_read_back`), or else when the file is dropped: a response
    # never sent (its client gone first) never runs its generator's `finally`
    return Spooled(file, size, records, failed, invalid, weakref.finalize(file, HELD.give_back, size))


def _unwritable(error: OSError) -> Refusal:
    # the operator's log names the folder; the client is told what to do, not the service's paths
    _log.warning("carepolicy serve: an HTTP/1.0 answer could not be spooled in %s: %s",
                 error.filename or tempfile.gettempdir(), error.strerror or error)
    return Refusal(507, "service/spool", "the whole answer an HTTP/1.0 request gets could not be written to "
                   f"the service's temporary storage: {error.strerror or type(error).__name__}",
                   help=_SPOOL_HELP)


def _over(limit: int, records: int) -> Refusal:
    return Refusal(507, "service/spool", f"the whole answer an HTTP/1.0 request gets is over --max-spool "
                   f"({limit} bytes) at its record {records}", help=_SPOOL_HELP)


def _crowded(limit: int, records: int) -> Refusal:
    return Refusal(503, "service/spool", f"the whole answers of the HTTP/1.0 requests this service is sending at "
                   f"once are over --max-spool ({limit} bytes) with this one's record {records}",
                   help="ask again once they have been sent; or " + _SPOOL_HELP)


def _headers(fmt: str, records: int, failed: int, invalid: int) -> tuple[str, dict[str, str]]:
    # one JSON value for one bundle sent as JSON, else JSON Lines. Built before its headers, a whole
    # answer counts every error record it has; a streamed one only the invalid records (app.py)
    media = "application/json" if fmt == "json" and records == 1 else JSONL_MEDIA
    return media, {"x-carepolicy-records": str(records), "x-carepolicy-invalid": str(invalid),
                   "x-carepolicy-errors": str(failed)}


def lines_response(lines: list[Line], fmt: str) -> Response:
    """A small whole answer (one bundle, decided on the event loop), with its length."""
    failed = sum(line.failed for line in lines)
    media, headers = _headers(fmt, len(lines), failed, sum(line.invalid for line in lines))
    return Response(b"".join(line.data for line in lines), status_code=422 if failed else 200,
                    media_type=media, headers=headers)


def spooled_response(spooled: Spooled, fmt: str) -> Response:
    """A spooled answer, with its length, read back a piece at a time as it is sent."""
    media, headers = _headers(fmt, spooled.records, spooled.failed, spooled.invalid)
    headers["content-length"] = str(spooled.size)
    return StreamingResponse(_read_back(spooled), status_code=422 if spooled.failed else 200,
                             media_type=media, headers=headers)


async def _read_back(spooled: Spooled) -> AsyncIterator[bytes]:
    # read on a worker thread: past SPOOL_BYTES it is a disk file. Closed once read, or when the
    # sending is cancelled (a client that leaves) or the generator is dropped: its disk space is freed
    file = spooled.file
    try:
        while piece := await anyio.to_thread.run_sync(file.read, CHUNK_BYTES):
            yield piece
    finally:
        file.close()
        spooled.release()
