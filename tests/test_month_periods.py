"""Months of one period share a month plan's content (engine/compile/periods.py).

A month plan is made once per period (the months whose last days pass the same date tests) and
given to the period's other months with their own words. These tests hold every month from 2014
to 2028 to what making its plan afresh gives: the same content, the same generated functions,
and the month's own month, day and not-in-effect words.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest
from carepolicy.engine import load_policies
from carepolicy.engine.compile.codegen_plan import PlanWriter
from carepolicy.engine.compile.month_plan import MonthPlan, MonthPlanMaker
from carepolicy.engine.compile.outcomes import RuleOutcome
from carepolicy.engine.compile.policy_set import CompiledPolicySet
from carepolicy.engine.compile.runtime import CodeSet, month_end

MONTHS = [f"{year}-{month:02d}" for year in range(2014, 2029) for month in range(1, 13)]


def plain(value: Any) -> Any:
    """`value` as plain tuples, for comparing two plans made apart (a CodeSet and a RuleOutcome
    compare by identity; their content is what matters). A compiled condition is a function the
    closures backend makes anew each time: compared by the words beside it (an exception's text)."""
    if callable(value) and not isinstance(value, type | CodeSet):
        return "a compiled condition"
    if isinstance(value, CodeSet):
        return ("codes", value.exact, value.ranges)
    if isinstance(value, RuleOutcome):
        return ("outcome", value.status, plain(value.reasons), plain(value.node))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, *(plain(getattr(value, f.name)) for f in dataclasses.fields(value)))
    if isinstance(value, tuple | list):
        return tuple(plain(item) for item in value)
    if isinstance(value, Mapping):
        return tuple((key, plain(item)) for key, item in value.items())
    return value


def fresh(compiled: CompiledPolicySet, month: str) -> MonthPlan:
    """The month's plan made as if no other month had been: selected, and generated for codegen
    (the generated functions come from the set's cache when their source and constants match)."""
    plan, _tests = MonthPlanMaker(compiled).make(month)
    if compiled.backend == "codegen":
        plan = dataclasses.replace(plan, program=PlanWriter(compiled, plan, compiled._generated).program())
    return plan


@pytest.fixture(scope="module", params=["codegen", "closures"])
def compiled(request: pytest.FixtureRequest) -> CompiledPolicySet:
    return load_policies(backend=request.param).compiled


def test_every_month_has_the_content_of_its_own_plan(compiled: CompiledPolicySet) -> None:
    for month in MONTHS:
        shared, made = compiled.plan(month), fresh(compiled, month)
        for field in dataclasses.fields(MonthPlan):
            if field.name != "program":
                assert plain(getattr(shared, field.name)) == plain(getattr(made, field.name)), (month, field.name)
        if compiled.backend == "codegen":
            assert shared.program is not None
            assert made.program is not None
            assert shared.program.codes is made.program.codes, month
            assert shared.program.rules.keys() == made.program.rules.keys(), month
            assert all(shared.program.rules[rule] is fn for rule, fn in made.program.rules.items()), month
        else:
            assert shared.program is None


def test_months_of_a_period_share_one_plan_and_keep_their_own_words(compiled: CompiledPolicySet) -> None:
    plans = {month: compiled.plan(month) for month in MONTHS}
    contents = {id(plan.rules) for plan in plans.values()}
    assert 1 < len(contents) < len(MONTHS) / 4  # the shipped policies change a few times a year at most
    for month, plan in plans.items():
        assert (plan.month, plan.as_of) == (month, month_end(month))
        for denial in plan.not_in_effect_denials:
            assert all(f"not in effect in {month} " in reason.text for reason in denial.reasons)
        for untraced, traced in plan.not_in_effect_outcomes.values():
            assert untraced.node is None
            assert traced.node is not None
            assert traced.node[2] == f"not in effect in {month}"


# Dated only by a parameter's value (from April) and by a cost-sharing clause's `during` (from
# July): the plan must see both boundaries, though no declaration starts or ends there.
DATED = """policy t "periods"
  source S1 "a source"

define staff_minutes "Staff minutes" cite S1 "x"
  = sum time.minutes where time.service = ccm

code 99490 "Staff 20" cite S1 "x"
  requires staff_minutes >= 20 min

parameter ded "Deductible" cite S1 "x"
  value $240.00 effective 2025-01-01..2025-03-31
  value $257.00 effective 2025-04-01..2025-12-31
cost sharing part_b "Part B" cite S1 "x"
  effective 2025-01-01..2025-12-31
  deductible up to min(beneficiary.deductible_remaining, ded)
  coinsurance 20%
  indeterminate when beneficiary.dual_status = full_benefit because "state plan"
    during 2025-07-01..2025-12-31
"""


