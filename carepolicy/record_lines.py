"""JSON Lines records as `batch` and `carepolicy serve` read them: split here, decoded where decided.

The lines are split with the engine reader's own line splitter and limits (`engine/facts/records.py`),
and each is handed on undecoded (`RawRecord`) and decoded with the reader's own per-line decoder
(`decode`) where it is evaluated: in a `batch --jobs` worker process, or for the service one record
at a time. Decoding and validating is most of the cost of a record besides evaluation, so this is
what lets `--jobs 2` use both cores; the records, their errors and their order are exactly those of
the reader. It lived in cli/batch_input.py, which made the HTTP service import the command line;
here it is below both (cli/batch_input.py reads the files with it and names it for the commands).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from itertools import chain
from typing import IO, TYPE_CHECKING, Literal, NamedTuple, TypeAlias, overload

from carepolicy.record_outcomes import ErrorRecord, Item

if TYPE_CHECKING:
    from carepolicy.engine import Bundle, BundleError
    from carepolicy.engine.facts.record_errors import Line


class RawRecord(NamedTuple):
    """One line of a JSON Lines file, not decoded yet (None: longer than a record may be).

    A named tuple, not a dataclass: made for every input line, and pickled to the `--jobs`
    workers, it costs a third as much either way (measured in docs/explanation/performance-history.md).
    """

    source: str
    index: int  # type: ignore[assignment]  # the record's place in its file, from 0 (tuple.index is never used)
    lineno: int
    line: bytes | None


class RawLines(NamedTuple):
    """Consecutive lines of a JSON Lines file, each one record, not split yet: `batch --jobs`
    reads a regular file a block at a time and hands a worker the block, which splits it
    (`records_of`). Read line by line, this process spent ~9 µs a record (a loaded machine) on
    lines it only handed on, time the two workers' cores lost (docs/explanation/performance-history.md).

    Each line of `data` ends with LF, starts with `{` and is within the record limit: no blank
    line, byte-order mark, NUL padding or line over the limit, which the line reader words (such a
    line comes on its own, as the line reader gives it)."""

    source: str
    index: int  # type: ignore[assignment]  # the first record's place in its file, from 0
    lineno: int  # the first record's line number
    data: bytes
    count: int  # type: ignore[assignment]  # how many lines `data` holds


Work: TypeAlias = "Item | RawRecord"  # one record, as `decide_one` takes it
Read: TypeAlias = "Work | RawLines"  # what the input gives: a record, or with `blocks` a run of them


def records_of(work: Read) -> Iterator[Work]:
    """The records a work item holds: a RawLines' lines, each as its RawRecord; any other, itself."""
    if type(work) is not RawLines:
        yield work  # type: ignore[misc]  # (not RawLines: an Item or a RawRecord)
        return
    source, index, lineno = work.source, work.index, work.lineno
    for offset, line in enumerate(io.BytesIO(work.data)):  # (split in C, each line with its LF)
        yield RawRecord(source, index + offset, lineno + offset, line)


def records_in(work: Read) -> int:
    return work.count if type(work) is RawLines else 1


@overload
def json_line_work(stream: IO[bytes], name: str, *, blocks: Literal[False] = False) -> Iterator[Work]: ...
@overload
def json_line_work(stream: IO[bytes], name: str, *, blocks: bool) -> Iterator[Read]: ...
def json_line_work(stream: IO[bytes], name: str, *, blocks: bool = False) -> Iterator[Read]:
    """The lines of a JSON Lines stream as `RawRecord`s, split by the reader's own splitter and
    limits; a stream in UTF-16 or 32 is one error record, and one without records too, as the
    reader says. (`carepolicy serve` reads a request's body with it, as batch reads a file.)
    `blocks` (a regular file, seekable): after its first lines, runs of ordinary lines come as
    `RawLines` (`_line_blocks`), and the others line by line, as ever."""
    from carepolicy.engine.facts.json_records import without_mark
    from carepolicy.engine.facts.record_errors import file_start, other_encoding
    from carepolicy.engine.facts.records import _lines

    held, rest = file_start(_lines(stream))
    spoilt = other_encoding(held, name)
    if spoilt is not None:  # saved as UTF-16 or 32: the file is one error record, as the reader says
        yield spoilt
        return
    index = 0
    # the first lines are read one by one (a BOM, blank lines, the encoding checked above)
    lines = chain(held, _line_blocks(stream, held[-1][0]) if blocks and held else rest)
    for read in lines:
        if isinstance(read, RawLines):
            yield read._replace(source=name, index=index)
            index += read.count
            continue
        number, line = read
        line = without_mark(line)
        if line is not None and not line.strip():
            continue
        yield RawRecord(name, index, number, line)
        index += 1
    if index == 0:
        yield file_error(name, "facts/empty", f"`{name}` holds no fact bundles")


