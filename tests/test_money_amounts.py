"""Amounts of issue 8: Medigap K/L limits as dated parameters (`otherwise unknown`), facility and
non-facility RVU tables chosen by `place_of_service`, and sequestration of Medicare's payment.

Run on the shipped policies (docs/language.md, "Pricing, fee tables and cost sharing"); the
policy cases in policies/tests/cost_sharing.yaml and fees.yaml pin the patient's share, these pin
the decision fields those cases cannot see (notes, `price_source`, `medicare_after_sequestration`).
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from carepolicy.engine import PolicySet, evaluate, load_policies, to_json
from carepolicy.engine.api import check_texts
from carepolicy.engine.decision.explain import render_decision_text
from carepolicy.engine.diagnostics import Diagnostic
from carepolicy.engine.facts.reader import Bundle, validate_bundle
from carepolicy.engine.money import after_sequestration, round_cents
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parent.parent
BASE: dict[str, Any] = {
    "fact_bundle": 2,
    "month": "2025-05",
    "beneficiary": {"part_b": True, "dual_status": "none", "medigap_plan": None, "deductible_remaining": 0.0},
    "practitioner": {"id": "DR-A", "kind": "physician", "new_patient": False, "last_visit": "2025-02-14"},
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
    "consents": {"ccm": {"documented": True, "practitioner": "DR-A", "date": "2024-09-12", "method": "verbal"}},
    "care_plan": {"comprehensive": True, "established_or_substantially_revised_this_month": False},
    "medical_decision_making": "low",
    "time": [{"practitioner": "DR-A", "by": "clinical_staff", "minutes": 23, "service": "ccm"}],
    "other_claims_this_month": [],
}


@pytest.fixture(scope="module")
def shipped() -> PolicySet:
    return load_policies(ROOT / "policies")


def bundle(**changes: Any) -> Bundle:
    facts = copy.deepcopy(BASE)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(facts.get(key), dict):
            facts[key] = {**facts[key], **value}
        else:
            facts[key] = value
    result = validate_bundle(json.loads(json.dumps(facts)), source="test", index=0)
    assert isinstance(result, Bundle), result
    return result


def diagnostics(text: str) -> tuple[Diagnostic, ...]:
    return check_texts([("t.policy", text)])[2]


def only_line(policies: PolicySet, facts: Bundle, **options: Any) -> Any:
    decision = evaluate(policies, facts, **options)
    assert [line.code for line in decision.billable] == ["99490"], decision.denied
    return decision, decision.billable[0]


def test_a_negative_zero_override_is_priced_as_zero(shipped: PolicySet) -> None:
    """`-0.0` (what float arithmetic gives for 0 x -1) is not below zero, so it is a valid amount:
    it prices the line at 0.00, never `-0.00`, in every field the decision writes."""
    facts = validate_bundle({**BASE, "fee_schedule_override": {"99490": Decimal("-0.0")}}, source="test", index=0)
    assert isinstance(facts, Bundle)
    decision, line = only_line(shipped, facts)
    assert line.allowed is not None
    assert (line.allowed, line.allowed.is_signed()) == (0, False)
    assert '"-0.00"' not in to_json(decision, indent=None)  # allowed, coinsurance, totals


# ------------------------------------------------------------------ Medigap K/L limits
def test_a_limit_with_no_value_leaves_only_the_medigap_share_undecided(shipped: PolicySet) -> None:
    facts = bundle(
        month="2026-03",
        practitioner={"last_visit": "2025-11-14"},
        beneficiary={"medigap_plan": "L", "out_of_pocket_ytd": 5000.0},
        fee_schedule_override={"99490": 60.0},
    )
    decision, line = only_line(shipped, facts)
    shares = line.shares
    assert (shares.deductible, shares.coinsurance) == (Decimal("0.00"), Decimal("12.00"))
    assert shares.medicare == Decimal("48.00")
    assert shares.medigap is None
    assert shares.beneficiary is None
    assert "`medigap_l_oop_limit` has no value for 2026-03" in shares.note
    assert "2026 figure was not found" in shares.note
    assert decision.patient_responsibility is None


def test_the_note_names_only_facts_the_undecided_share_depends_on(shipped: PolicySet) -> None:
    # Plan L: only the Plan C/F clause reads `medicare_eligible_before_2020` (cms-rules.md §7.3:
    # only C and F cover the deductible), and it certainly does not apply: the note does not name it.
    facts = bundle(
        month="2026-03",
        practitioner={"last_visit": "2025-11-14"},
        beneficiary={"medigap_plan": "L", "out_of_pocket_ytd": 5000.0},
        fee_schedule_override={"99490": 60.0},
    )
    _decision, line = only_line(shipped, facts)
    assert "medicare_eligible_before_2020" not in line.shares.note
    assert "`medigap_l_limit_reached`" in line.shares.note
    # Plan G without a dual status: the Medicaid clause that reads it is the one left undecided,
    # so the note names it (and nothing the Medigap clauses read)
    raw = copy.deepcopy(BASE)
    raw["beneficiary"] = {"part_b": True, "medigap_plan": "G", "deductible_remaining": 100.0}
    facts = validate_bundle(raw, source="test", index=0)
    assert isinstance(facts, Bundle), facts
    _decision, line = only_line(shipped, facts)
    assert line.shares.note == "cannot be decided: missing `beneficiary.dual_status`"
    # Plan F without `medicare_eligible_before_2020`: decided, since only people eligible before
    # 2020 may hold C or F (§7.3), so the plan covers the deductible
    facts = bundle(beneficiary={"medigap_plan": "F", "deductible_remaining": 100.0})
    _decision, line = only_line(shipped, facts)
    assert line.shares.note is None
    assert (line.shares.medigap, line.shares.beneficiary) == (Decimal("60.49"), Decimal("0.00"))
    # Plan G with no deductible figure: the deductible is what is missing, nothing else
    raw = copy.deepcopy(BASE)
    raw["beneficiary"] = {"part_b": True, "dual_status": "none", "medigap_plan": "G"}
    facts = validate_bundle(raw, source="test", index=0)
    assert isinstance(facts, Bundle), facts
    _decision, line = only_line(shipped, facts)
    assert line.shares.note == "cannot be decided: missing `beneficiary.deductible_remaining`"


def test_the_bundle_flag_decides_over_an_unknown_limit(shipped: PolicySet) -> None:
    facts = bundle(
        month="2026-03",
        practitioner={"last_visit": "2025-11-14"},
        beneficiary={"medigap_plan": "L", "out_of_pocket_ytd": 5000.0, "medigap_oop_limit_met": True},
        fee_schedule_override={"99490": 60.0},
    )
    _decision, line = only_line(shipped, facts)
    assert (line.shares.medigap, line.shares.beneficiary, line.shares.note) == (Decimal("12.00"), Decimal("0.00"), None)


@pytest.mark.parametrize(
    ("plan", "paid", "remaining", "owed"),
    [
        ("K", "7220.00", "0", "0.00"),  # 2025 K limit reached, deductible met: the plan pays all
        ("K", "7219.99", "0", "6.05"),  # a cent short: 50% of $12.10
        ("L", "3610.00", "0", "0.00"),
        # $1 of deductible left: owed; the coinsurance (20% of $59.49) arises once it is met, and
        # with the limit reached L pays all of it (§7.3; was 75%, owed $3.97, before session 28)
        ("L", "3610.00", "1.00", "1.00"),
    ],
)
def test_k_and_l_pay_all_once_the_limit_and_the_deductible_are_met(
    shipped: PolicySet, plan: str, paid: str, remaining: str, owed: str
) -> None:
    beneficiary = {"medigap_plan": plan, "out_of_pocket_ytd": float(paid), "deductible_remaining": float(remaining)}
    _decision, line = only_line(shipped, bundle(beneficiary=beneficiary))
    assert line.shares.beneficiary == Decimal(owed)


def test_otherwise_unknown_without_a_reason_is_a_check_error() -> None:
    text = (
        'policy t "x"\n  source S1 "s"\n'
        'parameter lim "Limit"\n  cite S1 "x"\n  value $1.00 effective 2024-01-01..2024-12-31\n'
        '  otherwise unknown because " "\n'
    )
    found = [d for d in diagnostics(text) if d.code == "check/unknown-reason"]
    assert len(found) == 1
    assert found[0].span is not None
    assert found[0].span.line == 6
    assert found[0].help


# ------------------------------------------------------------------ facility / non-facility
@pytest.mark.parametrize(
    ("place", "allowed", "setting"),
    [
        (None, "60.49", "(non-facility)"),
        ("non_facility", "60.49", "(non-facility)"),
        ("facility", "47.87", "(facility)"),
    ],
)
def test_place_of_service_chooses_the_table(shipped: PolicySet, place: str | None, allowed: str, setting: str) -> None:
    facts = bundle(**({"place_of_service": place} if place else {}))
    decision, line = only_line(shipped, facts)
    assert line.allowed == Decimal(allowed)
    assert f"rvu table pfs.national_2025{'_facility' if place == 'facility' else ''} {setting}" in line.price_source
    assert setting in render_decision_text(decision)


def test_a_facility_line_without_a_facility_row_is_not_priced_at_the_office_amount(tmp_path: Path) -> None:
    (tmp_path / "p.policy").write_text(
        'policy p "x"\n  source S1 "s"\n'
        'parameter cf "CF" cite S1 "x"\n  value $32.3465 effective 2025-01-01..2025-12-31\n'
        'pricing pfs "PFS" cite S1 "x"\n  effective 2025-01-01..2025-12-31\n  allowed = total rvu times cf\n'
        'rvu table office "Office" cite S1 "x"\n  effective 2025-01-01..2025-12-31\n  99490 work 1.00 pe 0.81 mp 0.06\n'
        'code 99490 "CCM" cite S1 "x"\n  requires consents.ccm.documented\n',
        encoding="utf-8",
    )
    policies = load_policies(tmp_path)
    office = evaluate(policies, bundle())
    assert office.billable[0].allowed == Decimal("60.49")
    facility = evaluate(policies, bundle(place_of_service="facility"))
    assert facility.billable[0].allowed is None
    assert "no facility amount for 99490" in facility.billable[0].price_source


# ------------------------------------------------------------------ sequestration
def test_sequestration_is_not_applied_by_default(shipped: PolicySet) -> None:
    decision, line = only_line(shipped, bundle())
    assert line.shares.medicare_after_sequestration is None
    assert json.loads(to_json(decision))["billable"][0]["shares"]["medicare_after_sequestration"] is None


def test_sequestration_cuts_medicares_payment_only(shipped: PolicySet) -> None:
    plain = only_line(shipped, bundle())[1].shares
    decision, line = only_line(shipped, bundle(), switches={"medicare_sequestration": "applied"})
    shares = line.shares
    # $60.49: coinsurance $12.10, Medicare $48.39; cut 2% = $0.9678 -> $0.97; Medicare pays $47.42
    assert shares.medicare_after_sequestration == Decimal("47.42")
    assert (shares.deductible, shares.coinsurance, shares.medicare, shares.beneficiary) == (
        plain.deductible,
        plain.coinsurance,
        plain.medicare,
        plain.beneficiary,
    )
    assert json.loads(to_json(decision))["billable"][0]["shares"]["medicare_after_sequestration"] == "47.42"
    assert "$47.42 after sequestration" in render_decision_text(decision)


def test_a_sequestration_rate_must_be_a_percent() -> None:
    text = (
        'policy t "x"\n  source S1 "s"\n'
        'cost sharing b "B"\n  cite S1 "x"\n  coinsurance 20%\n  sequestration $2.00 when true\n'
    )
    found = [d for d in diagnostics(text) if d.code == "check/type"]
    assert len(found) == 1
    assert found[0].span is not None
    assert found[0].span.line == 6


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(min_value=0, max_value=10**9, places=2),
    st.decimals(min_value=0, max_value=1, places=4),
)
def test_after_sequestration_takes_off_the_cut_rounded_half_up(medicare: Decimal, rate: Decimal) -> None:
    paid = after_sequestration(medicare, rate)
    assert medicare - paid == round_cents(medicare * rate)
    assert Decimal(0) <= paid <= medicare
    assert paid == paid.quantize(Decimal("0.01"))
