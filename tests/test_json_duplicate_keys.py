"""A JSON object that sets a key twice is an error, never the last value kept without a word.

YAML fact files refuse a repeated key in the loader (test_fact_intake.py); these tests hold JSON
Lines, JSON documents and JSON values in Arrow tables to the same, and prove that the cheap test
of the normal path (`surely_unique`) never lets a repeated key through.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import orjson
import pyarrow as pa
from carepolicy.engine import iter_records
from carepolicy.engine.facts.json_keys import duplicates, has_duplicate, surely_unique, unique_by_count, unique_given
from carepolicy.engine.facts.reader import Bundle, BundleError, load_fact_text
from carepolicy.engine.jsontext import loads
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from benchmarks.bench_evaluate import make_bundles
from benchmarks.bench_facts import as_json
from carepolicy.arrow import bundles_from_batches

LINE = json.dumps(as_json(make_bundles(1, 7)[0]))


def _error(result: Bundle | BundleError) -> Any:
    assert isinstance(result, BundleError), result
    [diag] = result.diagnostics
    assert diag.code == "facts/duplicate-key"
    return diag


def test_a_json_line_that_sets_the_month_twice_is_its_own_error(tmp_path: Path) -> None:
    twice = LINE.replace('"month": ', '"month": "2025-01", "month": ', 1)
    path = tmp_path / "in.jsonl"
    path.write_text(f"{LINE}\n{twice}\n{LINE}\n")
    first, spoilt, third = iter_records(path)
    assert isinstance(first, Bundle)
    assert isinstance(third, Bundle)
    diag = _error(spoilt)
    first_column = twice.index('"month"') + 1
    again_column = twice.index('"month"', first_column) + 1
    assert diag.message == f"key `month` appears twice in one object (first at column {first_column})"
    assert diag.fact_path == "$.month"
    assert (diag.span.source, diag.span.line, diag.span.column) == (str(path), 2, again_column)
    [(label, where)] = diag.related
    assert (label, where.line, where.column) == ("`month` first set here", 2, first_column)
    assert diag.bundle == spoilt.id == json.loads(LINE)["id"]


def test_a_key_set_twice_inside_a_list_item_is_named_by_its_path() -> None:
    obj = json.loads(LINE)
    obj["time"] = [{"minutes": 20}, {"minutes": 15}]
    text = json.dumps(obj).replace('"minutes": 15', '"minutes": 15, "minutes": 45')
    diag = _error(load_fact_text(text, name="t.jsonl", fmt="jsonl")[0])
    assert diag.fact_path == "$.time[1].minutes"


def test_in_a_json_document_only_the_bundle_with_the_repeated_key_is_an_error() -> None:
    other = json.loads(LINE) | {"id": "other"}
    twice = json.dumps(other).replace('"part_b": ', '"part_b": false, "part_b": ', 1)
    text = f"[\n{LINE},\n{twice},\n{LINE}\n]\n"
    good, spoilt, last = load_fact_text(text, name="t.json", fmt="json")
    assert isinstance(good, Bundle)
    assert isinstance(last, Bundle)
    diag = _error(spoilt)
    assert (spoilt.id, spoilt.index, diag.fact_path) == ("other", 1, "$[1].beneficiary.part_b")
    assert diag.span is not None
    assert diag.span.line == 3


def test_a_json_value_in_an_arrow_table_is_refused_too() -> None:
    twice = LINE.replace('"month": ', '"month": "2025-01", "month": ', 1)
    table = pa.table({"bundle": [LINE, twice]})
    good, spoilt = bundles_from_batches(table.to_batches(), source="t.parquet")
    assert isinstance(good, Bundle)
    diag = _error(spoilt)
    assert diag.message.endswith("of the cell)")
    assert diag.span is None


# --- the cheap test is sound -------------------------------------------------------------------

_TEXTS = ["a", "b", ":", ":a", "a:", " ", '"', '":', "\\", "é", "month"]
_ANY_TEXT = st.sampled_from(_TEXTS)
_KEYS = st.sampled_from(_TEXTS[:4])  # few: repeated keys are common
_SPACE = st.sampled_from(["", " ", "\t", "\n"])


@st.composite
def _string(draw: st.DrawFn, texts: st.SearchStrategy[str] = _ANY_TEXT) -> str:
    """A key or text as some writer puts it: ASCII-escaped or not, a quote as `\\"` or `\\u0022`, a
    colon as itself, `\\u003a` or `\\u003A`."""
    text, ascii_only = draw(texts), draw(st.booleans())
    escapes = {'"': draw(st.sampled_from(['\\"', "\\u0022"])), ":": draw(st.sampled_from([":", "\\u003a", "\\u003A"]))}
    return '"' + "".join(escapes.get(c) or json.dumps(c, ensure_ascii=ascii_only)[1:-1] for c in text) + '"'


@st.composite
def _json_text(draw: st.DrawFn, depth: int = 0) -> str:
    """JSON text whose objects may repeat keys, with the spacing and escapes a writer may use."""
    kind = draw(st.sampled_from(["object", "list", "text", "number"] if depth < 3 else ["text", "number"]))
    if kind == "text":
        return draw(_string())
    if kind == "number":
        return str(draw(st.integers(-5, 5)))
    if kind == "list":
        return "[" + ",".join(draw(st.lists(_json_text(depth + 1), max_size=3))) + "]"
    pairs = []
    for _ in range(draw(st.integers(0, 4))):  # few keys to choose from: repeats are common
        pairs.append(f"{draw(_string(_KEYS))}{draw(_SPACE)}:{draw(_SPACE)}{draw(_json_text(depth + 1))}")
    return "{" + ",".join(pairs) + "}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json_text())
@example('{"a":1,"a":"\\u003a"}')  # without the backslash test: 2 colons in the line, 2 in `{"a":":"}`
def test_the_cheap_test_never_calls_a_repeated_key_unique(text: str) -> None:
    repeated = duplicates(text)
    assert has_duplicate(text) == bool(repeated)
    decoded = msgspec.json.decode(text)  # the last value kept, as the typed path decodes
    canonical = orjson.dumps(decoded, option=orjson.OPT_SORT_KEYS)
    if repeated:
        assert not surely_unique(text.encode(), canonical)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json_text())
@example('{"a":1,"a":"\\u003a"}')  # a `\u003a` decodes to the colon the dropped pair took
@example('{"a":1,"a":"\\u003A"}')
@example('{"a":1,"a":"' + '\\"' * 70 + '\\u003a"}')  # (past the backslashes looked at one by one)
@example('{"a":1,"b":"' + '\\"' * 70 + '\\u0041:"}')
@example('{"a":1,"a":1}')  # the same value twice is a repeated key too
def test_the_count_of_colons_never_calls_a_repeated_key_unique(text: str) -> None:
    # `report`'s test of a line of any origin: sound (never `True` with a repeat), and exact on
    # the lines it decides (`True` for every line without a repeat and without an escaped colon)
    repeated = bool(duplicates(text))
    if repeated:
        assert not unique_by_count(text)
    elif "\\u003a" not in text.lower():
        assert unique_by_count(text)
    # `explain`'s form of it, given what the line decoded to (as `jsontext.loads` decodes it)
    assert unique_given(text, loads(text)) == unique_by_count(text)
