"""Decisions for other readers: one summary line, CSV rows, and the note a claim carries.

Pure functions of the decision (and, for the claim note, of the bundle's facts, which hold the
minutes and the consent date the decision does not repeat). Their layouts are documented in
docs/reference/output-forms.md; golden files cover each (tests/golden/forms/).
"""

from __future__ import annotations

import csv
import io
import textwrap
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from ..printable import FIELD_SEPARATOR, printable, shortened_id
from .context import EMPTY_CONTEXT
from .explain import first_reason, split_denials
from .model import Decision, Denial, Line

__all__ = [
    "CLAIM_NOTE_WIDTH",
    "CSV_COLUMNS",
    "SUMMARY_NOTES",
    "claim_note_text",
    "csv_rows",
    "csv_text_cell",
    "render_claim_note",
    "render_csv",
    "render_summary",
]


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


# --------------------------------------------------------------------------------------------- summary


def render_summary(decision: Decision) -> str:
    """One line: id · month · billed codes and units · allowed · patient share (or why nothing),
    then the decision's notes (`_summary_notes`); the id, the reason and the notes, which may quote
    the bundle's text, made printable (engine/printable.py), a `·` in them too, so that an id
    `a · 2025-03 · 99490 × 1` does not read as a bundle billing 99490."""
    head = f"{printable(shortened_id(decision.bundle_id), separators=FIELD_SEPARATOR)} · {decision.month}"
    if not decision.billable:
        reason = first_reason(decision)
        said = f": {printable(reason, separators=FIELD_SEPARATOR)}" if reason else ""
        return f"{head} · nothing billable{said}" + _summary_notes(decision)
    codes = ", ".join(f"{line.code} × {line.units}" for line in decision.billable)
    totals = decision.totals
    allowed = f"allowed ${totals.allowed:.2f}" if totals.allowed is not None else "allowed: not priced"
    share = decision.patient_responsibility
    patient = f"patient ${share:.2f}" if share is not None else "patient: indeterminate"
    withdraw = "".join(f" · withdraw {w.code}" for w in decision.withdraw)
    return f"{head} · {codes} · {allowed} · {patient}{withdraw}" + _summary_notes(decision)


SUMMARY_NOTES = 3  # the notes a summary line names; it counts the rest (the text form lists them all)


def _summary_notes(decision: Decision) -> str:
    """The decision's notes as the line's last field: ` · note: ...`, ` · 2 notes: ...; ...`, or the
    first few and a count. Without it a biller reading only the summary never learns that (say)
    45 minutes dated outside the month were not counted; the line stays one line, so not all."""
    notes = decision.notes
    if not notes:
        return ""
    shown = "; ".join(printable(note, separators=FIELD_SEPARATOR) for note in notes[:SUMMARY_NOTES])
    more = len(notes) - SUMMARY_NOTES
    rest = f"; and {more} more (the text form lists them)" if more > 0 else ""
    return f" · {'note' if len(notes) == 1 else f'{len(notes)} notes'}: {shown}{rest}"


# --------------------------------------------------------------------------------------------- csv

CSV_COLUMNS = (
    "bundle_id",
    "month",
    "decision_id",
    "status",
    "code",
    "units",
    "denied_unit",
    "with_code",
    "allowed",
    "medicare",
    "medicare_after_sequestration",
    "patient",
    "deductible",
    "coinsurance",
    "medigap",
    "medicaid",
    "reasons",
    "rules",
    "cites",
)


