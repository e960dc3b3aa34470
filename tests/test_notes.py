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
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.engine import PolicySet, evaluate, load_policies, to_json
from carepolicy.engine.api import check_texts
from carepolicy.engine.decision.explain import render_decision_text
from carepolicy.engine.decision.json_form import to_json_bytes
from carepolicy.engine.facts.reader import Bundle, validate_bundle

from tests.test_explain_edits import run

ROOT = Path(__file__).resolve().parent.parent
HEADER = 'policy t "notes"\n  source S1 "a source"\n  source S2 "another source"\n'

POLICY = (
    HEADER
    + """
define minutes "Minutes" cite S1 "x"
  = sum time.minutes where time.service = ccm and time.by = clinical_staff
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
note n.non_clinical "Minutes of non-clinical staff recorded, not counted" cite S2 "§1.4"
  when (sum time.minutes where time.by = non_clinical_staff) > 0 min
note n.no_plan "No comprehensive care plan" cite S1 "y"
  effective ..2025-12-31
  when not care_plan.comprehensive
"""
)


@pytest.fixture(scope="module", params=["codegen", "closures"])
def policies(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PolicySet:
    folder = tmp_path_factory.mktemp("notes")
    (folder / "t.policy").write_text(POLICY, encoding="utf-8")
    return load_policies(folder, backend=request.param)


def bundle(minutes: int, non_clinical: int | None = None, month: str = "2025-05", **care_plan: Any) -> Bundle:
    facts: dict[str, Any] = {
        "id": "b1",
        "fact_bundle": 2,
        "month": month,
        "practitioner": {"id": "P1", "kind": "physician"},
        "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": minutes, "service": "ccm"}],
    }
    if non_clinical is not None:
        entry = {"practitioner": "P1", "by": "non_clinical_staff", "minutes": non_clinical, "service": "ccm"}
        facts["time"].append(entry)
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


NON_CLINICAL = "Minutes of non-clinical staff recorded, not counted ["


def test_a_note_without_billing_is_given_on_the_decision_when_its_condition_holds(policies: PolicySet) -> None:
    """Nothing billed (5 minutes): a billing note cannot be given, a decision note is, in every form."""
    decision = evaluate(policies, bundle(5, non_clinical=30))
    assert decision.billable == ()
    [note] = decision.notes
    assert note.startswith(NON_CLINICAL)  # no codes before the title
    assert note.endswith("t.policy:20 · S2]")
    for trace in ("none", "compact", "full"):
        obj = json.loads(to_json(decision, indent=None, trace=trace))
        assert obj["notes"] == [note]
        assert "S2" in obj["sources"]
        assert json.loads(to_json_bytes(decision, trace=trace)) == obj  # the one-line bytes say the same
    assert "\nNotes\n  Minutes of non-clinical staff recorded, not counted [" in render_decision_text(decision)
    assert "\n  S2    another source" in render_decision_text(decision)


def test_decision_notes_and_billing_notes_are_given_in_declaration_order(policies: PolicySet) -> None:
    facts = bundle(25, non_clinical=10, established_or_substantially_revised_this_month=False, comprehensive=False)
    decision = evaluate(policies, facts)
    assert [line.code for line in decision.billable] == ["99490"]
    assert [note.split(" [")[0] for note in decision.notes] == [
        "99490: Billed without a care-plan revision this month",
        "Minutes of non-clinical staff recorded, not counted",
        "No comprehensive care plan",
    ]
    cites = json.loads(to_json(decision, indent=None, trace="none"))["sources"]
    assert {"S1", "S2"} <= set(cites)


def test_no_decision_note_when_its_condition_fails_is_unknown_or_it_is_not_in_effect(policies: PolicySet) -> None:
    none_recorded = evaluate(policies, bundle(5, non_clinical=0, comprehensive=True))
    unknown = evaluate(policies, bundle(5))  # no care_plan: `not care_plan.comprehensive` is unknown
    for decision in (none_recorded, unknown):
        assert decision.notes == ()
        assert "S2" not in json.loads(to_json(decision, indent=None, trace="none"))["sources"]
    in_effect = evaluate(policies, bundle(5, comprehensive=False))
    assert [note.split(" [")[0] for note in in_effect.notes] == ["No comprehensive care plan"]
    after = evaluate(policies, bundle(5, month="2026-01", comprehensive=False))  # n.no_plan ended 2025-12-31
    assert after.notes == ()


