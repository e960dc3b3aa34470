"""Parquet files for `batch`: bundles in, decisions out (needs the `arrow` extra: pip install 'carepolicy[arrow]').

Reading: a `.parquet` input holds one bundle per row, as a JSON column `bundle` or as the bundle's
own columns (see arrow.py). Writing: `-o OUT.parquet` writes the DECISIONS table (one row per input
record, docs/reference/arrow-schema.md) to OUT.parquet and the billable lines, one row each, to
OUT.lines.parquet, from the lines `batch` makes (so --jobs and --trace work as for JSON Lines).
Both are written in row groups as records arrive, so memory stays bounded: each 64 lines become
an Arrow batch (their denials read by Arrow's JSON reader, the rest parsed: see arrow_lines.py;
a line parsed whole is about seven times its JSON), and a row group of
decisions is written at 2,048 rows or 16 MB of the lines' JSON, whichever comes first. The billable
lines (a few hundred bytes a decision) are written in row groups of 2,048 decisions' lines.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from carepolicy.cli.batch_notes import PARQUET_FULL_DISK_HELP
from carepolicy.cli.batch_output import LineWriter, OutputProblem
from carepolicy.engine import Bundle, BundleError, Diagnostic, FactError
from carepolicy.record_outcomes import ErrorRecord

from .arrow import DECISIONS, bundles_from_batches, lines_table, records_to_batch
from .arrow_bundles import unread_columns_note
from .arrow_lines import rows_of
from .parquet_damage import text_help

ROWS_PER_GROUP = 2048  # rows read at a time, and at most in a row group written
# a row group written also ends once its lines' JSON reaches BYTES_PER_GROUP (checked every
# ROWS_PER_BATCH rows): 2,048 rows of `--trace full` are ~120 MB of JSON, held twice (as Arrow,
# and joined into the group's one batch) while the group is written. Both bounds count rows and
# JSON bytes, never what arrives when, so the row groups are the same for any --jobs.
BYTES_PER_GROUP = 16 << 20
ROWS_PER_BATCH = 64  # lines held (as JSON) before they become an Arrow batch
_DAMAGED = "the file is damaged: write it again from its source"


def is_parquet(path: str) -> bool:
    return path.lower().endswith(".parquet")


def lines_path(path: str | Path) -> Path:
    """OUT.parquet -> OUT.lines.parquet, beside it (OUT.parquet.partial -> OUT.lines.parquet.partial);
    the suffix in any case, as `batch` reads it (OUT.PARQUET -> OUT.lines.PARQUET)."""
    path = Path(path)
    name = path.name
    at = name.lower().rfind(".parquet")
    return path.with_name(name[:at] + ".lines" + name[at:] if at >= 0 else name + ".lines")


def read_parquet_items(path: str) -> Iterator[Bundle | BundleError]:
    """Every row of a Parquet file as a bundle or the error that stands for it; raises FactError if unreadable."""
    try:
        file = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as error:
        message = f"cannot read `{path}`: {_reason(error)}"
        raise FactError([Diagnostic("facts/io", message, file=path, help=text_help(path, error))]) from None
    if file.metadata.num_rows == 0:
        raise FactError([Diagnostic("facts/empty", f"`{path}` holds no fact bundles", file=path)])
    note = unread_columns_note(file.schema_arrow.names, f"`{path}`")
    if note is not None:  # once a file: the rows are read as ever, from the bundle column
        click.echo(f"note: {note}", err=True)
    return _row_groups(file, path)


def _row_groups(file: pq.ParquetFile, path: str) -> Iterator[Bundle | BundleError]:
    """The rows a row group at a time: one that cannot be read (a damaged page) is a `facts/io` error
    record for each of its rows not read, and the row groups after it are still read."""
    start = 0
    for group in range(file.num_row_groups):
        end = start + file.metadata.row_group(group).num_rows
        index = start
        try:
            batches = file.iter_batches(batch_size=ROWS_PER_GROUP, row_groups=[group])
            for item in bundles_from_batches(batches, source=path, start=start):
                yield item
                index += 1
        except (OSError, pa.ArrowException) as error:
            message = f"cannot read row group {group + 1} of `{path}` (rows {start + 1} to {end}): {_reason(error)}"
            for row in range(index, end):
                diag = Diagnostic("facts/io", message, file=path, bundle=f"#{row + 1}", help=_DAMAGED)
                yield BundleError(f"#{row + 1}", path, row, (diag,))
        start = end


def _reason(error: Exception) -> str:
    """Why a read failed, on one line (Arrow's messages can span several). A file that cannot be
    opened is said as a JSON Lines input's is (`no such file`, the system's words for its errno),
    not as Arrow's `failed to open local file '…'. detail: [errno 2] no such file or directory`."""
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, OSError) and error.errno:
        return os.strerror(error.errno).lower()
    reason = error.strerror.lower() if isinstance(error, OSError) and error.strerror else str(error)
    return " ".join(reason.split())


