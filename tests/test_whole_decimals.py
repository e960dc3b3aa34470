"""A whole number given as a Decimal written without a point, where a fact is a whole number
(`minutes`, `expected_months`, `device_days`): the Python API's `Decimal("20")`, and an Arrow or
Parquet decimal column of scale 0: decimal(38, 0), as a database whose integers are NUMBER(38, 0)
may export them, or decimal(20, 0), as Spark reads a Parquet unsigned int64.

Before, such a value was refused with a message that contradicts itself: `$.time[0].minutes:
expected a whole number of minutes, found `20``. It is now read as the whole number its text
writes, as JSON's `20` is; a Decimal with a point or an exponent (`20.0`, `2E+1`) is still refused,
as JSON's `20.0` and `2e1` are. Money is read as before (a decimal column's amount).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from carepolicy.engine import PolicySet

import carepolicy
from benchmarks.bench_evaluate import make_bundles
from benchmarks.bench_facts import as_json
from carepolicy.arrow import decision_json_line, evaluate_arrow_batches
from tests.pipeline_data import dumps

WHOLE = ("minutes", "expected_months", "device_days")


@pytest.fixture(scope="module")
def evaluator() -> carepolicy.Evaluator:
    return carepolicy.load()


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    """A generated bundle with time entries and chronic conditions (whole numbers to give as Decimals)."""
    found = next(b for b in map(as_json, make_bundles(12, 7)) if b.get("time") and b.get("chronic_conditions"))
    assert isinstance(found, dict)
    text = json.dumps(found)
    made: dict[str, Any] = json.loads(text, parse_float=Decimal)  # money as decimals, as a table holds it
    made["rpm"] = {"device_days": 17}
    return made


def _with(value: Any, make: Any) -> Any:
    """`value` with each whole-number fact made by `make` from its int."""
    if isinstance(value, dict):
        return {k: make(v) if k in WHOLE and isinstance(v, int) else _with(v, make) for k, v in value.items()}
    if isinstance(value, list):
        return [_with(item, make) for item in value]
    return value


def test_a_decimal_without_a_point_is_the_whole_number_it_writes(evaluator: carepolicy.Evaluator,
                                                                  bundle: dict[str, Any]) -> None:
    as_ints = evaluator.evaluate(bundle)
    as_decimals = evaluator.evaluate(_with(bundle, lambda n: Decimal(str(n))))
    assert as_ints.ok, as_ints.diagnostics
    assert as_decimals.ok, [d.message for d in as_decimals.diagnostics]
    assert as_decimals.jsonl == as_ints.jsonl  # the same facts, hash and decision


@pytest.mark.parametrize(("written", "json_text"), [("20.0", "20.0"), ("2E+1", "2e1")])
def test_a_decimal_with_a_point_or_an_exponent_is_refused_as_json_refuses_it(
        evaluator: carepolicy.Evaluator, bundle: dict[str, Any], written: str, json_text: str) -> None:
    given = _with(bundle, lambda _n: Decimal(written))
    line = dumps(_with(bundle, lambda _n: "@@")).replace('"@@"', json_text)
    from_mapping = evaluator.evaluate(given)
    from_json = evaluator.evaluate_text(line, fmt="jsonl")[0]
    assert not from_mapping.ok
    assert {d.fact_path for d in from_mapping.diagnostics} == {d.fact_path for d in from_json.diagnostics}
    assert all("expected a whole number" in d.message for d in from_mapping.diagnostics)


@pytest.mark.parametrize("kind", [pa.decimal128(38, 0), pa.decimal128(20, 0), pa.decimal256(40, 0)],
                         ids=["snowflake-number", "spark-unsigned-int64", "decimal256"])
def test_a_decimal_column_of_scale_0_is_read_as_whole_numbers(policies: PolicySet, bundle: dict[str, Any],
                                                              kind: pa.DataType) -> None:
    ints = pa.Table.from_pylist([bundle])
    schema = pa.schema([field.with_type(_decimal_wholes(field.name, field.type, kind)) for field in ints.schema])
    decimals = pa.Table.from_pylist([_with(bundle, lambda n: Decimal(str(n)))], schema=schema)
    assert str(kind) in str(decimals.schema.field("time").type)
    lines = []
    for table in (ints, decimals):
        rows = [row for out in evaluate_arrow_batches(policies, table) for row in out.to_pylist()]
        assert [row["status"] for row in rows] == ["decided"], rows[0]["error"]
        lines.append(decision_json_line(rows[0]))
    assert lines[1] == lines[0]  # the same facts, hash and decision as the integer columns give


def _decimal_wholes(name: str, kind: pa.DataType, decimal: pa.DataType) -> pa.DataType:
    """`kind` with each whole-number field (by name) as `decimal`."""
    if name in WHOLE and pa.types.is_integer(kind):
        return decimal
    if pa.types.is_struct(kind):
        return pa.struct([f.with_type(_decimal_wholes(f.name, f.type, decimal)) for f in kind])
    if pa.types.is_list(kind):
        return pa.list_(kind.value_field.with_type(_decimal_wholes(name, kind.value_type, decimal)))
    return kind
