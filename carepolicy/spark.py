"""Decisions for a Spark DataFrame of bundles: `decide(df)` (needs the `spark` extra and Java 17+).

    from carepolicy.spark import decide
    decisions = decide(spark.read.parquet("s3://claims/bundles/"), switches={...})
    decisions.write.parquet("s3://claims/decisions/")

The engine runs in the executors' Python workers through `DataFrame.mapInArrow`, batch by batch,
with `carepolicy.arrow.evaluate_arrow_batches`'s own loop; the result has the DECISIONS schema
(docs/reference/arrow-schema.md). Only DataFrame methods are used (no SparkContext, RDD or
broadcast), so the same call works on Spark Connect (Databricks shared clusters, `sc://` remotes).

The policy set is loaded once per executor process, not per task: a process-level cache keyed by
the settings, which Spark's reused Python workers keep between tasks and jobs. The driver loads it
first, to report policy errors before any task runs, and passes along its hash and the fee
schedule's digest; a worker whose cached evaluator is not that (files changed since its last job)
loads them again, and one that still loads different files (a policies folder or fee schedule
that differs between machines) fails its task with both named rather than deciding with other rules.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator, Mapping
from os import PathLike, fspath
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from pyspark import TaskContext
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DecimalType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
)

from .arrow import DECISIONS, decided_batches, missing_column
from .arrow_bundles import BUNDLE_COLUMN, UnreadColumnsWarning, unread_columns_note
from .evaluator import Evaluator, load
from .partition_ids import partition_named

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

SPARK_SOURCE = "<spark>"  # the `source` of a row's diagnostics
_Settings = tuple[str | None, tuple[tuple[str, str], ...], str | None, bool]
_LOADED: dict[_Settings, Evaluator] = {}
_LOADING = threading.Lock()


def spark_type(arrow_type: pa.DataType) -> DataType:
    """The Spark type of an Arrow type of the DECISIONS schema."""
    if pa.types.is_string(arrow_type):
        return StringType()
    if pa.types.is_int64(arrow_type):
        return LongType()
    if pa.types.is_int32(arrow_type):
        return IntegerType()
    if pa.types.is_boolean(arrow_type):
        return BooleanType()
    if pa.types.is_decimal(arrow_type):
        return DecimalType(arrow_type.precision, arrow_type.scale)
    if pa.types.is_map(arrow_type):
        return MapType(spark_type(arrow_type.key_type), spark_type(arrow_type.item_type))
    if pa.types.is_list(arrow_type):
        return ArrayType(spark_type(arrow_type.value_type))
    if pa.types.is_struct(arrow_type):
        return StructType([StructField(f.name, spark_type(f.type)) for f in arrow_type])
    raise TypeError(f"no Spark type for Arrow type {arrow_type}")


DECISIONS_SPARK = StructType([StructField(f.name, spark_type(f.type)) for f in DECISIONS])


def executor_evaluator(settings: _Settings, expected: str) -> Evaluator:
    """This process's evaluator for `settings`, loaded on first use (the process-level cache).

    `expected` is the driver's `identity` of what decides. A cached evaluator that is not it was
    loaded by an earlier job from files that have changed since (a notebook's next `decide` after
    the fee schedule or the policies were edited): the files are loaded again. Only an evaluator
    just loaded that is still not the driver's (a machine whose files differ) fails the task."""
    evaluator = _LOADED.get(settings)
    if evaluator is None or identity(evaluator) != expected:
        with _LOADING:
            evaluator = _LOADED.get(settings)
            if evaluator is None or identity(evaluator) != expected:
                policies, switches, fee_schedule, trace = settings
                evaluator = load(policies, switches=dict(switches), fee_schedule=fee_schedule, trace=trace)
                _LOADED[settings] = evaluator
    if identity(evaluator) != expected:
        raise RuntimeError(f"this executor loaded {identity(evaluator)} from `{settings[0] or 'the shipped policies'}`"
                           f"{f' and `{settings[2]}`' if settings[2] else ''}, the driver {expected}: "
                           "give every machine the same policies folder and fee schedule")
    return evaluator


def identity(evaluator: Evaluator) -> str:
    """What decides, in a few words: the policy set's hash, and the fee schedule's digest (the
    policy set's hash does not cover the fee schedule, which prices the lines)."""
    fees = evaluator.setup.fee_schedule
    name = f"policy set {evaluator.policy_set_hash}"
    return name if fees is None else f"{name} with fee schedule {fees.digest}"


def decide(
    df: DataFrame,
    *,
    policies: str | PathLike[str] | None = None,
    switches: Mapping[str, str] | None = None,
    fee_schedule: str | PathLike[str] | None = None,
    trace: bool = True,
    column: str | None = None,
) -> DataFrame:
    """A DataFrame of decisions (the DECISIONS schema), one row per row of `df`, in each partition's order.

    `df` holds one bundle per row: as JSON text in `column` (default `bundle`), or, when it has no
    such column, as the bundle's own columns; a `column` named that `df` lacks raises ValueError
    here. `policies` and `fee_schedule` are paths every executor can read (the shipped policies
    need none). A bundle without an id is named `#p<partition>.<row>` (`#p3.1`: partition 3, its
    first row), unique in the result; `record` counts rows within a partition. Give bundles an `id`
    to join decisions back to them.
    Raises `PolicyError` on the driver, before any task runs, when the policies or settings are bad.
    """
    names = df.columns
    if column is not None:
        missing_column(column, names, "the DataFrame")
    note = unread_columns_note(names, "the DataFrame", column or BUNDLE_COLUMN)
    if note is not None:  # on the driver, where it is seen (the executors do not warn again)
        warnings.warn(note, UnreadColumnsWarning, stacklevel=2)
    # paths as their text: the key of the executors' cache, the same for `Path(p)` and `p`
    settings: _Settings = (_text(policies), tuple(sorted((switches or {}).items())), _text(fee_schedule), trace)
    expected = _driver_hash(settings)  # policy errors surface here, on the driver

    def decide_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        evaluator = executor_evaluator(settings, expected)
        task = TaskContext.get()  # (None only outside a Spark task)
        named = None if task is None else partition_named(task.partitionId())
        yield from decided_batches(evaluator, batches, column=column, source=SPARK_SOURCE, noted=False, named=named)

    return df.mapInArrow(decide_partition, DECISIONS_SPARK)


def _text(path: str | PathLike[str] | None) -> str | None:
    return fspath(path) if isinstance(path, PathLike) else path


def _driver_hash(settings: _Settings) -> str:
    """The `identity` of the files as they are now, loaded on the driver (their errors raised here)."""
    policies, switches, fee_schedule, trace = settings
    evaluator = load(policies, switches=dict(switches), fee_schedule=fee_schedule, trace=trace)
    _LOADED[settings] = evaluator  # a local-mode worker in this process reuses it (not an earlier job's)
    return identity(evaluator)


def decision_rows_json(rows: list[Any]) -> list[str]:
    """The CLI's JSON line of each collected row (`df.collect()`), for checks and exports."""
    from .arrow import decision_json_line

    return [decision_json_line(row.asDict(recursive=True)) for row in rows]
