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
    named = partition_named(partition)
    rows = [row for out in decided_batches(load(), [batch], column=None, source="<spark>", noted=False, named=named)
            for row in out.to_pylist()]
    return [(row["bundle_id"], row["status"]) for row in rows]


def test_two_partitions_name_their_rows_apart() -> None:
    batch = pa.record_batch({"bundle": [_BAD, _GOOD]})
    assert _ids(batch, 0) == [("#p0.1", "error"), ("#p0.2", "decided")]
    assert _ids(batch, 3) == [("#p3.1", "error"), ("#p3.2", "decided")]


def test_the_error_records_diagnostics_name_the_new_id() -> None:
    named = partition_named(2)
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
    named = partition_named(1)
    items = [named(item) for item in _items(columns)]
    assert [item.id for item in items] == ["#1", "#p1.2"]
    assert all(isinstance(item, BundleError) for item in items)


def test_a_row_that_cannot_be_read_is_named_by_its_partition_whatever_its_text_holds() -> None:
    """Whether a name was the reader's was guessed from the row's text: an unreadable row whose
    text held `"#1"` (or any `\\u` escape) kept `#1`, the name of partition 0's first row too. The
    reader now says it (`BundleError.id_given`): such a row cannot have given itself an id."""
    batch = pa.record_batch({"bundle": ['{"id": "#1", "month": ', '{"note": "\\u0041", "month": 3', _BAD]})
    assert _ids(batch, 4) == [("#p4.1", "error"), ("#p4.2", "error"), ("#p4.3", "error")]
    items = _items(batch)
    assert [(item.id, getattr(item, "id_given", None)) for item in items] == [("#1", False), ("#2", False),
                                                                              ("#3", False)]


def test_each_reader_says_when_an_error_records_id_is_the_bundles_own() -> None:
    """The error records whose id was read from the bundle, by every reader that makes one."""
    from carepolicy.engine.facts.reader import load_fact_text

    def given(text: str, fmt: str) -> list[tuple[str, bool]]:
        records = load_fact_text(text, name=f"t.{fmt}", fmt=fmt)
        assert all(isinstance(record, BundleError) for record in records)
        return [(record.id, record.id_given) for record in records if isinstance(record, BundleError)]

    lines = '{"id": "a", "month": "2025-13"}\n{"month": "2025-13"}\n{"id": "b", "id": "c", "month": "2025-03"}\n'
    assert given(lines, "jsonl") == [("a", True), ("#2", False), ("c", True)]  # (a key set twice: the last id)
    documents = "id: a\nmonth: 2025-13\n---\nmonth: 2025-13\n---\nid: b\nmonth: [2025-03\n"
    assert given(documents, "yaml") == [("a", True), ("#2", False), ("b", True)]  # (the third cannot be parsed)


def test_without_a_partition_the_names_are_as_before() -> None:
    rows = [row for out in decided_batches(load(), [pa.record_batch({"bundle": [_BAD, _GOOD]})], column=None,
                                           source="<spark>", noted=False) for row in out.to_pylist()]
    assert [row["bundle_id"] for row in rows] == ["#1", "#2"]


def _items(batch: pa.RecordBatch) -> list[Bundle | BundleError]:
    return list(bundles_from_batches([batch], source="<spark>"))
