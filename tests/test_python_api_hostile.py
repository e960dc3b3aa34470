"""The Python API given what a pipeline may hand it beyond JSON's values: subclasses, foreign types,
mappings that raise or never end, huge bundles, wrong arguments. Each is one Result whose diagnostics
say what is wrong and where (or, for the caller's own argument, a TypeError at the call); never a
traceback out of the API, never a value silently changed, and no Result sharing state with the caller."""

from __future__ import annotations

import enum
import json
import sys
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import carepolicy
from carepolicy.evaluator import Evaluator
from tests.pipeline_data import as_read, mixed_bundles

BUNDLES = as_read(mixed_bundles(20))
GOOD = next(b for b in BUNDLES if b.get("time") and b.get("consent"))


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return carepolicy.load()


def _with_minutes(minutes: object) -> dict[str, Any]:
    time_entries = [dict(entry) for entry in GOOD["time"]]
    time_entries[0]["minutes"] = minutes
    return {**GOOD, "time": time_entries}


def _errors(result: carepolicy.Result) -> list[tuple[str, str | None, str]]:
    return [(d.code, d.fact_path, d.message) for d in result.diagnostics]


class _Month(str, enum.Enum):  # noqa: UP042 (not a StrEnum: that one's str() is its value)
    """A str enum, as a pipeline's own type for a month: its str() is `_Month.MARCH`, not its text."""

    MARCH = GOOD["month"]


class _Minutes(enum.IntEnum):
    SOME = GOOD["time"][0]["minutes"]


class _Loud(str):
    def __str__(self) -> str:
        return "LOUD"

    def __format__(self, spec: str) -> str:
        return "LOUD"


def test_the_bundle_these_tests_change_is_valid(evaluator: Evaluator) -> None:
    assert evaluator.evaluate(GOOD).ok


def test_a_str_or_int_subclass_is_read_as_the_text_or_int_it_holds(evaluator: Evaluator) -> None:
    """A str enum as the month was an `eval/internal` error (`invalid literal for int() with base 10:
    '_Month.MARCH'`: the evaluator formatted the month with the member's own str()); an id of a str
    subclass came back as the caller's object in `Result.bundle_id`. Each is read as its value."""
    plain = evaluator.evaluate(GOOD)
    assert evaluator.evaluate({**GOOD, "month": _Month.MARCH}).jsonl == plain.jsonl
    assert evaluator.evaluate(_with_minutes(_Minutes.SOME)).jsonl == plain.jsonl
    loud = evaluator.evaluate({**GOOD, "id": _Loud(GOOD["id"]), "month": _Loud(GOOD["month"])})
    assert loud.jsonl == plain.jsonl
    assert type(loud.bundle_id) is str
    keys = evaluator.evaluate({_Loud(key): value for key, value in GOOD.items()})
    assert keys.jsonl == plain.jsonl


class _Raising:
    """A value whose every method a reader might call raises."""

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    def __hash__(self) -> int:
        raise RuntimeError("hash")

    def __str__(self) -> str:
        raise RuntimeError("str")

    def __repr__(self) -> str:
        raise RuntimeError("repr")


class _Key:
    def __str__(self) -> str:
        raise RuntimeError("str")

    def __repr__(self) -> str:
        raise RuntimeError("repr")


@pytest.mark.parametrize(("value", "found"), [
    (Fraction(1, 2), "a `fractions.Fraction` value"),
    (complex(1, 0), "a `builtins.complex` value"),
    (_Raising(), "a `tests.test_python_api_hostile._Raising` value"),
    (b"12", "binary data, not text"),
])
def test_a_value_of_a_type_no_fact_has_is_named_by_its_type(evaluator: Evaluator, value: object, found: str) -> None:
    """A Fraction or a complex number as money, or a value whose repr raises, was `facts/internal`
    ('this is a bug in carepolicy', no path): jsonschema took the Fraction as a number and failed at
    `multipleOf` (`unsupported operand type(s) for %: 'Fraction' and 'decimal.Decimal'`), and words
    its errors with repr. Now each is a schema error at its place, named by its type."""
    beneficiary = {**GOOD["beneficiary"], "deductible_remaining": value}
    result = evaluator.evaluate({**GOOD, "beneficiary": beneficiary})
    expected = f"expected an amount of money such as `257.00`, found {found}"
    assert _errors(result) == [("facts/schema", "$.beneficiary.deductible_remaining", expected)]
    month = evaluator.evaluate({**GOOD, "month": value})
    assert _errors(month) == [("facts/schema", "$.month", f"expected a month `YYYY-MM`, found {found}")]


