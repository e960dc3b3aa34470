"""The evaluation's shortcuts give exactly what the long way gives.

- `coding.decide` skips choosing, pricing and withdrawing when no code is valid (most decisions):
  its prebuilt `_NOTHING_CHOSEN` and cost sharing of nothing must be what `_choose` works out for
  an empty set of valid codes; untraced, the cost sharing of nothing is a value made once per
  note, which must be what the traced way works out.
- A decision's cost sharing reads the bundle once (`CostSharer`) for the chosen coding and every
  alternative: each must be shared as sharing it alone shares it.
- Generated `where` clauses read an entry's fields from the loop's own local, once per block, until
  something that could run another loop over the same list is written (a nested loop, a
  definition): then from `env.items`, exactly as the closures do, failures included.
- `start of service_month` / `end of service_month` are read from the Env (worked out once per
  bundle), and must equal the calendar helpers' values, an unknown month included.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from carepolicy.engine import Bundle, PolicySet
from carepolicy.engine.compile.codegen import CodegenCompiler
from carepolicy.engine.compile.expr import ExprCompiler
from carepolicy.engine.compile.runtime import UNKNOWN, Env, month_end, month_start
from carepolicy.engine.evaluation import coding
from carepolicy.engine.evaluation.cost_sharing import CostSharer, share_costs
from carepolicy.engine.evaluation.rules import Evaluation
from carepolicy.engine.evaluation.strategy import select_strategy
from carepolicy.engine.facts.reader import validate_bundle
from carepolicy.engine.language import syntax as s
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from benchmarks.bench_evaluate import make_bundle
from tests.test_codegen import SPAN, Builder, compare_outcomes


def bundle_of(raw: dict[str, Any]) -> Bundle:
    bundle = validate_bundle(raw, source="<fast>", index=0)
    assert isinstance(bundle, Bundle), bundle
    return bundle


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), trace=st.booleans())
def test_nothing_valid_is_what_choosing_among_nothing_gives(policies: PolicySet, seed: int, trace: bool) -> None:
    compiled = policies.compiled
    bundle = bundle_of(make_bundle(random.Random(seed), 0))
    plan = compiled.plan(bundle.month)
    ev = Evaluation(compiled, plan, bundle.data, compiled.switch_defaults, trace=trace)
    ev.codes()
    ev.claim_conflicts()
    strategy = select_strategy(plan, ev.env)
    kept, chosen, lines, alternatives, withdraw, conflicts, held, costs = coding._choose(ev, {}, strategy, None)
    assert (kept, chosen, lines, alternatives, withdraw, conflicts, held) == coding._NOTHING_CHOSEN[:7]
    assert coding._NOTHING_CHOSEN[7] is None  # decide shares nothing instead: the same shares and note
    nothing = share_costs((), plan, ev.env, trace=trace)
    assert costs is not None
    assert (nothing.shares, nothing.note) == (costs.shares, costs.note)
    assert (nothing.node is None, nothing.summary is None) == (costs.node is None, costs.summary is None)
    if trace:
        assert nothing.summary is not None
        assert costs.summary is not None
        assert nothing.summary() == costs.summary()
    # untraced, sharing nothing gives a value made once per note; traced, it is worked out
    worked_out = share_costs((), plan, ev.env, trace=True)
    assert (nothing.shares, nothing.note) == (worked_out.shares, worked_out.note)


AMOUNTS = st.lists(st.one_of(st.none(), st.decimals("0.00", "250.00", places=2)), max_size=3)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), codings=st.lists(AMOUNTS, min_size=1, max_size=4), trace=st.booleans())
def test_one_sharer_shares_each_coding_as_sharing_it_alone_does(
    policies: PolicySet, seed: int, codings: list[list[Any]], trace: bool
) -> None:
    # a decision shares the chosen coding's lines, then each alternative's, with one CostSharer
    compiled = policies.compiled
    bundle = bundle_of(make_bundle(random.Random(seed), 0))
    plan = compiled.plan(bundle.month)
    sharer = CostSharer(plan, Evaluation(compiled, plan, bundle.data, compiled.switch_defaults, trace=trace).env)
    for amounts in codings:
        fresh = Evaluation(compiled, plan, bundle.data, compiled.switch_defaults, trace=trace).env
        alone = share_costs(amounts, plan, fresh, trace=trace)
        shared = sharer.share(amounts, trace=trace)
        assert (shared.shares, shared.note) == (alone.shares, alone.note)
        if trace and alone.summary is not None:
            assert shared.summary is not None
            assert shared.summary() == alone.summary()


ENTRY = st.fixed_dictionaries({}, optional={"n": st.one_of(st.none(), st.integers(0, 4)), "k": st.sampled_from("ab")})


def condition(b: Builder, choice: str, list_name: str, limit: int) -> s.Expr:
    """One operand of a `where` over `list_name` (inside a loop over L, for `outer`)."""
    if choice == "own":
        return s.Compare(">", b.item(list_name, "n"), b.lit(limit), SPAN)
    if choice == "kind":
        return s.Compare("=", b.item(list_name, "k"), b.lit("a"), SPAN)
    if choice == "outer":
        return s.Compare(">=", b.item("L", "n"), b.lit(limit), SPAN)
    return s.Compare(">", b.name("define", "d1"), b.lit(limit), SPAN)  # a definition with its own loop over L


CHOICES = st.sampled_from(["own", "kind", "outer", "define"])


@settings(max_examples=300, deadline=None)
@given(
    entries=st.lists(ENTRY, max_size=3),
    others=st.lists(ENTRY, max_size=3),
    kind=st.sampled_from(["count", "any", "sum"]),
    inner_list=st.sampled_from(["L", "M"]),
    first=CHOICES,
    inner=st.lists(CHOICES, min_size=1, max_size=3),
    last=CHOICES,
    limit=st.integers(0, 3),
)
# a definition's loop over L removes the outer loop's entry: the closures then fail on `L.n`
@example([{"n": 2}], [{"k": "a", "n": 1}], "count", "M", "define", ["kind"], "own", 0)
# a nested loop over L itself does the same
@example([{"n": 2}], [], "count", "L", "own", ["own"], "own", 0)
def test_nested_loops_and_definitions_read_entries_as_the_closures_do(
    entries: list[dict[str, Any]],
    others: list[dict[str, Any]],
    kind: str,
    inner_list: str,
    first: str,
    inner: list[str],
    last: str,
    limit: int,
) -> None:
    # <kind> L where <first> and (count <inner_list> where <inner...>) > 0 and <last>
    b = Builder()
    nested_where = s.Logical("and", (*[condition(b, c, inner_list, limit) for c in inner], b.lit(True)), SPAN)
    nested = s.Compare(">", s.Aggregate("count", b.fact(inner_list), nested_where, SPAN), b.lit(0), SPAN)
    where = s.Logical("and", (condition(b, first, "L", limit), nested, condition(b, last, "L", limit)), SPAN)
    expr = s.Aggregate(kind, s.Name(("L", "n") if kind == "sum" else ("L",), SPAN), where, SPAN)
    d1 = s.Aggregate("count", b.fact("L"), s.Compare(">", b.item("L", "n"), b.lit(0), SPAN), SPAN)
    fns = b.both(expr)
    defines = [{"d1": fn} for fn in b.both(d1)]
    facts = {"L": tuple(entries), "M": tuple(others)}
    compare_outcomes(fns, lambda number: Env(facts, "2025-03", {}, {}, defines[number]))  # values, failures, memo


@pytest.mark.parametrize("month", ["2024-02", "2025-03", "2025-12", "2026-01"])
def test_the_month_bounds_come_from_the_env(month: str) -> None:
    b = Builder()
    for which, expected in (("start", month_start(month)), ("end", month_end(month))):
        expr = s.Boundary(which, b.name("builtin", "service_month"), SPAN)
        generated, closure = CodegenCompiler(b.resolution).compile(expr), ExprCompiler(b.resolution).compile(expr)
        env = Env({}, month, {}, {}, {})
        assert generated(env) == closure(env) == expected
        assert (env.month_first, env.month_last) == (month_start(month), month_end(month))
        unknown = Env({}, UNKNOWN, {}, {}, {})
        assert generated(unknown) is UNKNOWN
        assert closure(unknown) is UNKNOWN
