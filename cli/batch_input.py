"""The input side of `batch`: every input record, one at a time, never the whole input at once.

Records come from the engine's lazy reader (`engine/facts/records.py`), with one difference for
JSON Lines: the lines are split here, with the reader's own line splitter and limits, and each is
handed on undecoded (`RawRecord`) and decoded with the reader's own per-line decoder where it is
evaluated, in a worker process with `--jobs`. Decoding and validating is most of the cost of a
record besides evaluation, so this is what lets `--jobs 2` use both cores; the records, their
errors and their order are exactly those of the reader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple, TypeAlias

from .common import ErrorRecord, Item, iter_inputs

if TYPE_CHECKING:
    from carepolicy.engine import Bundle, BundleError


class RawRecord(NamedTuple):
    """One line of a JSON Lines file, not decoded yet (None: longer than a record may be).

    A named tuple, not a dataclass: made for every input line, and pickled to the `--jobs`
    workers, it costs a third as much either way (measured in docs/explanation/performance-history.md).
    """

    source: str
    index: int  # type: ignore[assignment]  # the record's place in its file, from 0 (tuple.index is never used)
    lineno: int
    line: bytes | None


Work: TypeAlias = "Item | RawRecord"


def read_work(paths: Sequence[str], input_format: str | None = None) -> Iterator[Work]:
    """Every input record of every path, in order; an unreadable file is one error record."""
    from carepolicy.engine.facts.records import input_format_of

    for path in paths:
        fmt = input_format or (None if path == "-" else input_format_of(path))
        # (a `.parquet` file is Parquet whatever --input-format says: iter_inputs reads it as such)
        if fmt == "jsonl" and path != "-" and not path.lower().endswith(".parquet"):
            yield from _json_lines(path)
        else:
            yield from iter_inputs([path], input_format)


def _json_lines(path: str) -> Iterator[Work]:
    from carepolicy.engine.facts.records import cut_short, opened_size

    try:
        stream = Path(path).open("rb")  # noqa: SIM115 — closed below, after the last line
    except OSError:
        yield from iter_inputs([path], "jsonl")  # the reader words the error as for any other input
        return
    index = 0
    try:
        with stream:
            size = opened_size(stream)
            for work in json_line_work(stream, path):
                index += isinstance(work, RawRecord)
                yield work
            cut = cut_short(stream, size, path)
            if cut is not None:
                yield _file_error(path, "facts/io", cut, _AFTER_READ_ERROR)
    except OSError as error:  # a read error half-way (a failing disk): the records before it stand
        reason = (error.strerror or str(error)).lower()
        yield _file_error(path, "facts/io", f"cannot read `{path}` after record {index}: {reason}", _AFTER_READ_ERROR)


def json_line_work(stream: IO[bytes], name: str) -> Iterator[Work]:
    """The lines of a JSON Lines stream as `RawRecord`s, split by the reader's own splitter and
    limits; a stream in UTF-16 or 32 is one error record, and one without records too, as the
    reader says. (`carepolicy serve` reads a request's body with it, as batch reads a file.)"""
    from carepolicy.engine.facts.json_records import without_mark
    from carepolicy.engine.facts.record_errors import file_start, other_encoding
    from carepolicy.engine.facts.records import _lines

    held, rest = file_start(_lines(stream))
    spoilt = other_encoding(held, name)
    if spoilt is not None:  # saved as UTF-16 or 32: the file is one error record, as the reader says
        yield spoilt
        return
    index = 0
    for number, read in chain(held, rest):
        line = without_mark(read)
        if line is not None and not line.strip():
            continue
        yield RawRecord(name, index, number, line)
        index += 1
    if index == 0:
        yield _file_error(name, "facts/empty", f"`{name}` holds no fact bundles")


_AFTER_READ_ERROR = (
    "the records before it are decided, the rest of the file is not: run the batch again once the file reads"
)


def _file_error(path: str, code: str, message: str, help_text: str | None = None) -> ErrorRecord:
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


__all__ = ["RawRecord", "Work", "decode", "json_line_work", "read_work"]