def test_a_key_whose_str_raises_is_an_unknown_key(evaluator: Evaluator) -> None:
    """Was `facts/internal: RuntimeError: str`, the path lost."""
    result = evaluator.evaluate({**GOOD, _Key(): 1})
    message = "unknown key `<tests.test_python_api_hostile._Key>`"
    assert _errors(result) == [("facts/schema", "$['<tests.test_python_api_hostile._Key>']", message)]
    assert json.loads(result.jsonl)["bundle_id"] == GOOD["id"]


class _View(Mapping[Any, Any]):
    """A caller's Mapping over a dict, which may raise or lie as it is read."""

    def __init__(self, data: Mapping[Any, Any], *, fail: str = "", extra: bool = False, endless: bool = False) -> None:
        self.data, self.fail, self.extra, self.endless = data, fail, extra, endless

    def __getitem__(self, key: Any) -> Any:
        if self.fail == "getitem":
            raise RuntimeError("the database connection closed")
        return self.data[key] if not self.endless else 1

    def __iter__(self) -> Iterator[Any]:
        if self.fail == "iter":
            raise ValueError("cursor exhausted")
        yield from self.data
        if self.extra:
            yield "not_there"
        counter = 0
        while self.endless:
            counter += 1
            yield f"key{counter}"

    def __len__(self) -> int:
        return 3  # not its length: nothing may trust it


@pytest.mark.parametrize(("view", "message"), [
    (_View(GOOD["beneficiary"], fail="getitem"),
     "reading this mapping raised RuntimeError: the database connection closed"),
    (_View(GOOD["beneficiary"], fail="iter"), "reading this mapping raised ValueError: cursor exhausted"),
    (_View(GOOD["beneficiary"], extra=True), "reading this mapping raised KeyError: 'not_there'"),
])
def test_a_mapping_that_raises_when_read_is_its_bundles_error_at_its_place(evaluator: Evaluator, view: _View,
                                                                            message: str) -> None:
    """Was `facts/internal` ('this is a bug in carepolicy'), with bundle `#1` for a bundle with an id
    and no path. The caller's mapping raising is said where it is, as an input that cannot be read."""
    result = evaluator.evaluate({**GOOD, "beneficiary": view})
    assert _errors(result) == [("facts/io", "$.beneficiary", message)]
    assert result.bundle_id == GOOD["id"]
    whole = evaluator.evaluate(_View(GOOD, fail="getitem"))
    said = "reading this mapping raised RuntimeError: the database connection closed"
    assert _errors(whole) == [("facts/io", "$", said)]
    assert whole.bundle_id == "#1"


def test_a_huge_or_endless_bundle_is_refused_at_the_limit_quickly(evaluator: Evaluator) -> None:
    """A list of 10^6 time entries took 3 s and 500 MB to decide (or 14 s and a million diagnostics
    when the entries were not mappings); a mapping whose keys never end ran until MemoryError (26 s
    with 3 GB of address space). A bundle holds at most 500,000 values, what a record of 1,000,000
    bytes can hold: past that, one `facts/limit` error, found without reading the rest."""
    entry = GOOD["time"][0]
    limit = "more than 500,000 values (list items and mapping entries) in one bundle, "
    limit += "more than a record of 1,000,000 bytes can hold"
    for huge in ([{**entry, "minutes": 0}] * 1_000_000, list(range(1_000_000))):
        started = time.process_time()
        result = evaluator.evaluate({**GOOD, "time": huge})
        assert time.process_time() - started < 2.0
        assert _errors(result) == [("facts/limit", "$.time", limit)]
    endless = evaluator.evaluate({**GOOD, "beneficiary": _View({}, endless=True)})
    assert _errors(endless) == [("facts/limit", "$.beneficiary", limit)]
    spread = evaluator.evaluate({**GOOD, "time": [{**entry, "minutes": 0}] * 100_000})  # 100,000 + 5 a entry
    assert _errors(spread) == [("facts/limit", "$.time[79993]", limit)]


def test_a_bundle_that_contains_itself_is_one_error_at_the_cycle(evaluator: Evaluator) -> None:
    """A dict holding itself, or a list holding itself, gave one `nested more than 16 levels deep`
    error for every path down to the limit (103 for this bundle, most of them not listed); the
    cycle is one error at the place it closes. A value met twice but never inside itself is no cycle."""
    from carepolicy.engine.facts.plain_copy import CYCLE

    looped = {**GOOD, "time": [dict(entry) for entry in GOOD["time"]]}
    looped["extra"] = looped
    looped["time"].append(looped["time"])
    assert _errors(evaluator.evaluate(looped)) == [
        ("facts/limit", "$.extra", CYCLE),
        ("facts/limit", f"$.time[{len(GOOD['time'])}]", CYCLE),
    ]
    shared = dict(GOOD["time"][0])
    twice = {**GOOD, "time": [shared, shared]}
    assert evaluator.evaluate(twice).ok


