"""A report over a batch of decisions (the JSON Lines that `carepolicy batch` writes).

The input is streamed: one line is read, counted and dropped, so a report over millions of
decisions holds only the counters (by code, by reason), the first few error records and two
16-byte digests per record, to count a record read twice once (report_repeats.py). It reads
the documented JSON form (docs/reference/decision-format.md), not engine objects, so it reports on
any batch output, from any version that writes that form; a line not in that form (a field
missing, or of another type, or a key set twice in one object, which a JSON reader would read as
its last value) stops the report at that line, rather than being counted as what it is not.

What it counts, per decision line: the billable lines by code (lines, units, allowed), the money
totals (allowed, Medicare, beneficiary, Medigap, Medicaid; an amount that is null is counted as
indeterminate, never as zero), the denials by code, the claims on file to withdraw by code, and
the denial reasons: each distinct reason text once per decision it appears in, and the decisions
with notes (facts read but not counted, a policy's note on a code billed: a billing team looks at
those before it bills). Error records are counted and the first ones kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from msgspec import UNSET, UnsetType

from .report_lines import (
    DECISION_FIELDS,
    ReadClaim,
    ReadDenial,
    ReadLine,
    ReadProblem,
    ReadTotals,
    Record,
    ReportError,
    checked_record,
)
from .report_repeats import Repeats

__all__ = ["BatchReport", "CodeCounts", "ReportError", "read_report"]

MONEY_FIELDS = ("allowed", "medicare", "beneficiary", "medigap", "medicaid")
_KEPT_ERRORS = 20

DECISION_FORMAT = 1  # the version of the decision format this report reads (decision-format.md)


CUT_HELP = ("the last line has no line end: the output of a batch still running, or interrupted "
            "(`OUT.jsonl.partial`); finish it with `carepolicy batch --resume`, or report on the lines before it")


@dataclass
class CodeCounts:
    billed_lines: int = 0
    units: int = 0
    allowed: Decimal = Decimal("0.00")  # of the billed lines that are priced
    denied: int = 0
    not_priced: int = 0  # billed lines with no allowed amount (counted apart: their $0.00 is not a price)


@dataclass
class BatchReport:
    decisions: int = 0
    with_billable: int = 0
    with_notes: int = 0  # decisions with notes: facts read but not counted, policies' notes
    error_records: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)  # the first few: bundle_id, source, codes, message
    totals: dict[str, Decimal] = field(default_factory=lambda: {name: Decimal("0.00") for name in MONEY_FIELDS})
    indeterminate: dict[str, int] = field(default_factory=lambda: dict.fromkeys(MONEY_FIELDS, 0))
    codes: dict[str, CodeCounts] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)  # reason text -> decisions it appears in
    months: dict[str, int] = field(default_factory=dict)
    withdraw: dict[str, int] = field(default_factory=dict)  # code -> claims on file to withdraw (bundled)
    policy_sets: dict[str, int] = field(default_factory=dict)  # policy set hash -> decisions made with it
    repeats: Repeats = field(default_factory=Repeats)  # records counted once although read again

    @property
    def records(self) -> int:
        return self.decisions + self.error_records

    def top_reasons(self, count: int = 10) -> list[tuple[str, int]]:
        return sorted(self.reasons.items(), key=lambda item: (-item[1], item[0]))[:count]

    def add(self, record: Record, line: str = "") -> None:
        """Count `record` (read from `line`), unless it repeats one counted already."""
        if not isinstance(record.error, UnsetType):
            if not self.repeats.error_seen(record.bundle_id, line):
                self._add_error(record, record.error)
            return
        month, billable, totals, denied = record.month, record.billable, record.totals, record.denied
        if (isinstance(month, UnsetType) or isinstance(billable, UnsetType) or isinstance(totals, UnsetType)
                or isinstance(denied, UnsetType)):
            missing = next(name for name in DECISION_FIELDS if getattr(record, name) is UNSET)
            raise ReportError(f"missing field '{missing}'")
        if record.decision_format is not UNSET and record.decision_format != DECISION_FORMAT:
            # another version of the format: its fields may mean other things, so none is counted
            raise ReportError(f"decision format {record.decision_format} at `$.decision_format`; this carepolicy "
                              f"reads format {DECISION_FORMAT}")
        policy_set = "" if isinstance(record.policy_set_hash, UnsetType) else record.policy_set_hash
        if self.repeats.decision_seen(record.bundle_id, record.decision_id, policy_set, month, line):
            return  # (checked after the form: a repeated line of another form still stops the report)
        if not isinstance(record.policy_set_hash, UnsetType):
            self.policy_sets[record.policy_set_hash] = self.policy_sets.get(record.policy_set_hash, 0) + 1
        self._add_decision(month, billable, totals, denied, record.withdraw or ())
        if record.notes:
            self.with_notes += 1

    def _add_error(self, record: Record, problems: list[ReadProblem]) -> None:
        self.error_records += 1
        if len(self.errors) < _KEPT_ERRORS:
            problems = problems or [ReadProblem()]
            self.errors.append(
                {
                    "bundle_id": record.bundle_id,
                    "source": record.source,
                    "codes": sorted({str(p.code) for p in problems}),
                    "message": problems[0].message,
                }
            )

    def _add_decision(self, month: str, billable: list[ReadLine], totals: ReadTotals, denied: list[ReadDenial],
                      withdraw: Iterable[ReadClaim]) -> None:
        self.decisions += 1
        self.months[month] = self.months.get(month, 0) + 1
        if billable:
            self.with_billable += 1
        for line in billable:
            counts = self.codes.setdefault(line.code, CodeCounts())
            counts.billed_lines += 1
            counts.units += line.units
            if line.allowed is not None:
                counts.allowed += Decimal(line.allowed)
            else:
                counts.not_priced += 1
        for name in MONEY_FIELDS:
            value = getattr(totals, name)
            if value is None:
                self.indeterminate[name] += 1
            else:
                self.totals[name] += Decimal(value)
        seen: set[str] = set()
        codes = self.codes
        for denial in denied:
            of_code = codes.get(denial.code)
            if of_code is None:
                of_code = codes[denial.code] = CodeCounts()
            of_code.denied += 1
            for reason in denial.reasons:
                seen.add(reason.reason)
        for text in seen:
            self.reasons[text] = self.reasons.get(text, 0) + 1
        for claim in withdraw:
            self.withdraw[claim.code] = self.withdraw.get(claim.code, 0) + 1

    def to_json_obj(self, top: int = 10) -> dict[str, Any]:
        return {
            "records": self.records,
            "decisions": self.decisions,
            "decisions_with_billable": self.with_billable,
            "decisions_with_notes": self.with_notes,
            "error_records": self.error_records,
            "errors": self.errors,
            "months": dict(sorted(self.months.items())),
            "totals": {name: f"{value:.2f}" for name, value in self.totals.items()},
            "indeterminate": dict(self.indeterminate),
            "codes": {
                code: {
                    "billed_lines": c.billed_lines,
                    "units": c.units,
                    "allowed": f"{c.allowed:.2f}",
                    "denied": c.denied,
                    "not_priced_lines": c.not_priced,
                }
                for code, c in sorted(self.codes.items())
            },
            "top_denial_reasons": [{"reason": text, "decisions": n} for text, n in self.top_reasons(top)],
            "claims_to_withdraw": dict(sorted(self.withdraw.items())),
            "policy_sets": dict(sorted(self.policy_sets.items())),
            **self.repeats.to_json_obj(),
        }

    def notes_said(self) -> str | None:
        """What the report says of the decisions with notes, or None when there are none."""
        if not self.with_notes:
            return None
        which = "decision has" if self.with_notes == 1 else "decisions have"
        return (f"{self.with_notes} {which} notes: facts read but not counted, such as time dated outside "
                "the service month, or a policy's note on a code billed or on the decision (each decision's "
                "`notes` names them)")

    def mixed_policy_sets(self) -> str | None:
        """A warning when the decisions were made with more than one policy set: the totals add them."""
        count = len(self.policy_sets)
        return (f"the decisions were made with {count} policy sets: the counts and totals add them together"
                if count > 1 else None)


def read_report(lines: Iterable[str], *, name: str) -> BatchReport:
    """Count every line of a batch output; raises ReportError naming the first line that is not one."""
    report = BatchReport()
    for number, line in enumerate(lines, start=1):
        if not line or line.isspace():  # isspace stops at the first character of a record
            continue
        try:
            report.add(checked_record(line), line)
        except ValueError as error:  # (a ReportError, a msgspec error: both are ValueErrors)
            what = str(error).splitlines()[0]
            # the last line (only it can lack its line end), ending before its JSON does: cut short
            cut = not line.endswith("\n") and ("truncated" in what or "end of data" in what)
            what = "the line ends before its JSON does" if cut else what
            help = CUT_HELP if cut else getattr(error, "help", None)
            raise ReportError(f"{name}:{number}: not a decision or an error record ({what})", help) from None
    return report
