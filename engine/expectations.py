"""Expected outcomes: what `carepolicy test` and the acceptance suite check a decision against.

An expectation has the shape of `expect:` in shared/acceptance/scenarios.yaml:

    billable: [{code: "99490", units: 1}]          # the chosen coding, or one of `alternatives`
    alternatives: [[{code: ..., units: ...}], ...]
    denied: [{code: "99439", reason: "...", unit: 2, with: "99487"}]
    withdraw: [{code: "99495"}]                     # claims on file to withdraw (bundling)
    patient_responsibility: 12.10                   # for the `billable` lines
    allowed: 60.49                                  # the total allowed amount of the `billable` lines
    medicare_after_sequestration: 47.42             # Medicare's payment of them after sequestration
    notes: ["recorded by non-clinical staff"]       # the decision's notes, in order: a part of each

A decision passes when its billable set equals `billable` or one of `alternatives`; when it picked
an alternative, the patient responsibility and the allowed total are compared with the decision's
own figures for the expected coding (the decision reports every alternative's totals). An amount
left out is not compared; `null` expects none (`patient_responsibility: null`: indeterminate or not
priced; `allowed: null`: not priced). Each denied code must be absent from the billable lines (or,
with `unit: n`, billed with fewer than n units) and explained in `denied`; `with: CODE` expects it
valid on its own but denied because CODE was chosen, `with: null` denied on its own (left out: either).
`notes` lists the decision's notes in the order it gives them, each by a part of its text (the
whole text names a policy line, which moves when the policy is edited); `notes: []` expects none.
Reasons are prose written by people: they are shown, never compared. The policy test files that
hold expectations are read and run by policy_cases.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from .decision.model import Decision

Coding = frozenset[tuple[str, int]]


def _coding(entries: Sequence[Mapping[str, Any]] | None) -> Coding:
    return frozenset((str(e["code"]), int(e.get("units", 1))) for e in entries or ())


_LINE = '{code: "99490", units: 1}'
_SHAPES = {
    "billable": f"a list of billed lines, as in `billable: [{_LINE}]` (`[]` for nothing)",
    "alternatives": f"a list of codings, each a list of lines, as in `alternatives: [[{_LINE}]]`",
    "denied": 'a list of denied codes, as in `denied: [{code: "99439", reason: "..."}]`',
    "withdraw": 'a list of claims, as in `withdraw: [{code: "99495"}]`',
}
_NOTES_SHAPE = 'a list of texts, each a part of one note, as in `notes: ["by non-clinical staff"]` (`[]` for none)'


def expectation_problems(expect: Mapping[str, Any]) -> Iterator[str]:
    """Why an expectation cannot be compared as written (a list written as text, a line without its
    code, units that are not a whole number): its case fails with these, not with a Python error."""
    for key, shape in _SHAPES.items():
        value = expect.get(key)
        if value is None:
            continue
        codings = value if key == "alternatives" else [value]
        if not isinstance(value, list) or (key == "alternatives" and not all(isinstance(c, list) for c in codings)):
            yield f"expect.{key}: expected {shape}, found {_described(value)}"
            continue
        for entry in (entry for coding in codings for entry in coding):
            number = "unit" if key == "denied" else "units"
            if not isinstance(entry, Mapping) or entry.get("code") is None:
                example = shape.partition("as in ")[2]
                yield f"expect.{key}: each entry is a mapping with a `code`, as in {example}; found {_described(entry)}"
            elif entry.get(number) is not None and not _whole(entry[number]):
                written = f"`{number}: {entry[number]}` of {entry['code']}"
                yield f"expect.{key}: {written} is not a whole number of units (1 or more)"
    notes = expect.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(note, str) and note for note in notes):
        yield f"expect.notes: expected {_NOTES_SHAPE}, found {_described(notes)}"


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _described(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"`{value}`"


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def check_expectation(decision: Decision, expect: Mapping[str, Any]) -> list[str]:
    """Every way the decision differs from the expectation; an empty list is a pass."""
    failures: list[str] = []
    billed = frozenset((line.code, line.units) for line in decision.billable)
    wanted = _coding(expect.get("billable"))
    options = [wanted, *(_coding(alt) for alt in expect.get("alternatives") or ())]
    if billed not in options:
        failures.append(f"billable {_show(billed)}; expected {' or '.join(_show(o) for o in options)}")
        failures.extend(_why_billed_differs(decision, billed, wanted))
    failures.extend(_check_denied(decision, expect.get("denied") or ()))
    if "withdraw" in expect:  # the claims on file to withdraw, by code (a bundling's)
        wanted_withdraw = sorted(str(e["code"]) for e in expect["withdraw"] or ())
        withdrawn = sorted(w.code for w in decision.withdraw)
        if withdrawn != wanted_withdraw:
            failures.append(f"withdraw {withdrawn or 'nothing'}; expected {wanted_withdraw or 'nothing'}")
    if "notes" in expect:
        failures.extend(_check_notes(decision.notes, expect["notes"]))
    for key, what in AMOUNTS.items():
        if key in expect:
            expected = None if expect[key] is None else _money(expect[key])
            failures.extend(_check_amount(decision, billed, wanted, key, what, expected))
    return failures


# the amounts an expectation may pin, and what a failure calls them
AMOUNTS = {
    "patient_responsibility": "patient responsibility",
    "allowed": "allowed",
    "medicare_after_sequestration": "Medicare's payment after sequestration",
}


def _check_denied(decision: Decision, denied: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    units = {line.code: line.units for line in decision.billable}
    for entry in denied:
        code = str(entry["code"])
        unit = entry.get("unit")
        reason = f" ({entry['reason']})" if entry.get("reason") else ""
        if unit is None and code in units:
            yield f"{code} is billed but should be denied{reason}"
        elif unit is not None and units.get(code, 0) >= int(unit):
            yield f"{code} unit {unit} is billed but should be denied"
        explained = [d for d in decision.denied if d.code == code and (unit is None or d.unit in (None, int(unit)))]
        if not explained or not any(d.reasons for d in explained):
            yield f"{code} is not among the decision's denials" + (f" (expected: {entry['reason']})" if reason else "")
        elif "with" in entry:
            wanted = None if entry["with"] is None else str(entry["with"])
            if not any(d.with_code == wanted for d in explained):
                actual = " and ".join(_denied_how(d.with_code) for d in explained)
                yield f"{code} is denied {actual}; expected {_denied_how(wanted)}"


def _check_notes(notes: Sequence[str], wanted: Sequence[str]) -> Iterator[str]:
    """The decision's notes against the parts expected of them, one to one and in order."""
    if len(notes) == len(wanted) and all(part in note for part, note in zip(wanted, notes, strict=True)):
        return
    given = "; ".join(f"`{note}`" for note in notes) or "none"
    yield f"notes: {given}; expected {'; '.join(f'one with `{part}`' for part in wanted) or 'none'}"