def _write_problem(path: str, error: Exception) -> OutputProblem:
    """A write that failed, worded as the JSON Lines writer words it. Arrow's OSError carries its own
    text (`Error writing bytes to file. Detail: [errno 28] No space left on device`): the system's
    words for the errno are given instead, and a full disk gets its help."""
    if not isinstance(error, OSError) or not error.errno:
        return OutputProblem(f"cannot write `{path}`: {_reason(error)}")
    full = error.errno in (errno.ENOSPC, errno.EDQUOT)
    return OutputProblem(f"cannot write `{path}`: {os.strerror(error.errno).lower()}",
                         help=PARQUET_FULL_DISK_HELP if full else None)


def use_system_pool() -> None:
    """Arrow's allocations from here on from the system allocator (malloc), not its own pool
    (mimalloc), unless ARROW_DEFAULT_MEMORY_POOL names one. The pool held freed memory the system
    allocator reuses: the writer fed 3,000 compact lines peaked at 206-212 MB with mimalloc and
    171-172 MB with the system pool, and took 285 instead of 322 CPU µs a line (medians of three
    alternating runs; mimalloc gave pages back and faulted them in again: 0.3-0.4 s of system
    time against 0.15 s for 5,000 records). The arrays made before keep the pool they came from."""
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        pa.set_memory_pool(pa.system_memory_pool())