BLOCK_BYTES = 1 << 19  # read at a time by `_line_blocks`: ~320 lines of the benchmark's bundles
BLOCK_RECORDS = 64  # lines at most in one RawLines: a worker's chunk (batch_run.CHUNK)


def _line_blocks(stream: IO[bytes], number: int) -> Iterator[Line | RawLines]:
    """The lines of a regular file after its first `number`, as `_lines` gives them, but each run
    of ordinary lines (see RawLines) as RawLines of up to BLOCK_RECORDS (`source` and `index` set by
    the caller). A line that is not ordinary comes as (number, line), as `_lines` gives it. One
    that may be over the limit (and the last, without its LF) `_lines` itself reads, from where it
    starts: only `_lines` words a line over the limit, and it never holds one."""
    from carepolicy.engine.facts.limits import MAX_RECORD_BYTES
    from carepolicy.engine.facts.records import _lines

    # a complete line in `carry + data` is at most this plus BLOCK_BYTES: never over the limit
    longest_carry = MAX_RECORD_BYTES - BLOCK_BYTES
    carry = b""
    at = stream.tell()  # the file offset where `carry` starts
    while data := stream.read(BLOCK_BYTES):
        text = carry + data if carry else data
        complete = text.rfind(b"\n") + 1  # the lines before it are complete
        start = first = count = 0  # the line looked at; the block's first line, and how many it has
        while start < complete:
            end = text.find(b"\n", start) + 1
            if text.startswith(b"{", start):
                count += 1
                if count == BLOCK_RECORDS:
                    yield RawLines("", 0, number + 1, text[first:end], count)
                    number, first, count = number + count, end, 0
            else:  # blank, a byte-order mark, NUL padding, not an object: the line reader's ways
                if count:
                    yield RawLines("", 0, number + 1, text[first:start], count)
                    number, count = number + count, 0
                number += 1
                yield number, text[start:end]
                first = end
            start = end
        if count:
            yield RawLines("", 0, number + 1, text[first:complete], count)
            number += count
        carry, at = text[complete:], at + complete
        if len(carry) > longest_carry:  # a line that may be over the limit: read by `_lines`
            stream.seek(at)
            read = next(_lines(stream, MAX_RECORD_BYTES, number))
            yield read
            number, carry, at = read[0], b"", stream.tell()
    if carry:  # the last line, without its LF
        stream.seek(at)
        yield from _lines(stream, MAX_RECORD_BYTES, number)


def file_error(path: str, code: str, message: str, help_text: str | None = None) -> ErrorRecord:
    from carepolicy.engine import Diagnostic

    return ErrorRecord(None, path, (Diagnostic(code=code, message=message, file=path, help=help_text),))


def decode(record: RawRecord) -> Bundle | BundleError:
    """One JSON line as a validated bundle, or the error that stands in its place (the reader's own)."""
    read = _READ_LINE[0] if _READ_LINE else _read_line()
    return read(record.line, record.source, record.lineno, record.index)


# The reader's per-line decoder, imported on first use (it brings msgspec and the schemas, which
# `--help` does not need) and kept: an import statement on every line cost ~2 us a record.
_READ_LINE: list[Callable[[bytes | None, str, int, int], Bundle | BundleError]] = []


def _read_line() -> Callable[[bytes | None, str, int, int], Bundle | BundleError]:
    from carepolicy.engine.facts.json_records import json_record

    _READ_LINE.append(json_record)
    return json_record



__all__ = [
    "BLOCK_RECORDS", "RawLines", "RawRecord", "Read", "Work", "decode", "file_error", "json_line_work", "records_in",
    "records_of",
]
