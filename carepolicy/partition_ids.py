"""Spark's names for bundles without an `id`: `#p<partition>.<row>`, unique in the DataFrame.

A bundle without an `id` is named by its position, `#n` (n = its row + 1), as in a file. Spark's
`decide` reads each partition on its own and counts rows within it, so two such bundles in two
partitions were both `#1`: their decisions or error records could not be told apart, nor joined
back. In Spark each such name is the partition's index and the row in it, `#p3.1` for the first
row of partition 3: unique in one `decide`, and the same in each run of the same plan over the same
input (the partition index is Spark's, so a `repartition` without columns may deal rows otherwise).

Only a name the reader made is changed, never an `id` the bundle gives, and the reader says which
is which: a decided bundle's data holds its `id` or not, an error record has `id_given`. (Text
cannot tell them apart: a bundle may give itself the id `#3`.)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from carepolicy.engine import Bundle, BundleError

Named = Callable[[Bundle | BundleError], Bundle | BundleError]


def partition_id(partition: int, index: int) -> str:
    """The name of the bundle without an id at row `index` (from 0) of `partition`."""
    return f"#p{partition}.{index + 1}"


def partition_named(partition: int) -> Named:
    """What renames a bundle or error record of `partition` when its name was made by the reader."""

    def named(item: Bundle | BundleError) -> Bundle | BundleError:
        if isinstance(item, Bundle):
            return item if "id" in item.data else dataclasses.replace(item, id=partition_id(partition, item.index))
        if item.id_given:
            return item
        own, new = item.id, partition_id(partition, item.index)
        diagnostics = tuple(dataclasses.replace(d, bundle=new) if d.bundle == own else d for d in item.diagnostics)
        return dataclasses.replace(item, id=new, diagnostics=diagnostics)

    return named