class ParquetLineWriter(LineWriter):
    """What `batch` writes its lines with (cli/batch_output.LineWriter), writing Parquet instead.

    Each line (a decision or an error record, as JSON) becomes a row of the DECISIONS table, written
    in row groups to `path` (OUT.parquet.partial); its billable lines go to the lines file beside it.
    `publish(output)` moves the lines file into place; `batch` then moves `path` to OUT.parquet.
    Resuming is not offered: a Parquet file cannot be appended to.
    """

    workers_write = False  # rows are built and written here, from the lines the workers send back
    resumable = False

    def __init__(self, path: str, refused: Callable[[ErrorRecord], None] = lambda _record: None) -> None:
        """`refused` hears of each decision written as an error row instead (see `arrow.decisions_batch`)."""
        use_system_pool()
        self.path = path  # (the parent's file descriptor is not used)
        self.written = 0
        self.pending = 0
        self._held: list[bytes] = []  # at most ROWS_PER_BATCH lines, not yet rows
        self._batches: list[pa.RecordBatch] = []  # the row group's rows so far, as Arrow
        self._group_bytes = 0  # the JSON bytes of the lines in the row group so far
        self._lines: list[pa.Table] = []  # the billable lines of the decisions written, not yet theirs
        self._lines_upto = 0  # the records whose billable lines are written
        self._refused = refused
        self.removed: str | None = None  # what a failed write removed (see `_discard`), for stderr
        self._read = 0  # the records read so far, and where each input's run of them starts (`read_from`)
        self._starts: list[int] = []
        self._sources: list[str] = []
        self._writers: list[pq.ParquetWriter] = []  # the decisions' and the lines', from `begin`
        # the files are opened here only to check that they can be written: an earlier run's are
        # emptied when this run begins, not before (a usage error while the policies load leaves them)
        self._made: list[str] = []  # the files this run made, or took over: removed by `abandon`
        for target in (path, str(lines_path(path))):
            try:
                descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                self._made.append(target)
            except FileExistsError:
                try:
                    descriptor = os.open(target, os.O_WRONLY)
                except OSError as error:
                    self.abandon()
                    raise _write_problem(target, error) from None
            except OSError as error:
                self.abandon()
                raise _write_problem(target, error) from None
            os.close(descriptor)

    @property
    def _lines_schema(self) -> pa.Schema:
        return lines_table(records_to_batch([])).schema

    def begin(self, keep: int, lines_kept: int) -> None:
        if keep or lines_kept:
            raise OutputProblem("a Parquet output cannot be resumed", help="run again without --resume")
        self._made = [self.path, str(lines_path(self.path))]
        for target, schema in ((self.path, DECISIONS), (self._made[1], self._lines_schema)):
            try:
                self._writers.append(pq.ParquetWriter(target, schema))
            except (OSError, pa.ArrowException) as error:
                raise _write_problem(target, error) from None

    def add(self, lines: bytes, count: int = 1) -> None:
        for line in lines.split(b"\n")[:count] if count > 1 else (lines,):  # --jobs: a chunk's lines joined
            self._held.append(line)
            self.pending += 1
            self._group_bytes += len(line) - line.endswith(b"\n")  # (a chunk's lines come without theirs)
            if len(self._held) >= ROWS_PER_BATCH:
                self._to_arrow()
                if self.pending >= ROWS_PER_GROUP or self._group_bytes >= BYTES_PER_GROUP:
                    self._write_group()

    def _to_arrow(self) -> None:
        """The lines held as one Arrow batch (see arrow_lines.rows_of)."""
        if not self._held:
            return
        batch, refused = rows_of(self._held, self.written + self.pending - len(self._held), self._source_of)
        self._held = []
        self._batches.append(batch)
        for record in refused:
            self._refused(record)

    def read_from(self, source: str) -> None:
        """The input of the next record read: the source of its error row, should its decision not fit."""
        if not self._sources or self._sources[-1] != source:
            self._starts.append(self._read)
            self._sources.append(source)
        self._read += 1

    def _source_of(self, record: int) -> str:
        return self._sources[bisect.bisect_right(self._starts, record) - 1] if self._sources else "<input>"

    def flush(self) -> None:
        """Write every row held: the decisions, then the billable lines of every decision written."""
        if self.removed is not None:  # a failed write removed the files and closed their writers
            return
        self._write_group()
        self._write_lines(self.written)

    def _write_group(self) -> None:
        """Write the decisions held as one row group (one batch: a group written as many small
        batches would be paged, and so encoded, by where they were cut)."""
        self._to_arrow()
        if not self._batches:
            return
        batch = self._batches[0] if len(self._batches) == 1 else pa.concat_batches(self._batches)
        self._batches, self._group_bytes = [], 0
        try:
            self._writers[0].write_batch(batch)
        except (OSError, pa.ArrowException) as error:
            self._discard()
            raise _write_problem(self.path, error) from None
        self.written += self.pending
        self.pending = 0
        self._lines.append(lines_table(batch))
        boundary = self._lines_upto + ROWS_PER_GROUP
        if self.written >= boundary:  # (a group holds at most ROWS_PER_GROUP rows: one boundary)
            self._write_lines(boundary)

    def _write_lines(self, upto: int) -> None:
        """The billable lines of the records before `upto` (and after those written), as one row
        group: a few rows a decision, so tying them to the decisions' smaller groups only made
        the lines file larger (twice as large with `--trace full`)."""
        if upto <= self._lines_upto:
            return
        held = pa.concat_tables(self._lines) if self._lines else self._lines_schema.empty_table()
        count = pc.sum(pc.less(held.column("record"), upto)).as_py() or 0
        rest = held.slice(count)
        self._lines = [rest] if rest.num_rows else []
        self._lines_upto = upto
        try:
            self._writers[1].write_table(held.slice(0, count).combine_chunks())
        except (OSError, pa.ArrowException) as error:
            self._discard()
            raise _write_problem(self.path, error) from None

    def abandon(self) -> None:
        """Remove the files this run made or began (a Parquet output is never resumed): nothing was
        decided (see LineWriter.abandon). An earlier run's files not yet begun are left as they were."""
        for writer in self._writers:
            with contextlib.suppress(OSError, pa.ArrowException):
                writer.close()
        for path in self._made:
            with contextlib.suppress(OSError):
                os.unlink(path)

    def close(self) -> None:
        if self.removed is not None:  # (batch closes the output after the failed write it reports)
            return
        self.flush()
        failed: list[Exception] = []
        for writer in self._writers:  # the footers are written here: a full disk too
            try:
                writer.close()
            except (OSError, pa.ArrowException) as error:
                failed.append(error)
        if failed:
            self._discard()
            raise _write_problem(self.path, failed[0])

    def _discard(self) -> None:
        """After a failed write (a full disk): the files have no footer, so no reader can open them,
        and a Parquet output is not resumed; kept, they would only hold the room the help asks for."""
        self.abandon()
        self.removed = (f"{self.path} and {lines_path(self.path)} are removed: a Parquet file cut short "
                        "cannot be read, nor resumed")

    def publish(self, output: str) -> None:
        """Move the lines file into place, before `batch` moves `path` to OUT.parquet: a pipeline waits
        for OUT.parquet, and a new one must never stand beside an earlier run's lines (a crash, or
        a move refused, between the two moves). When this move fails, nothing is moved."""
        partial, lines = lines_path(self.path), lines_path(output)
        try:
            os.replace(partial, lines)
        except OSError as error:
            reason = (error.strerror or str(error)).lower()
            raise OutputProblem(f"cannot move the finished billable lines `{partial}` to `{lines}`: {reason}",
                                help=f"nothing was moved: the decisions are in `{self.path}`, the billable lines in "
                                f"`{partial}`; move the lines to `{lines}`, then the decisions to `{output}`") from None
