"""`carepolicy evaluate`: decide every bundle of every fact file, and explain the decision."""

from __future__ import annotations

import click

from ..common import (
    ErrorRecord,
    Record,
    decide,
    fail,
    finish,
    input_format_option,
    output_stream,
    prepare,
    read_inputs,
    record_json_line,
    records_json_document,
    report,
)
from ..exit_codes import ExitCode

POLICIES_HELP = "Policy folder (or one .policy file) to use instead of the shipped policies."
SWITCH_HELP = "Choose an option of a policy switch; repeat for several. Unknown names and options are errors."
FEE_HELP = "CSV with a `code` column and `allowed` (money) or `rvu` per row; used before the RVU table."
FORMAT_HELP = "text: the decision for people; json: one JSON document; jsonl: one JSON line per input record."


TRACE_CHOICES = ("full", "compact", "none")


def trace_form(trace: str | None, explain: bool | None, *, default: str) -> str:
    """The trace form from --trace and its older spelling --explain/--no-explain (full/none)."""
    alias = None if explain is None else ("full" if explain else "none")
    if trace is not None and alias is not None and trace != alias:
        flag = "--explain" if explain else "--no-explain"
        fail("usage/option", f"`--trace {trace}` contradicts `{flag}`", help=f"{flag} means --trace {alias}; give one")
    return trace or alias or default


def _error_line(record: ErrorRecord) -> str:
    who = f"Bundle {record.bundle_id}" if record.bundle_id is not None else "File"
    problems = f"{len(record.diagnostics)} problem{'' if len(record.diagnostics) == 1 else 's'}"
    return f"{who} · not evaluated: {problems} in {record.source} (details on stderr)\n"


@click.command("evaluate")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--policies", "policies_dir", metavar="DIR", help=POLICIES_HELP)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "jsonl"]), default="text", show_default=True, help=FORMAT_HELP
)
@click.option(
    "--trace",
    type=click.Choice(TRACE_CHOICES),
    default=None,
    help="full: every rule, requirement and value read, with its citation; compact (json, jsonl): what was "
    "evaluated and the values read (`carepolicy explain` expands it); none: no trace.  [default: full]",
)
@click.option("--explain/--no-explain", default=None, help="Same as --trace full / --trace none.")
@click.option("--switch", "switches", multiple=True, metavar="NAME=OPTION", help=SWITCH_HELP)
@click.option("--fee-schedule", metavar="CSV", help=FEE_HELP)
@click.option("--output", "-o", metavar="FILE", help="Write the results to FILE instead of stdout.")
@input_format_option
def evaluate(
    files: tuple[str, ...],
    policies_dir: str | None,
    fmt: str,
    trace: str | None,
    explain: bool | None,
    switches: tuple[str, ...],
    fee_schedule: str | None,
    output: str | None,
    input_format: str | None,
) -> None:
    """Decide what can be billed for each fact bundle, and say why.

    Reads every bundle of every FILE (YAML, JSON or JSON Lines, by extension or --input-format;
    `-` reads stdin, its format detected when --input-format is not given), evaluates it against
    the policy set and prints one result per input record: the billable codes with allowed amounts
    and who pays what, every denied code with each reason, citation and policy line, the
    alternatives that were not chosen, and (with --explain) the trace. A denial is an answer,
    not an error. A bundle that is not valid is reported on stderr
    and stands as an error record in the output, the other bundles are still evaluated, and the
    exit status is then 2.

    \b
    Examples:
      carepolicy evaluate march.yaml
      carepolicy evaluate --format json --no-explain march.yaml april.json
      carepolicy evaluate --switch complex_ccm_care_plan=relaxed --policies my-policies/ march.yaml
      cat march.yaml | carepolicy evaluate -
      cat claims.jsonl | carepolicy evaluate --format jsonl -
    """
    from carepolicy.engine.decision.explain import render_decision_text

    form = trace_form(trace, explain, default="full")
    if form == "compact" and fmt == "text":
        hint = "use --format json or jsonl with --trace compact"
        fail("usage/option", "the text form has no compact trace", help=hint)
    setup = prepare(policies_dir, switches, fee_schedule, trace=form != "none")
    items = read_inputs(files, input_format)
    status = ExitCode.OK
    records: list[Record] = []
    with output_stream(output) as out:
        for index, item in enumerate(items):
            record = decide(item, setup)
            if isinstance(record, ErrorRecord):
                report(record.diagnostics)
                status = ExitCode.BAD_INPUT
            if fmt == "json":
                records.append(record)
            elif fmt == "jsonl":
                click.echo(record_json_line(record, trace=form), file=out)
            else:
                text = (
                    _error_line(record)
                    if isinstance(record, ErrorRecord)
                    else render_decision_text(record, explain=form == "full")
                )
                click.echo(("\n" if index else "") + text, file=out, nl=False)
        if fmt == "json":
            click.echo(records_json_document(records, trace=form), file=out, nl=False)
    finish(status)
