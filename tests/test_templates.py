"""Parameterised definitions and rules (docs/language.md, "define and rule with parameters").

A template is instantiated before checking: a call `staff_minutes(ccm)` is one plain definition
named so, a `requires consent_for(ccm, "CCM")` line is the template's requirements with the
program and the messages filled in, kept under the including rule's id. Both backends see only
the instances, so their decisions agree byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from carepolicy.engine import Bundle, PolicySet, check_policies, evaluate, load_policies, to_json
from carepolicy.engine.facts.bundle import validate_bundle

POLICY = """policy t "templates"
  source S1 "a source"

define minutes_of(p: program) "Minutes of a program, from consent to it" cite S1 "x"
  = sum time.minutes where time.service = p and ((time.date >= consents.p.date) otherwise true)

define doubled(p: program) "Twice a program's minutes" cite S1 "x"
  = minutes_of(p) * 2

rule consent_for(p: program, name: text) "Consent to a program" cite S1 "x"
  requires consents.p is present else "no consent to {name}"
  requires consents.p.documented else "no documented consent to {name}"

rule ccm.consent "Consent to CCM" cite S1 "ccm consent"
  requires consent_for(ccm, "CCM")

rule bhi.consent "Consent to BHI" cite S1 "bhi consent"
  requires consent_for(bhi, "BHI")

code 99490 "CCM" cite S1 "x"
  program ccm
  requires ccm.consent
  requires minutes_of(ccm) >= 20 min

code 99484 "BHI" cite S1 "x"
  program bhi
  requires bhi.consent
  requires doubled(bhi) >= 40 min
"""


@pytest.fixture(scope="module", params=["codegen", "closures"])
def policies(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PolicySet:
    folder = tmp_path_factory.mktemp("templates")
    (folder / "t.policy").write_text(POLICY, encoding="utf-8")
    return load_policies(folder, backend=request.param)


def _bundle(**changes: Any) -> Bundle:
    facts: dict[str, Any] = {
        "fact_bundle": 2,
        "month": "2025-03",
        "beneficiary": {"part_b": True},
        "practitioner": {"id": "P1", "kind": "physician"},
        "consents": {
            "ccm": {"documented": True, "practitioner": "P1", "date": "2025-03-10"},
            "bhi": {"documented": False, "practitioner": "P1", "date": "2025-01-10"},
        },
        "time": [
            {"date": "2025-03-05", "minutes": 15, "by": "clinical_staff", "service": "ccm", "practitioner": "P1"},
            {"date": "2025-03-12", "minutes": 25, "by": "clinical_staff", "service": "ccm", "practitioner": "P1"},
            {"date": "2025-03-12", "minutes": 20, "by": "clinical_staff", "service": "bhi", "practitioner": "P1"},
        ],
    }
    facts.update(changes)
    result = validate_bundle(facts, source="test", index=0)
    assert isinstance(result, Bundle), result
    return result


def _decided(policies: PolicySet, bundle: Bundle) -> dict[str, Any]:
    decision = evaluate(policies, bundle)
    return {line.code: line for line in decision.billable} | {d.code: d for d in decision.denied}


def test_each_call_is_one_definition_named_by_its_arguments(policies: PolicySet) -> None:
    defines = policies.checked.index.defines
    assert {"minutes_of(ccm)", "minutes_of(bhi)", "doubled(bhi)"} <= set(defines)
    assert defines["minutes_of(ccm)"].title == "Minutes of a program, from consent to it"
    assert "minutes_of" not in defines  # the template itself is not a value


def test_a_program_parameter_reads_its_own_records(policies: PolicySet) -> None:
    """Minutes before the CCM consent (the 15 on 03-05) do not count: 25 < 20 is false, so billable."""
    decided = _decided(policies, _bundle())
    assert decided["99490"] in evaluate(policies, _bundle()).billable
    later = _bundle(consents={"ccm": {"documented": True, "practitioner": "P1", "date": "2025-03-20"}})
    denial = _decided(policies, later)["99490"]
    assert "minutes_of(ccm): 0 of 20 minutes" in str(denial.reasons[0].text)


def test_included_requirements_keep_the_including_rule_id_and_fill_the_messages(policies: PolicySet) -> None:
    denial = _decided(policies, _bundle())["99484"]
    (reason,) = denial.reasons
    assert reason.rule == "bhi.consent"
    assert reason.text == "no documented consent to BHI"
    assert "Consent to BHI" in to_json(evaluate(policies, _bundle()))
    none = _bundle(consents={"ccm": {"documented": True, "practitioner": "P1", "date": "2025-03-10"}})
    assert _decided(policies, none)["99484"].reasons[0].text == "no consent to BHI"


def test_traces_show_the_arguments_not_the_parameters(policies: PolicySet) -> None:
    text = to_json(evaluate(policies, _bundle()))
    assert "consents.bhi.documented" in text
    assert "consents.p." not in text


def test_both_backends_decide_alike(tmp_path: Path) -> None:
    (tmp_path / "t.policy").write_text(POLICY, encoding="utf-8")
    codegen = load_policies(tmp_path, backend="codegen")
    closures = load_policies(tmp_path, backend="closures")
    for bundle in (_bundle(), _bundle(consents={}), _bundle(time=[])):
        assert to_json(evaluate(codegen, bundle)) == to_json(evaluate(closures, bundle))


def test_the_shipped_consent_rules_are_one_template_each(tmp_path: Path) -> None:
    """`ccm.consent` and the other programs' consent rules include one template; the decisions still
    name each program's rule, and the calendar of conditions is written once."""
    text = (Path(__file__).resolve().parents[1] / "policies" / "common.policy").read_text(encoding="utf-8")
    assert text.count("consents.p.practitioner = practitioner.id") == 2  # the rule template and the value
    assert "consents.ccm.documented" not in text
    policies = load_policies(None)
    rules = policies.checked.index.rules
    for ident in ("ccm.consent", "pcm.consent", "apcm.consent", "bhi.consent", "collaborative_care.consent"):
        (rule,) = rules[ident]
        assert len(rule.requirements) >= 4, ident


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("requires minutes_of(ccm, bhi) >= 1 min", "`minutes_of` takes 1 argument, given 2"),
        ("requires minutes_of(cmm) >= 1 min", "`cmm` is not a program"),
        ("requires consent_for(ccm, ccm)", "takes a quoted text"),
        ("requires minutes_of >= 1 min", "`minutes_of` takes arguments"),
        ('requires consent_for(ccm, "CCM") or true', "on a line of its own"),
        ("requires (count minutes_of) >= 1", "`minutes_of` takes arguments"),  # (was a crash: a fuzz find)
    ],
)
def test_bad_uses_are_check_errors_with_a_place_and_a_hint(tmp_path: Path, body: str, expected: str) -> None:
    text = POLICY + f'\nrule r.bad "Bad use" cite S1 "x"\n  {body}\n'
    (tmp_path / "t.policy").write_text(text, encoding="utf-8")
    _result, _sources, diagnostics = check_policies(tmp_path)
    errors = [d for d in diagnostics if d.is_error]
    assert errors, body
    (first,) = [d for d in errors if expected in d.message]
    assert first.code == "check/template"
    assert first.span is not None
    assert first.span.line == text.count("\n")
    assert first.help


