"""What `carepolicy batch` says on standard error: the counts it keeps for that, the summary, the
note of what an interrupted or failed run wrote, and the progress line. Split from
commands/batch.py, which runs the batch."""

from __future__ import annotations

import signal
import time

import click

from .batch_output import LineWriter
from .batch_resume import complete_lines
from .common import ErrorRecord, finish, plural
from .exit_codes import ExitCode
from .reporting import fact_sources, report

SHOWN_ERRORS = 10  # error records whose diagnostics are repeated on stderr; all are in the output
PROGRESS_EVERY = 0.5  # seconds between progress lines on a terminal
NOT_RESUMABLE = "a Parquet output cannot be resumed (a Parquet file cannot be appended to)"
PARQUET_FULL_DISK_HELP = f"make room, then run the same command again; {NOT_RESUMABLE}"


class Counts:
    """What the input and the output hold so far (for the summary and for an interruption)."""

    def __init__(self, as_left: bool) -> None:
        self.read = 0
        self.input_done = False
        self.errors = 0
        self.failed: list[ErrorRecord] = []
        self.unreadable = 0  # files that could not be read as a whole: one error record, records unknown
        self.untold = 0  # other error records that stand for records not told apart, how many unknown
        self.kept = 0  # `--resume`: the lines of the partial output kept as they were (not decided again)
        # the input files that hold no records (facts/empty): no output line, as they have no record
        # (a line for one shifted every record after it and was counted as a record), said on stderr
        self.empty: list[ErrorRecord] = []
        self.padding = 0  # error records of a line that is only padding (NUL, DOS end-of-file bytes): no record
        # an earlier run's partial output (`--resume`, or a run that will start it anew), until the
        # run takes it over (its lines checked, or emptied: the writer begun): the file is as that
        # run left it, and holds its lines, not the writer's count (0)
        self.as_left = as_left


UNSEEN_END = "(the end of the input was not seen: the signal came while the next record was awaited)"


def written_note(writer: LineWriter, counts: Counts, awaiting: bool = False) -> None:
    """How many records the output holds; `awaiting`: a signal stopped the read of the next record."""
    removed = getattr(writer, "removed", None)  # Parquet: the files a failed write cut short, removed
    if removed:
        click.echo(removed, err=True)
        return
    written = complete_lines(writer.path) if counts.as_left else writer.written
    if written is None:
        click.echo(f"{writer.path} is left as the earlier run wrote it", err=True)
    elif counts.input_done:
        click.echo(f"{written} of {counts.read} records written to {writer.path}", err=True)
    else:
        unknown = f"of an unknown number {UNSEEN_END if awaiting else '(the input was not read to the end)'}"
        click.echo(f"{plural(written, 'record')} {unknown} written to {writer.path}", err=True)


def interrupted(number: int, writer: LineWriter, counts: Counts, output: str, awaiting: bool = False) -> None:
    """Say what a run a signal stopped wrote, and exit 130. `awaiting`: the signal stopped a read of
    a pipe or FIFO that may have waited for ever; whether more records would have come is not
    known (a producer that ends then may have been ended by the same signal, its output cut short),
    so the run is not complete, and the hint says what `--resume` does if there was no more."""
    name = signal.Signals(number).name
    click.echo(f"\ninterrupted by {name}: ", err=True, nl=False)
    written_note(writer, counts, awaiting)
    if writer.resumable and awaiting and not counts.as_left:
        hint = (f"hint: run the same command with --resume to continue, given the whole input again: the lines "
                f"written are checked, the records after them decided, and {output} is written when the input "
                "ends (at once, if there was no more)")
    elif writer.resumable:
        hint = f"hint: run the same command with --resume to continue; {output} is written when it is complete"
    else:
        hint = f"hint: {NOT_RESUMABLE}: run the same command again; {output} is written when it is complete"
    click.echo(hint, err=True)
    finish(ExitCode.INTERRUPTED)


