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
with notes (facts read but not counted: a billing team looks at those before it bills). Error
records are counted and the first ones kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

import msgspec
import orjson
from msgspec import UNSET, UnsetType

from ..facts.json_keys import duplicates, has_duplicate, unique_by_count, unique_given
from ..facts.schema_messages import json_path, show
from ..jsontext import TOO_DEEP, loads
from ..printable import printable_lines, shortened_id, utf8_text
from .report_repeats import Repeats

__all__ = ["BatchReport", "ReportError", "read_report", "render_report_text"]

MONEY_FIELDS = ("allowed", "medicare", "beneficiary", "medigap", "medicaid")
_KEPT_ERRORS = 20

# The fields the report reads, with the types the decision format gives them: a line is decoded
# into these (msgspec, about 3x faster than json, and it skips the fields not read), so a value of
# another type is refused at its line and JSON path rather than counted as something it is not
# (`true` as $1.00, 1.7 units as 1, a `null` month as a month named `None`). Money is text with two
# decimals, never a JSON number, which would pass through a binary float.
_MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{2}\Z"
Money = Annotated[str, msgspec.Meta(pattern=_MONEY_PATTERN)]
_MONEY_WORDS = (f"`str` matching regex {_MONEY_PATTERN!r}", 'money (text with two decimals, such as "60.49")')


class _Line(msgspec.Struct):
    code: str
    units: Annotated[int, msgspec.Meta(ge=0)]
    allowed: Money | None


class _Totals(msgspec.Struct):
    allowed: Money | None
    medicare: Money | None
    beneficiary: Money | None
    medigap: Money | None
    medicaid: Money | None


class _Reason(msgspec.Struct):
    reason: str


class _Denial(msgspec.Struct):
    code: str
    reasons: list[_Reason]


class _Claim(msgspec.Struct):
    code: str


class _Problem(msgspec.Struct):
    code: str | None = None
    message: str = ""


class Record(msgspec.Struct):
    """A line: an error record when it has `error`, else a decision (which needs the fields below it)."""

    error: list[_Problem] | UnsetType = UNSET
    bundle_id: str | None = None
    decision_id: str | None = None  # (with bundle_id, what tells a decision counted twice: report_repeats.py)
    decision_format: int | UnsetType = UNSET  # (every decision has it; a line made by hand may not)
    policy_set_hash: str | UnsetType = UNSET
    source: str | None = None
    month: str | UnsetType = UNSET
    billable: list[_Line] | UnsetType = UNSET
    totals: _Totals | UnsetType = UNSET
    denied: list[_Denial] | UnsetType = UNSET
    withdraw: list[_Claim] | None = None  # absent in decisions written before bundling
    notes: list[str] | None = None  # absent in decisions written before notes


_DECISION_FIELDS = ("month", "billable", "totals", "denied")
_DECODE = msgspec.json.Decoder(Record).decode


DECISION_FORMAT = 1  # the version of the decision format this report reads (decision-format.md)


class ReportError(ValueError):
    """A line that is neither a decision nor an error record (the message names the line); `help`
    says what to do when it is more specific than "give the file batch wrote"."""

    def __init__(self, message: str, help: str | None = None) -> None:
        super().__init__(message)
        self.help = help


CUT_HELP = ("the last line has no line end: the output of a batch still running, or interrupted "
            "(`OUT.jsonl.partial`); finish it with `carepolicy batch --resume`, or report on the lines before it")


@dataclass
class CodeCounts:
    billed_lines: int = 0
    units: int = 0
    allowed: Decimal = Decimal("0.00")
    denied: int = 0


@dataclass
class BatchReport:
    decisions: int = 0
    with_billable: int = 0
    with_notes: int = 0  # decisions with facts read but not counted (their `notes`)
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
            missing = next(name for name in _DECISION_FIELDS if getattr(record, name) is UNSET)
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

    def _add_error(self, record: Record, problems: list[_Problem]) -> None:
        self.error_records += 1
        if len(self.errors) < _KEPT_ERRORS:
            problems = problems or [_Problem()]
            self.errors.append(
                {
                    "bundle_id": record.bundle_id,
                    "source": record.source,
                    "codes": sorted({str(p.code) for p in problems}),
                    "message": problems[0].message,
                }
            )

    def _add_decision(self, month: str, billable: list[_Line], totals: _Totals, denied: list[_Denial],
                      withdraw: Iterable[_Claim]) -> None:
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
                "the service month (each decision's `notes` names them)")

    def mixed_policy_sets(self) -> str | None:
        """A warning when the decisions were made with more than one policy set: the totals add them."""
        count = len(self.policy_sets)
        return (f"the decisions were made with {count} policy sets: the counts and totals add them together"
                if count > 1 else None)


def _escaped(value: Any) -> Any:
    """`value` with each lone surrogate spelled as its escape (`\\udcff`): the report is UTF-8 text."""
    if isinstance(value, str):
        return utf8_text(value)
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    if isinstance(value, dict):
        return {_escaped(key): _escaped(item) for key, item in value.items()}
    return value


def _fallback(line: str) -> Record:
    """A line msgspec cannot decode: a lone surrogate escaped (an error record naming a file whose
    name is not UTF-8), which json reads, or nesting past the recursion limit, which orjson refuses."""
    parsed = loads(line)
    if not isinstance(parsed, dict):
        raise ValueError("not a JSON object")
    # only the fields read are kept and walked: the others may nest as deep as orjson allows (1,024),
    # deeper than Python's recursion limit
    kept = {key: parsed[key] for key in Record.__struct_fields__ if key in parsed}
    try:
        return msgspec.convert(_escaped(kept), Record)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None


