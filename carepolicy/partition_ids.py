"""Spark's names for bundles without an `id`: `#p<partition>.<row>`, unique in the DataFrame.

A bundle without an `id` is named by its position, `#n` (n = its row + 1), as in a file. Spark's
`decide` reads each partition on its own and counts rows within it, so two such bundles in two
partitions were both `#1`: their decisions or error records could not be told apart, nor joined
back. In Spark each such name is the partition's index and the row in it, `#p3.1` for the first
row of partition 3: unique in one `decide`, and the same in each run of the same plan over the same
input (the partition index is Spark's, so a `repartition` without columns may deal rows otherwise).

Only a name the reader made is changed, never an `id` the bundle gives: a decided bundle's data
says whether it gave one; an error record's `#n` is kept when its row's input holds the same text
(the bundle may have named itself so), as an input that cannot be read cannot have named itself.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

import pyarrow as pa

from carepolicy.engine import Bundle, BundleError

Named = Callable[[Bundle | BundleError, pa.RecordBatch, int], Bundle | BundleError]


def partition_id(partition: int, index: int) -> str:
    """The name of the bundle without an id at row `index` (from 0) of `partition`."""
    return f"#p{partition}.{index + 1}"


def partition_named(partition: int, column: str) -> Named:
    """What renames a bundle or error record of `partition`, read from row `row` of `batch` (with
    JSON in `column`, or the bundle's own columns without it), when its `#n` was made by the reader."""

    def named(item: Bundle | BundleError, batch: pa.RecordBatch, row: int) -> Bundle | BundleError:
        own = f"#{item.index + 1}"
        if item.id != own:
            return item
        if isinstance(item, Bundle):
            return item if "id" in item.data else dataclasses.replace(item, id=partition_id(partition, item.index))
        if _may_give(batch, row, column, own):
            return item
        new = partition_id(partition, item.index)
        diagnostics = tuple(dataclasses.replace(d, bundle=new) if d.bundle == own else d for d in item.diagnostics)
        return dataclasses.replace(item, id=new, diagnostics=diagnostics)

    return named


def _may_give(batch: pa.RecordBatch, row: int, column: str, own: str) -> bool:
    """Whether the row's input may give the id `own` itself: its `id` column or field, or its JSON
    text holding `own` as a JSON string or any `\\u` escape (looked for as text: the JSON may not be
    readable); a row that cannot give it is named by its partition."""
    names = batch.schema.names
    try:
        if column not in names:
            return "id" in names and bool(batch.column("id")[row].as_py() == own)
        cell = batch.column(column).slice(row, 1)
        kind = cell.type.value_type if pa.types.is_dictionary(cell.type) else cell.type
        if pa.types.is_struct(kind):
            index = kind.get_field_index("id")
            return index >= 0 and bool(cell.cast(kind).flatten()[index][0].as_py() == own)
        value = cell[0].as_py()
    except Exception:  # (a cell Python cannot hold: its id, if any, is kept as read)
        return True
    text = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    if not isinstance(text, bytes):
        return False
    return json.dumps(own).encode() in text or b"\\u" in text  # (an escape may spell it: kept)