def test_a_template_that_counts_its_text_parameter_is_a_check_error_in_the_template(tmp_path: Path) -> None:
    counting = 'define count_of(t: text) "Counts a text" cite S1 "x" = count t\n'
    text = POLICY + "\n" + counting + '\nrule r.bad "Bad use" cite S1 "x"\n  requires count_of("x") >= 1\n'
    (tmp_path / "t.policy").write_text(text, encoding="utf-8")
    _result, _sources, diagnostics = check_policies(tmp_path)  # (was a crash: `count` of a text)
    (error,) = [d for d in diagnostics if d.is_error]
    assert error.code == "check/template"
    assert error.message == '`count` needs a fact list, not the text "x" (a parameter of `count_of`)'
    assert error.span is not None
    assert (error.span.line, error.span.column) == (text.count("\n") - 3, counting.index("count t") + 1)
    assert error.help


def test_a_template_never_used_is_a_warning(tmp_path: Path) -> None:
    text = POLICY + '\ndefine spare(p: program) "Never called" cite S1 "x" = consents.p is present\n'
    (tmp_path / "t.policy").write_text(text, encoding="utf-8")
    _result, _sources, diagnostics = check_policies(tmp_path)
    (warning,) = [d for d in diagnostics if "spare" in d.message]
    assert not warning.is_error
    assert warning.code == "check/unused"
    assert warning.help is not None
    assert "spare(p: program)" in warning.help
    assert not [d for d in diagnostics if "minutes_of" in d.message]  # used templates are not reported


def test_traces_keep_the_written_text_of_names_no_template_wrote(tmp_path: Path) -> None:
    """A selection reads `mine.minutes` as `time.minutes` underneath; the trace still shows `mine`."""
    text = POLICY.replace(
        "code 99490",
        'selection mine "Own time" cite S1 "x" = time where time.practitioner = practitioner.id\n\n'
        'rule r.any_time "Some own time" cite S1 "x"\n  requires any mine where mine.minutes > 0 min\n\n'
        "code 99490",
        1,
    ).replace("  requires ccm.consent\n", "  requires ccm.consent, r.any_time\n", 1)
    (tmp_path / "t.policy").write_text(text, encoding="utf-8")
    shown = to_json(evaluate(load_policies(tmp_path), _bundle()))
    assert "any mine where mine.minutes > 0 min" in shown
    assert "any time where" not in shown