def _values(value: object) -> int:
    """List items and mapping entries, as the limit counts them."""
    if isinstance(value, dict):
        return len(value) + sum(_values(item) for item in value.values())
    if isinstance(value, list):
        return len(value) + sum(_values(item) for item in value)
    return 0


def test_the_value_limit_is_the_same_on_the_fast_and_the_precise_path(evaluator: Evaluator) -> None:
    """The fast path (a dict) counts values as the precise path (any other mapping) does: at the
    limit both decide the bundle alike, one entry past it both refuse it."""
    from types import MappingProxyType

    from carepolicy.engine.facts.limits import MAX_VALUES

    entry = {**GOOD["time"][0], "minutes": 0}
    base = _values({**GOOD, "time": []})
    fits = (MAX_VALUES - base) // (1 + len(entry))  # each entry: an item of the list and its keys
    for count, ok in ((fits, True), (fits + 1, False)):
        bundle = {**GOOD, "time": [entry] * count}
        given, viewed = evaluator.evaluate(bundle), evaluator.evaluate(MappingProxyType(bundle))
        assert (given.ok, viewed.ok) == (ok, ok)
        assert given.jsonl == viewed.jsonl


def test_results_share_nothing_with_the_caller(evaluator: Evaluator) -> None:
    """Changing what `to_json_obj()` gave changed that Result's later `jsonl` (a record read whole,
    e.g. `consents.rtm`, was the evaluation's cached dict); changing a decision's
    `context.code_programs` changed every later decision of the evaluator."""
    bundle = json.loads(json.dumps(GOOD))
    result = evaluator.evaluate(bundle)
    line = result.jsonl

    def scribble(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                scribble(item)
            value["scribbled"] = True
        elif isinstance(value, list):
            for item in value:
                scribble(item)
            value.append("scribbled")

    scribble(bundle)
    scribble(result.to_json_obj())
    assert result.jsonl == line
    decision = result.decision
    assert decision is not None
    assert decision.context is not None
    with pytest.raises(TypeError):
        decision.context.code_programs["99490"] = "nothing"  # type: ignore[index]
    assert evaluator.evaluate(GOOD).jsonl == line


def test_the_same_input_gives_the_same_bytes_and_every_line_is_one_utf8_line(evaluator: Evaluator) -> None:
    inputs: list[object] = [*BUNDLES, {"month": "\ud800"}, {"id": "\udcff", "month": "2025-13"}, None, [GOOD]]
    for item in inputs:
        first, second = evaluator.evaluate(item).jsonl, evaluator.evaluate(item).jsonl
        assert first == second
        assert first.endswith(b"\n")
        assert first.count(b"\n") == 1
        json.loads(first.decode("utf-8"))


def test_evaluate_many_refuses_one_bundle_or_text_at_the_call(evaluator: Evaluator) -> None:
    """Given one mapping, a str or bytes, it gave one `expected a fact bundle` result per key, character
    or byte (`found text `fact_bundle``, `found `97``)."""
    for given_value, said in ((GOOD, "one bundle: use `evaluate`"), ("{}", "not `'{}'`"), (b"{}", "not `b'{}'`"),
                              (None, "not `None`")):
        with pytest.raises(TypeError) as raised:
            evaluator.evaluate_many(given_value)  # type: ignore[arg-type]
        assert str(raised.value) == f"`bundles` is an iterable of bundles (mappings), {said}"


def test_evaluate_many_raises_what_the_callers_iterable_raises_after_the_results_before_it(
    evaluator: Evaluator,
) -> None:
    """Documented: the results before it are given, then the iterable's own exception, as it is."""

    def rows() -> Iterator[dict[str, Any]]:
        yield GOOD
        yield {"month": "2025-13"}
        raise ConnectionError("the export stopped")

    results = evaluator.evaluate_many(rows())
    assert [r.ok for r in (next(results), next(results))] == [True, False]
    with pytest.raises(ConnectionError, match="the export stopped"):
        next(results)


def test_an_index_too_large_to_write_is_refused_at_the_call(evaluator: Evaluator) -> None:
    """`index=10**5000` raised ValueError ('Exceeds the limit (4300 digits) for integer string
    conversion') out of `evaluate` for a bad bundle only."""
    for index in (10**5000, sys.maxsize + 1):
        with pytest.raises(TypeError, match="a whole number from 0 to 9,223,372,036,854,775,807, not a larger one"):
            evaluator.evaluate({"month": "2025-13"}, index=index)
    assert evaluator.evaluate({"month": "2025-13"}, index=sys.maxsize).bundle_id == f"#{sys.maxsize + 1}"


@pytest.mark.parametrize(("fmt", "error"), [("JSON", ValueError), ("ndjson", ValueError), ("", ValueError),
                                            (1, TypeError), (b"json", TypeError)])
def test_an_unknown_format_is_refused_at_the_call(evaluator: Evaluator, fmt: Any, error: type[Exception]) -> None:
    """`iter_text` raised the engine's ValueError only at the first record, from inside the iterator."""
    with pytest.raises(error, match=r"^`fmt` is 'json', 'jsonl', 'yaml' or None \(told from the text\), not `"):
        evaluator.iter_text("{}", fmt=fmt)


def test_text_is_read_the_same_in_every_form_and_told_when_fmt_is_none(evaluator: Evaluator) -> None:
    class Sly(str):
        def encode(self, *args: Any, **kwargs: Any) -> bytes:  # type: ignore[override]
            return b"not the text"

    text = json.dumps(GOOD)
    expected = [r.jsonl for r in evaluator.evaluate_text(text, fmt="json")]
    for data in (text.encode(), bytearray(text.encode()), memoryview(text.encode()), Sly(text)):
        assert [r.jsonl for r in evaluator.evaluate_text(data, fmt="json")] == expected  # type: ignore[arg-type]
    assert [r.jsonl for r in evaluator.evaluate_text(text, fmt=None)] == expected


# --- hostile values anywhere: nothing but a Result comes out ----------------------------------------

class _Opaque:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


_ODD_VALUES: list[object] = [
    float("nan"), float("inf"), -0.0, Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity"), Decimal("1e999999"),
    10**5000, True, False, None, "\ud800", "x" * 3000, b"bytes", bytearray(b"x"), memoryview(b"x"), Fraction(1, 3),
    complex(1, 1), _Opaque(), _Raising(), _Minutes.SOME, _Month.MARCH, _Loud("P1"), {1, 2}, frozenset(), range(3),
    object(), type, len, Ellipsis,
]
_ODD_KEYS: list[object] = [1, None, True, 1.5, (1, 2), b"month", _Key(), _Loud("month")]


def _odd_value(position: int) -> object:
    return _ODD_VALUES[position]


def _odd_key(position: int) -> object:
    return _ODD_KEYS[position]


# drawn by position: hypothesis writes a strategy's values with repr, which some of these refuse
HOSTILE_LEAVES = (
    st.integers(0, len(_ODD_VALUES) - 1).map(_odd_value) | st.integers() | st.floats() | st.text(max_size=8)
    | st.dates() | st.datetimes() | st.decimals(allow_nan=True)
)
HOSTILE_KEYS = st.text(max_size=8) | st.integers(0, len(_ODD_KEYS) - 1).map(_odd_key)
HOSTILE = st.recursive(
    HOSTILE_LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(HOSTILE_KEYS, inner, max_size=4)
    | st.dictionaries(st.text(max_size=6), inner, max_size=3).map(lambda d: _View(d))
    | st.dictionaries(st.text(max_size=6), inner, max_size=3).map(lambda d: _View(d, fail="getitem")),
    max_leaves=12,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(["month", "id", "beneficiary", "practitioner", "time", "consent", "fee_schedule_override",
                            "chronic_conditions", "unknown"]), value=HOSTILE)
def test_a_hostile_value_anywhere_gives_a_result_with_its_path(evaluator: Evaluator, key: str, value: Any) -> None:
    result = evaluator.evaluate({**GOOD, key: value})
    line = result.jsonl
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert json.loads(line.decode("utf-8")) == json.loads(json.dumps(result.to_json_obj()))
    assert result.jsonl == line
    if not result.ok:
        named = GOOD["id"] if key != "id" else result.bundle_id  # an id that is not text: `#1`
        assert result.bundle_id == named
        for diagnostic in result.diagnostics:
            assert diagnostic.code in ("facts/schema", "facts/limit", "facts/io", "facts/impossible")
            assert (diagnostic.fact_path or "").startswith("$")
            assert diagnostic.bundle == named


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=HOSTILE)
def test_a_hostile_bundle_gives_exactly_one_result(evaluator: Evaluator, value: Any) -> None:
    results = list(evaluator.evaluate_many([GOOD, value, GOOD]))
    assert len(results) == 3
    assert [results[0].ok, results[2].ok] == [True, True]
    assert results[0].jsonl == results[2].jsonl
    assert all(d.code != "facts/internal" for d in results[1].diagnostics)
    json.loads(results[1].jsonl)
