"""Fuzzing what a policy text reaches: whatever the text, parse + check + (when clean) compile +
evaluate raise nothing but `PolicyError` (diagnostics with a place).

Bounded here so the suite stays fast; `CAREPOLICY_FUZZ_EXAMPLES=N` raises the number of examples
of each property, and tests/fuzz/campaign.py runs a long campaign and prints its figures
(docs/contributing/testing.md, "Fuzzing").
"""

from __future__ import annotations

import os

from carepolicy.engine.diagnostics import Diagnostic, PolicyError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.fuzz.harness import run
from tests.fuzz.strategies import grammar_policies, mutated, shipped_policies

EXAMPLES = int(os.environ.get("CAREPOLICY_FUZZ_EXAMPLES", "0"))
_FAST = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def holds_for(texts: dict[str, str]) -> str:
    """Run the whole path; the outcome ("evaluated" or a diagnostic code). Anything else raises."""
    found: tuple[Diagnostic, ...] | None = None
    try:
        run(texts)
    except PolicyError as error:
        found = error.diagnostics
    if found is None:
        return "evaluated"
    assert found, "a PolicyError without a diagnostic"
    for diagnostic in found:
        assert diagnostic.span is not None, f"a diagnostic without a place: {diagnostic}"
        assert diagnostic.span.source in texts
        assert diagnostic.span.line >= 1
    return found[0].code


@settings(max_examples=EXAMPLES or 60, deadline=None, suppress_health_check=_FAST)
@given(grammar_policies())
# found by this test (session 15): `count` of a template's name, and of a text parameter, crashed the checker
@example('policy A "" define A ( A : A ) "" = count A define A0 "" = count A ')
@example('policy A "" define T ( p : text ) "" = count p define B "" = T("x") ')
def test_policies_generated_from_the_grammar_give_only_diagnostics(text: str) -> None:
    holds_for({"generated.policy": text})


@st.composite
def mutated_policy_sets(draw: st.DrawFn) -> dict[str, str]:
    texts = dict(shipped_policies())
    name = draw(st.sampled_from(sorted(texts)))
    texts[name] = draw(mutated(texts[name]))
    return texts


@settings(max_examples=EXAMPLES or 12, deadline=None, suppress_health_check=_FAST)
@given(mutated_policy_sets())
def test_mutated_shipped_policies_give_only_diagnostics(texts: dict[str, str]) -> None:
    holds_for(texts)


def test_the_shipped_policies_evaluate_unmutated() -> None:
    """The base of the mutations is clean, so a mutation that keeps it clean reaches evaluation."""
    assert holds_for(dict(shipped_policies())) == "evaluated"
