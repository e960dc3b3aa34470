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


@pytest.mark.parametrize(("status", "allowed"), [("non_qp", "62.46"), ("qp", "62.77")])
def test_2026_conversion_factor_follows_qp_switch(
    policies: PolicySet, tmp_path: Path, status: str, allowed: str
) -> None:
    """2026 has two factors (§8.1): 1.87 RVU x $33.4009 = $62.46 (non-QP), x $33.5675 = $62.77 (QP)."""
    from decimal import Decimal

    from carepolicy.engine import evaluate, load_fee_schedule
    from carepolicy.engine.facts import Bundle, validate_bundle

    fees = tmp_path / "rvus.csv"
    fees.write_text("code,rvu\n99490,1.87\n", encoding="utf-8")
    facts = {
        "month": "2026-03",
        "beneficiary": {"part_b": True, "dual_status": "none", "medigap_plan": None, "deductible_remaining": 0},
        "practitioner": {"id": "P1", "kind": "physician", "new_patient": False, "last_visit": "2025-11-02"},
        "practice": {
            "certified_ehr": True,
            "access_24_7": True,
            "continuity_designated_member": True,
            "electronic_care_plan_shared": True,
        },
        "chronic_conditions": [
            {"name": n, "icd10": "X", "expected_months": 24, "significant_risk": True} for n in ("a", "b")
        ],
        "consent": {
            "documented": True,
            "practitioner": "P1",
            "date": "2025-06-01",
            "method": "verbal",
            "service": "ccm",
        },
        "care_plan": {"comprehensive": True, "established_or_substantially_revised_this_month": False},
        "medical_decision_making": "low",
        "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": "ccm"}],
        "other_claims_this_month": [],
    }
    bundle = validate_bundle(facts, source="test", index=0)
    assert isinstance(bundle, Bundle)
    decision = evaluate(
        policies, bundle, switches={"qualifying_apm_participant": status}, fee_schedule=load_fee_schedule(fees)
    )
    assert [line.allowed for line in decision.billable] == [Decimal(allowed)]
