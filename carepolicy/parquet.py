"""Parquet files for `batch`: bundles in, decisions out (needs the `arrow` extra: pip install 'carepolicy[arrow]').

Reading: a `.parquet` input holds one bundle per row, as a JSON column `bundle` or as the bundle's
own columns (see arrow.py). Writing: `-o OUT.parquet` writes the DECISIONS table (one row per input
record, docs/reference/arrow-schema.md) to OUT.parquet and the billable lines, one row each, to
OUT.lines.parquet. Both are written in row groups as records arrive, so memory stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from carepolicy.cli.common import Record
from carepolicy.engine import Bundle, BundleError, Diagnostic, FactError

from .arrow import DECISIONS, bundles_from_batches, lines_table, record_row, records_to_batch

ROWS_PER_GROUP = 2048  # rows read and written at a time


def is_parquet(path: str) -> bool:
    return path.lower().endswith(".parquet")


def lines_path(path: str | Path) -> Path:
    """OUT.parquet -> OUT.lines.parquet, beside it."""
    path = Path(path)
    return path.with_name(path.name[: -len(".parquet")] + ".lines.parquet")


def read_parquet_items(path: str) -> Iterator[Bundle | BundleError]:
    """Every row of a Parquet file as a bundle or the error that stands for it; raises FactError if unreadable."""
    try:
        file = pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as error:
        reason = error.strerror.lower() if isinstance(error, OSError) and error.strerror else str(error)
        raise FactError([Diagnostic("facts/io", f"cannot read `{path}`: {reason}", file=path)]) from None
    if file.metadata.num_rows == 0:
        raise FactError([Diagnostic("facts/empty", f"`{path}` holds no fact bundles", file=path)])
    return bundles_from_batches(file.iter_batches(batch_size=ROWS_PER_GROUP), source=path)


class ParquetRecordWriter:
    """Writes records (decisions and error records) to OUT.parquet and OUT.lines.parquet."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._rows: list[dict[str, Any]] = []
        self._count = 0
        self._decisions = pq.ParquetWriter(path, DECISIONS)
        self._lines: pq.ParquetWriter | None = None

    def write(self, record: Record, source: str) -> None:
        self._rows.append(record_row(record, self._count, source))
        self._count += 1
        if len(self._rows) >= ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        batch = records_to_batch(self._rows)
        self._rows = []
        self._decisions.write_batch(batch)
        lines = lines_table(batch)
        if self._lines is None:
            self._lines = pq.ParquetWriter(lines_path(self.path), lines.schema)
        self._lines.write_table(lines)

    def close(self) -> None:
        self._flush()
        self._decisions.close()
        if self._lines is None:  # no records at all: still an (empty) lines file with its schema
            self._lines = pq.ParquetWriter(lines_path(self.path), lines_table(records_to_batch([])).schema)
        self._lines.close()

    def __enter__(self) -> ParquetRecordWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