def csv_rows(decision: Decision) -> Iterable[dict[str, str]]:
    """One row per billable line, then one per denied code (status: billable, denied, not
    considered, not in effect), in the decision's order, then one per claim on file to withdraw
    (status: withdraw; `with_code`: the billed code it is bundled into), then one per note (status:
    note; the note in `reasons`): a row, not a column, so that the columns stay as they were and a
    note is not repeated on every row of its decision."""
    # (a long id shortened, as in the text form; the decision_id beside it finds the exact one)
    base = {"bundle_id": shortened_id(decision.bundle_id), "month": decision.month, "decision_id": decision.decision_id}
    for line in decision.billable:
        yield {**base, **_billable_row(line)}
    matter, skipped, _dormant = split_denials(decision, decision.context or EMPTY_CONTEXT)
    status = {id(d): "denied" for d in matter} | {id(d): "not considered" for d in skipped}
    for denial in decision.denied:
        yield {**base, **_denied_row(denial, status.get(id(denial), "not in effect"))}
    for claim in decision.withdraw:  # a claim on file to withdraw: its code, and the bundling's reason
        yield {**base, **_denied_row(Denial(claim.code, claim.reasons, with_code=claim.bundled_into), "withdraw")}
    for note in decision.notes:  # facts read but not counted (time dated outside the month), policies' notes
        yield {**base, "status": "note", "reasons": note}


def _billable_row(line: Line) -> dict[str, str]:
    shares = line.shares
    return {
        "status": "billable",
        "code": line.code,
        "units": str(line.units),
        "allowed": _money(line.allowed),
        "medicare": _money(shares.medicare) if shares else "",
        "medicare_after_sequestration": _money(shares.medicare_after_sequestration) if shares else "",
        "patient": _money(shares.beneficiary) if shares else "",
        "deductible": _money(shares.deductible) if shares else "",
        "coinsurance": _money(shares.coinsurance) if shares else "",
        "medigap": _money(shares.medigap) if shares else "",
        "medicaid": _money(shares.medicaid) if shares else "",
        "reasons": "" if line.allowed is not None else line.price_source,
        # the label of the assumptions the line rests on, as a denial's cites show it (its words: JSON)
        "cites": "; ".join(dict.fromkeys(c.partition(":")[0] for c in line.cites)),
    }


def _denied_row(denial: Denial, status: str) -> dict[str, str]:
    return {
        "status": status,
        "code": denial.code,
        "units": "",
        "denied_unit": "" if denial.unit is None else str(denial.unit),
        "with_code": denial.with_code or "",
        "reasons": "; ".join(r.text for r in denial.reasons),
        "rules": "; ".join(dict.fromkeys(r.rule for r in denial.reasons)),
        "cites": "; ".join(dict.fromkeys(c.partition(":")[0] for r in denial.reasons for c in r.cites)),
    }


# the columns of numbers this form writes itself (units, money): written as they are, so that a
# spreadsheet reads them as numbers (a negative amount keeps its `-`)
_NUMBER_COLUMNS = frozenset(
    ("units", "denied_unit", "allowed", "medicare", "medicare_after_sequestration", "patient", "deductible",
     "coinsurance", "medigap", "medicaid")
)
# a cell that starts with one of these is run as a formula by Excel and LibreOffice (`=cmd|' /C
# calc'!A0`, OWASP "CSV injection"); the quote is there so that the guard can be undone unambiguously
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_text_cell(text: str) -> str:
    """A text cell as the CSV holds it: made printable (a bundle's text may hold any character: an
    escape sequence, a bidirectional override, a line break that splits the row for a line-based
    tool), and a `'` put in front when it starts as a formula would, or with a `'` itself, so that
    reading it back is one rule: a text cell that starts with `'` lost exactly that one `'`."""
    shown = printable(text)
    return "'" + shown if shown.startswith(_FORMULA_STARTS) else shown


