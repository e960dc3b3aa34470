"""The lines of a request's answer: one per input record, made one record at a time.

A request's body is read as `batch` reads a file (carepolicy/record_lines.py): JSON Lines split into lines
by the reader's own splitter, each line decoded on its own with the reader's own decoder, so a line
the reader cannot read (too long, too deep, a number too long, a bug) is that record's error record,
worded as batch words it, and the lines around it are still decided. A JSON document is parsed
whole, as the reader parses one. Nothing here raises for one record: a failure while a record is
decoded, decided or written is that record's error record (as in `batch_run.decide_one`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from time import monotonic
from typing import NamedTuple

from carepolicy.engine import Bundle, BundleError, Diagnostic, FactError, iter_records
from carepolicy.engine.facts.limits import DEPTH_HELP, MAX_DEPTH
from carepolicy.engine.facts.record_errors import record_error
from carepolicy.evaluator import Evaluator
from carepolicy.record_lines import RawRecord, Work, decode, json_line_work
from carepolicy.record_outcomes import ErrorRecord, Item, error_line, internal_error, serialise_error

from .limits import nesting_depth

REQUEST_SOURCE = "<request>"  # the `source` of the posted bundles in their diagnostics
CHUNK_BYTES = 64 * 1024  # lines are handed to the event loop in chunks of about this size (see `chunks`)


class Gone(Exception):
    """The client closed the connection: there is no one to answer."""


class Line(NamedTuple):
    """One record's line of the answer, whether it is an error record, and whether it is that of a
    record that is not a valid bundle (known when it is read: before a streamed answer's headers)."""

    data: bytes
    failed: bool
    invalid: bool = False


def request_work(body: bytes, fmt: str, max_depth: int) -> Iterator[Work]:
    """Every record of `body` ("json" or "jsonl"), in order, not decoded yet where batch defers it."""
    if fmt != "jsonl":
        yield from _document(body)
        return
    for work in json_line_work(io.BytesIO(body), REQUEST_SOURCE):
        if isinstance(work, RawRecord) and work.line is not None and _too_deep(work.line, max_depth):
            message = f"nested more than {max_depth} levels deep"  # the reader's words for its own limit
            yield record_error("facts/limit", message, work.source, work.lineno, 1, work.index, DEPTH_HELP)
        else:
            yield work


def _too_deep(line: bytes, max_depth: int) -> bool:
    """Whether a line is nested deeper than `--max-depth` allows. The reader refuses a line nested
    deeper than its own limit (MAX_DEPTH) as that record's error, in one pass and without
    recursing, so the line is scanned here only when `--max-depth` is the stricter of the two: a
    line the reader refuses is worded as batch words it."""
    return max_depth < MAX_DEPTH and nesting_depth(line) > max_depth


def _document(body: bytes) -> Iterator[Item]:
    """A JSON document's records; one that cannot be parsed is one error record (bundle_id null)."""
    try:
        yield from iter_records(io.BytesIO(body), "json", name=REQUEST_SOURCE)
    except FactError as error:
        yield ErrorRecord(None, REQUEST_SOURCE, error.diagnostics)
    except Exception as error:  # a reader bug: the document's error record, never a 500 for it
        yield internal_error(error, source=REQUEST_SOURCE, bundle=None)


def read(work: Work) -> Item:
    """A record as read (decoded and validated); a reader bug is the record's internal error."""
    if not isinstance(work, RawRecord):
        return work
    try:
        return decode(work)
    except Exception as error:  # as batch: a reader bug on one record must not lose the others
        return internal_error(error, source=work.source, bundle=f"#{work.index + 1}")


def is_error(item: Item) -> bool:
    return isinstance(item, BundleError | ErrorRecord)


def decided(evaluator: Evaluator, item: Item) -> Line:
    """The record's line: its decision, or the error record that stands in its place."""
    if isinstance(item, ErrorRecord):
        return Line(error_line(item), True, True)
    result = evaluator.decide(item)  # an engine bug is already the record's eval/internal error here
    invalid = isinstance(item, BundleError)
    try:
        return Line(result.jsonl, not result.ok, invalid)
    except Exception as error:  # the decision cannot be written (a bug in a writer): as in batch
        assert result.decision is not None  # (an error record is always written)
        source = item.source if isinstance(item, Bundle) else REQUEST_SOURCE
        return Line(error_line(serialise_error(error, result.decision, source)), True, invalid)


def answer_lines(evaluator: Evaluator, works: Iterator[Work], deadline: float) -> Iterator[Line]:
    """One line per record. A record reached after the deadline is still read (reading is a few
    per cent of the work): an invalid one gets its error record, a valid one a `service/timeout`
    error record in place of its decision, so the answer still has one line per record."""
    done = 0
    for work in works:
        item = read(work)
        if is_error(item) or monotonic() < deadline:
            line = decided(evaluator, item)
        else:
            line = Line(error_line(_timed_out(item, done)), True)
        done += not line.failed
        yield line


def _timed_out(item: Item, done: int) -> ErrorRecord:
    assert isinstance(item, Bundle)
    message = f"not decided within the request timeout ({done} decided before it)"
    diag = Diagnostic(
        "service/timeout",
        message,
        file=item.source,
        bundle=item.id,
        help="send fewer bundles per request, or start the service with a larger --request-timeout",
    )
    return ErrorRecord(item.id, item.source, (diag,))


def chunks(lines: Iterator[Line]) -> Iterator[bytes]:
    """The lines joined into chunks of about CHUNK_BYTES, each one hand-off from the worker thread to
    the event loop (~50 µs): one a line would be a fifth of the work of a minimal bundle decided
    without its trace, while a decision with its trace (~40 kB) is about a chunk alone. So a line is
    sent as soon as it is decided, or with the few decided just after it: the memory held is a
    chunk, whatever the number of records."""
    held: list[bytes] = []
    size = 0
    for line in lines:
        held.append(line.data)
        size += len(line.data)
        if size >= CHUNK_BYTES:
            yield b"".join(held)
            held, size = [], 0
    if held:
        yield b"".join(held)
