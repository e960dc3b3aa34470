"""The full trace written from kept pieces (engine/evaluation/full_trace.py: each shared record's
canonical bytes cut at its holes, made once and kept on it) gives exactly the bytes of the dict
path (`Evaluation.trace_json`, serialised whole): for decisions of generated and mutated bundles
under both backends, and for generated record trees whose values and text need escaping, are big
numbers orjson refuses, are missing, are records read whole, are parameters (`as_of`), or look
like the template's own markers."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from carepolicy.engine import Bundle, PolicySet, evaluate, load_policies
from carepolicy.engine.compile.compiled import Condition, Header
from carepolicy.engine.compile.outcomes import Compact, RuleOutcome, SharedRecord
from carepolicy.engine.compile.runtime import UNKNOWN
from carepolicy.engine.decision.json_form import to_json_bytes, to_json_obj
from carepolicy.engine.evaluation import full_trace
from carepolicy.engine.evaluation.rules import Evaluation
from carepolicy.engine.facts.reader import validate_bundle
from carepolicy.engine.jsontext import canonical_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.bench_evaluate import make_bundle
from tests.test_compact_parts import mutated


@pytest.fixture(scope="module")
def backends() -> dict[str, PolicySet]:
    return {"codegen": load_policies(None), "closures": load_policies(None, backend="closures")}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), mutate=st.booleans())
def test_full_lines_of_generated_bundles_are_the_dict_paths(
    backends: dict[str, PolicySet], seed: int, mutate: bool
) -> None:
    rng = random.Random(seed)
    for number in range(3):
        raw = make_bundle(rng, number)
        bundle = validate_bundle(mutated(raw, rng) if mutate else raw, source="<generated>", index=0)
        if not isinstance(bundle, Bundle):  # a mutation the schema refuses: the unmutated bundle
            bundle = validate_bundle(make_bundle(random.Random(seed), number), source="<generated>", index=0)
        assert isinstance(bundle, Bundle)
        for policies in backends.values():
            decision = evaluate(policies, bundle, trace=True)
            expected = canonical_bytes(to_json_obj(decision, trace="full"))
            assert to_json_bytes(decision, trace="full") == expected
            assert to_json_bytes(decision, trace="full") == expected  # now from the kept templates


def test_shared_records_are_written_from_templates_and_trace_json_stays_dicts(backends: dict[str, PolicySet]) -> None:
    rng = random.Random(5)
    for number in range(20):
        bundle = validate_bundle(make_bundle(rng, number), source="<generated>", index=number)
        assert isinstance(bundle, Bundle)
        decision = evaluate(backends["codegen"], bundle, trace=True)
        assert decision.trace is not None
        parts = decision.trace.json_parts()
        assert parts is not None
        records = decision.trace.json()
        assert all(type(record) is dict for record in records)  # the dict form is untouched
        assert b"".join(parts) == canonical_bytes(records)
        assert len(parts) > 2 * len(records)  # records cut at their holes: segments and values
    # the closure backend shares no record: each is its dict's bytes, then a ","
    decision = evaluate(backends["closures"], bundle, trace=True)
    assert decision.trace is not None
    parts = decision.trace.json_parts()
    assert parts is not None
    assert all(type(orjson.loads(part)) is dict for part in parts[1:-1:2])
    assert set(parts[2:-1:2]) == {b","}


def test_a_trace_whose_nodes_were_built_is_written_from_them(backends: dict[str, PolicySet]) -> None:
    bundle = validate_bundle(make_bundle(random.Random(3), 0), source="<generated>", index=0)
    assert isinstance(bundle, Bundle)
    decision = evaluate(backends["codegen"], bundle, trace=True)
    assert decision.trace is not None
    assert len(decision.trace) > 0  # the TraceNodes built: json() writes them, json_parts() gives None
    assert decision.trace.json_parts() is None
    assert to_json_bytes(decision, trace="full") == canonical_bytes(to_json_obj(decision, trace="full"))


# ------------------------------------------------------------------ generated record trees

RULES = [f"r{i}" for i in range(5)]
LABELS = ["a", "a.x", "b", "c.d", "n(a)"]
MARKER_TEXT = full_trace._MARKER + "0\x00"  # policy text that reads like a hole: that record has no template
TEXT = st.sampled_from(['quote " and \\ back', "é ü 名", "line\nbreak\x01", "\u2028", MARKER_TEXT, "r0"]) | st.text(
    max_size=6
)
VALUES = st.one_of(
    st.just(UNKNOWN),
    st.just("missing"),
    TEXT,
    st.integers(-(2**70), 2**70),  # beyond 64 bits orjson refuses: the dict path's fallback must take it
    st.booleans(),
    st.none(),
    st.frozensets(st.sampled_from(["99490", "99439", 'x"y']), max_size=3),
    st.dictionaries(st.sampled_from(["x", "y", "é"]), st.sampled_from(["missing", "m", 1, True, 2**65]), max_size=3),
)
RESULTS = st.sampled_from(["met", "unmet", "valid", "not evaluated: precondition r1 not met"])


def reader_of(label: str) -> Any:
    return lambda env: env[label]


@st.composite
def trees(draw: st.DrawFn) -> tuple[list[Compact], dict[str, Any], list[dict[str, Any]], list[str | None]]:
    """A decision's records (each rule once, shared or the bundle's own, with requirements, refs and
    deeper records); what each rule evaluated gives a ref; and several bundles' values and `as_of`."""
    kinds = {label: draw(st.sampled_from(["fact", "definition", "parameter"])) for label in LABELS}
    headers = {ident: Header(ident, draw(TEXT), tuple(draw(st.lists(TEXT, max_size=2))), "p:1") for ident in RULES}

    def requirement(owner: Header) -> Compact:
        labels = draw(st.lists(st.sampled_from(LABELS), max_size=3))
        reads = tuple((label, kinds[label], reader_of(label)) for label in labels)
        condition = Condition(None, None, None, draw(TEXT), reads)
        return ("requirement", owner, condition, "p:2", draw(st.sampled_from([True, False, UNKNOWN])))

    records: list[Compact] = []
    for ident in draw(st.permutations(RULES)):
        children: list[Compact] = []
        for _ in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["requirement", "requirement", "ref", "deeper"]))
            if kind == "requirement":
                children.append(requirement(headers[ident]))
            elif kind == "ref":
                children.append(("ref", draw(st.sampled_from(RULES))))
            else:  # a record under a record: not made by evaluation today, written all the same
                inner = headers[draw(st.sampled_from(RULES))]
                children.append(("rule", inner, draw(RESULTS), (requirement(inner), ("ref", ident))))
        node = ("rule", headers[ident], draw(RESULTS), tuple(children))
        records.append(SharedRecord(node) if draw(st.booleans()) else node)
    values = [{label: draw(VALUES) for label in LABELS} for _ in range(draw(st.integers(1, 3)))]
    as_of = [draw(st.none() | st.sampled_from(["2026-01-01", 'd"é'])) for _ in values]
    return records, {node[1].id: node for node in records}, values, as_of


