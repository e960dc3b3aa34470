"""The decisions of a Parquet output of `batch` (`-o OUT.parquet`), as `carepolicy explain` reads them.

Each row is rebuilt as the JSON line batch writes for that record (`carepolicy.arrow.decision_json_line`,
which gives back exactly that line) and read as such a line is, so a row is expanded, refused or
written through (an error row) as its line would be. Given as text, a Parquet file was refused as
`not UTF-8 text (byte 8)`, which said nothing of what to do.

Rows are read in slices of `ROWS_AT_ONCE`, one column chunk streamed through a small buffer
(`buffer_size`) rather than read whole, nothing read ahead (`pre_buffer=False`), on this thread
(`use_threads=False`: decoding the columns on a pool of threads held more, 215 against 181 MiB
in one measurement), and without the
`record` column, which the JSON line does not hold. Read with Arrow's defaults (whole column chunks,
256 rows at once, a thread per column), `explain` of a 20,000-row output peaked at 241,900 kB, and
the memory grew with the row group (only reading one file rewritten with one group of 5,000, 20,000
or 60,000 rows: 200, 225, 255 MiB); now 159,708 kB, and 147-159 MiB for those three (docs/reference/cli.md#explain).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, NoReturn

from .common import fail

if TYPE_CHECKING:
    import pyarrow.parquet as pq

ROWS_AT_ONCE = 32  # rows decoded and made Python values at once (a compact row is ~20 kB)
READ_BUFFER = 1 << 16  # bytes of a column chunk read at once; 0 (Arrow's default) read each chunk whole
UNUSED = frozenset({"record"})  # the input record's number: not in the JSON line
PARQUET_HELP = "give the decisions `batch -o OUT.parquet --trace compact` wrote (or its JSON Lines output)"


def parquet_decisions(path: str) -> Iterator[tuple[str, Any, bytes]]:
    """(`path` and the row's number, the decision's JSON value, its JSON line) for each row of the file."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from carepolicy.parquet_damage import damaged_help, starts_as_json
    except ImportError:
        fail("usage/missing-extra", f"reading `{path}` needs pyarrow, which is not installed", file=path,
             help="install the Arrow extra: pip install 'carepolicy[arrow]'")
    try:
        stream = open(path, "rb")  # noqa: SIM115 — closed below; opened here to word a missing file as a file
    except OSError as error:
        _unreadable(path, error)
    with stream:
        try:
            file = pq.ParquetFile(stream, buffer_size=READ_BUFFER, pre_buffer=False)
        except (OSError, pa.ArrowException) as error:  # cut short or damaged, JSON text, or else none
            json_text = "it holds JSON text, not Parquet: name it `.jsonl` or `.json`"
            _unreadable(path, error, damaged_help(path, error) or (json_text if starts_as_json(path) else None))
        yield from _rows(path, file)


def _rows(path: str, file: pq.ParquetFile) -> Iterator[tuple[str, Any, bytes]]:
    import pyarrow as pa
    from carepolicy.engine.jsontext import loads

    from carepolicy.arrow import decision_json_line

    names = file.schema_arrow.names
    missing = [name for name in ("status", "decision_id", "bundle_id", "trace") if name not in names]
    if missing:  # e.g. the bundles' Parquet file given as DECISION
        fail("usage/input", f"`{path}` is not a decision table `batch` wrote: it has no column `{missing[0]}`",
             file=path, help=_what_it_is(path, names))
    columns = [name for name in file.schema_arrow.names if name not in UNUSED]
    number = 0
    try:
        for batch in file.iter_batches(batch_size=ROWS_AT_ONCE, columns=columns, use_threads=False):
            for row in batch.to_pylist():
                number += 1
                line = decision_json_line(row).encode("utf-8")  # (a lone surrogate is escaped: ASCII)
                yield f"{path}:row {number}", loads(line), line
    except (OSError, pa.ArrowException) as error:
        _unreadable(path, error)
    except KeyError as error:  # a column of the decision table that this file does not have
        fail("usage/input", f"`{path}` is not a decision table `batch` wrote: row {number} has no column "
             f"`{error.args[0]}`", file=path, help=PARQUET_HELP)


def _what_it_is(path: str, names: list[str]) -> str:
    """The help for a Parquet file that is not a decision table: said what it is, when its columns
    show it (batch's table of billable lines, beside the decisions; a table of bundles, the other
    argument), as the two are the files a user has at hand beside the decisions."""
    if {"record", "code", "units", "practitioner"} <= set(names):
        table = lines_decisions(path) or "OUT.parquet"
        return (f"it is the table of billable lines `batch` writes beside its decisions (OUT.lines.parquet): "
                f"give the decisions, `{table}`, written with `--trace compact`")
    if "bundle" in names or "month" in names:
        return f"it holds fact bundles: give it as BUNDLE, after the decisions; {PARQUET_HELP}"
    return PARQUET_HELP


def lines_decisions(path: str) -> str | None:
    """OUT.parquet for OUT.lines.parquet (the suffix in any case, as `batch` names it); None for a
    name that is not one."""
    at = path.lower().rfind(".lines.parquet")
    return path[:at] + path[at + len(".lines"):] if at >= 0 else None


def _unreadable(path: str, error: Exception, help: str | None = None) -> NoReturn:
    reason = error.strerror.lower() if isinstance(error, OSError) and error.strerror else str(error)
    fail("usage/input", f"cannot read `{path}`: {' '.join(reason.split())}", file=path, help=help or PARQUET_HELP)
