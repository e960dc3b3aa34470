"""Expected outcomes, and policy test files: what `carepolicy test` and the acceptance suite check.

An expectation has the shape of `expect:` in shared/acceptance/scenarios.yaml:

    billable: [{code: "99490", units: 1}]          # the chosen coding, or one of `alternatives`
    alternatives: [[{code: ..., units: ...}], ...]
    denied: [{code: "99439", reason: "...", unit: 2, with: "99487"}]
    withdraw: [{code: "99495"}]                     # claims on file to withdraw (bundling)
    patient_responsibility: 12.10                   # for the `billable` lines
    allowed: 60.49                                  # the total allowed amount of the `billable` lines
    medicare_after_sequestration: 47.42             # Medicare's payment of them after sequestration

A decision passes when its billable set equals `billable` or one of `alternatives`; when it picked
an alternative, the patient responsibility and the allowed total are compared with the decision's
own figures for the expected coding (the decision reports every alternative's totals). An amount
left out is not compared; `null` expects none (`patient_responsibility: null`: indeterminate or not
priced; `allowed: null`: not priced). Each denied code must be absent from the billable lines (or,
with `unit: n`, billed with fewer than n units) and explained in `denied`; `with: CODE` expects it
valid on its own but denied because CODE was chosen, `with: null` denied on its own (left out: either).
Reasons are prose written by people: they are shown, never compared.

Policy test files (`policies/tests/*.yaml`) hold `cases:`, each {name, facts, switches?,
fee_schedule?, expect}. `fee_schedule` prices the case's lines the way `--fee-schedule FILE` does,
for months the shipped data does not price: `{allowed: {"99490": 66.13}}` (money) and/or
`{rvu: {"99490": 1.87}}` (total RVUs, times the conversion factor in effect). Its values are read
exactly and checked like the CSV's (fee_schedule.py). A case that cannot be run as written (an
unknown key, a bad fee schedule value, facts that are not a valid bundle) fails with the reasons.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .decision.model import Decision
from .diagnostics import Diagnostic
from .evaluation.costs import FeeSchedule

Coding = frozenset[tuple[str, int]]


def _coding(entries: Sequence[Mapping[str, Any]] | None) -> Coding:
    return frozenset((str(e["code"]), int(e.get("units", 1))) for e in entries or ())


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
        if unit is None and code in units:
            yield f"{code} is billed but should be denied ({entry.get('reason', '')})"
        elif unit is not None and units.get(code, 0) >= int(unit):
            yield f"{code} unit {unit} is billed but should be denied"
        explained = [d for d in decision.denied if d.code == code and (unit is None or d.unit in (None, int(unit)))]
        if not explained or not any(d.reasons for d in explained):
            yield f"{code} is not explained under `denied` (expected: {entry.get('reason', '')})"
        elif "with" in entry:
            wanted = None if entry["with"] is None else str(entry["with"])
            if not any(d.with_code == wanted for d in explained):
                actual = " and ".join(_denied_how(d.with_code) for d in explained)
                yield f"{code} is denied {actual}; expected {_denied_how(wanted)}"


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


# ---------------------------------------------------------------- policy test files


CASE_KEYS = ("name", "base", "facts", "switches", "fee_schedule", "expect")
EXPECT_KEYS = ("billable", "alternatives", "denied", "withdraw", *AMOUNTS)


@dataclass(frozen=True, slots=True)
class PolicyCase:
    file: str
    name: str
    facts: Mapping[str, Any]
    switches: Mapping[str, str]
    expect: Mapping[str, Any]
    fee_schedule: FeeSchedule | None = None
    problems: tuple[str, ...] = ()  # why the case cannot be run as written; it fails with these


def read_cases(directory: str | Path) -> list[PolicyCase]:
    """Every case of every `*.yaml` under `directory` (sorted, so runs are reproducible); a file
    that is not one mapping of `cases:` raises `FactError` (case_files.py)."""
    from .case_files import case_document

    root = Path(directory)
    cases: list[PolicyCase] = []
    documents = [(path, case_document(path)) for path in sorted(root.rglob("*.yaml"))]
    bases, base_problems = _bases(documents)
    for path, document in documents:
        for number, case in enumerate(document.get("cases") or (), start=1):
            file = str(path.relative_to(root.parent) if root.parent != path else path)
            name = str(case.get("name") or f"case {number}")
            expect = case.get("expect") or {}
            fee_schedule, problems = _case_fee_schedule(case.get("fee_schedule"), f"{file}::{name}")
            facts, facts_problems = _case_facts(case, bases)
            cases.append(
                PolicyCase(
                    file,
                    name,
                    facts,
                    {str(k): str(v) for k, v in (case.get("switches") or {}).items()},
                    expect,
                    fee_schedule,
                    (
                        *_unknown_keys(case, CASE_KEYS, ""),
                        *_unknown_keys(expect, EXPECT_KEYS, "expect."),
                        *_bad_amounts(expect),
                        *problems,
                        *facts_problems,
                        *base_problems,
                    ),
                )
            )
    return cases


def _bases(documents: Sequence[tuple[Path, Mapping[str, Any]]]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Every `bases:` entry of the folder's case files, by name (engine/case_bases.py)."""
    bases: dict[str, Any] = {}
    problems: list[str] = []
    for path, document in documents:
        for name, facts in (document.get("bases") or {}).items():
            if name in bases:
                problems.append(f"bases.{name}: declared twice (again in {path.name}); base names are shared")
            bases[str(name)] = facts
    return bases, tuple(problems)


