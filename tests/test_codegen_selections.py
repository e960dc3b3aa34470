"""Selection conditions tested once per bundle (engine/compile/codegen_selections.py).

The generated code of the shipped set keeps, per bundle, the entries of `time` that `staff_time`
and `personal_time` select, and each minutes total loops over those. Every definition must still
give what the closures give, with the same `env.memo` and `env.items` after it, including entries
whose selection condition is unknown (their own part is still evaluated, as before).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from carepolicy.engine import PolicySet, load_policies
from carepolicy.engine.compile.codegen import CodegenCompiler, source_of
from carepolicy.engine.compile.policy_set import CompiledPolicySet
from carepolicy.engine.compile.runtime import UNKNOWN, Env

from benchmarks.bench_evaluate import make_bundles

SWITCHES: dict[str, str] = {}  # the shipped defaults, set by the fixture


@pytest.fixture(scope="module")
def shipped() -> tuple[PolicySet, CompiledPolicySet]:
    policies = load_policies(None)
    closures = CompiledPolicySet.build(policies.checked, policies.sources, policies.policy_hash, backend="closures")
    SWITCHES.update(policies.compiled.switch_defaults)
    return policies, closures


def comparable(value: Any) -> Any:
    return "<UNKNOWN>" if value is UNKNOWN else (type(value).__name__, repr(value))


def with_gaps(data: dict[str, Any], number: int) -> dict[str, Any]:
    """A copy of a bundle's facts whose time entries lack what the selections read: `by` (the
    selection is unknown for the entry), the date, the practitioner, `counted_toward_visit`."""
    changed = copy.deepcopy(data)
    time = changed.setdefault("time", [])
    time.append({"practitioner": "P1", "by": "clinical_staff", "minutes": 7, "service": "ccm"})
    for index, entry in enumerate(time):
        field = ("by", "date", "practitioner", "counted_toward_visit", "service")[(index + number) % 5]
        entry.pop(field, None)
    return changed


def run_all(defines: Any, facts: dict[str, Any], month: str, params: Any, items: dict[str, Any]) -> Any:
    env = Env(facts, month, params, SWITCHES, defines)
    env.items.update(items)  # as inside an outer loop over the same list: it must be given back
    values = [comparable(defines[name](env)) for name in sorted(defines)]
    memo = sorted((k, comparable(v)) for k, v in env.memo.items())
    return values, memo, sorted((k, id(v)) for k, v in env.items.items()), env


def test_the_shipped_selections_are_kept_and_personal_time_builds_on_staff_time(
    shipped: tuple[PolicySet, CompiledPolicySet],
) -> None:
    policies, _ = shipped
    compiler = policies.compiled._compiler
    assert isinstance(compiler, CodegenCompiler)
    # staff_time's condition, personal_time's, and claims_in_force's (the claims on file that
    # count, read by every `any` over claims)
    assert len(compiler.selections) == 3
    names = ("staff_minutes(ccm)", "personal_minutes(ccm)")
    functions = [source_of(policies.compiled.defines[name]) or "" for name in names]
    assert all("_selected.get(" in source for source in functions)
    # a minutes total does not test `by` (staff_time's part) itself any more
    assert "'by'" not in functions[0]


def test_every_definition_agrees_with_the_closures_with_selections_kept(
    shipped: tuple[PolicySet, CompiledPolicySet],
) -> None:
    policies, closures = shipped
    codegen = policies.compiled
    unknown_selections = 0
    for number, raw in enumerate(make_bundles(120, 5)):
        month = raw["month"]
        params = codegen.plan(month).params
        for facts in (raw, with_gaps(raw, number)):
            outer = {"time": {"practitioner": "P9"}} if number % 2 else {}
            ours = run_all(codegen.defines, facts, month, params, outer)
            theirs = run_all(closures.defines, facts, month, params, outer)
            assert ours[:3] == theirs[:3], (number, facts.get("time"))
            kept = ours[3].selected
            # staff_time, personal_time and claims_in_force (its list, empty or not, is read by the
            # definitions over claims that every bundle runs)
            assert len(kept) == 3, (number, facts.get("time"))  # (was `3 if time else len(kept)`: no time, no check)
            unknown_selections += sum(value is UNKNOWN for pairs in kept.values() for _entry, value in pairs)
    assert unknown_selections > 50  # the entries whose selection is unknown were reached


def test_a_selection_is_tested_once_per_bundle(shipped: tuple[PolicySet, CompiledPolicySet]) -> None:
    policies, _ = shipped
    codegen = policies.compiled
    raw = next(b for b in make_bundles(50, 9) if len(b.get("time") or ()) >= 2)
    env = Env(raw, raw["month"], codegen.plan(raw["month"]).params, SWITCHES, codegen.defines)
    codegen.defines["staff_minutes(ccm)"](env)
    kept = dict(env.selected)
    assert len(kept) == 1
    codegen.defines["staff_minutes(pcm)"](env)
    codegen.defines["staff_minutes_recorded(bhi)"](env)
    assert env.selected == kept
    assert all(env.selected[k] is kept[k] for k in kept)  # found once, reused
    codegen.defines["personal_minutes(ccm)"](env)
    assert len(env.selected) == 2
