"""The words of denials as a biller reads them: a denial names what the facts say, not a fact
"not recorded" that the facts do say (no consent record, no initiating visit), and a code short
of its minutes because they were claimed for another service says so."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from carepolicy.engine import PolicySet, evaluate
from carepolicy.engine.facts.reader import Bundle, validate_bundle

BASE: dict[str, Any] = {
    "fact_bundle": 2,
    "month": "2026-03",
    "beneficiary": {"part_b": True, "dual_status": "none", "medigap_plan": None, "deductible_remaining": 0.0},
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
        {"name": "copd", "expected_months": 60, "significant_risk": True},
        {"name": "afib", "expected_months": 36, "significant_risk": True},
    ],
    "consents": {},
    "care_plan": {"comprehensive": True},
    "medical_decision_making": "low",
    "time": [],
    "claims": [],
}


def _consent(*programs: str) -> dict[str, Any]:
    return {p: {"documented": True, "practitioner": "P1", "date": "2024-06-01", "method": "verbal"} for p in programs}


def _decide(policies: PolicySet, **changes: Any) -> dict[str, list[str]]:
    facts = copy.deepcopy(BASE)
    facts.update(changes)
    bundle = validate_bundle(json.loads(json.dumps(facts)), source="test", index=0)
    assert isinstance(bundle, Bundle), bundle
    decision = evaluate(policies, bundle)
    return {d.code: [r.text for r in d.reasons] for d in decision.denied}


def test_no_consent_record_is_said_once_not_as_missing_details(policies: PolicySet) -> None:
    denied = _decide(
        policies,
        consents=_consent("apcm"),
        time=[{"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": "bhi"}],
    )
    assert denied["G0570"] == ["no consent to BHI"]


def test_minutes_claimed_for_another_service_are_named_as_such(policies: PolicySet) -> None:
    denied = _decide(
        policies,
        month="2025-05",
        consents=_consent("ccm", "rpm"),
        time=[
            {"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": "ccm", "also_claimed_for": "rpm"}
        ],
        rpm={"device_days": 20, "interactive_communication": True},
    )
    assert any("already counted toward the service they were recorded for" in r for r in denied["99457"])


@pytest.mark.parametrize("visit", [None, "absent"])
def test_no_initiating_visit_is_no_visit_not_a_visit_not_recorded(policies: PolicySet, visit: Any) -> None:
    changes: dict[str, Any] = {
        "month": "2025-05",
        "practitioner": {**BASE["practitioner"], "last_visit": "2024-02-01"},
        "consents": _consent("bhi", "ccm"),
        "time": [
            {"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": "bhi"},
            {"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": "ccm"},
        ],
    }
    if visit != "absent":
        changes["initiating_visit"] = visit
    denied = _decide(policies, **changes)
    assert denied["99484"] == [
        "new patient or not seen within 12 months before BHI starts, and no qualifying initiating visit"
    ]
    assert denied["G0506"] == [
        "new patient or not seen within 12 months before CCM starts, and no qualifying initiating visit",
        "no CCM initiating visit by this practitioner this month to attach to",
    ]


@pytest.mark.parametrize(("program", "code"), [("ccm", "99490"), ("bhi", "99484")])
def test_minutes_dated_before_the_consent_are_named_as_such(policies: PolicySet, program: str, code: str) -> None:
    consent = _consent(program)
    consent[program]["date"] = "2025-05-20"
    denied = _decide(
        policies,
        month="2025-05",
        consents=consent,
        time=[{"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": program, "date": "2025-05-05"}],
    )
    name = program.upper()
    assert any(f"minutes of {name} dated before the {name} consent" in r for r in denied[code])


def test_minutes_after_the_consent_add_no_such_words(policies: PolicySet) -> None:
    denied = _decide(
        policies,
        month="2025-05",
        consents=_consent("bhi"),
        time=[{"practitioner": "P1", "by": "clinical_staff", "minutes": 19, "service": "bhi", "date": "2025-05-05"}],
    )
    assert denied["99484"] == ["bhi_staff_minutes: 19 of 20 minutes (1 more needed)"]


def test_a_claim_that_names_no_practitioner_is_not_said_to_be_by_none(policies: PolicySet) -> None:
    denied = _decide(
        policies,
        month="2025-05",
        consents=_consent("ccm"),
        time=[{"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": "ccm"}],
        claims=[{"code": "99490", "month": "2025-05"}],
    )
    (reason,) = denied["99490"]
    assert "None" not in reason
    assert reason.startswith("99490 already claimed by a practitioner the claim does not name this month: ")


def test_rpm_minutes_also_claimed_for_ccm_are_named_as_such_on_99490(policies: PolicySet) -> None:
    denied = _decide(
        policies,
        month="2025-05",
        consents=_consent("ccm", "rpm"),
        time=[
            {"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": "rpm", "also_claimed_for": "ccm"}
        ],
        rpm={"device_days": 20, "interactive_communication": True},
    )
    assert denied["99490"] == [
        "ccm_staff_minutes: 0 of 20 minutes (20 more needed)",
        "the minutes also claimed for CCM are already counted toward the service they were recorded for "
        "(time is never counted twice)",
    ]
