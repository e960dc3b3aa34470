"""The evaluation's shared memos give exactly what working each value out anew gives.

A batch meets the same few failed comparisons (`19 of 20 minutes`), add-on unit counts and
denials again and again, so `CompiledPolicySet.described`, `counted` and `denial` make each once
and share it (engine/compile/policy_set.py); a cost-sharing block keeps the clauses that decide
each payer by the clauses' results (`CompiledCostSharing.winners`). Here decisions made with those
memos warm are held to the bytes of decisions made with them off (`_MEMO_LIMIT` 0: nothing is kept,
every value is made anew, as before the memos; the block's payers forgotten), and the memos are
held to their bound.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest
from carepolicy.engine import Bundle, PolicySet, evaluate, load_policies, to_json
from carepolicy.engine.compile import policy_set
from carepolicy.engine.facts.reader import validate_bundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.bench_evaluate import make_bundle

MINUTES = st.one_of(st.integers(0, 130), st.sampled_from([19, 20, 21, 29, 30, 31, 39, 40, 59, 60, 61, 89, 90]))


@pytest.fixture(scope="module")
def warm() -> PolicySet:
    """A policy set whose memos are warm: many bundles decided already."""
    policies = load_policies(None)
    rng = random.Random(5)
    for number in range(300):
        evaluate(policies, bundle_of(make_bundle(rng, number)))
    assert policies.compiled._described
    assert policies.compiled._counted
    assert policies.compiled._shared_denials
    return policies


@pytest.fixture(scope="module")
def cold() -> PolicySet:
    return load_policies(None)


def bundle_of(raw: dict[str, Any]) -> Bundle:
    bundle = validate_bundle(raw, source="<memo>", index=0)
    assert isinstance(bundle, Bundle), bundle
    return bundle


def decided_anew(policies: PolicySet, bundle: Bundle, trace: bool, monkeypatch: pytest.MonkeyPatch) -> str:
    """The decision with every memo off: nothing kept, so every reason and count is made now (and
    the cost-sharing blocks' payers, kept by clause results, are forgotten first)."""
    plan = policies.compiled.plan(bundle.month)
    if plan.cost_sharing is not None:
        plan.cost_sharing.winners.clear()
    with monkeypatch.context() as patch:
        patch.setattr(policy_set, "_MEMO_LIMIT", 0)
        return to_json(evaluate(policies, bundle, trace=trace), indent=None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), minutes=st.lists(MINUTES, min_size=1, max_size=6), trace=st.booleans())
def test_decisions_with_warm_memos_are_byte_identical_to_decisions_made_anew(
    warm: PolicySet, cold: PolicySet, seed: int, minutes: list[int], trace: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = make_bundle(random.Random(seed), 0)
    entries = raw["time"] or [{"practitioner": "P1", "by": "clinical_staff", "service": "ccm"}]
    raw["time"] = [{**entries[i % len(entries)], "minutes": m} for i, m in enumerate(minutes)]  # the add-ons' numbers
    bundle = bundle_of(raw)
    expected = decided_anew(cold, bundle, trace, monkeypatch)
    assert to_json(evaluate(warm, bundle, trace=trace), indent=None) == expected
    assert to_json(evaluate(warm, bundle, trace=trace), indent=None) == expected  # and again, from the memos


def test_the_memos_stay_within_their_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    policies = load_policies(None)
    monkeypatch.setattr(policy_set, "_MEMO_LIMIT", 3)
    rng = random.Random(9)
    bundles = [bundle_of(make_bundle(rng, number)) for number in range(200)]
    first = [to_json(evaluate(policies, bundle)) for bundle in bundles]
    compiled = policies.compiled
    assert 0 < len(compiled._described) <= 3
    assert 0 < len(compiled._counted) <= 3
    assert 0 < len(compiled._shared_denials) <= 3
    assert [to_json(evaluate(policies, bundle)) for bundle in bundles] == first  # full memos change nothing


def test_a_shared_denial_is_made_once_for_the_same_fixed_reasons(warm: PolicySet) -> None:
    compiled = warm.compiled
    reasons = list(compiled.fixed_reasons.values())[:2]
    assert len(reasons) == 2
    assert compiled.denial("99490", list(reasons)) is compiled.denial("99490", list(reasons))
    assert compiled.denial("99490", list(reasons)).reasons == tuple(reasons)
    made_now = [dataclasses.replace(reasons[0]), reasons[1]]  # equal, but not the kept object: not shared
    assert compiled.denial("99490", made_now) is not compiled.denial("99490", made_now)
    assert compiled.denial("99490", made_now) == compiled.denial("99490", list(reasons))
