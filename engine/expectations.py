"""Expected outcomes, and policy test files: what `carepolicy test` and the acceptance suite check.

An expectation has the shape of `expect:` in shared/acceptance/scenarios.yaml:

    billable: [{code: "99490", units: 1}]          # the chosen coding, or one of `alternatives`
    alternatives: [[{code: ..., units: ...}], ...]
    denied: [{code: "99439", reason: "...", unit: 2, with: "99487"}]
    patient_responsibility: 12.10                   # for the `billable` lines

A decision passes when its billable set equals `billable` or one of `alternatives`; when it picked
an alternative, the patient responsibility is compared with the decision's own figure for the
expected coding (the decision reports every alternative's total). Each denied code must be absent
from the billable lines (or, with `unit: n`, billed with fewer than n units) and explained in
`denied`. Reasons are prose written by people: they are shown, never compared.

Policy test files (`policies/tests/*.yaml`) hold `cases:`, each {name, facts, switches?, expect}.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from .decision import Decision

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
    failures.extend(_check_denied(decision, expect.get("denied") or ()))
    if expect.get("patient_responsibility") is not None:
        failures.extend(_check_patient_share(decision, billed, wanted, _money(expect["patient_responsibility"])))
    return failures


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


def _check_patient_share(decision: Decision, billed: Coding, wanted: Coding, expected: Decimal) -> Iterator[str]:
    if billed == wanted:
        actual = decision.patient_responsibility
    else:
        matching = [a for a in decision.alternatives if frozenset(a.codes) == wanted]
        actual = matching[0].patient_responsibility if matching else None
    if actual is None or actual != expected:
        shown = "not determined" if actual is None else f"{actual:.2f}"
        yield f"patient responsibility {shown}; expected {expected:.2f}"


def _show(coding: Coding) -> str:
    if not coding:
        return "nothing"
    return "{" + ", ".join(f"{c}×{u}" for c, u in sorted(coding)) + "}"


# ---------------------------------------------------------------- policy test files


@dataclass(frozen=True, slots=True)
class PolicyCase:
    file: str
    name: str
    facts: Mapping[str, Any]
    switches: Mapping[str, str]
    expect: Mapping[str, Any]


def read_cases(directory: str | Path) -> list[PolicyCase]:
    """Every case of every `*.yaml` under `directory` (sorted, so runs are reproducible)."""
    from .facts import load_yaml_documents

    root = Path(directory)
    cases: list[PolicyCase] = []
    for path in sorted(root.rglob("*.yaml")):
        documents = load_yaml_documents(path.read_text(encoding="utf-8"), str(path))
        document = documents[0] if documents and isinstance(documents[0], dict) else {}
        for number, case in enumerate(document.get("cases") or (), start=1):
            cases.append(
                PolicyCase(
                    str(path.relative_to(root.parent) if root.parent != path else path),
                    str(case.get("name") or f"case {number}"),
                    case.get("facts") or {},
                    {str(k): str(v) for k, v in (case.get("switches") or {}).items()},
                    case.get("expect") or {},
                )
            )
    return cases


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: PolicyCase
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures


def run_cases(policies: Any, cases: Sequence[PolicyCase]) -> list[CaseResult]:
    """Evaluate each case with its switches and compare with its expectation.

    A case whose facts are not a valid bundle fails with the schema diagnostics as its reasons.
    """
    from .api import evaluate
    from .diagnostics import PolicyError
    from .facts import BundleError, validate_bundle

    results = []
    for case in cases:
        bundle = validate_bundle(case.facts, source=case.file, index=0)
        if isinstance(bundle, BundleError):
            failures = tuple(f"{d.fact_path}: {d.message}" for d in bundle.diagnostics)
        else:
            try:
                decision = evaluate(policies, bundle, switches=case.switches, trace=False)
                failures = tuple(check_expectation(decision, case.expect))
            except PolicyError as error:
                failures = tuple(d.message for d in error.diagnostics)
        results.append(CaseResult(case, failures))
    return results