def evaluation(by_rule: dict[str, Any], env: dict[str, Any], as_of: str | None) -> Evaluation:
    """An Evaluation with only what writing the trace reads: the values, the month's as_of, the rules."""
    ev = object.__new__(Evaluation)
    ev.env = env  # type: ignore[assignment]  # the readers above read a plain dict
    ev.plan = SimpleNamespace(as_of=as_of)  # type: ignore[assignment]
    ev._rules = {ident: RuleOutcome(node[2], (), node) for ident, node in by_rule.items()}
    ev._reads_json = {}
    return ev


@settings(max_examples=300, deadline=None)
@given(trees())
def test_full_traces_of_generated_record_trees_are_the_dict_paths(tree: Any) -> None:
    records, by_rule, values, as_of = tree
    for _again in range(2):  # the second time from the templates kept on the shared records
        for env, date in zip(values, as_of, strict=True):
            ev = evaluation(by_rule, env, date)
            dicts = [ev.trace_json(node) for node in records]
            try:
                expected = orjson.dumps(dicts, option=orjson.OPT_SORT_KEYS)
            except orjson.JSONEncodeError:  # a big number: the pieces path refuses it too (to_json_bytes
                with pytest.raises(orjson.JSONEncodeError):  # then writes the dict path, stdlib json)
                    full_trace.full_parts(ev, records, [])
                continue
            assert b"".join(full_trace.full_parts(ev, records, [])) == expected
            tail = [{"kind": "choose", "result": "chose é"}, {"id": "p", "kind": "pricing"}]
            with_tail = orjson.dumps([*dicts, *tail], option=orjson.OPT_SORT_KEYS)
            assert b"".join(full_trace.full_parts(ev, records, tail)) == with_tail
    for node in records:  # a record whose text reads like a marker is left on the dict path
        if type(node) is SharedRecord and MARKER_TEXT in texts(node):
            assert full_trace._template(node) is None
            assert node.full in (None, ())  # () once written: None if a big number stopped it before


def texts(node: Compact) -> list[str]:
    """Every text of a record that its JSON shows (titles, cites, condition texts), depth first."""
    if node[0] == "ref":
        return []
    if node[0] == "requirement":
        return [node[1].id, node[2].text]
    header = node[1]
    return [header.title, *header.cites, *(text for child in node[3] for text in texts(child))]


