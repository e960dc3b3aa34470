"""The policy library's own test cases (policies/tests/*.yaml), one pytest item per case, plus
the shipped policy set's health (it checks with no errors and no warnings) and what the cases pin
down: every dated parameter value and every switch option has a case that fails when it changes.

Policy behaviour itself is tested by cases, never here: add a case to policies/tests/."""

from __future__ import annotations

import calendar
import os
import re
import shutil
from dataclasses import replace
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest
from carepolicy.engine import PolicySet, check_policies, load_policies, render_text
from carepolicy.engine.language.syntax import Literal
from carepolicy.engine.policy_cases import PolicyCase, read_cases, run_cases

# Another policy folder's cases can be run instead (tests/test_case_bases.py breaks a rule in a copy
# and expects this module to fail with a readable reason).
POLICY_DIR = os.environ.get("CAREPOLICY_POLICY_DIR") or None
CASE_DIR = Path(POLICY_DIR or str(files("carepolicy.policies"))) / "tests"
CASES = read_cases(CASE_DIR) if CASE_DIR.is_dir() else []


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return load_policies(POLICY_DIR)


def test_shipped_policies_check_clean() -> None:
    _result, sources, diagnostics = check_policies()
    assert not diagnostics, render_text(diagnostics, sources)


def test_there_are_policy_cases() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[f"{c.file}::{c.name}" for c in CASES])
def test_policy_case(policies: PolicySet, case: PolicyCase) -> None:
    (result,) = run_cases(policies, [case])
    assert result.passed, "\n".join(result.failures)


# ------------------------------------------------------------------ what the cases pin down


def _fails(policies: PolicySet, cases: list[PolicyCase]) -> list[str]:
    return [f"{r.case.file}::{r.case.name}" for r in run_cases(policies, cases) if not r.passed]


def test_every_dated_parameter_value_is_pinned_by_a_case(tmp_path: Path) -> None:
    """Nudge each dated value of each parameter by 0.01 in a copy of the policies: some case of a month
    the value applies to must then fail (docs/contributing/testing.md, "Policy test cases")."""
    shipped = Path(str(files("carepolicy.policies")))
    copy = tmp_path / "policies"
    shutil.copytree(shipped, copy, ignore=shutil.ignore_patterns("tests", "examples", "__pycache__", "*.py"))
    shipped_policies = load_policies(copy)
    passing = [c for c in CASES if run_cases(shipped_policies, [c])[0].passed]  # a failing case pins nothing
    parameters = shipped_policies.checked.index.parameters
    unpinned, nudged = [], 0
    for name, parameter in sorted(parameters.items()):
        for value in parameter.values:
            literal = value.value
            assert isinstance(literal, Literal), f"{name}: not a literal value"
            path = copy / Path(literal.span.source).name
            original = path.read_text(encoding="utf-8")
            lines = original.splitlines(keepends=True)
            line, start, end = literal.span.line - 1, literal.span.column - 1, literal.span.end_column - 1
            assert lines[line][start:end] == literal.text
            number = re.search(r"[0-9.]+", literal.text)
            assert number is not None
            nudged_text = literal.text.replace(number[0], str(Decimal(number[0]) + Decimal("0.01")), 1)
            lines[line] = lines[line][:start] + nudged_text + lines[line][end:]
            path.write_text("".join(lines), encoding="utf-8")
            try:
                in_effect = [c for c in passing if value.effective.contains(_last_day(str(c.facts.get("month"))))]
                if not _fails(load_policies(copy), in_effect):
                    unpinned.append(f"{name} {literal.text} effective {value.effective}")
            finally:
                path.write_text(original, encoding="utf-8")
            nudged += 1
    assert nudged >= 12, nudged  # every value of part_b_deductible, part_b_coinsurance and both factors
    assert not unpinned, "no policy case fails when these parameter values change:\n  " + "\n  ".join(unpinned)


def _last_day(month: str) -> str:
    """Parameters are read as of the service month's last day (docs/language.md)."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}", month):
        return ""
    year, number = int(month[:4]), int(month[5:])
    return f"{month}-{calendar.monthrange(year, number)[1]:02d}"


def test_every_switch_option_is_pinned_by_a_case(policies: PolicySet) -> None:
    """For each option of each switch, a case evaluated with that option (set, or by default) must
    fail when the switch is moved to another option: both readings of every uncertainty are tested."""
    defaults = dict(policies.compiled.switch_defaults)
    passing = [c for c in CASES if run_cases(policies, [c])[0].passed]  # a failing case pins nothing
    unpinned = []
    for switch, options in sorted(policies.switch_options().items()):
        for option in options:
            setting = [c for c in passing if c.switches.get(switch, defaults[switch]) == option]
            explicit_first = sorted(setting, key=lambda c: switch not in c.switches)
            if not any(
                _fails(policies, [replace(case, switches={**case.switches, switch: other})])
                for case in explicit_first
                for other in options
                if other != option
            ):
                unpinned.append(f"{switch} = {option}")
    assert not unpinned, "no policy case fails when these switch settings are changed:\n  " + "\n  ".join(unpinned)
