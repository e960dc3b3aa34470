"""Property test: generated and mutated bundles through reading, validation, evaluation and JSON.

Valid bundles come from the benchmark generator (seeded); hypothesis then puts a hostile value at
a random place (huge, negative, non-finite, deep, wrong type, a lone surrogate, a non-ASCII month)
or removes a key. Every record must end as a Bundle or a BundleError (never an exception), every
error must name its file, bundle and place, and every decision must keep the invariants: money
>= 0, the shares of a line add up to its allowed amount, units positive and within the code's cap
(its `at most ... units` as the month's plan gives it; one unit for a code that counts none), no code
both billable and denied (a denied further unit of a billable add-on names its unit), and the same
bytes twice.
The compiled first pass of validation must never call valid what jsonschema calls invalid.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

from carepolicy.engine import Bundle, BundleError, Decision, PolicySet, evaluate, to_json
from carepolicy.engine.compile.runtime import Env
from carepolicy.engine.facts import fast_check
from carepolicy.engine.facts.plain_copy import plain_copy
from carepolicy.engine.facts.reader import load_fact_text, validate_bundle
from carepolicy.engine.facts.schema import _schema_text, shared_schema
from carepolicy.engine.facts.schema_messages import _validator
from carepolicy.engine.facts.upgrade import bundle_version
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.bench_evaluate import make_bundles
from benchmarks.bench_facts import as_json

DEEP: object = 1
for _ in range(20):
    DEEP = [DEEP]

HOSTILE: list[object] = [
    10**30,
    -1,
    0,
    500_000,
    Decimal("1E+27"),
    Decimal("1e27"),
    Decimal("0.001"),
    Decimal("99999.99"),
    Decimal("NaN"),
    float("inf"),
    "",
    "\ud800",
    "２０２５-03",
    "2025-02-30",
    "yes",
    "1:30",
    "x" * 3000,
    None,
    True,
    [],
    {},
    DEEP,
    {"unknown": 1},
]


def value_places(value: object, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value inside a JSON-shaped bundle (keys and list positions), for mutating it."""
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(value_places(item, (*path, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(value_places(item, (*path, i)))
    return found


def mutate(data: st.DataObject, bundle: dict[str, Any], hostile: list[object], least: int = 0) -> None:
    """Between `least` and 3 times: remove a value of `bundle` or put one of `hostile` in its place."""
    for _ in range(data.draw(st.integers(least, 3), label="mutations")):
        place = data.draw(st.sampled_from(value_places(bundle)), label="place")
        parent: Any = bundle
        for part in place[:-1]:
            parent = parent[part]
        if data.draw(st.booleans(), label="remove") and isinstance(parent, dict):
            parent.pop(place[-1], None)
        else:
            # a copy: mutating inside a shared hostile value (DEEP) could make it contain itself
            parent[place[-1]] = copy.deepcopy(data.draw(st.sampled_from(hostile), label="value"))


def _mutated(data: st.DataObject) -> dict[str, Any]:
    [bundle] = make_bundles(1, data.draw(st.integers(0, 10_000), label="seed"))
    mutate(data, bundle, HOSTILE)
    return bundle


def _check_invariants(policies: PolicySet, bundle: Bundle) -> None:
    decision = evaluate(policies, bundle)
    text = to_json(decision)
    assert text == to_json(evaluate(policies, bundle)), "the same bundle gave different bytes"
    json.loads(text)  # serialisable, and valid JSON
    billable = {line.code for line in decision.billable}
    for line in decision.billable:
        assert line.units >= 1
        cap = _unit_cap(policies, decision, bundle, line.code)
        assert cap is None or line.units <= cap, f"{line.code}: {line.units} units, at most {cap}"
        if line.allowed is None:
            continue
        assert line.allowed >= 0
        shares = line.shares
        assert shares is not None
        parts = (shares.medicare, shares.beneficiary, shares.medigap, shares.medicaid)
        assert all(p is None or p >= 0 for p in (*parts, shares.deductible, shares.coinsurance))
        if all(p is not None for p in parts):
            assert sum(p for p in parts if p is not None) == line.allowed, (line.code, shares)
    for denial in decision.denied:
        if denial.code in billable:
            assert denial.unit is not None, f"{denial.code} is both billable and denied"


def _unit_cap(policies: PolicySet, decision: Decision, bundle: Bundle, code: str) -> int | None:
    """The most units `code` may have in the decision's month: its `at most` (evaluated as the
    evaluator does, with the bundle's facts and the decision's switches), 1 for a code that counts
    no units, None when nothing caps it."""
    compiled = policies.compiled
    plan = compiled.plan(decision.month)
    [declared] = [c for c in plan.codes if c.header.id == code]
    if declared.unit_cap is None:
        return None if declared.counts_units else 1
    env = Env(bundle.data, plan.month, plan.params, dict(decision.switches), compiled.defines)
    cap = declared.unit_cap(env)
    return cap if type(cap) is int else None


def _check_error(result: BundleError) -> None:
    assert result.diagnostics
    for diag in result.diagnostics:
        assert diag.file == "<gen>.jsonl" or diag.file == "<gen>"
        assert diag.bundle == result.id
        assert diag.fact_path is not None or diag.span is not None, diag


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_bundles_never_crash_and_keep_the_invariants(policies: PolicySet, data: st.DataObject) -> None:
    bundle = _mutated(data)
    direct = validate_bundle(bundle, source="<gen>", index=0)
    try:
        line = json.dumps(as_json(bundle), ensure_ascii=True)
    except ValueError:  # NaN or infinity: JSON cannot hold it; the direct path still had to answer
        line = None
    results = [direct] if line is None else [direct, *load_fact_text(line + "\n", name="<gen>.jsonl", fmt="jsonl")]
    for result in results:
        if isinstance(result, BundleError):
            _check_error(result)
        else:
            _check_invariants(policies, result)
    if line is not None:
        assert type(results[0]) is type(results[1])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_compiled_first_pass_never_calls_an_invalid_bundle_valid(data: st.DataObject) -> None:
    problems: list[tuple[list[object], str]] = []
    plain = plain_copy(_mutated(data), problems)
    if problems or not isinstance(plain, dict):
        return  # the limits refused it before validation
    version = bundle_version(plain)
    if fast_check.is_valid(_schema_text(version), shared_schema(version), plain):
        assert not list(_validator(version).iter_errors(plain))


def test_a_huge_fee_override_is_an_error_not_a_crash(policies: PolicySet) -> None:
    [bundle] = make_bundles(1, 7)
    bundle["fee_schedule_override"] = {"99490": Decimal("1E+27")}
    result = validate_bundle(bundle, source="<gen>", index=0)
    assert isinstance(result, BundleError)
    assert result.diagnostics[0].code == "facts/limit"
