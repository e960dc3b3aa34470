"""`carepolicy batch`: evaluate many records into a JSON Lines file, one line per input record."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from itertools import chain
from typing import TYPE_CHECKING

import click

from ..batch_input import RawLines, Read, Work, read_work, records_of
from ..batch_notes import (
    NOT_RESUMABLE,
    PARQUET_FULL_DISK_HELP,
    SHOWN_ERRORS,
    Counts,
    Progress,
    holds_no_records,
    interrupted,
    padding_only,
    summary,
    unreadable_file,
    untold,
    written_note,
)
from ..batch_output import LineWriter, OutputProblem, ResumeProblem, check_target, partial_path
from ..batch_resume import ResumeScan, kept_lines
from ..batch_signals import Interrupted, Stop, awaited, may_wait
from ..common import ErrorRecord, Setup, fail, finish, input_format_option, plural, prepare
from ..exit_codes import ExitCode
from ..output import overwritten_input
from ..reporting import diagnostic, report
from .evaluate import FEE_HELP, POLICIES_HELP, SWITCH_HELP, trace_form

if TYPE_CHECKING:
    from ..batch_run import Done

TRACE_HELP = (
    "full: every rule, requirement and value read, with titles and citations (~49 kB of trace; "
    "a line ~73 kB); compact: what was evaluated and the values read, with the policy set's hash "
    "(~1.4 kB of trace, a line ~25 kB; `carepolicy explain` expands it to the full trace); none: "
    "no trace (a line ~24 kB, nearly all of it the denials and their reasons)."
)
JOBS_HELP = (
    "Worker processes (default: the cores available; at most 4 a core). The output is the same for any number."
)
JOBS_PER_CORE = 4  # beyond this, workers only add memory (each holds its own policy set and month plans)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _counted(works: Iterator[Read], counts: Counts, read_from: Callable[[str], None] | None) -> Iterator[Read]:
    """The records, counted; `read_from` (Parquet's writer) hears each one's input. A file without
    records has no line: it is kept for the summary and the exit status, never silent."""
    for work in works:
        if isinstance(work, ErrorRecord) and holds_no_records(work):
            counts.empty.append(work)
            continue
        counts.read += work.count if isinstance(work, RawLines) else 1  # (a call a record costs here)
        if read_from is not None:
            read_from(work.source)
        yield work
    counts.input_done = True


def _count_error(counts: Counts, error: ErrorRecord) -> None:
    counts.errors += 1
    counts.unreadable += unreadable_file(error)
    counts.untold += untold(error)
    counts.padding += padding_only(error)
    if len(counts.failed) < SHOWN_ERRORS:
        counts.failed.append(error)


def _resumed(
    reads: Iterator[Read], scan: ResumeScan, writer: LineWriter, setup: Setup, form: str, counts: Counts
) -> Iterator[Work]:
    """The records after those already written to the partial output, each written one checked."""
    works = chain.from_iterable(map(records_of, reads))  # (read line by line: one record a read)
    counts.errors += sum(kept_lines(works, scan, setup, form))  # (True: an error record)
    if scan.rewritten is not None:  # (the lines before it are kept)
        click.echo(f"note: line {scan.lines + 1} of `{scan.path}` is not as batch writes it ({scan.rewritten}); "
                   "it and the lines after it are decided again", err=True)
    elif not scan.lines:  # no partial output, or nothing complete in it (a finished run renamed its own)
        click.echo(f"note: no complete line in `{scan.path}` to resume from; every record is decided", err=True)
    writer.begin(scan.kept, scan.lines)
    counts.kept, counts.as_left = scan.lines, False
    yield from works


@click.command("batch")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--output", "-o", required=True, metavar="OUT.jsonl",
              help="The JSON Lines file to write; OUT.parquet writes Parquet (needs the `arrow` extra).")
@click.option("--policies", "policies_dir", metavar="DIR", help=POLICIES_HELP)
@click.option(
    "--trace",
    "trace",
    type=click.Choice(["full", "compact", "none"]),
    default=None,
    help=TRACE_HELP + "  [default: compact]",
)
@click.option("--explain/--no-explain", default=None, help="Same as --trace full / --trace none (older spelling).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N", help=JOBS_HELP)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue OUT.jsonl.partial, left by an interrupted run: the records already written are checked "
    "(position, bundle id, facts and decision id) and skipped; from a line not as batch writes it (CRLF "
    "line ends, white space) on, the records are decided again.",
)
@click.option("--switch", "switches", multiple=True, metavar="NAME=OPTION", help=SWITCH_HELP)
@click.option("--fee-schedule", metavar="CSV", help=FEE_HELP)
@input_format_option
def batch(
    inputs: tuple[str, ...],
    output: str,
    policies_dir: str | None,
    trace: str | None,
    explain: bool | None,
    jobs: int | None,
    resume: bool,
    switches: tuple[str, ...],
    fee_schedule: str | None,
    input_format: str | None,
) -> None:
    """Evaluate every record of every INPUT into one JSON Lines file.

    For claim pipelines: writes exactly one line to OUT.jsonl per input record, in input order,
    either the decision (as `evaluate --format jsonl` writes it, with the trace chosen by --trace)
    or an error record {"bundle_id", "source", "error": [diagnostics]} for a record that could not
    be decided (an input file that cannot be read at all is one error record with bundle_id null;
    one without records, empty, has no line and is said on stderr).
    Even an internal or serialisation error on one record becomes that record's error record.

    Memory stays the same whatever the input's size (JSON Lines inputs are read as they are
    decided). The lines go to OUT.jsonl.partial, renamed to OUT.jsonl when every record is written.
    SIGINT or SIGTERM stops the run with the complete lines kept, says how many were written, and
    exits with 130 (one that comes once every record is written only adds a note); a full disk
    keeps the complete lines and exits with 2. Either way `--resume` continues where it stopped.
    Progress (on a terminal) and a summary go to stderr. The exit status is 0 when every record
    became a decision and every input held records, 2 otherwise.

    Parquet (pip install 'carepolicy[arrow]'): an INPUT ending in .parquet holds one bundle per
    row (a JSON column `bundle`, or the bundle's own columns); OUT.parquet gets one row per record
    (decision columns, the trace as JSON) and OUT.lines.parquet one row per billable line.

    \b
    Examples:
      carepolicy batch claims-2025-03.jsonl --output decisions.jsonl
      carepolicy batch claims-2025-03.jsonl -o decisions.jsonl --trace full --jobs 2
      carepolicy batch claims-2025-03.jsonl -o decisions.jsonl --resume
      carepolicy batch months/*.yaml --trace none -o decisions.jsonl --switch complex_ccm_care_plan=relaxed
      carepolicy batch bundles.parquet -o decisions.parquet
    """
    form = trace_form(trace, explain, default="compact")
    cores = _cores()
    if jobs is not None and jobs > JOBS_PER_CORE * cores:
        fail("usage/jobs", f"--jobs {jobs} would start {jobs} processes on {plural(cores, 'core')}",
             help=f"use at most {JOBS_PER_CORE * cores}: more workers than cores are no faster, and each one "
                  "holds its own copy of the policies in memory")
    with Stop() as stop:
        try:
            # before the policies are loaded and any input is read; the fee schedule and a policies file are inputs too
            read = (*inputs, *filter(None, (fee_schedule, policies_dir)))
            check_target(output, read)
            parquet = output.lower().endswith(".parquet")
            if parquet and resume:  # before the writer is made: it would empty the partial file
                raise OutputProblem(NOT_RESUMABLE, help="run the same command without --resume")
            counts = Counts(as_left=resume)
            writer = _parquet_writer(output, read, counts) if parquet else LineWriter(partial_path(output))
        except OutputProblem as problem:
            fail("usage/output", problem.message, help=problem.help, file=output)
        counts.as_left = resume or (writer.resumable and writer.found)
        try:
            stop.now()  # (a signal while the output was opened: noted, and heard now)
            try:
                setup = prepare(policies_dir, switches, fee_schedule, trace=form != "none")
            except click.exceptions.Exit:  # a usage error (reported): no empty partial file left behind
                writer.abandon()
                raise
            read_from = getattr(writer, "read_from", None)  # Parquet: the input of each row, for its error row
            # with workers writing JSON Lines, a regular file's lines go to them in blocks (not for
            # --resume, which checks the records already written one by one)
            blocks = (jobs or cores) > 1 and writer.workers_write and not resume
            works = read_work(inputs, input_format, blocks=blocks)
            works = _counted(awaited(works, stop, may_wait(inputs)), counts, read_from)
            if resume:
                works = _resumed(works, ResumeScan(writer.path), writer, setup, form, counts)
            else:
                try:
                    writer.begin(0, 0)
                except OutputProblem as problem:  # e.g. the partial file cannot be truncated (a device, a pipe)
                    writer.close()
                    fail("usage/output", problem.message, file=writer.path,
                         help=problem.help or "give -o a regular file on a writable disk")
            stop.immediate = False
        except Interrupted:
            interrupted(stop.signal or signal.SIGINT, writer, counts, output)
        started = time.perf_counter()
        stopped = _run(works, writer, setup, form, jobs or cores, counts, stop)
        # still under `Stop`: a signal from here on finds every line written and changes nothing (it
        # killed the finished run, SIGTERM, or aborted it, SIGINT, before the output was moved into place)
        seconds = time.perf_counter() - started
        # the one rule for a run a signal stopped: complete (the input read to its end and a line
        # written for every record) it is finished as any other, else it is interrupted. A signal
        # once the last line was written left a complete OUT.partial unmoved, exit 130.
        complete = counts.input_done and writer.written == counts.read
        try:
            writer.close()
        except OutputProblem as problem:  # Parquet: the footers are written at close (a full disk there too)
            report([diagnostic("usage/output", problem.message, file=writer.path,
                               help=problem.help or f"{NOT_RESUMABLE}: run the same command again")])
            written_note(writer, counts)
            finish(ExitCode.BAD_INPUT)
        if stopped is not None and not complete:
            interrupted(stopped, writer, counts, output, stop.awaiting)
        if stopped is not None:
            name = signal.Signals(stopped).name
            click.echo(f"note: {name} came once every record was written: the run is complete", err=True)
        _publish(writer, output)
        summary(counts, writer.written, seconds, output, input_format)
    finish(ExitCode.BAD_INPUT if counts.errors or counts.empty else ExitCode.OK)


def _publish(writer: LineWriter, output: str) -> None:
    """Move the finished output into place (Parquet: the billable lines first, see ParquetLineWriter.publish)."""
    publish = getattr(writer, "publish", None)
    if publish is not None:
        try:
            publish(output)
        except OutputProblem as problem:
            fail("usage/output", problem.message, help=problem.help, file=output)
    try:
        os.replace(writer.path, output)
    except OSError as error:  # every line is written: say where they are rather than lose them in a traceback
        reason = (error.strerror or str(error)).lower()
        moved = "" if publish is None else " (the billable lines are already in place, beside it)"
        fail("usage/output", f"cannot move the finished output `{writer.path}` to `{output}`: {reason}",
             help=f"all {writer.written} records are in `{writer.path}`; move it into place yourself{moved}",
             file=output)


def _parquet_writer(output: str, read: tuple[str, ...], counts: Counts) -> LineWriter:
    """OUT.parquet (and OUT.lines.parquet): the `arrow` extra's writer (carepolicy/parquet.py). A
    decision it writes as an error row (one the table cannot hold) is counted as an error record."""
    try:
        from carepolicy.parquet import ParquetLineWriter, lines_path
    except ImportError:
        fail("usage/missing-extra", f"writing `{output}` needs pyarrow, which is not installed",
             help="install the Arrow extra: pip install 'carepolicy[arrow]'")
    for side in (lines_path(output), lines_path(partial_path(output))):  # written too, and the first replaced
        overwritten = overwritten_input(str(side), read, what="billable-lines output")
        if overwritten is not None:
            raise OutputProblem(overwritten, help="write the decisions to another file")
        if side.exists() and not side.is_file():  # a Spark "parquet" folder: found only at the end otherwise
            kind = "a folder" if side.is_dir() else "not a regular file (a device or a pipe)"
            raise OutputProblem(f"cannot write `{side}`: it is {kind}",
                                help=f"batch writes the billable lines of `{output}` there; remove it or "
                                "write the decisions to another file")
    return ParquetLineWriter(partial_path(output), refused=partial(_count_error, counts))


def _take(done: Done, writer: LineWriter, counts: Counts) -> None:
    """As `_run`'s loop takes each item (written there as it is, a call a record costs in that loop)."""
    if done.line:  # empty: a chunk the workers wrote (and `writer.written` counts)
        writer.add(done.line, done.count)
    for error in done.errors:
        _count_error(counts, error)


def _run(works: Iterator[Read], writer: LineWriter, setup: Setup, form: str, jobs: int, counts: Counts,
         stop: Stop) -> int | None:
    """Decide and write every record; the signal that stopped the run, or None when it finished."""
    from ..batch_run import Decider

    progress = Progress(writer, counts) if sys.stderr.isatty() else None
    # workers write a JSON Lines file themselves; Parquet rows are built and written here
    decider = Decider(setup, form, jobs, writer if writer.workers_write else None)
    try:
        with contextlib.suppress(Interrupted):  # a signal while the input was awaited: as the `break` below
            for done in decider.run(works):
                if done.line:  # empty: a chunk the workers wrote (and `writer.written` counts)
                    writer.add(done.line, done.count)
                for error in done.errors:
                    _count_error(counts, error)
                if stop.signal is not None:
                    break
                if progress is not None:
                    progress.tick()
        if stop.signal is not None:  # every record read is decided and written (a second signal: at once)
            with contextlib.suppress(Interrupted):
                for done in decider.salvage(stop.again):
                    _take(done, writer, counts)
        writer.flush()
        if progress is not None:
            progress.end()
        if stop.signal is not None and not counts.input_done and writer.written == counts.read:
            # every record read is written: one more read (from files only, see `awaited`) says
            # whether that is all of them, and the run complete
            with contextlib.suppress(Interrupted):
                next(works, None)
        return stop.signal
    except OutputProblem as problem:
        decider.close()
        ended_by = getattr(problem, "signal", None)  # a worker ended by SIGINT/SIGTERM (batch_pool.WorkerLost)
        if ended_by is not None:
            writer.flush()
            return stop.signal or int(ended_by)
        with contextlib.suppress(OutputProblem):  # (Parquet's footers: the problem is the one reported here)
            writer.close()
        # (a lost worker's help offers --resume: not for Parquet, whose writer words a full disk's help)
        parquet_full = problem.help == PARQUET_FULL_DISK_HELP
        help_text = problem.help if writer.resumable or parquet_full else f"{NOT_RESUMABLE}: run the same command again"
        report([diagnostic("usage/output", problem.message, help=help_text, file=writer.path)])
        if not isinstance(problem, ResumeProblem):
            written_note(writer, counts)
        finish(ExitCode.BAD_INPUT)
    finally:
        decider.close()