def summary(counts: Counts, written: int, seconds: float, output: str, input_format: str | None) -> None:
    failed = (d for record in counts.failed for d in record.diagnostics)
    sources = fact_sources(failed, input_format=input_format)  # one pass per file
    for record in counts.failed:
        report(record.diagnostics, sources)
    for record in counts.empty:
        report(record.diagnostics)
    if counts.errors > len(counts.failed):
        more = plural(counts.errors - len(counts.failed), "more error record")
        click.echo(f"... and {more} in {output}", err=True)
    # the rate is of the records decided by this run: those kept by `--resume` took no time here
    decided = written - counts.kept
    rate = f"{decided / seconds:.1f}" if seconds > 0 else "∞"
    summary = f"{plural(written - counts.errors, 'decision')}, {plural(counts.errors, 'error record')}"
    if counts.kept:
        summary += f" ({counts.kept} kept from the partial output, {decided} decided now)"
    if counts.empty:
        holds, them = ("holds", "it") if len(counts.empty) == 1 else ("hold", "them")
        summary += f" ({plural(len(counts.empty), 'input file')} {holds} no records: no line is written for {them})"
    if counts.unreadable or counts.untold or counts.padding:
        # one error record stands for a whole file, or a YAML list, whose records could not be told
        # apart: the number of input records is not known, and the summary must not claim one per line;
        # one of a file's padding stands for none
        unknown = []
        if counts.padding:
            stand = "stands" if counts.padding == 1 else "stand"
            unknown.append(f"{plural(counts.padding, 'error record')} {stand} for no input record, only padding "
                           "(NUL or DOS end-of-file bytes)")
        if counts.unreadable:
            which = "it holds" if counts.unreadable == 1 else "they hold"
            unknown.append(f"{plural(counts.unreadable, 'input file')} could not be read, how many records {which} "
                           "is unknown")
        if counts.untold:
            stand = "stands" if counts.untold == 1 else "stand"
            unknown.append(f"{plural(counts.untold, 'error record')} {stand} for records that could not be told "
                           "apart, how many is unknown")
        summary += f" ({'; '.join(unknown)})"
        click.echo(f"{plural(written, 'output record')}: {summary} in {seconds:.2f} s -> {output}", err=True)
        return
    click.echo(f"{plural(written, 'record')}: {summary} in {seconds:.2f} s ({rate} records/s) -> {output}", err=True)


def holds_no_records(error: ErrorRecord) -> bool:
    """Whether the error record is of an input file without records (empty, only comments, no rows)."""
    return error.bundle_id is None and all(d.code == "facts/empty" for d in error.diagnostics)


def padding_only(error: ErrorRecord) -> int:
    """1 when the error record is of a line that is no record at all, only padding (record_errors.padding)."""
    from carepolicy.engine.facts.record_errors import STANDS_FOR_NONE

    return int(any(STANDS_FOR_NONE in (d.help or "") for d in error.diagnostics))


def unreadable_file(error: ErrorRecord) -> int:
    """1 when the error record stands for a whole file none of whose records was read (an
    unparsable JSON document or YAML list, an unreadable file), 0 for one record or an empty file."""
    return int(error.bundle_id is None and all(d.code != "facts/empty" for d in error.diagnostics))


def untold(error: ErrorRecord) -> int:
    """1 when the error record, in the place of a record of its file, says that it stands for records
    that could not be told apart, how many unknown (a YAML stream's document that is a list and
    cannot be parsed, a file saved as UTF-16 or compressed), 0 otherwise."""
    from carepolicy.engine.facts.record_errors import HOW_MANY_UNKNOWN

    return int(error.bundle_id is not None
               and any(HOW_MANY_UNKNOWN in f"{d.message} {d.help or ''}" for d in error.diagnostics))


class Progress:
    """One line on stderr, redrawn at most twice a second: the records written, and the rate of
    those decided by this run (as the summary's: the lines `--resume` kept took no time here)."""

    def __init__(self, writer: LineWriter, counts: Counts) -> None:
        self.writer, self.counts = writer, counts
        self.started = self.shown = time.perf_counter()

    def tick(self) -> None:
        now = time.perf_counter()
        if now - self.shown >= PROGRESS_EVERY:
            self.shown = now
            done = self.writer.written + self.writer.pending
            rate = (done - self.counts.kept) / (now - self.started)
            click.echo(f"\revaluating: {done:,} records ({rate:,.0f}/s)", err=True, nl=False)

    def end(self) -> None:
        click.echo("\r\x1b[K", err=True, nl=False)