def test_a_template_is_cut_exactly_at_its_holes() -> None:
    header = Header("r0", "Title 20%", ("S1: §1",), "p:1")  # a "%" of the text stays as it is
    reads = (("x", "fact", reader_of("x")), ("p", "parameter", reader_of("p")))
    condition = Condition(None, None, None, "x > 1", reads)
    record = SharedRecord(("rule", header, "met", (("requirement", header, condition, "p:2", True), ("ref", "r0"))))
    ev = evaluation({"r0": record}, {"x": 'a"b', "p": 3}, "2026-01-01")
    written = b"".join(full_trace.full_parts(ev, [record], []))
    assert type(record.full) is full_trace.Template
    cut = full_trace._cut(record)
    assert cut is not None
    first, holes = cut
    # a fact's hole is its value (its name in the segment); a parameter's, the whole read (its as_of)
    assert [name for name, _what, _after in holes] == [b"", b'"name":"p","value":', None]
    assert first.endswith(b'"reads":[{"name":"x","value":')
    assert b"\\u0000" not in first + b"".join(after for _name, _what, after in holes)  # no marker left
    assert [key for _segment, key in record.full.pairs] == ["x", ("as_of", "p"), ("ref", "r0")]
    assert [segment for segment, _key in record.full.pairs] == [first, holes[0][2], holes[1][2]]
    assert record.full.last == holes[2][2] + b","
    assert written == orjson.dumps([ev.trace_json(record)], option=orjson.OPT_SORT_KEYS)
    assert b'{"as_of":"2026-01-01","name":"p","value":3}' in written
    assert b'{"name":"x","value":"a\\"b"}' in written
    assert b"Title 20%" in written
    assert record.as_ref is not None  # the ref's bytes kept on the record it points at


def test_a_record_read_twice_and_referred_to_twice_is_written_once_each() -> None:
    """A label read by two requirements and a rule referred to by two records: each value read,
    and each ref's record looked up, once per decision (the dict path's reads are cached alike)."""
    header = Header("r0", "T", (), "p:1")
    calls: list[str] = []

    def counted(label: str) -> Any:
        def read(env: Any) -> Any:
            calls.append(label)
            return env[label]

        return read

    condition = Condition(None, None, None, "x", (("x", "fact", counted("x")),))
    requirement = ("requirement", header, condition, "p:2", True)
    records = [
        SharedRecord(("rule", header, "met", (requirement, ("ref", "r0")))),
        SharedRecord(("rule", Header("r1", "U", (), "p:3"), "met", (requirement, ("ref", "r0")))),
    ]
    ev = evaluation({"r0": records[0], "r1": records[1]}, {"x": 1}, None)
    parts = full_trace.full_parts(ev, records, [])
    assert calls == ["x"]
    assert b"".join(parts) == orjson.dumps([ev.trace_json(node) for node in records], option=orjson.OPT_SORT_KEYS)
    values = [part for part in parts if part == b"1"]
    assert len(values) == 2
    assert values[0] is values[1]  # one bytes object, written once, joined twice


def test_no_records_and_no_tail_is_an_empty_trace() -> None:
    ev = evaluation({}, {}, None)
    assert b"".join(full_trace.full_parts(ev, [], [])) == b"[]"
    assert b"".join(full_trace.full_parts(ev, [], [{"kind": "choose"}])) == b'[{"kind":"choose"}]'


@pytest.mark.parametrize("first", ["fact", "parameter"])
def test_a_label_read_as_a_parameter_and_as_a_fact_is_written_as_the_dict_path_writes_it(first: str) -> None:
    """The dict path writes a label read twice as its first read (a parameter's as_of, or none):
    templates that hold the label in the two forms leave the whole trace to the dict path."""
    other = "parameter" if first == "fact" else "fact"
    records: list[Compact] = []
    for ident, kind in (("r0", first), ("r1", other)):
        header = Header(ident, "T", (), "p:1")
        condition = Condition(None, None, None, "a", (("a", kind, reader_of("a")),))
        records.append(SharedRecord(("rule", header, "met", (("requirement", header, condition, "p:2", True),))))
    by_rule = {node[1].id: node for node in records}
    ev = evaluation(by_rule, {"a": 7}, "2026-01-01")
    expected = orjson.dumps([ev.trace_json(node) for node in records], option=orjson.OPT_SORT_KEYS)
    assert expected.count(b'"as_of":"2026-01-01"') == (2 if first == "parameter" else 0)  # both as the first
    for _again in range(2):  # the first time making the templates, then from them
        made = full_trace.full_parts(evaluation(by_rule, {"a": 7}, "2026-01-01"), records, [])
        assert b"".join(made) == expected
    assert all(type(node.full) is full_trace.Template for node in records)  # (each has its template)
    alone = b"".join(full_trace.full_parts(evaluation(by_rule, {"a": 7}, "2026-01-01"), records[1:], []))
    fresh = evaluation(by_rule, {"a": 7}, "2026-01-01")  # (ev's reads are cached as the first record's)
    assert alone == orjson.dumps([fresh.trace_json(records[1])], option=orjson.OPT_SORT_KEYS)