def _why_billed_differs(decision: Decision, billed: Coding, wanted: Coding) -> Iterator[str]:
    """The reasons behind a wrong billable set: each missing code's denial, each extra code's units."""
    billed_units = dict(billed)
    for code, units in sorted(wanted - billed):
        denials = [d for d in decision.denied if d.code == code]
        if code in billed_units:
            yield f"  {code}: billed ×{billed_units[code]}, expected ×{units}" + "".join(
                f"; unit {d.unit} denied: {_reasons(d)}" for d in denials if d.unit is not None
            )
        elif not denials:
            yield f"  {code}: neither billed nor denied (is it in effect for {decision.month}?)"
        for denial in denials:
            if denial.unit is None and code not in billed_units:
                how = f"valid, but not chosen with {denial.with_code}" if denial.with_code else "denied"
                yield f"  {code}: {how}: {_reasons(denial)}"
    for code, units in sorted(billed - wanted):
        if code not in dict(wanted):
            yield f"  {code}: billed ×{units} (every requirement met), not expected"


def _reasons(denial: Any) -> str:
    return "; ".join(f"{r.text} [{r.rule}]" for r in denial.reasons) or "no reason recorded"


def _denied_how(with_code: str | None) -> str:
    return "on its own" if with_code is None else f"only because {with_code} was chosen"


def _check_amount(
    decision: Decision, billed: Coding, wanted: Coding, key: str, what: str, expected: Decimal | None
) -> Iterator[str]:
    """The decision's figure for the expected coding: its own totals, or the matching alternative's.
    With none for it (another coding billed, not an alternative), the failure says so, with the
    billed coding's figure beside it."""
    matching = [a for a in decision.alternatives if frozenset(a.codes) == wanted]
    if billed != wanted and (key == "medicare_after_sequestration" or not matching):
        # alternatives carry no per-line shares, so no figure after sequestration either
        if expected is not None:
            why = f"not billed (the billed {_show(billed)} has {_shown(_own_amount(decision, key))})"
            why = why if billed else "nothing was billed"
            yield f"{what} of {_show(wanted)} not known: {why}; expected {_shown(expected)}"
        return
    if billed == wanted:
        actual = _own_amount(decision, key)
    elif key == "patient_responsibility":
        actual = matching[0].patient_responsibility
    else:
        actual = matching[0].total_allowed
    if actual != expected:
        yield f"{what} {_shown(actual)}; expected {_shown(expected)}"


def _own_amount(decision: Decision, key: str) -> Decimal | None:
    if key == "medicare_after_sequestration":
        return _after_sequestration(decision)
    return decision.patient_responsibility if key == "patient_responsibility" else decision.totals.allowed


def _shown(amount: Decimal | None) -> str:
    return "not determined" if amount is None else f"{amount:.2f}"


def _after_sequestration(decision: Decision) -> Decimal | None:
    """The billable lines' Medicare payment after sequestration; None unless every line has one."""
    figures = [line.shares.medicare_after_sequestration if line.shares else None for line in decision.billable]
    if not figures or any(f is None for f in figures):
        return None
    return sum((f for f in figures if f is not None), Decimal(0))


def _show(coding: Coding) -> str:
    if not coding:
        return "nothing"
    return "{" + ", ".join(f"{c}×{u}" for c, u in sorted(coding)) + "}"
