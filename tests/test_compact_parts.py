"""The compact trace made from parts (engine/evaluation/compact.py: what a shared record gives is
made once and kept on it) is exactly the compact trace the first algorithm gave (a walk over every
record of every decision, each value read and folded afterwards; kept as the oracle in
tests/compact_oracle.py): for decisions of generated bundles under both backends, and for
generated record trees whose values test the folding of records read whole."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from carepolicy.engine import Bundle, PolicySet, evaluate, load_policies
from carepolicy.engine.compile.compiled import Condition, Header
from carepolicy.engine.compile.outcomes import Compact, SharedRecord
from carepolicy.engine.compile.runtime import UNKNOWN
from carepolicy.engine.decision.json_form import to_json_obj
from carepolicy.engine.evaluation import compact, decision_parts
from carepolicy.engine.facts.reader import validate_bundle
from carepolicy.engine.jsontext import canonical_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.bench_evaluate import make_bundle
from tests.compact_oracle import oracle_compact_trace

Args = tuple[Any, list[Compact], Any]


@pytest.fixture(scope="module")
def backends() -> dict[str, PolicySet]:
    return {"codegen": load_policies(None), "closures": load_policies(None, backend="closures")}


@contextmanager
def spied(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Args]]:
    """The arguments of every compact_trace call while inside (the call itself unchanged)."""
    calls: list[Args] = []

    def spy(ev: Any, recorded: Any, cost: Any) -> dict[str, Any]:
        recorded = list(recorded)
        calls.append((ev, recorded, cost))
        return compact.compact_trace(ev, recorded, cost)

    with monkeypatch.context() as patch:
        patch.setattr(decision_parts, "compact_trace", spy)
        yield calls


def mutated(raw: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A generated bundle with some of its records' fields taken away or set to the text `missing`
    (a value that reads like a missing one), so that records read whole fold both ways."""
    for record in [*raw.get("consents", {}).values(), raw.get("practice", {}), raw.get("beneficiary", {})]:
        if isinstance(record, dict):
            for key in sorted(record):
                roll = rng.random()
                if roll < 0.15:
                    del record[key]
                elif roll < 0.2 and isinstance(record[key], str) and key not in ("date", "start", "practitioner"):
                    record[key] = "missing"
    return raw


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), mutate=st.booleans())
def test_compact_traces_of_generated_bundles_are_the_oracles(
    backends: dict[str, PolicySet], seed: int, mutate: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    raws = [make_bundle(rng, number) for number in range(3)]
    for raw in raws:
        bundle = validate_bundle(mutated(raw, rng) if mutate else raw, source="<generated>", index=0)
        if not isinstance(bundle, Bundle):  # a mutation the schema refuses: the unmutated bundle
            bundle = validate_bundle(make_bundle(random.Random(seed), 0), source="<generated>", index=0)
        assert isinstance(bundle, Bundle)
        for policies in backends.values():
            with spied(monkeypatch) as calls:
                made = to_json_obj(evaluate(policies, bundle, trace=True), trace="compact")["trace"]
            [(ev, recorded, cost)] = calls
            expected = oracle_compact_trace(ev, recorded, cost)
            assert made == expected
            assert canonical_bytes(made) == canonical_bytes(expected)  # the order of every key, too


def test_shared_records_keep_their_part_and_bundles_share_it(backends: dict[str, PolicySet],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    policies = backends["codegen"]
    rng = random.Random(11)
    with spied(monkeypatch) as calls:
        for number in range(40):
            bundle = validate_bundle(make_bundle(rng, number), source="<generated>", index=number)
            assert isinstance(bundle, Bundle)
            to_json_obj(evaluate(policies, bundle, trace=True), trace="compact")
    shared = [node for _ev, recorded, _cost in calls for node in recorded if type(node) is SharedRecord]
    assert len(shared) > 20 * len(calls)  # most records of a decision are shared ones
    assert all(node.compact is not None for node in shared)
    # one record, one part: the bundles that recorded it read the same object
    assert len({id(node.compact) for node in shared}) == len({id(node) for node in shared})
    # the closure backend makes none: nothing is shared there, every record is walked
    assert all(type(node) is tuple for node in _decided(backends["closures"], monkeypatch))


def test_a_part_table_naming_too_many_results_is_replaced(backends: dict[str, PolicySet],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Past `_MAX_RESULTS` results, the policy set's part table is replaced by a new one: every
    shared record's part is made again with it, and the compact traces are still the oracle's."""
    bundles = [validate_bundle(make_bundle(random.Random(7), n), source="<generated>", index=n) for n in range(4)]
    decided = []
    for bundle in bundles:
        assert isinstance(bundle, Bundle)
        with spied(monkeypatch) as calls:
            to_json_obj(evaluate(backends["codegen"], bundle, trace=True), trace="compact")
        decided += calls
    compiled = decided[0][0].compiled
    before = compiled.compact_table
    assert before is not None
    assert len(before.names) > 1
    monkeypatch.setattr(compact, "_MAX_RESULTS", 1)
    for ev, recorded, cost in decided:
        made = compact.compact_trace(ev, recorded, cost)
        assert made == oracle_compact_trace(ev, recorded, cost)
        assert canonical_bytes(made) == canonical_bytes(oracle_compact_trace(ev, recorded, cost))
    assert compiled.compact_table is not before
    shared = [node for _ev, recorded, _cost in decided for node in recorded if type(node) is SharedRecord]
    assert shared
    assert all(node.compact[0] is not before for node in shared)


def _decided(policies: PolicySet, monkeypatch: pytest.MonkeyPatch) -> list[Compact]:
    bundle = validate_bundle(make_bundle(random.Random(3), 0), source="<generated>", index=0)
    assert isinstance(bundle, Bundle)
    with spied(monkeypatch) as calls:
        to_json_obj(evaluate(policies, bundle, trace=True), trace="compact")
    return calls[0][1]


# ------------------------------------------------------------------ generated record trees

RULES = [f"r{i}" for i in range(6)]
CODES = [f"c{i}" for i in range(4)]
LABELS = ["a", "a.x", "a.y", "a.z", "b", "b.x", "c.d", "c", "n(a)", "a.x.w"]
VALUES = st.one_of(
    st.just(UNKNOWN),
    st.sampled_from(["missing", "m", ""]),
    st.integers(-3, 3),
    st.booleans(),
    st.none(),
    st.dictionaries(st.sampled_from(["x", "y", "w"]), st.sampled_from(["missing", "m", 1, True]), max_size=3),
)
RESULTS = st.sampled_from(["met", "unmet", "valid", "not valid, 2 units", "applies"])


def reader_of(value: Any) -> Callable[[Any], Any]:
    return lambda env: value


@st.composite
def trees(draw: st.DrawFn) -> tuple[list[Compact], dict[str, Any], Any]:
    """A decision's records: rules then codes (each once), with requirements reading generated
    values, refs, deeper records and shared records; the values each name reads, and a cost summary."""
    values = {label: draw(VALUES) for label in LABELS}
    headers = {ident: Header(ident, ident, (), "p:1") for ident in RULES + CODES}
    used = draw(st.permutations(RULES + CODES))
    count = draw(st.integers(0, len(used)))

    def requirement(owner: Header) -> Compact:
        labels = draw(st.lists(st.sampled_from(LABELS), max_size=3, unique=True))
        reads = tuple((label, "fact", reader_of(values[label])) for label in sorted(labels))
        condition = Condition(None, None, None, "x", reads)
        return ("requirement", owner, condition, "p:2", draw(st.sampled_from([True, False, UNKNOWN])))

    records: list[Compact] = []
    taken = list(used[:count])
    while taken:
        ident = taken.pop(0)
        header = headers[ident]
        children: list[Compact] = []
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["requirement", "requirement", "ref", "deeper"]))
            if kind == "requirement":
                children.append(requirement(header))
            elif kind == "ref":
                children.append(("ref", draw(st.sampled_from(RULES))))
            elif taken:  # a record under a record: not made by evaluation today, walked all the same
                inner = taken.pop(0)
                children.append((
                    "rule" if inner in RULES else "code", headers[inner], draw(RESULTS), (requirement(headers[inner]),)
                ))
        node = ("rule" if ident in RULES else "code", header, draw(RESULTS), tuple(children))
        records.append(SharedRecord(node) if draw(st.booleans()) else node)
    cost = None
    if draw(st.booleans()):
        cost_labels = draw(st.lists(st.sampled_from(LABELS), max_size=4, unique=True))
        entries = tuple((label, "fact", reader_of(values[label])) for label in cost_labels)
        cost = (draw(st.lists(RESULTS, min_size=1, max_size=3)), entries, [values[label] for label in cost_labels])
    return records, values, cost


@settings(max_examples=300, deadline=None)
@given(trees())
def test_compact_traces_of_generated_record_trees_are_the_oracles(
    tree: tuple[list[Compact], dict[str, Any], Any],
) -> None:
    records, _values, cost = tree
    compiled = SimpleNamespace(
        trace_positions=({r: i for i, r in enumerate(RULES)}, {c: i for i, c in enumerate(CODES)}),
        # positions for some of the names only: the others are kept by name, in `reads`
        read_positions=compact.read_table(sorted(LABELS)[::2]),
        policy_hash="h",
        compact_table=None,
    )
    ev: Any = SimpleNamespace(compiled=compiled, env=None)
    expected = oracle_compact_trace(ev, records, cost)
    for _again in range(2):  # the second time from the parts kept on the shared records
        made = compact.compact_trace(ev, records, cost)
        assert made == expected
        assert canonical_bytes(made) == canonical_bytes(expected)
