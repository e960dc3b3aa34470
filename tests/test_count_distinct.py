"""`count distinct LIST.FIELD where ...` through every stage: parsed with the field's own span,
checked, compiled by both backends, evaluated (over a list and over a selection of it), traced and
offered by the editor support. The checker's messages are golden files
(tests/golden/diagnostics/count-distinct-field.*, syntax-count-distinct.*); the layout `fmt` gives
it is in tests/golden/format/expressions.policy; the shipped policies' use of it is tested in
tests/test_fact_intake.py and policies/tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from carepolicy.engine import Decision, PolicySet, evaluate, load_policies
from carepolicy.engine.facts.reader import Bundle, validate_bundle
from carepolicy.engine.language import syntax as s
from carepolicy.engine.language.parse import parse_text
from carepolicy.grammar.keywords import keywords

POLICY = """policy t "count distinct"
  source S1 "a source"

selection risky "Conditions with significant risk" cite S1 "x"
  = chronic_conditions where chronic_conditions.significant_risk

define conditions "Different long conditions" cite S1 "x"
  = count distinct chronic_conditions.name where chronic_conditions.expected_months >= 12
      and chronic_conditions.significant_risk

define risky_conditions "Different risky conditions, through a selection" cite S1 "x"
  = count distinct risky.name

code 99490 "Two conditions" cite S1 "x"
  requires conditions >= 2

code 99491 "Two risky conditions" cite S1 "x"
  requires risky_conditions >= 2
"""


@pytest.fixture(scope="module", params=["codegen", "closures"])
def policies(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PolicySet:
    folder = tmp_path_factory.mktemp("policies")
    (folder / "t.policy").write_text(POLICY, encoding="utf-8")
    return load_policies(folder, backend=request.param)


def condition(code: str | None, months: int = 24, risk: bool = True) -> dict[str, Any]:
    """An entry named by `code` (in `name`: the intake itself has views on repeated ICD-10 codes,
    and this module tests the language, whatever field it counts)."""
    entry: dict[str, Any] = {"expected_months": months, "significant_risk": risk}
    if code is not None:
        entry["name"] = code
    return entry


def decide(policies: PolicySet, conditions: list[dict[str, Any]]) -> Decision:
    bundle = validate_bundle({"month": "2025-03", "chronic_conditions": conditions}, source="test", index=0)
    assert isinstance(bundle, Bundle), bundle
    return evaluate(policies, bundle)


def billed(decision: Decision) -> set[str]:
    return {line.code for line in decision.billable}


def test_the_field_has_its_own_span_and_the_kind_keeps_the_word() -> None:
    text = POLICY.split("\ncode ")[0]
    [_, define, _] = parse_text(text, "t.policy").declarations
    assert isinstance(define, s.Define)
    assert isinstance(define.expr, s.Aggregate)
    assert define.expr.kind == "count distinct"
    assert define.expr.path.parts == ("chronic_conditions", "name")
    path, line = define.expr.path.span, text.splitlines()[define.expr.path.span.line - 1]
    assert line[path.column - 1 : path.end_column - 1] == "chronic_conditions.name"


def test_one_code_listed_twice_or_respelled_is_one_condition(policies: PolicySet) -> None:
    for second in ("E11.9", "E119", "e11.9", " E11.9 "):
        assert billed(decide(policies, [condition("E11.9"), condition(second)])) == set(), second
    assert billed(decide(policies, [condition("E11.9"), condition("I10")])) == {"99490", "99491"}


def test_an_entry_whose_condition_fails_does_not_lend_its_code(policies: PolicySet) -> None:
    """The condition is read per entry: a second diabetes entry expected to last 6 months neither
    counts nor stops the first from counting."""
    decision = decide(policies, [condition("E11.9"), condition("E11.9", months=6), condition("I10")])
    assert billed(decision) == {"99490", "99491"}
    assert billed(decide(policies, [condition("E11.9", months=6), condition("I10")])) == {"99491"}


def test_entries_without_a_code_each_count_as_one(policies: PolicySet) -> None:
    assert billed(decide(policies, [condition(None), condition(None)])) == {"99490", "99491"}
    assert billed(decide(policies, [condition(None), condition("E11.9")])) == {"99490", "99491"}
    assert billed(decide(policies, [condition(""), condition("E11.9")])) == {"99490", "99491"}


def test_the_denial_gives_the_number_of_conditions(policies: PolicySet) -> None:
    decision = decide(policies, [condition("E11.9"), condition("E11.9"), condition("E11.9")])
    [reason] = [r.text for d in decision.denied if d.code == "99490" for r in d.reasons]
    assert "conditions" in reason, reason
    assert "1 of 2" in reason, reason


def test_the_editor_support_knows_the_word() -> None:
    assert "distinct" in keywords()
    tm = (Path(__file__).resolve().parents[1] / "editors/vscode/syntaxes/carepolicy.tmLanguage.json").read_text()
    assert "|distinct|" in tm
