"""Each line's shares in a month of several lines, on the shipped policies (cms-rules.md §7).

The policy cases (policies/tests/*.yaml) compare a decision's totals; these compare the shares of
single lines, where a total hides them: a line after one that is not priced, and the deductible.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

import carepolicy


@pytest.fixture(scope="module")
def evaluator() -> carepolicy.Evaluator:
    return carepolicy.load(trace=False)


def apcm_with_bhi(**beneficiary: Any) -> dict[str, Any]:
    """A 2026 APCM month with BHI minutes: G0557 and its add-on G0570, in that coding order."""
    return {
        "month": "2026-03",
        "beneficiary": {
            "part_b": True,
            "dual_status": "none",
            "medigap_plan": None,
            "deductible_remaining": Decimal("20.00"),
            **beneficiary,
        },
        "practitioner": {
            "id": "P1",
            "kind": "physician",
            "new_patient": False,
            "last_visit": "2025-11-02",
            "primary_care_focal_point": True,
        },
        "practice": {
            "certified_ehr": True,
            "access_24_7": True,
            "continuity_designated_member": True,
            "electronic_care_plan_shared": True,
        },
        "chronic_conditions": [
            {"name": "copd", "icd10": "J44.9", "expected_months": 60, "significant_risk": True},
            {"name": "afib", "icd10": "I48.91", "expected_months": 36, "significant_risk": True},
        ],
        "consent": {
            "documented": True,
            "practitioner": "P1",
            "date": "2025-09-12",
            "method": "verbal",
            "service": ["apcm", "bhi"],
        },
        "care_plan": {"comprehensive": True, "established_or_substantially_revised_this_month": False},
        "medical_decision_making": "low",
        "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": "bhi"}],
        "other_claims_this_month": [],
    }


def lines(evaluator: carepolicy.Evaluator, facts: dict[str, Any]) -> dict[str, Any]:
    result = evaluator.evaluate(facts)
    assert result.ok, result.diagnostics
    assert result.decision is not None
    return {line.code: line for line in result.decision.billable}


def test_a_line_after_an_unpriced_one_does_not_take_the_whole_deductible(evaluator: carepolicy.Evaluator) -> None:
    """G0557 comes first and is not priced (no 2026 amount shipped, §8.3); the deductible is taken
    line by line (§7.1), so G0557 takes an unknown part of the $20 left and G0570's deductible,
    coinsurance and share are not known. Before the fix G0570 was given all $20: it owed $24.00."""
    billed = lines(evaluator, {**apcm_with_bhi(), "fee_schedule_override": {"G0570": Decimal("40.00")}})
    assert list(billed) == ["G0557", "G0570"]
    assert billed["G0557"].allowed is None
    later = billed["G0570"]
    assert later.allowed == Decimal("40.00")
    assert later.shares is not None
    assert (later.shares.deductible, later.shares.coinsurance, later.shares.beneficiary) == (None, None, None)
    assert later.shares.medicare is None
    assert later.shares.note is not None
    assert "not priced" in later.shares.note


def test_an_unpriced_line_changes_nothing_when_no_deductible_is_left(evaluator: carepolicy.Evaluator) -> None:
    facts = apcm_with_bhi(deductible_remaining=Decimal("0.00"))
    billed = lines(evaluator, {**facts, "fee_schedule_override": {"G0570": Decimal("40.00")}})
    later = billed["G0570"].shares
    assert later is not None
    assert (later.deductible, later.coinsurance) == (Decimal("0.00"), Decimal("8.00"))
    assert later.beneficiary == Decimal("8.00")
    assert later.note is None


def test_a_priced_line_before_an_unpriced_one_keeps_its_deductible(evaluator: carepolicy.Evaluator) -> None:
    """The first line takes the $20 as before: $20 + 20% of $20 = $24.00."""
    billed = lines(evaluator, {**apcm_with_bhi(), "fee_schedule_override": {"G0557": Decimal("40.00")}})
    first = billed["G0557"].shares
    assert first is not None
    assert (first.deductible, first.coinsurance) == (Decimal("20.00"), Decimal("4.00"))
    assert first.beneficiary == Decimal("24.00")
    assert billed["G0570"].allowed is None


@pytest.mark.parametrize(
    ("beneficiary", "owed"),
    [
        ({"dual_status": "qmb"}, Decimal("0")),  # §7.2: a QMB owes nothing
        ({"medigap_plan": "F"}, Decimal("0")),  # §7.3: F pays the deductible and the coinsurance
        ({"medigap_plan": "G"}, None),  # G leaves the deductible, whose part is unknown
    ],
)
def test_after_an_unpriced_line_who_pays_all_still_leaves_nothing(
    evaluator: carepolicy.Evaluator, beneficiary: dict[str, Any], owed: Decimal | None
) -> None:
    billed = lines(evaluator, {**apcm_with_bhi(**beneficiary), "fee_schedule_override": {"G0570": Decimal("40.00")}})
    later = billed["G0570"].shares
    assert later is not None
    assert later.beneficiary == owed


def decision_2025(evaluator: carepolicy.Evaluator, **beneficiary: Any) -> carepolicy.Decision:
    """The same month in 2025, priced from the shipped RVUs: G0557 $48.84 and 99484 $53.05."""
    result = evaluator.evaluate({**apcm_with_bhi(**beneficiary), "month": "2025-12"})
    assert result.ok, result.diagnostics
    assert result.decision is not None
    return result.decision


def test_an_indeterminate_share_does_not_show_a_paying_medigap_plan_as_zero(evaluator: carepolicy.Evaluator) -> None:
    """A full-benefit dual's share depends on the state (§7.2), but Plan K still pays half the
    coinsurance (§7.3): its share is unknown here (the clause does not say which payer it is
    about), not 0.00, which it was. Without a plan Medigap's share stays 0.00."""
    with_k = decision_2025(evaluator, dual_status="full_benefit", medigap_plan="K", deductible_remaining=Decimal("0"))
    assert [line.code for line in with_k.billable] == ["G0557", "99484"]
    for line in with_k.billable:
        assert line.shares is not None
        assert (line.shares.medigap, line.shares.medicaid, line.shares.beneficiary) == (None, None, None)
        assert line.shares.coinsurance is not None
    assert with_k.totals.medigap is None
    without = decision_2025(evaluator, dual_status="full_benefit", deductible_remaining=Decimal("0"))
    assert all(line.shares is not None and line.shares.medigap == Decimal("0") for line in without.billable)


def test_a_qmb_with_an_unknown_deductible_owes_nothing_and_medicaid_total_is_unknown(
    evaluator: carepolicy.Evaluator,
) -> None:
    """Medicaid pays a QMB's whole part (§7.2), whose size depends on the deductible left: the
    beneficiary owes 0.00, Medicaid's total is unknown (it was summed as 0.00), and the note is
    about the payers' shares, not the patient's responsibility, which is decided."""
    facts = apcm_with_bhi(dual_status="qmb")
    del facts["beneficiary"]["deductible_remaining"]
    result = evaluator.evaluate({**facts, "month": "2025-12"})
    assert result.ok
    assert result.decision is not None
    decision = result.decision
    assert decision.patient_responsibility == Decimal("0.00")
    assert decision.totals.medicaid is None
    assert decision.totals.note is not None
    assert decision.totals.note.startswith("payer shares cannot be decided")
