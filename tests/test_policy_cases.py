"""The policy library's own test cases (policies/tests/*.yaml), one pytest item per case,
plus the shipped policy set's health: it checks with no errors and no warnings."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest
from carepolicy.engine import PolicySet, check_policies, load_policies, render_text
from carepolicy.engine.expectations import PolicyCase, read_cases, run_cases

CASE_DIR = Path(str(files("carepolicy.policies"))) / "tests"
CASES = read_cases(CASE_DIR) if CASE_DIR.is_dir() else []


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    return load_policies()


def test_shipped_policies_check_clean() -> None:
    _result, sources, diagnostics = check_policies()
    assert not diagnostics, render_text(diagnostics, sources)


def test_there_are_policy_cases() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", CASES, ids=[f"{c.file}::{c.name}" for c in CASES])
def test_policy_case(policies: PolicySet, case: PolicyCase) -> None:
    (result,) = run_cases(policies, [case])
    assert result.passed, "; ".join(result.failures)
