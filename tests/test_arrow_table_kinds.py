"""Arrow maps and intervals inside a bundle, named as what they are.

Python holds a map cell as a list of key-value pairs and an interval (`month_day_nano_interval`) as
a tuple, so a map field where a fact is a mapping, a map of maps, or an interval where a fact is a
number or a date, was reported `found a list`: true of neither, and no help to what the table holds.
Each now names the type found, at its JSON path, with a help.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest
from carepolicy.engine import PolicySet

from benchmarks.bench_evaluate import make_bundles
from benchmarks.bench_facts import as_json
from carepolicy.arrow import evaluate_arrow_batches

_MAP = "a map (key-value pairs)"
_INTERVAL = "an interval (months, days and nanoseconds)"
_MAP_HELP = ("a map is not read as a mapping or a list: give a mapping as a struct column (its fields named as "
             "the facts), a list as a list column, or the bundle as JSON text")
_INTERVAL_HELP = "no fact is an interval: give minutes as a whole number, dates as `YYYY-MM-DD` text or a date column"
_STRINGS = pa.map_(pa.string(), pa.string())
_NESTED = pa.map_(pa.string(), pa.map_(pa.string(), pa.string()))
_INTERVALS = pa.month_day_nano_interval()


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    made: dict[str, Any] = as_json(make_bundles(1, 7)[0])
    return made


def _problems(policies: PolicySet, batch: pa.RecordBatch) -> list[dict[str, Any]]:
    [row] = [row for out in evaluate_arrow_batches(policies, [batch]) for row in out.to_pylist()]
    assert row["status"] == "error"
    found: list[dict[str, Any]] = json.loads(row["error"])
    assert all("found a list" not in problem["message"] for problem in found)
    return found


def _with(bundle: dict[str, Any], name: str, cells: pa.Array) -> pa.RecordBatch:
    batch = pa.Table.from_pylist([bundle]).to_batches()[0]
    names = batch.schema.names
    if name in names:
        return batch.set_column(names.index(name), name, cells)
    return batch.append_column(name, cells)


@pytest.mark.parametrize(
    ("name", "cells", "expected"),
    [
        ("beneficiary", pa.array([[("part_b", "true")]], _STRINGS), "a mapping"),
        ("beneficiary", pa.array([[("x", [("part_b", "true")])]], _NESTED), "a mapping"),
        ("chronic_conditions", pa.array([[("a", "b")]], _STRINGS), "a list"),
    ],
    ids=["map", "map-of-maps", "map-for-a-list"],
)
def test_a_map_column_where_a_fact_is_a_mapping_or_list_says_map(
    policies: PolicySet, bundle: dict[str, Any], name: str, cells: pa.Array, expected: str
) -> None:
    [problem] = _problems(policies, _with(bundle, name, cells))
    assert (problem["fact_path"], problem["message"]) == (f"$.{name}", f"expected {expected}, found {_MAP}")
    assert problem["help"] == _MAP_HELP


def test_a_map_field_of_a_struct_bundle_column_says_map(policies: PolicySet) -> None:
    """In a struct `bundle` column (`spark.read.json` with a schema): the same, at the field's path."""
    cells = pa.StructArray.from_arrays([pa.array(["2025-03"]), pa.array([[("a", [("b", "c")])]], _NESTED)],
                                       names=["month", "beneficiary"])
    problems = _problems(policies, pa.record_batch({"bundle": cells}))
    [problem] = [problem for problem in problems if problem["fact_path"] == "$.beneficiary"]
    assert problem["message"] == f"expected a mapping, found {_MAP}"


def test_an_interval_cell_says_interval_at_its_path(policies: PolicySet, bundle: dict[str, Any]) -> None:
    [problem] = _problems(policies, _with(bundle, "month", pa.array([(1, 2, 3)], _INTERVALS)))
    assert (problem["fact_path"], problem["message"]) == ("$.month", f"expected a month `YYYY-MM`, found {_INTERVAL}")
    assert problem["help"] == _INTERVAL_HELP
    minutes = pa.array([[{"date": "2025-03-04", "minutes": (0, 0, 60_000_000_000)}]],
                       pa.list_(pa.struct([("date", pa.string()), ("minutes", _INTERVALS)])))
    problems = _problems(policies, _with(bundle, "time", minutes))
    [problem] = [problem for problem in problems if problem["fact_path"] == "$.time[0].minutes"]
    assert problem["message"] == f"expected a whole number of minutes, found {_INTERVAL}"


def test_an_interval_bundle_cell_says_interval(policies: PolicySet) -> None:
    """An interval column as the `bundle` column said `found a `builtins.MonthDayNano` value`."""
    [problem] = _problems(policies, pa.record_batch({"bundle": pa.array([(1, 2, 3)], _INTERVALS)}))
    assert problem["message"] == f"column `bundle`, row 1: expected a fact bundle (a mapping), found {_INTERVAL}"