def _case_facts(case: Mapping[str, Any], bases: Mapping[str, Any]) -> tuple[Mapping[str, Any], tuple[str, ...]]:
    from .case_bases import merge

    facts = case.get("facts") or {}
    if "base" not in case:
        return facts, ()
    name = str(case["base"])
    if name not in bases:
        from .diagnostics import did_you_mean

        hint = did_you_mean(name, bases) or f"bases: {', '.join(sorted(bases)) or 'none'}"
        return {}, (f"base: no base bundle `{name}` under `bases:` in the case files ({hint})",)
    return merge(bases[name], facts), ()


def _unknown_keys(mapping: Mapping[str, Any], known: Sequence[str], where: str) -> Iterator[str]:
    """A misspelt key would otherwise be ignored, and the case pass without checking what it meant to."""
    from .diagnostics import did_you_mean

    for key in mapping:
        if key not in known:
            hint = did_you_mean(str(key), known)
            yield f"{where}{key}: unknown key" + (f" ({hint})" if hint else f" (known: {', '.join(known)})")


def _bad_amounts(expect: Mapping[str, Any]) -> Iterator[str]:
    for key in AMOUNTS:
        value = expect.get(key)
        if value is not None and (isinstance(value, bool) or not _is_cents(value)):
            yield f"expect.{key}: `{value}` is not an amount of money in cents (write e.g. 12.10, or null for none)"


def _is_cents(value: Any) -> bool:
    """A finite number with at most two decimal places (`12.1` and `12.10` are both 12.10)."""
    try:
        number = Decimal(str(value))
        return number.is_finite() and number == number.quantize(Decimal("0.01"))
    except InvalidOperation:  # not a number, or too large to have cents
        return False


def _case_fee_schedule(raw: Any, name: str) -> tuple[FeeSchedule | None, tuple[str, ...]]:
    """A case's `fee_schedule: {allowed: {code: money}, rvu: {code: number}}`, built as a CSV's is."""
    from .diagnostics import PolicyError
    from .evaluation.fee_schedule import COLUMNS, FeeEntry, build_fee_schedule

    if raw is None:
        return None, ()
    if not isinstance(raw, Mapping) or not raw:
        return None, ('fee_schedule: expected `allowed` and/or `rvu`, as in `fee_schedule: {rvu: {"99490": 1.87}}`',)
    problems = (
        *_unknown_keys(raw, COLUMNS, "fee_schedule."),
        *(
            f'fee_schedule.{key}: expected a mapping of code to amount, as in `{key}: {{"99490": {example}}}`'
            for key, example in zip(COLUMNS, ("60.49", "1.87"), strict=True)
            if key in raw and not isinstance(raw[key], Mapping)
        ),
    )
    if problems:
        return None, problems
    entries = [
        FeeEntry(column, code, value, f"fee_schedule.{column}.{code}")
        for column in COLUMNS
        for code, value in raw.get(column, {}).items()
    ]
    try:
        return build_fee_schedule(name, entries), ()
    except PolicyError as error:
        return None, tuple(_with_help(d) for d in error.diagnostics)


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: PolicyCase
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


def run_cases(policies: Any, cases: Sequence[PolicyCase]) -> list[CaseResult]:
    """Evaluate each case with its switches and compare with its expectation.

    A case that cannot be run as written fails with its problems (`PolicyCase.problems`), and a
    case whose facts are not a valid bundle with the schema diagnostics, as its reasons.
    """
    from .api import evaluate
    from .diagnostics import PolicyError
    from .facts.reader import BundleError, validate_bundle

    results = []
    for case in cases:
        if case.problems:
            results.append(CaseResult(case, case.problems))
            continue
        bundle = validate_bundle(case.facts, source=case.file, index=0)
        if isinstance(bundle, BundleError):
            failures = tuple(f"{d.fact_path}: {_with_help(d)}" for d in bundle.diagnostics)
        else:
            try:
                decision = evaluate(
                    policies, bundle, switches=case.switches, fee_schedule=case.fee_schedule, trace=False
                )
                failures = tuple(check_expectation(decision, case.expect))
            except PolicyError as error:
                failures = tuple(_with_help(d) for d in error.diagnostics)
        results.append(CaseResult(case, failures))
    return results


def _with_help(diagnostic: Diagnostic) -> str:
    """A problem of a case in one line: its message, and its help (`did you mean ...?`) after it."""
    return diagnostic.message + (f" ({diagnostic.help})" if diagnostic.help else "")
