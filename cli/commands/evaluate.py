"""`carepolicy evaluate`: decide every bundle of every fact file, and explain the decision."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from ..common import (
    ErrorRecord,
    Record,
    decide,
    error_heading,
    fail,
    finish,
    input_format_option,
    prepare,
    read_inputs,
    record_json_line,
    records_json_document,
)
from ..exit_codes import ExitCode
from ..output import output_stream
from ..reporting import report

POLICIES_HELP = "Policy folder (or one .policy file) to use instead of the shipped policies."
SWITCH_HELP = "Choose an option of a policy switch; repeat for several. Unknown names and options are errors."
FEE_HELP = "CSV with a `code` column and `allowed` (money) or `rvu` per row; used before the RVU table."
FORMAT_HELP = (
    "text: the decision for people (the answer first, one screen); json: one JSON document; jsonl: one"
    " JSON line per input record; summary: one line per bundle; csv: one row per billable or denied"
    " code, and per note (RFC 4180); claim-note: the note a claim carries (lines of at most 80"
    " characters). Every form shows the decision's notes (e.g. time dated outside the month)."
)
FORMATS = ("text", "json", "jsonl", "summary", "csv", "claim-note")
EXPLAIN_HELP = (  # --explain is --trace full, --no-explain --trace none
    "Include the trace: every rule, requirement and value read, with its citation. Default: on for"
    " json and jsonl (the full record), off for text (--explain adds the why-tree) and the other forms."
)


TRACE_CHOICES = ("full", "compact", "none")


def trace_form(trace: str | None, explain: bool | None, *, default: str) -> str:
    """The trace form from --trace and its older spelling --explain/--no-explain (full/none)."""
    alias = None if explain is None else ("full" if explain else "none")
    if trace is not None and alias is not None and trace != alias:
        flag = "--explain" if explain else "--no-explain"
        fail("usage/option", f"`--trace {trace}` contradicts `{flag}`", help=f"{flag} means --trace {alias}; give one")
    return trace or alias or default


def _error_line(record: ErrorRecord) -> str:
    from carepolicy.engine.printable import printable  # (the engine is imported when first used)

    heading = error_heading(record.bundle_id, len(record.diagnostics), record.source)
    return printable(f"{heading} (details on stderr)") + "\n"


@click.command("evaluate")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--policies", "policies_dir", metavar="DIR", help=POLICIES_HELP)
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help=FORMAT_HELP
)
@click.option(
    "--trace",
    type=click.Choice(TRACE_CHOICES),
    default=None,
    help="full: every rule, requirement and value read, with its citation (text: the why-tree); compact"
    " (json, jsonl): what was evaluated and the values read (`carepolicy explain` expands it); none: no"
    " trace.  [default: full for json and jsonl, none for text and the other forms]",
)
@click.option("--explain/--no-explain", default=None, help=EXPLAIN_HELP)
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
    the policy set and prints one result per input record. The text form leads with the answer
    (what to bill, the allowed amount, what the patient owes), then the denials that matter (codes
    of the programs the bundle is in) with each reason, policy line and source, one line per cause
    for the codes that were not considered, and the titles of the sources cited; --explain adds
    the why-tree. The other forms are for other readers (see --format).

    A denial is an answer, not an error. A bundle that is not valid is reported on stderr and
    stands as an error record in the output, the other bundles are still evaluated, and the exit
    status is then 2. An output that cannot be written is an error (usage/output, exit 2).

    \b
    Examples:
      carepolicy evaluate march.yaml
      carepolicy evaluate --explain march.yaml
      carepolicy evaluate --format json --no-explain march.yaml april.json
      carepolicy evaluate --format csv -o march.csv march.yaml
      carepolicy evaluate --format claim-note march.yaml
      carepolicy evaluate --switch complex_ccm_care_plan=relaxed --policies my-policies/ march.yaml
      cat march.yaml | carepolicy evaluate -
      cat claims.jsonl | carepolicy evaluate --format jsonl -
    """
    from carepolicy.engine import Bundle
    from carepolicy.engine.printable import utf8_text

    form = trace_form(trace, explain, default="full" if fmt in ("json", "jsonl") else "none")
    if form == "compact" and fmt not in ("json", "jsonl"):
        hint = "use --format json or jsonl with --trace compact"
        fail("usage/option", f"the {fmt} form has no compact trace", help=hint)
    setup = prepare(policies_dir, switches, fee_schedule, trace=form != "none")
    items = read_inputs(files, input_format)
    status = ExitCode.OK
    records: list[Record] = []
    with output_stream(output, (*files, *filter(None, (fee_schedule, policies_dir)))) as out:
        for index, item in enumerate(items):
            record = decide(item, setup)
            if isinstance(record, ErrorRecord):
                report(record.diagnostics, input_format=input_format)
                status = ExitCode.BAD_INPUT
            if fmt == "json":
                records.append(record)
            else:
                facts = item.data if isinstance(item, Bundle) else {}
                # utf8_text: an error record may name a file or an id that is not UTF-8 text (a lone
                # surrogate: `in\xff.yaml`, `"id": "\ud800"`), spelled as JSON escapes it
                out.write(utf8_text(render_record(record, fmt, index=index, trace=form, facts=facts)))
        if fmt == "json":
            out.write(utf8_text(records_json_document(records, trace=form)))
    finish(status)


def render_record(record: Record, fmt: str, *, index: int, trace: str, facts: Mapping[str, Any]) -> str:
    """One record in a streamed form (every form but json, which is one document)."""
    from carepolicy.engine.decision.explain import render_decision_text
    from carepolicy.engine.decision.forms import (
        claim_note_text,
        csv_rows,
        render_claim_note,
        render_csv,
        render_summary,
    )

    if fmt == "jsonl":
        return record_json_line(record, trace=trace) + "\n"
    if fmt == "csv":
        rows = [_csv_error_row(record)] if isinstance(record, ErrorRecord) else list(csv_rows(record))
        return render_csv(rows, header=index == 0)
    gap = "\n" if index and fmt != "summary" else ""  # a blank line between multi-line records
    if isinstance(record, ErrorRecord):  # (a claim note's lines are ASCII, of 80 characters at most)
        return gap + (claim_note_text(_error_line(record)) if fmt == "claim-note" else _error_line(record))
    if fmt == "summary":
        return render_summary(record) + "\n"
    if fmt == "claim-note":
        return gap + render_claim_note(record, facts)
    return gap + render_decision_text(record, explain=trace == "full")


def _csv_error_row(record: ErrorRecord) -> dict[str, str]:
    from carepolicy.engine.printable import shortened_id

    return {
        "bundle_id": shortened_id(record.bundle_id or ""),
        "status": "error",
        "reasons": "; ".join(d.message for d in record.diagnostics),
        "rules": "; ".join(dict.fromkeys(d.code for d in record.diagnostics)),
    }