def _record(line: str) -> Record:
    try:
        return _DECODE(line)
    except msgspec.ValidationError as error:  # the line is JSON, of another form (a field's type, say)
        if " - at `" not in str(error):  # the line itself is of another type: `Expected `object`, got `array``
            raise ValueError("not a JSON object") from None
        raise ValueError(str(error).replace(*_MONEY_WORDS)) from None
    except (msgspec.DecodeError, RecursionError) as error:
        try:
            return _fallback(line)
        except msgspec.ValidationError as invalid:
            raise ValueError(str(invalid).replace(*_MONEY_WORDS)) from None
        except ValueError as fallback:  # (orjson's word for nesting too deep, else msgspec's)
            deep = isinstance(error, RecursionError) or str(fallback).startswith(TOO_DEEP)
            raise (fallback if deep else error) from None


REPEATED_KEY_HELP = ("keep the one value that is meant (a JSON reader would keep the last without a word); "
                     "`carepolicy batch` never writes a key twice: the line was edited or made elsewhere")


def _refuse_repeated_key(line: str) -> None:
    """A ReportError when `line` sets a key twice in one object (`{"bundle_id": "a", "bundle_id":
    "b"}`): every JSON reader keeps the last value without a word, so the record counted need not
    be the one the line's maker meant; refused like any line not in the decision format."""
    if unique_by_count(line) or not has_duplicate(line):
        return
    found = duplicates(line)[0]
    where = json_path((*found.path, found.key), loads(line))
    raise ReportError(f"key `{show(found.key)}` appears twice in one object: `{where}`, columns {found.first + 1} "
                      f"and {found.again + 1}", REPEATED_KEY_HELP)


def _checked_record(line: str) -> Record:
    """The record of `line`, refused (a ReportError) when the line sets a key twice, from one
    decoding: orjson's, which the key check needs whole (json_keys.unique_given counts its colons
    against the line's), and from which the fields read are then taken (msgspec.convert: the same
    types and checks as the decoder). Decoding the line twice, once with msgspec for the fields
    and once with orjson for the check, made the check cost 2.2-2.7x.

    Any line this does not take as is (not JSON orjson reads, not an object, a `\\u` escape, a key
    perhaps set twice, a field of another type: rare, and mostly refused) is read as before, by
    msgspec's decoder and then the exact key check, so its record, or the error that names it, is
    the same (which error a line gets first, too: a field of another type before a repeated key)."""
    try:
        decoded = orjson.loads(line)
    except orjson.JSONDecodeError:
        decoded = None
    if isinstance(decoded, dict) and unique_given(line, decoded):
        try:
            return msgspec.convert(decoded, Record)  # (the keys not read are passed over, not walked)
        except (msgspec.ValidationError, RecursionError):
            pass  # its message is the decoder's, below
    record = _record(line)
    _refuse_repeated_key(line)  # (after the form: a line not JSON at all says that first)
    return record


def read_report(lines: Iterable[str], *, name: str) -> BatchReport:
    """Count every line of a batch output; raises ReportError naming the first line that is not one."""
    report = BatchReport()
    for number, line in enumerate(lines, start=1):
        if not line or line.isspace():  # isspace stops at the first character of a record
            continue
        try:
            report.add(_checked_record(line), line)
        except ValueError as error:  # (a ReportError, a msgspec error: both are ValueErrors)
            what = str(error).splitlines()[0]
            # the last line (only it can lack its line end), ending before its JSON does: cut short
            cut = not line.endswith("\n") and ("truncated" in what or "end of data" in what)
            what = "the line ends before its JSON does" if cut else what
            help = CUT_HELP if cut else getattr(error, "help", None)
            raise ReportError(f"{name}:{number}: not a decision or an error record ({what})", help) from None
    return report


# --------------------------------------------------------------------------------------------- text


def _money(value: Decimal) -> str:
    return f"${value:,.2f}"


def render_report_text(report: BatchReport, *, top: int = 10) -> str:
    months = ", ".join(f"{m} ({n})" for m, n in sorted(report.months.items())) or "none"
    out = [
        f"{report.records} records: {report.decisions} decisions ({report.with_billable} with something to bill),"
        f" {report.error_records} error records",
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
        note = f"  (+ {unknown} decisions where it is indeterminate)" if unknown else ""
        out.append(f"  {name:<12} {_money(report.totals[name]):>16}{note}")
    out.extend(["", "By code", f"  {'code':<8} {'billed':>8} {'units':>8} {'allowed':>16} {'denied':>8}"])
    for code, c in sorted(report.codes.items()):
        out.append(f"  {code:<8} {c.billed_lines:>8} {c.units:>8} {_money(c.allowed):>16} {c.denied:>8}")
    if report.withdraw:
        out.extend(["", "Claims on file to withdraw (bundled into a billed code)"])
        out.extend(f"  {code:<8} {n:>8}" for code, n in sorted(report.withdraw.items()))
    out.extend(["", f"Top denial reasons (decisions in which each appears; top {top})"])
    out.extend(f"  {n:>8}  {text}" for text, n in report.top_reasons(top))
    if report.error_records:
        shown = len(report.errors)
        out.extend(["", f"Error records ({report.error_records}; the first {shown} shown)"])
        for error in report.errors:
            who = shortened_id(error["bundle_id"]) if error["bundle_id"] is not None else "(whole file)"
            out.append(f"  {who} in {error['source']}: {', '.join(error['codes'])}: {error['message']}")
    # ids, file names, messages and reasons are the input's: any character, shown as an escape
    return printable_lines(out) + "\n"
