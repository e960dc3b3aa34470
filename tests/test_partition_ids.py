"""Spark's names for bundles without an `id` (carepolicy/partition_ids.py), without Spark: each
partition's rows were counted from 1, so two partitions' first bundles were both `#1`."""

from __future__ import annotations

import json

import pyarrow as pa
from carepolicy.engine import Bundle, BundleError

from carepolicy.arrow import decided_batches
from carepolicy.arrow_bundles import bundles_from_batches
from carepolicy.evaluator import load
from carepolicy.partition_ids import partition_named

_BAD = '{"month": "2025-13"}'  # no id: its error record is named by its row
_GOOD = '{"month": "2025-03"}'


def _ids(batch: pa.RecordBatch, partition: int, start: int = 0) -> list[tuple[str, str]]:
    named = partition_named(partition, "bundle")
    rows = [row for out in decided_batches(load(), [batch], column=None, source="<spark>", noted=False, named=named)
            for row in out.to_pylist()]
    return [(row["bundle_id"], row["status"]) for row in rows]


def test_two_partitions_name_their_rows_apart() -> None:
    batch = pa.record_batch({"bundle": [_BAD, _GOOD]})
    assert _ids(batch, 0) == [("#p0.1", "error"), ("#p0.2", "decided")]
    assert _ids(batch, 3) == [("#p3.1", "error"), ("#p3.2", "decided")]


def test_the_error_records_diagnostics_name_the_new_id() -> None:
    named = partition_named(2, "bundle")
    batch = pa.record_batch({"bundle": [_BAD]})
    rows = [row for out in decided_batches(load(), [batch], column=None, source="<spark>", noted=False, named=named)
            for row in out.to_pylist()]
    assert rows[0]["bundle_id"] == "#p2.1"
    assert [problem["bundle"] for problem in json.loads(rows[0]["error"])] == ["#p2.1"]


def test_an_id_the_bundle_gives_is_kept_even_when_it_reads_as_a_position() -> None:
    """`#1` given by the bundle at row 1 is its own id, decided or not; so is any other id."""
    batch = pa.record_batch({"bundle": ['{"id": "#1", "month": "2025-13"}', '{"id": "#2", "month": "2025-03"}',
                                        '{"id": "a", "month": "2025-13"}']})
    assert _ids(batch, 1) == [("#1", "error"), ("#2", "decided"), ("a", "error")]
    escaped = pa.record_batch({"bundle": ['{"id": "\\u00231", "month": "2025-13"}']})  # `#1`, spelt with an escape
    assert _ids(escaped, 1) == [("#1", "error")]
    columns = pa.record_batch({"id": ["#1", None], "month": ["2025-13", "2025-13"]})
    named = partition_named(1, "bundle")
    items = [named(item, columns, row) for row, item in enumerate(_items(columns))]
    assert [item.id for item in items] == ["#1", "#p1.2"]
    assert all(isinstance(item, BundleError) for item in items)


def test_without_a_partition_the_names_are_as_before() -> None:
    rows = [row for out in decided_batches(load(), [pa.record_batch({"bundle": [_BAD, _GOOD]})], column=None,
                                           source="<spark>", noted=False) for row in out.to_pylist()]
    assert [row["bundle_id"] for row in rows] == ["#1", "#2"]


def _items(batch: pa.RecordBatch) -> list[Bundle | BundleError]:
    return list(bundles_from_batches([batch], source="<spark>"))
