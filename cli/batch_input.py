"""The input side of `batch`: every input record, one at a time, never the whole input at once.

Records come from the engine's lazy reader (`engine/facts/records.py`), with one difference for
JSON Lines: the lines are split with the reader's own line splitter and limits and each is handed
on undecoded, to be decoded where it is evaluated (carepolicy/record_lines.py, which the service
reads a request's body with too); the records, their errors and their order are exactly those of
the reader.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal, overload

# the JSON Lines records themselves (split here, decoded where decided) are shared with the service:
# defined below both, named here for the commands, the benchmarks and the tests
from carepolicy.record_lines import BLOCK_RECORDS as BLOCK_RECORDS
from carepolicy.record_lines import RawLines as RawLines
from carepolicy.record_lines import RawRecord as RawRecord
from carepolicy.record_lines import Read as Read
from carepolicy.record_lines import Work as Work
from carepolicy.record_lines import decode as decode
from carepolicy.record_lines import file_error, json_line_work
from carepolicy.record_lines import records_in as records_in
from carepolicy.record_lines import records_of as records_of

from .common import iter_inputs


@overload
def read_work(paths: Sequence[str], input_format: str | None = None, *,
              blocks: Literal[False] = False) -> Iterator[Work]: ...
@overload
def read_work(paths: Sequence[str], input_format: str | None = None, *, blocks: bool) -> Iterator[Read]: ...
def read_work(paths: Sequence[str], input_format: str | None = None, *, blocks: bool = False) -> Iterator[Read]:
    """Every input record of every path, in order; an unreadable file is one error record.

    `blocks`: a regular JSON Lines file's ordinary lines come as `RawLines` of up to `BLOCK_RECORDS`
    (for `--jobs`, whose workers split them; not for `--resume`, which checks records one by one)."""
    from carepolicy.engine.facts.records import input_format_of

    for path in paths:
        fmt = input_format or (None if path == "-" else input_format_of(path))
        # (a `.parquet` file is Parquet whatever --input-format says: iter_inputs reads it as such)
        if fmt == "jsonl" and path != "-" and not path.lower().endswith(".parquet"):
            yield from _json_lines(path, blocks)
        else:
            yield from iter_inputs([path], input_format)


def _json_lines(path: str, blocks: bool = False) -> Iterator[Read]:
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
            # (not a FIFO named as a file: a read of a block would wait for the whole block)
            regular = blocks and stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
            for work in json_line_work(stream, path, blocks=regular):
                index += records_in(work) if isinstance(work, RawRecord | RawLines) else 0
                yield work
            cut = cut_short(stream, size, path)
            if cut is not None:
                yield file_error(path, "facts/io", cut, _AFTER_READ_ERROR)
    except OSError as error:  # a read error half-way (a failing disk): the records before it stand
        reason = (error.strerror or str(error)).lower()
        yield file_error(path, "facts/io", f"cannot read `{path}` after record {index}: {reason}", _AFTER_READ_ERROR)


_AFTER_READ_ERROR = (
    "the records before it are decided, the rest of the file is not: run the batch again once the file reads"
)


__all__ = [
    "BLOCK_RECORDS", "RawLines", "RawRecord", "Read", "Work", "decode", "json_line_work", "read_work", "records_in",
    "records_of",
]
