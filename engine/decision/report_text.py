"""The batch report in words: the text form, and the words the HTML form shares with it.

A billing team reads the report, so it speaks as the decision's text form does (explain.py): the
payers are named as a biller names them (`Medicare`, `patient`, `Medigap`, `Medicaid`, not the JSON
keys `medicare`, `beneficiary`), a count agrees with its noun (`1 record`, `2 records`), an amount
that is not known says so rather than being added as zero, and a code billed on lines that are not
priced (an RHC/FQHC line, a year with no fee) shows `not priced`, not `$0.00`, which reads as a
price. The JSON form (batch_report.to_json_obj) keeps its keys.
"""

from __future__ import annotations

from decimal import Decimal

from ..printable import printable_lines, shortened_id
from .batch_report import MONEY_FIELDS, BatchReport, CodeCounts

__all__ = ["PAYER_LABELS", "code_allowed", "counted", "headline", "not_priced_said", "render_report_text",
           "unknown_said"]

# each money total under the name the decision's text form gives it ("Total allowed $60.49: Medicare
# $48.39 · patient $12.10 · Medigap $0.00 · Medicaid $0.00")
PAYER_LABELS = {"allowed": "allowed", "medicare": "Medicare", "beneficiary": "patient", "medigap": "Medigap",
                "medicaid": "Medicaid"}


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """`1 record`, `2 records`, `0 records`."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"


def money(value: Decimal) -> str:
    return f"${value:,.2f}"


def headline(report: BatchReport) -> str:
    """The first line: the records, the decisions (how many bill something) and the error records."""
    return (f"{counted(report.records, 'record')}: {counted(report.decisions, 'decision')} "
            f"({report.with_billable} with something to bill), {counted(report.error_records, 'error record')}")


def unknown_said(name: str, count: int) -> str:
    """What the decisions whose total `name` is null add: a total left out is not known, not zero.
    The allowed amount is null only when a line is not priced; a share also when it is indeterminate
    (a full-benefit dual's, one that rests on a missing fact)."""
    if name == "allowed":
        return f"{counted(count, 'decision')} not priced"
    return f"{counted(count, 'decision')} where it is not known"


def code_allowed(counts: CodeCounts) -> str:
    """A code's allowed amount: `not priced` when none of its billed lines has one (not `$0.00`)."""
    if counts.billed_lines and counts.not_priced == counts.billed_lines:
        return "not priced"
    return money(counts.allowed)


def not_priced_said(report: BatchReport) -> str | None:
    """The codes billed on lines with no allowed amount, which the allowed column leaves out."""
    codes = [f"{code} ({counted(c.not_priced, 'line')})" for code, c in sorted(report.codes.items()) if c.not_priced]
    if not codes:
        return None
    return "billed but not priced, not in the allowed column: " + ", ".join(codes)


def render_report_text(report: BatchReport, *, top: int = 10) -> str:
    months = ", ".join(f"{m} ({n})" for m, n in sorted(report.months.items())) or "none"
    out = [
        headline(report),
        f"service months: {months}",
        f"policy sets: {', '.join(f'{h} ({n})' for h, n in sorted(report.policy_sets.items())) or 'none'}",
        *([f"note: {mixed}"] if (mixed := report.mixed_policy_sets()) else []),
        *([f"note: {noted}"] if (noted := report.notes_said()) else []),
        *(f"WARNING: {said}" for said in report.repeats.warnings()),
        "",
        "Totals over the billable lines",
    ]
    for name in MONEY_FIELDS:
        unknown = report.indeterminate[name]
        note = f"  (+ {unknown_said(name, unknown)})" if unknown else ""
        out.append(f"  {PAYER_LABELS[name]:<12} {money(report.totals[name]):>16}{note}")
    out.extend(["", "By code"])
    if report.codes:
        out.append(f"  {'code':<8} {'billed':>8} {'units':>8} {'allowed':>16} {'denied':>8}")
        for code, c in sorted(report.codes.items()):
            out.append(f"  {code:<8} {c.billed_lines:>8} {c.units:>8} {code_allowed(c):>16} {c.denied:>8}")
        if (unpriced := not_priced_said(report)) is not None:
            out.append(f"  {unpriced}")
    else:
        out.append("  none")
    if report.withdraw:
        out.extend(["", "Claims on file to withdraw (bundled into a billed code)"])
        out.extend(f"  {code:<8} {n:>8}" for code, n in sorted(report.withdraw.items()))
    out.extend(["", f"Top denial reasons (decisions in which each appears; top {top})"])
    out.extend([f"  {n:>8}  {text}" for text, n in report.top_reasons(top)] or ["  none"])
    if report.error_records:
        shown = len(report.errors)
        out.extend(["", f"Error records ({report.error_records}; the first {shown} shown)"])
        for error in report.errors:
            who = shortened_id(error["bundle_id"]) if error["bundle_id"] is not None else "(whole file)"
            out.append(f"  {who} in {error['source']}: {', '.join(error['codes'])}: {error['message']}")
    # ids, file names, messages and reasons are the input's: any character, shown as an escape
    return printable_lines(out) + "\n"
