"""Denial reasons a billing team reads: the true reason, by the name the bundle uses, no contradictions.

Each case was found reading the reasons of some 260 patient-months (the public scenarios' facts
and pairs of bundles that differ in one fact): a reason that named a policy definition or a fact
path the bundle does not have, a generic "a fact it needs is missing" where the fact is known, a
"no qualifying initiating visit" beside a visit on file with no word of why it does not qualify,
"0 of 20 minutes" for minutes recorded but not countable, and two reasons of one denial that
contradict each other. Decisions are unchanged by all of them: only the words are.
Both expression backends (generated code and closures) give the same words.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from carepolicy.engine.api import PolicySet, evaluate, load_policies
from carepolicy.engine.decision.explain import answer
from carepolicy.engine.decision.model import Decision
from carepolicy.engine.facts.reader import Bundle, load_fact_file

BASE: dict[str, Any] = {
    "month": "2025-03",
    "beneficiary": {"part_b": True, "dual_status": "none", "medigap_plan": None, "deductible_remaining": 0.0},
    "practitioner": {"id": "P1", "kind": "physician", "new_patient": False, "last_visit": "2024-11-02"},
    "practice": {
        "certified_ehr": True,
        "access_24_7": True,
        "continuity_designated_member": True,
        "electronic_care_plan_shared": True,
    },
    "chronic_conditions": [
        {"name": "type 2 diabetes", "icd10": "E11.9", "expected_months": 24, "significant_risk": True},
        {"name": "hypertension", "icd10": "I10", "expected_months": 24, "significant_risk": True},
    ],
    "consent": {"documented": True, "practitioner": "P1", "date": "2025-01-10", "method": "written", "service": "ccm"},
    "care_plan": {"comprehensive": True, "established_or_substantially_revised_this_month": False},
    "medical_decision_making": "low",
    "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": "ccm"}],
    "other_claims_this_month": [],
}
VISIT = {
    "code": "99214",
    "date": "2025-03-03",
    "practitioner": "P1",
    "ccm_discussed": True,
    "extensive_assessment_by_billing_practitioner": True,
}


@pytest.fixture(scope="module", params=["codegen", "closures"])
def policies(request: pytest.FixtureRequest) -> PolicySet:
    return load_policies(None, backend=request.param)


def decide(policies: PolicySet, tmp_path: Path, **changes: Any) -> Decision:
    """The decision on BASE with `changes` (`consent__date=None` removes `consent.date`)."""
    bundle = copy.deepcopy(BASE)
    for key, value in changes.items():
        *path, last = key.split("__")
        place = bundle
        for part in path:
            place = place[part]
        if value is None:
            place.pop(last, None)
        else:
            place[last] = value
    file = tmp_path / "bundle.json"
    file.write_text(json.dumps(bundle), encoding="utf-8")
    (item,) = load_fact_file(file)
    assert isinstance(item, Bundle), item
    return evaluate(policies, item, trace=False)


def reasons(decision: Decision, code: str) -> list[str]:
    return [reason.text for denial in decision.denied if denial.code == code for reason in denial.reasons]


def billed(decision: Decision) -> list[tuple[str, int]]:
    return [(line.code, line.units) for line in decision.billable]


def test_an_addon_whose_units_cannot_be_counted_names_the_missing_fact(policies: PolicySet, tmp_path: Path) -> None:
    cocm_month = {
        "consent__service": "cocm",
        "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": 100, "service": "cocm"}],
    }
    decision = decide(policies, tmp_path, cocm={"psychiatric_consultant": True}, **cocm_month)
    assert billed(decision) == []
    # 99492/99493 named the fact already; 99494 said "cocm_staff_minutes cannot be counted: a fact
    # it needs is missing", though the minutes (100) are known: what is missing is which base's
    # first minutes (70 or 60) they are counted beyond
    assert reasons(decision, "99494") == [
        "`cocm.first_month` not recorded, so the units of cocm_staff_minutes cannot be counted"
    ]
    assert any("`cocm.first_month` not recorded" in r for r in reasons(decision, "99492"))
    first = decide(policies, tmp_path, cocm={"psychiatric_consultant": True, "first_month": True}, **cocm_month)
    assert billed(first) == [("99492", 1), ("99494", 1)]


def test_a_version_1_consent_is_named_as_the_bundle_writes_it(policies: PolicySet, tmp_path: Path) -> None:
    decision = decide(policies, tmp_path, consent__date=None)
    assert billed(decision) == []
    # the rules read `consents.ccm.date` (fact bundle v2); the biller's file says `consent.date`
    assert reasons(decision, "99490") == [
        '`consent.date` not recorded: cannot rule out "CCM consent obtained after the service month"'
    ]


def test_a_version_2_consent_keeps_its_own_name(policies: PolicySet, tmp_path: Path) -> None:
    consent = {"documented": True, "practitioner": "P1", "method": "written"}
    decision = decide(policies, tmp_path, fact_bundle=2, consent=None, consents={"ccm": consent})
    assert reasons(decision, "99490") == [
        '`consents.ccm.date` not recorded: cannot rule out "CCM consent obtained after the service month"'
    ]


def test_a_definition_that_cannot_be_worked_out_is_named_by_the_fact_it_lacks(
    policies: PolicySet, tmp_path: Path
) -> None:
    visit = {key: value for key, value in VISIT.items() if key != "ccm_discussed"}
    decision = decide(policies, tmp_path, practitioner__new_patient=True, initiating_visit=visit)
    assert billed(decision) == []
    words = reasons(decision, "99490")
    assert words == [
        "`initiating_visit.ccm_discussed` not recorded: cannot rule out "
        '"new patient or not seen within 12 months before CCM starts, and no qualifying initiating visit"'
    ]
    assert not any("qualifying_initiating_visit" in r for r in reasons(decision, "G0506"))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"practitioner": "P2"}, "the initiating visit on file was by another practitioner"),
        ({"ccm_discussed": False}, "care management was not discussed at the initiating visit on file"),
        ({"date": "2025-04-02"}, "the initiating visit on file is dated after the service month"),
        ({"code": "99285"}, "the initiating visit on file is not an E/M office visit, AWV or IPPE"),
    ],
)
def test_a_visit_on_file_that_does_not_qualify_says_why(
    policies: PolicySet, tmp_path: Path, change: dict[str, Any], why: str
) -> None:
    decision = decide(policies, tmp_path, practitioner__new_patient=True, initiating_visit={**VISIT, **change})
    assert billed(decision) == []
    words = reasons(decision, "99490")
    assert words[0] == "new patient or not seen within 12 months before CCM starts, and no qualifying initiating visit"
    assert len(words) == 2, words
    assert words[1].startswith(why), words


def test_a_qualifying_visit_or_an_established_patient_gets_no_visit_reason(policies: PolicySet, tmp_path: Path) -> None:
    new_with_visit = decide(policies, tmp_path, practitioner__new_patient=True, initiating_visit=VISIT)
    assert billed(new_with_visit) == [("99490", 1), ("G0506", 1)]
    # an established patient seen within the year needs no visit: one on file that would not
    # qualify denies nothing
    established = decide(policies, tmp_path, initiating_visit={**VISIT, "ccm_discussed": False, "code": "99285"})
    assert billed(established) == [("99490", 1)]
    assert not any("initiating visit on file" in r for r in reasons(established, "99490"))


def test_g0557_for_a_qmb_with_no_conditions_does_not_speak_of_two(policies: PolicySet, tmp_path: Path) -> None:
    decision = decide(
        policies,
        tmp_path,
        consent__service="apcm",
        practitioner__primary_care_focal_point=True,
        chronic_conditions=[],
        beneficiary__dual_status="qmb",
        time=[],
    )
    assert billed(decision) == [("G0556", 1)]
    # it said "fewer than two chronic conditions" and "a Qualified Medicare Beneficiary with two
    # or more chronic conditions is level 3 (G0558)" of one patient
    assert reasons(decision, "G0557") == ["fewer than two chronic conditions"]
    apcm = {"consent__service": "apcm", "practitioner__primary_care_focal_point": True, "time": []}
    two = decide(policies, tmp_path, beneficiary__dual_status="qmb", **apcm)
    assert billed(two) == [("G0558", 1)]
    level_3 = "a Qualified Medicare Beneficiary with two or more chronic conditions is level 3 (G0558)"
    assert reasons(two, "G0557") == [level_3]


def test_g0506_without_a_visit_this_month_does_not_speak_of_one(policies: PolicySet, tmp_path: Path) -> None:
    decision = decide(policies, tmp_path, ccm_start="2024-10")
    assert billed(decision) == [("99490", 1)]
    # it also said "the visit this month does not initiate CCM" of a month with no visit
    assert reasons(decision, "G0506") == ["no CCM initiating visit by this practitioner this month to attach to"]
    with_visit = decide(policies, tmp_path, ccm_start="2024-10", initiating_visit=VISIT)
    assert reasons(with_visit, "G0506") == [
        "CCM with this practitioner started before this month: the visit this month does not initiate CCM"
    ]


def test_g0511_says_once_that_no_service_meets_its_requirements(policies: PolicySet, tmp_path: Path) -> None:
    decision = decide(policies, tmp_path, month="2024-03", consent__date="2024-06-01", practitioner__kind="fqhc")
    assert billed(decision) == []
    # "g0511_services is 0: nothing to bill" repeated the requirement's own words
    assert reasons(decision, "G0511") == [
        "no service this month that meets its requirements (consent, patient, at least 20 minutes)"
    ]


def test_the_answer_names_the_shortfall_not_a_reason_two_add_ons_share(policies: PolicySet, tmp_path: Path) -> None:
    # no countable minutes: "0 of 20", "0 of 40", "0 of 60", "0 of 90" (99490, 99439, 99487,
    # 99489) were four reasons of one each, so the answer was the reason 99487 and 99489 share,
    # "medical decision making below moderate"
    decision = decide(policies, tmp_path, time=[])
    assert answer(decision) == "Nothing to bill: ccm_staff_minutes: 0 of 20 minutes (20 more needed)"


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"consent__date": "2025-03-31", "time": [{**BASE["time"][0], "date": "2025-03-15"}]},
         "minutes of CCM dated before the CCM consent, or before the initiating visit the patient needs, do not count"),
    ],
)
def test_the_answer_gives_why_the_minutes_fall_short_when_a_reason_says_it(
    policies: PolicySet, tmp_path: Path, changes: dict[str, Any], why: str
) -> None:
    assert answer(decide(policies, tmp_path, **changes)) == f"Nothing to bill: {why}"


def test_the_answer_names_the_measure_nearest_its_threshold_on_a_tie(policies: PolicySet, tmp_path: Path) -> None:
    # 29 minutes of PCM by clinical staff: 99426 and 99427 are short on the staff's minutes, 99424
    # and 99425 on the practitioner's own; two denials each, and the answer took the first in code
    # order, "pcm_personal_minutes: 0 of 30 minutes", which sends a biller to the wrong minutes
    condition = {"name": "heart failure", "icd10": "I50.22", "expected_months": 24, "significant_risk": True,
                 "pcm_criteria_met": True}
    time = [{"practitioner": "P1", "by": "clinical_staff", "minutes": 29, "service": "pcm"}]
    decision = decide(policies, tmp_path, chronic_conditions=[condition], consent__service="pcm", time=time)
    assert billed(decision) == []
    assert answer(decision) == "Nothing to bill: pcm_staff_minutes: 29 of 30 minutes (1 more needed)"
    assert reasons(decision, "99424") == ["pcm_personal_minutes: 0 of 30 minutes (30 more needed)"]