def test_a_decision_note_round_trips_through_explain(tmp_path: Path) -> None:
    """batch --trace compact, then `carepolicy explain`: the line `batch --trace full` writes, note included."""
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "t.policy").write_text(POLICY, encoding="utf-8")
    facts = {**bundle(5, non_clinical=30).data, "id": "b1"}
    claims = tmp_path / "claims.jsonl"
    claims.write_text(json.dumps(facts, default=str) + "\n", encoding="utf-8")
    lines = {}
    for trace in ("compact", "full"):
        out = tmp_path / f"{trace}.jsonl"
        result = run("batch", str(claims), "--policies", str(folder), "--jobs", "1", "--trace", trace, "-o", str(out))
        assert result.exit_code == ExitCode.OK, result.stderr
        lines[trace] = out.read_text(encoding="utf-8")
    [note] = json.loads(lines["compact"])["notes"]
    assert note.startswith(NON_CLINICAL)
    assert note.endswith("t.policy:20 · S2]")
    args = ("explain", str(tmp_path / "compact.jsonl"), str(claims), "--policies", str(folder))
    explained = run(*args)
    assert explained.exit_code == ExitCode.OK, explained.stderr
    assert explained.stdout == lines["full"]
    as_text = run(*args, "--format", "text")
    assert "\nNotes\n  " + NON_CLINICAL in as_text.stdout


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ('note n "N" cite S1 "x"\n', "check/note", "names no code and has no `when`"),
        ('note n "N" cite S1 "x"\n  effective 2025-01-01..\n', "check/note", "given on every decision"),
        ('note n "N" cite S1 "x"\n  billing 99999\n', "check/unknown-code", "`99999` is not declared"),
        ('note n "N" cite S1 "x"\n  billing 99490\n  when 20 min\n', "check/type", "`when` needs"),
        ('note n "N"\n  billing 99490\n', "check/missing-cite", "has no citation"),
    ],
)
def test_bad_notes_are_check_errors(text: str, code: str, words: str) -> None:
    found = check('code 99490 "CCM" cite S1 "x"\n  program ccm\n' + text)
    assert any(c == code and words in message for c, message in found), found


def test_a_note_with_when_and_no_billing_checks_clean_and_its_when_is_still_checked() -> None:
    assert check('note n "N" cite S1 "x"\n  when true\n') == []
    found = check('note n "N" cite S1 "x"\n  when 20 min\n')
    assert any(c == "check/type" and "`when` needs" in message for c, message in found), found


SHIPPED = load_policies(ROOT / "policies")


def complex_month(month: str, revised: bool, *more_time: dict[str, Any]) -> Bundle:
    example = yaml.safe_load((ROOT / "policies" / "examples" / "ccm-60-minutes.yaml").read_text(encoding="utf-8"))
    example.update(month=month, medical_decision_making="moderate")
    example["consent"]["date"] = f"{month[:4]}-01-10"
    example["practitioner"]["last_visit"] = f"{int(month[:4]) - 1}-11-02"
    example["care_plan"]["established_or_substantially_revised_this_month"] = revised
    example["time"] = [{"practitioner": "P1", "by": "clinical_staff", "minutes": 70, "service": "ccm"}, *more_time]
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


@pytest.mark.parametrize(
    ("entry", "noted"),
    [
        ({"practitioner": "P1", "by": "non_clinical_staff", "minutes": 45, "service": "ccm"}, True),
        ({"practitioner": "P2", "by": "clinical_staff", "minutes": 30, "service": "rpm", "date": "2025-03-04"}, True),
        ({"practitioner": "P2", "by": "clinical_staff", "minutes": 30, "service": "ccm", "date": "2025-04-01"}, False),
        ({"practitioner": "P1", "by": "non_clinical_staff", "minutes": 0, "service": "ccm"}, False),
        ({"by": "clinical_staff", "minutes": 30, "service": "ccm"}, False),  # no practitioner named: not said
    ],
)
def test_the_shipped_note_on_minutes_not_counted_is_given_once_per_bundle_by_both_backends(
    entry: dict[str, Any], noted: bool
) -> None:
    """§1.4: minutes of non-clinical staff, or under another practitioner, count toward no code of
    this practitioner; the decision says so once (not once per code), billed or not."""
    said = []
    for policies in (SHIPPED, CLOSURES):
        decision = evaluate(policies, complex_month("2025-03", True, entry))
        assert [line.code for line in decision.billable] == ["99487"]
        said.append([note for note in decision.notes if note.startswith("Minutes of care management")])
    assert said[0] == said[1]
    if noted:
        [note] = said[0]
        assert "recorded by non-clinical staff, or under another practitioner, do not count" in note
        assert note.endswith(" · S10]")
    else:
        assert said[0] == []


CLOSURES = load_policies(ROOT / "policies", backend="closures")