def test_a_value_or_a_clause_dated_mid_year_starts_a_period(tmp_path: Any) -> None:
    (tmp_path / "dated.policy").write_text(DATED, encoding="utf-8")
    compiled = load_policies(tmp_path).compiled
    plans = {month: compiled.plan(f"2025-{month:02d}") for month in range(1, 13)}
    assert [plans[month].params["ded"] for month in (3, 4)] == [Decimal("240.00"), Decimal("257.00")]
    sharing = {month: plans[month].cost_sharing for month in plans}
    assert all(sharing[month] is not None for month in sharing)
    assert [len(sharing[month].indeterminate) for month in (6, 7)] == [0, 1]  # type: ignore[union-attr]
    periods = [sorted(m for m in plans if plans[m].rules is plans[first].rules) for first in (1, 4, 7)]
    assert periods == [[1, 2, 3], [4, 5, 6], [7, 8, 9, 10, 11, 12]]
    for month, plan in plans.items():
        assert plain(plan) == plain(fresh(compiled, plan.month)), month


def test_a_plan_source_is_a_payment_source_declared_once() -> None:
    """What a month plan is made from (month_plan.PlanSource) is what its payment declarations are
    compiled with (month_payment.PaymentSource) and more: one protocol extends the other, so the
    methods both read are declared once and cannot drift apart."""
    from carepolicy.engine.compile.month_payment import PaymentSource
    from carepolicy.engine.compile.month_plan import PlanSource

    assert PaymentSource in PlanSource.__mro__  # (issubclass needs a runtime-checkable protocol)
    payment_members = {name for name in vars(PaymentSource) if not name.startswith("_")}
    assert payment_members >= {"expr", "text", "header", "reads", "assumptions_read", "assumptions_by_name"}
    assert payment_members.isdisjoint(vars(PlanSource)), "declared again in PlanSource"
    policies = load_policies()
    assert isinstance(policies.compiled, CompiledPolicySet)
    assert all(callable(getattr(policies.compiled, name)) for name in payment_members - {"index"})


@pytest.mark.parametrize("month", ["2014-01", "2017-12", "2021-06", "2025-03", "2028-12"])
def test_what_a_plan_takes_in_effect_is_worked_out_in_parts(compiled: CompiledPolicySet, month: str) -> None:
    """`make` takes the codes, the rules and the parameters in effect from one helper each: each
    agrees with the declarations' own intervals on the month's last day, and with the plan made."""
    from carepolicy.engine.compile.periods import DayTests

    maker = MonthPlanMaker(compiled)
    day = month_end(month)

    def holds(interval: Any) -> bool:
        return interval is None or bool(interval.contains(day))

    codes, missing = maker._codes(DayTests(day))
    assert {c.decl.id for c in codes} == {
        code for code, versions in compiled.codes.items() if any(holds(c.decl.effective) for c in versions)
    }
    assert {code for code, _ in missing} == set(compiled.codes) - {c.decl.id for c in codes}
    rules, gates, not_in_effect = maker._rules(DayTests(day))
    assert set(not_in_effect) == set(compiled.rules) - set(rules)
    assert all(any(holds(rule.effective) for rule, _ in compiled.rules[rid]) for rid in compiled.rules if rid in rules)
    assert {gid for ids in gates.values() for gid in ids} <= set(rules)
    params, unknown = maker._parameters(DayTests(day))
    for name, param in compiled.index.parameters.items():
        held = [v.value.value for v in param.values if holds(v.effective) and hasattr(v.value, "value")]
        assert params.get(name, "none") == (held[-1] if held else "none")
        assert (name in unknown) == (not held and param.unknown_because is not None)
    plan = fresh(compiled, month)
    assert plan.codes == tuple(codes)
    assert plan.params == params
    assert plan.unknown_values == unknown
    assert plan.rules == rules
    assert dict(plan.rules_not_in_effect) == not_in_effect
