"""`note` declarations: what a decision says beside the codes it bills (docs/language.md, "note").

Small policies written for each point, both expression backends; then the shipped note of §1.2
(complex CCM billed on a care plan only monitored).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from carepolicy.engine import PolicySet, evaluate, load_policies, to_json
from carepolicy.engine.api import check_texts
from carepolicy.engine.decision.explain import render_decision_text
from carepolicy.engine.decision.json_form import to_json_bytes
from carepolicy.engine.facts.reader import Bundle, validate_bundle

ROOT = Path(__file__).resolve().parent.parent
HEADER = 'policy t "notes"\n  source S1 "a source"\n  source S2 "another source"\n'

POLICY = (
    HEADER
    + """
define minutes "Minutes" cite S1 "x"
  = sum time.minutes where time.service = ccm
code 99490 "CCM" cite S1 "x"
  program ccm
  requires minutes >= 20 min
code 99491 "CCM, personal" cite S1 "x"
  program ccm
  requires minutes >= 1000 min

note n.revision "Billed without a care-plan revision this month" cite S2 "§1.2: only monitored"
  billing 99490, 99491
  when not care_plan.established_or_substantially_revised_this_month
note n.later "Not yet in effect" cite S2 "x"
  effective 2026-01-01..
  billing 99490
"""
)


@pytest.fixture(scope="module", params=["codegen", "closures"])
def policies(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PolicySet:
    folder = tmp_path_factory.mktemp("notes")
    (folder / "t.policy").write_text(POLICY, encoding="utf-8")
    return load_policies(folder, backend=request.param)


def bundle(minutes: int, **care_plan: Any) -> Bundle:
    facts: dict[str, Any] = {
        "id": "b1",
        "fact_bundle": 2,
        "month": "2025-05",
        "practitioner": {"id": "P1", "kind": "physician"},
        "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": minutes, "service": "ccm"}],
    }
    if care_plan:
        facts["care_plan"] = {"comprehensive": True, **care_plan}
    result = validate_bundle(facts, source="test", index=0)
    assert isinstance(result, Bundle), result
    return result


def test_a_note_is_given_beside_a_billed_code_when_its_condition_holds(policies: PolicySet) -> None:
    decision = evaluate(policies, bundle(25, established_or_substantially_revised_this_month=False))
    assert [line.code for line in decision.billable] == ["99490"]
    [note] = decision.notes
    assert note.startswith("99490: Billed without a care-plan revision this month [")
    assert note.endswith(" · S2]")
    obj = json.loads(to_json(decision, indent=None, trace="none"))
    assert obj["notes"] == list(decision.notes)
    assert "S2" in obj["sources"]  # what the note cites is a source of the decision
    assert json.loads(to_json_bytes(decision, trace="compact")) == json.loads(to_json(decision, trace="compact"))
    text = render_decision_text(decision)
    assert "\nNotes\n  99490: Billed without" in text
    assert "\n  S2    another source" in text


def test_no_note_when_the_condition_fails_is_unknown_or_the_code_is_not_billed(policies: PolicySet) -> None:
    revised = evaluate(policies, bundle(25, established_or_substantially_revised_this_month=True))
    unknown = evaluate(policies, bundle(25))  # no care_plan: the note's condition is unknown
    denied = evaluate(policies, bundle(5, established_or_substantially_revised_this_month=False))
    for decision in (revised, unknown, denied):
        assert decision.notes == ()
        assert "S2" not in json.loads(to_json(decision, indent=None, trace="none"))["sources"]
    assert [line.code for line in revised.billable] == ["99490"]
    assert denied.billable == ()


def check(text: str) -> list[tuple[str, str]]:
    _result, _sources, diagnostics = check_texts([("t.policy", HEADER + text)])
    return [(d.code, d.message) for d in diagnostics if d.is_error]


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ('note n "N" cite S1 "x"\n  when true\n', "check/note", "names no code"),
        ('note n "N" cite S1 "x"\n  billing 99999\n', "check/unknown-code", "`99999` is not declared"),
        ('note n "N" cite S1 "x"\n  billing 99490\n  when 20 min\n', "check/type", "`when` needs"),
        ('note n "N"\n  billing 99490\n', "check/missing-cite", "has no citation"),
    ],
)
def test_bad_notes_are_check_errors(text: str, code: str, words: str) -> None:
    found = check('code 99490 "CCM" cite S1 "x"\n  program ccm\n' + text)
    assert any(c == code and words in message for c, message in found), found


SHIPPED = load_policies(ROOT / "policies")


def complex_month(month: str, revised: bool) -> Bundle:
    example = yaml.safe_load((ROOT / "policies" / "examples" / "ccm-60-minutes.yaml").read_text(encoding="utf-8"))
    example.update(month=month, medical_decision_making="moderate")
    example["consent"]["date"] = f"{month[:4]}-01-10"
    example["practitioner"]["last_visit"] = f"{int(month[:4]) - 1}-11-02"
    example["care_plan"]["established_or_substantially_revised_this_month"] = revised
    example["time"] = [{"practitioner": "P1", "by": "clinical_staff", "minutes": 70, "service": "ccm"}]
    result = validate_bundle(example, source="test", index=0)
    assert isinstance(result, Bundle), result
    return result


def test_the_shipped_note_names_complex_ccm_on_a_care_plan_only_monitored() -> None:
    """§1.2: default to the relaxed reading "and emit a warning when the care plan was only monitored"."""
    monitored = evaluate(SHIPPED, complex_month("2025-03", revised=False))
    assert [line.code for line in monitored.billable] == ["99487"]
    [note] = monitored.notes
    assert note.startswith("99487: Complex CCM billed on a care plan not established or substantially revised")
    assert "switch complex_ccm_care_plan" in note
    assert note.endswith(" · S12, S35]")
    revised = evaluate(SHIPPED, complex_month("2025-03", revised=True))
    assert [line.code for line in revised.billable] == ["99487"]
    assert revised.notes == ()
    strict_reading = {"complex_ccm_care_plan": "substantial_revision"}
    strict = evaluate(SHIPPED, complex_month("2025-03", revised=False), switches=strict_reading)
    assert "99487" not in [line.code for line in strict.billable]
    assert strict.notes == ()
    before_2020 = evaluate(SHIPPED, complex_month("2019-03", revised=False))  # not relaxed yet: denied
    assert "99487" not in [line.code for line in before_2020.billable]
    assert before_2020.notes == ()
