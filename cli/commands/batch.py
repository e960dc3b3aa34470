"""`carepolicy batch`: evaluate many records into a JSON Lines file, one line per input record."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence

import click

from ..common import (
    ErrorRecord,
    Item,
    decide,
    fail,
    finish,
    input_format_option,
    output_stream,
    plural,
    prepare,
    read_inputs,
    record_json_line,
    report,
)
from ..exit_codes import ExitCode
from .evaluate import FEE_HELP, POLICIES_HELP, SWITCH_HELP

_SHOWN_ERRORS = 10  # error records whose diagnostics are repeated on stderr; all are in the output


def _progress(items: Sequence[Item]) -> Iterator[Item]:
    """The items, with a progress bar on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield from items
        return
    with click.progressbar(items, label="evaluating", file=sys.stderr, show_pos=True) as bar:
        yield from bar


@click.command("batch")
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--output", "-o", required=True, metavar="OUT.jsonl", help="The JSON Lines file to write.")
@click.option("--policies", "policies_dir", metavar="DIR", help=POLICIES_HELP)
@click.option(
    "--explain/--no-explain",
    default=True,
    show_default=True,
    help="Include the trace in each decision; --no-explain is faster and the lines are smaller.",
)
@click.option("--switch", "switches", multiple=True, metavar="NAME=OPTION", help=SWITCH_HELP)
@click.option("--fee-schedule", metavar="CSV", help=FEE_HELP)
@input_format_option
def batch(
    inputs: tuple[str, ...],
    output: str,
    policies_dir: str | None,
    explain: bool,
    switches: tuple[str, ...],
    fee_schedule: str | None,
    input_format: str | None,
) -> None:
    """Evaluate every record of every INPUT into one JSON Lines file.

    For bulk runs: writes exactly one line to OUT.jsonl per input record, in input order, either
    the decision (as `evaluate --format jsonl` writes it) or an error record
    {"bundle_id", "source", "error": [diagnostics]} for a record that could not be decided (an
    input file that cannot be read at all is one error record with bundle_id null). It never stops
    halfway: even an internal error on one record becomes that record's error record (code
    eval/internal). Progress (on a terminal) and a summary go to stderr. The exit status is 0 when
    every record became a decision, 2 otherwise.

    \b
    Examples:
      carepolicy batch claims-2025-03.jsonl --output decisions.jsonl
      carepolicy batch months/*.yaml --no-explain -o decisions.jsonl --switch complex_ccm_care_plan=relaxed
    """
    setup = prepare(policies_dir, switches, fee_schedule, trace=explain)
    started = time.perf_counter()
    items = read_inputs(inputs, input_format)
    failed: list[ErrorRecord] = []
    with output_stream(output) as out:
        try:
            for item in _progress(items):
                record = decide(item, setup)
                if isinstance(record, ErrorRecord):
                    failed.append(record)
                out.write(record_json_line(record) + "\n")
        except OSError as error:
            reason = (error.strerror or str(error)).lower()
            fail("usage/output", f"cannot write `{output}`: {reason}", file=output)
    seconds = time.perf_counter() - started
    for record in failed[:_SHOWN_ERRORS]:
        report(record.diagnostics)
    if len(failed) > _SHOWN_ERRORS:
        more = plural(len(failed) - _SHOWN_ERRORS, "more error record")
        click.echo(f"... and {more} in {output}", err=True)
    rate = f"{len(items) / seconds:.1f}" if seconds > 0 else "∞"
    counts = f"{plural(len(items) - len(failed), 'decision')}, {plural(len(failed), 'error record')}"
    click.echo(f"{plural(len(items), 'record')}: {counts} in {seconds:.2f} s ({rate} records/s) -> {output}", err=True)
    finish(ExitCode.BAD_INPUT if failed else ExitCode.OK)
