"""A list entry without a field the rules need to count it is named in the decision's notes.

The schema accepts a `time` entry without its `practitioner` (or `by`, `minutes`, `service`), a
chronic condition without `significant_risk` or `expected_months`, a claim without its `code`; the
rules cannot count such an entry and left it out without a word ("15 of 20 minutes" beside a
35-minute entry that named no practitioner). engine/facts/incomplete.py names each one; every
intake path (the typed JSON line, the fast walk, the precise path) gives the same notes, and the
decision is otherwise what it was.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from carepolicy.engine import Bundle, PolicySet, evaluate
from carepolicy.engine.facts.bundle import validate_bundle, validate_precisely
from carepolicy.engine.facts.fast_intake import fast_bundle
from carepolicy.engine.facts.incomplete import NEEDED, incomplete_entry_notes
from carepolicy.engine.facts.json_records import json_record
from carepolicy.engine.facts.limits import MAX_NOTES
from carepolicy.engine.facts.typed_intake import typed_record
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.bench_evaluate import make_bundles
from benchmarks.bench_facts import as_json

BASE: dict[str, Any] = {
    "id": "incomplete",
    "month": "2025-03",
    "beneficiary": {"part_b": True, "dual_status": "none", "medigap_plan": None, "deductible_remaining": 0},
    "practitioner": {"id": "P1", "kind": "physician", "new_patient": False, "last_visit": "2024-11-02"},
    "practice": {"certified_ehr": True, "access_24_7": True, "continuity_designated_member": True,
                 "electronic_care_plan_shared": True},
    "chronic_conditions": [
        {"name": "heart failure", "icd10": "I50.22", "expected_months": 24, "significant_risk": True},
        {"name": "COPD", "icd10": "J44.9", "expected_months": 24, "significant_risk": True},
    ],
    "consent": {"documented": True, "practitioner": "P1", "date": "2025-01-10", "method": "verbal", "service": "ccm"},
    "care_plan": {"comprehensive": True, "established_or_substantially_revised_this_month": False},
    "medical_decision_making": "low",
    "time": [
        {"practitioner": "P1", "by": "clinical_staff", "minutes": 35, "service": "ccm", "date": "2025-03-04"},
        {"practitioner": "P1", "by": "clinical_staff", "minutes": 15, "service": "ccm", "date": "2025-03-19"},
    ],
    "other_claims_this_month": [{"code": "99484", "practitioner": "P2", "status": "paid"}],
}


def _paths(bundle: dict[str, Any]) -> list[Bundle]:
    """The bundle as each intake path reads it: batch's reader of a JSON line (the typed path, or the
    untyped one when the typed path leaves the line to it), the fast walk or the precise path, and
    the precise path itself."""
    line = json.dumps(bundle).encode()
    read = [json_record(line, "s", 1, 0), validate_bundle(json.loads(line), source="s", index=0),
            validate_precisely(json.loads(line), source="s", index=0)]
    assert all(isinstance(b, Bundle) for b in read), read
    return read  # type: ignore[return-value]


def _without(path: tuple[str, int, str]) -> dict[str, Any]:
    bundle = copy.deepcopy(BASE)
    del bundle[path[0]][path[1]][path[2]]
    return bundle


def test_a_complete_bundle_has_no_such_note_and_is_read_by_the_fast_paths() -> None:
    assert [b.notes for b in _paths(BASE)] == [(), (), ()]
    assert typed_record(json.dumps(BASE).encode(), "s", 0) is not None
    assert fast_bundle(json.loads(json.dumps(BASE)), 0) is not None


def test_an_incomplete_bundle_is_left_to_the_precise_path_which_names_the_entry() -> None:
    # the typed path and the fast walk pay nothing for the check: their schemas require the fields
    bundle = _without(("time", 0, "practitioner"))
    assert typed_record(json.dumps(bundle).encode(), "s", 0) is None
    assert fast_bundle(json.loads(json.dumps(bundle)), 0) is None


@pytest.mark.parametrize(("path", "note"), [
    (("time", 0, "practitioner"), "time[0] (35 minutes of ccm) has no `practitioner`: not counted in any minutes"),
    (("time", 0, "by"), "time[0] (35 minutes of ccm by `P1`) has no `by`: not counted in any minutes"),
    (("time", 1, "service"), "time[1] (15 minutes by `P1`) has no `service`: not counted in any minutes"),
    (("time", 1, "minutes"), "time[1] (ccm by `P1`) has no `minutes`: not counted in any minutes"),
    (("chronic_conditions", 1, "significant_risk"),
     "chronic_conditions[1] (COPD) has no `significant_risk`: not counted as a qualifying condition"),
    (("chronic_conditions", 0, "expected_months"),
     "chronic_conditions[0] (heart failure) has no `expected_months`: not counted as a qualifying condition"),
    (("other_claims_this_month", 0, "code"),
     "other_claims_this_month[0] (`P2`) has no `code`: not compared with any code"),
])
def test_each_missing_field_is_named_alike_on_every_intake_path(path: tuple[str, int, str], note: str) -> None:
    assert [b.notes for b in _paths(_without(path))] == [(note,)] * 3


def test_the_decision_says_why_the_minutes_fall_short(policies: PolicySet) -> None:
    complete = evaluate(policies, _paths(BASE)[0])
    assert [(line.code, line.units) for line in complete.billable] == [("99490", 1), ("99439", 1)]
    without = evaluate(policies, _paths(_without(("time", 0, "practitioner")))[0])
    # the rules are unchanged (the entry is not the billing practitioner's): only 15 minutes count,
    # and the decision now says which entry was left out and why
    assert [line.code for line in without.billable] == []
    assert without.notes == ("time[0] (35 minutes of ccm) has no `practitioner`: not counted in any minutes",)


def test_a_second_field_missing_is_named_in_the_same_note() -> None:
    bundle = _without(("time", 0, "by"))
    del bundle["time"][0]["minutes"]
    assert [b.notes for b in _paths(bundle)] == [
        ("time[0] (ccm by `P1`) has no `by`, `minutes`: not counted in any minutes",)] * 3


def test_past_the_cap_the_rest_are_counted_in_one_note() -> None:
    bundle = copy.deepcopy(BASE)
    bundle["time"] = [{"by": "clinical_staff", "minutes": 1, "service": "rpm"} for _ in range(MAX_NOTES + 7)]
    notes = _paths(bundle)[0].notes
    assert len(notes) == MAX_NOTES + 1
    assert notes[MAX_NOTES - 1].startswith(f"time[{MAX_NOTES - 1}] (1 minutes of rpm) has no `practitioner`")
    assert notes[-1] == ("7 more list entries lack a field the rules need to count them "
                         f"(a decision names at most {MAX_NOTES} of them)")


def test_a_version_2_bundles_claims_are_looked_at_too() -> None:
    assert "claims" in NEEDED
    assert list(incomplete_entry_notes({"claims": [{"practitioner": "P9", "month": "2025-01"}]})) == [
        "claims[0] (`P9`) has no `code`: not compared with any code"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_removed_needed_field_is_named_and_every_path_agrees(data: st.DataObject) -> None:
    [bundle] = make_bundles(1, data.draw(st.integers(0, 10_000), label="seed"))
    bundle = json.loads(json.dumps(as_json(bundle)))
    places = [(name, i, field) for name, (fields, _) in NEEDED.items()
              for i, entry in enumerate(bundle.get(name) or ()) for field in fields if field in entry]
    if not places:
        return
    removed = data.draw(st.lists(st.sampled_from(places), max_size=4, unique=True), label="removed")
    for name, i, field in removed:
        del bundle[name][i][field]
    notes = [b.notes for b in _paths(bundle)]
    assert notes[0] == notes[1] == notes[2]
    for name, i, field in removed:
        assert any(note.startswith(f"{name}[{i}]") and f"`{field}`" in note for note in notes[0]), (name, i, field)
