"""Policy test files: reading their cases and running them, for `carepolicy test`.

Policy test files (`policies/tests/*.yaml`) hold `cases:`, each {name, facts, switches?,
fee_schedule?, expect}. `fee_schedule` prices the case's lines the way `--fee-schedule FILE` does,
for months the shipped data does not price: `{allowed: {"99490": 66.13}}` (money) and/or
`{rvu: {"99490": 1.87}}` (total RVUs, times the conversion factor in effect). Its values are read
exactly and checked like the CSV's (fee_schedule.py). A case that cannot be run as written (an
unknown key, a bad fee schedule value, facts that are not a valid bundle) fails with the reasons.
A case's `expect` is compared with its decision by expectations.py, which the acceptance suite
uses on its own; reading files, merging `bases:` and building fee schedules is this module's part.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic
from .evaluation.pricing import FeeSchedule
from .expectations import AMOUNTS, check_expectation, expectation_problems

CASE_KEYS = ("name", "base", "facts", "switches", "fee_schedule", "expect")
EXPECT_KEYS = ("billable", "alternatives", "denied", "withdraw", "notes", *AMOUNTS)


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
    """Every case of every `*.yaml` or `*.yml` under `directory` (sorted, so runs are reproducible); a file
    that is not one mapping of `cases:` raises `FactError` (case_files.py)."""
    from .case_files import case_document

    root = Path(directory)
    cases: list[PolicyCase] = []
    paths = sorted(p for pattern in ("*.yaml", "*.yml") for p in root.rglob(pattern))
    documents = [(path, case_document(path)) for path in paths]
    bases, base_problems = _bases(documents)
    for path, document in documents:
        numbers: dict[str, int] = {}
        for number, case in enumerate(document.get("cases") or (), start=1):
            file = str(path.relative_to(root.parent) if root.parent != path else path)
            name = str(case.get("name") or f"case {number}")
            expect = case.get("expect") or {}
            first = numbers.setdefault(name, number)
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
                        *_same_name(name, first, number),
                        *_unknown_keys(case, CASE_KEYS, ""),
                        *_unknown_keys(expect, EXPECT_KEYS, "expect."),
                        *_bad_amounts(expect),
                        *expectation_problems(expect),
                        *problems,
                        *facts_problems,
                        *base_problems,
                        *_no_expectation(case),
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


def _same_name(name: str, first: int, number: int) -> Iterator[str]:
    """Two cases of one file with one name: the report and `-k` could not tell them apart."""
    if first != number:
        yield f"name: case {first} of this file is also called `{name}`; give each case its own name"


def _no_expectation(case: Mapping[str, Any]) -> Iterator[str]:
    """A case without `expect` would pass whatever the decision."""
    if not case.get("expect"):
        yield "expect: missing; a case checks what its `expect` says (at least `billable:`, `[]` for nothing)"


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
        bundle = validate_bundle(case.facts, source=case.file, index=0, parsed=True)
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