def render_csv(rows: Iterable[Mapping[str, str]], *, header: bool = True) -> str:
    """RFC 4180: CRLF line ends, fields quoted when they hold a comma or a quote; every text cell as
    `csv_text_cell` writes it (the one place: the error rows of the CLI are written here too)."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n", restval="")
    if header:
        writer.writeheader()
    writer.writerows(
        {column: value if column in _NUMBER_COLUMNS else csv_text_cell(value) for column, value in row.items()}
        for row in rows
    )
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------- claim note

CLAIM_NOTE_WIDTH = 80  # NTE02 of the 837P Loop 2300 NTE segment is AN 1/80
_X12_DELIMITERS = str.maketrans({"*": " ", "~": " ", ":": " ", "^": " ", "|": " ", ">": " "})


def _ascii(text: str) -> str:
    """The X12 basic character set: ASCII, without the usual element/segment/component delimiters."""
    plain = text.replace("×", "x").replace("–", "-").replace("—", "-").replace("·", "-")
    return plain.encode("ascii", "replace").decode("ascii").replace("?", " ").translate(_X12_DELIMITERS)


def _minutes(facts: Mapping[str, Any], decision: Decision) -> str:
    """Minutes recorded in the service month by (or under) the billing practitioner, by who spent them."""
    me = decision.billable[0].practitioner if decision.billable else (facts.get("practitioner") or {}).get("id")
    totals: dict[str, int] = {}
    for entry in facts.get("time") or ():
        date = entry.get("date")
        in_month = date is None or str(date)[:7] == decision.month
        if entry.get("practitioner") == me and in_month and isinstance(entry.get("minutes"), int):
            who = str(entry.get("by") or "time").replace("_", " ")
            totals[who] = totals.get(who, 0) + entry["minutes"]
    return ", ".join(f"{who} {minutes} min" for who, minutes in sorted(totals.items())) or "no time recorded"


def render_claim_note(decision: Decision, facts: Mapping[str, Any]) -> str:
    """The note for the claim: lines of at most 80 characters, ASCII, no X12 delimiters.

    The first line stands alone in the claim's one NTE segment: month, codes and units, minutes,
    consent date. The decision id and the policy-set hash follow, one per line, so the claim can be
    traced back to this decision. Then, when the decision has notes, `Notes` and each note, wrapped
    and indented: the minutes of line 1 leave out the time a note names, and the note says why.
    """
    if decision.billable:
        codes = " ".join(f"{line.code}x{line.units}" for line in decision.billable)
    else:
        codes = "nothing billable"
    first = f"{decision.month} {codes}; {_minutes(facts, decision)}; consent {_consent_dates(decision, facts)}"
    lines = textwrap.wrap(_ascii(first), CLAIM_NOTE_WIDTH, break_long_words=True)
    lines += [f"decision {decision.decision_id}", f"policy set {decision.policy_set_hash}"]
    if decision.notes:
        lines.append("Notes")
        for note in decision.notes:  # (`: ` is a clause break in a note; `:` is an X12 delimiter)
            lines += textwrap.wrap(_ascii(note.replace(": ", "; ")), CLAIM_NOTE_WIDTH, initial_indent="  ",
                                   subsequent_indent="    ", break_long_words=True)
    return "\n".join(lines) + "\n"


def claim_note_text(text: str) -> str:
    """Text said in the claim-note form that is not a decision's note (an input record that could not
    be decided: `Bundle X · not evaluated: 1 problem in SOURCE`), under the form's rules: ASCII,
    no X12 delimiter (`: ` read `; `), lines of at most 80 characters (further ones indented)."""
    # an id or a file name that is not ASCII is spelt as its escape (`\ud800`, `\xe9`), not
    # dropped: the line is there to find the record on stderr
    plain = _ascii(text.replace(": ", "; ").replace("·", "-").encode("ascii", "backslashreplace").decode("ascii"))
    lines = textwrap.wrap(plain, CLAIM_NOTE_WIDTH, subsequent_indent="  ", break_long_words=True)
    return "\n".join(lines) + "\n"


def _consent_dates(decision: Decision, facts: Mapping[str, Any]) -> str:
    """The consent date of each billed program (v2 `consents`, which a v1 bundle is upgraded to);
    one date alone when the programs share it, or the single v1 `consent` when there is no record."""
    programs = decision.context.code_programs if decision.context is not None else {}
    billed = sorted({programs[line.code] for line in decision.billable if line.code in programs})
    consents = facts.get("consents")
    dates: dict[str, str] = {}
    if isinstance(consents, Mapping):
        for program in billed:
            record = consents.get(program)
            if isinstance(record, Mapping) and record.get("date"):
                dates[program] = str(record["date"])
    if not dates:
        consent = facts.get("consent")
        date = consent.get("date") if isinstance(consent, Mapping) else None
        return str(date) if date else "not recorded"
    if len(set(dates.values())) == 1:
        return next(iter(dates.values()))
    return ", ".join(f"{program} {date}" for program, date in dates.items())
