"""`carepolicy.spark.decide` in Spark local mode (`local[2]`): every decision equals the in-process one, byte for byte.

One session for the module, a few dozen bundles: Spark's start-up dominates. Spark needs Java
17+; `.ci/run` installs a headless JRE when `java` is missing, so a missing Java fails this test
instead of skipping it. The driver binds to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from pyspark.sql import DataFrame, Row, SparkSession, functions

import carepolicy
from carepolicy.arrow import UnreadColumnsWarning
from carepolicy.spark import _LOADED, DECISIONS_SPARK, _driver_hash, decide, decision_rows_json, executor_evaluator
from tests.pipeline_data import INVALID, as_read, dumps, mixed_bundles

# the generated bundles and the invalid ones that have an id: `#n` ids count rows per partition
BUNDLES = [b for b in mixed_bundles(36, seed=33) if "id" in b]


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    assert shutil.which("java"), "Spark needs Java 17+ on PATH (.ci/run installs openjdk-17-jre-headless)"
    os.environ["PYSPARK_PYTHON"] = sys.executable  # the workers use this venv, where carepolicy is installed
    session = (
        SparkSession.builder.master("local[2]").appName("carepolicy-test")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2").config("spark.log.level", "ERROR")
        .getOrCreate()
    )
    yield session
    session.stop()


def decided_rows_equal_in_process(frame: DataFrame, bundles: list[dict[str, Any]]) -> list[Row]:
    """`decide(frame)`'s rows, after checking each decision is the in-process one, byte for byte."""
    decided = decide(frame)
    assert decided.schema == DECISIONS_SPARK
    rows = decided.collect()
    expected = {r.bundle_id: r.jsonl.decode("utf-8").rstrip("\n")
                for r in carepolicy.load().evaluate_many(as_read(bundles), source="<spark>")}
    got = dict(zip([row["bundle_id"] for row in rows], decision_rows_json(rows), strict=True))
    assert got == expected
    assert len(got) == len(bundles)
    return rows


def test_decisions_equal_the_in_process_bytes(spark: SparkSession) -> None:
    frame = spark.createDataFrame([(dumps(b),) for b in BUNDLES], "bundle string").repartition(2)
    rows = decided_rows_equal_in_process(frame, BUNDLES)
    assert sum(row["status"] == "error" for row in rows) == sum("id" in b for b in INVALID)


def test_bundle_columns(spark: SparkSession) -> None:
    valid = [b for b in as_read(BUNDLES) if b not in INVALID]
    simple = [b for b in valid if isinstance(b.get("consent", {}).get("service", []), list)][:5]
    table = pa.Table.from_struct_array(pa.array([json.loads(dumps(b), parse_float=float) for b in simple]))
    rows = decide(spark.createDataFrame(table)).collect()
    expected = [json.loads(r.jsonl) for r in carepolicy.load().evaluate_many(simple)]
    got = [json.loads(line) for line in decision_rows_json(rows)]
    assert [g["billable"] for g in got] == [e["billable"] for e in expected]
    assert [g["denied"] for g in got] == [e["denied"] for e in expected]
    assert all(row["status"] == "decided" for row in rows)


def test_bad_settings_fail_on_the_driver(spark: SparkSession) -> None:
    frame = spark.createDataFrame([("{}",)], "bundle string")
    with pytest.raises(carepolicy.PolicyError, match="unknown switch"):
        decide(frame, switches={"no_such_switch": "on"})


def test_a_json_column_the_frame_does_not_have_fails_on_the_driver(spark: SparkSession) -> None:
    """A `column=` the DataFrame lacks made every row an error row (the frame read as bundle columns)."""
    frame = spark.createDataFrame([(dumps(BUNDLES[0]),)], "value string")
    with pytest.raises(ValueError, match=r"^no column `json` in the DataFrame \(its columns: `value`\)"):
        decide(frame, column="json")
    (row,) = decide(frame, column="value").collect()
    assert row["status"] == "decided"


def test_a_json_cell_error_names_its_column_and_row_and_fact_named_columns_are_warned_of(spark: SparkSession) -> None:
    """A cell's JSON error said neither column nor row (`invalid JSON: expecting value (line 1,
    column 9)`), and a `month` column beside `bundle` was ignored without a word (`batch` noted it).
    The error names both; `decide` warns on the driver with `batch`'s note, and the executors do not."""
    good = dumps(BUNDLES[0])
    frame = spark.createDataFrame([(good, "1999-01"), ('{"id": ', "1999-01")], "bundle string, month string")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = decide(frame.coalesce(1)).collect()  # (one partition: rows are counted within it)
    assert [(w.category, str(w.message)) for w in caught] == [(
        UnreadColumnsWarning, "the DataFrame: column `month` not read: the `bundle` column holds each row's facts, "
        "and the other columns are ignored")]
    assert [row["status"] for row in rows] == ["decided", "error"]
    assert [d["message"] for d in json.loads(rows[1]["error"])] == [
        "column `bundle`, row 2: invalid JSON: expecting value (line 1, column 8 of the cell)"]


def test_an_executor_loads_the_files_again_when_they_changed_since_its_last_job(tmp_path: Path) -> None:
    """Python workers outlive a job (a notebook's next `decide`), and their cache was keyed by the
    settings, file names only: after the fee schedule at the same path changed, the next job priced
    with the old amounts, silently (the policy set's hash, all the driver passed on, does not cover
    the fee schedule); after the policies folder changed, every task failed, saying the machines
    differ. The driver now passes the fee schedule's digest too, and a worker whose cached evaluator
    is not the driver's loads the files again; only a machine that still differs fails its task."""
    fees = tmp_path / "fees.csv"
    fees.write_text("code,allowed\n99490,11.11\n", encoding="utf-8")
    settings: Any = (None, (), str(fees), False)
    first = executor_evaluator(settings, _driver_hash(settings))
    fees.write_text("code,allowed\n99490,22.22\n", encoding="utf-8")
    expected = _driver_hash(settings)
    _LOADED[settings] = first  # the worker's cache, as its last job left it (the driver is another process)
    again = executor_evaluator(settings, expected)
    assert again.setup.fee_schedule is not None
    assert again.setup.fee_schedule.amounts == {"99490": Decimal("22.22")}
    with pytest.raises(RuntimeError, match="give every machine the same policies folder and fee schedule"):
        executor_evaluator(settings, expected.replace(expected[-4:], "0000"))


def test_bundles_without_an_id_in_two_partitions_have_two_names(spark: SparkSession) -> None:
    """Rows were counted within each partition, so the first bundle without an id of each of two
    partitions was `#1` in both: two error records with one name. Each is `#p<partition>.<row>`."""
    bad, good = '{"month": "2025-13"}', '{"month": "2025-03"}'
    frame = spark.range(4, numPartitions=2).select(
        functions.when(functions.col("id") % 2 == 0, functions.lit(bad)).otherwise(functions.lit(good)).alias("bundle"))
    rows = decide(frame).collect()
    assert [(row["bundle_id"], row["status"]) for row in rows] == [
        ("#p0.1", "error"), ("#p0.2", "decided"), ("#p1.1", "error"), ("#p1.2", "decided")]
    assert [json.loads(row["error"])[0]["bundle"] for row in rows if row["status"] == "error"] == ["#p0.1", "#p1.1"]
