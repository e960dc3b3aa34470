"""`batch -o OUT.parquet` holds a small window of rows, not a row group's worth of parsed lines.

The writer parsed every line of a row group (2,048 rows) into Python objects before any became
Arrow, about seven times the line's JSON: 887 MB peak RSS for 5,000 records with `--trace full`,
against 157 MB for JSON Lines. Each 64 lines become an Arrow batch now, and a row group also ends
at BYTES_PER_GROUP of the lines' JSON. The bounds are asserted here by what the writer is handed
and writes (memory itself is not measured: no test here times or weighs a run), and the rows
written are the ones JSON Lines has, in row groups that are the same for any `--jobs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from click.testing import CliRunner

import carepolicy.arrow_lines
import carepolicy.parquet
from carepolicy.arrow import decision_json_line, lines_table
from carepolicy.parquet import lines_path
from tests.test_batch import write_jsonl

HERE = Path(__file__).resolve().parent
SMOKE = ("--policies", str(HERE / "fixtures" / "policies"))
RECORDS = 300  # more than 2 workers × 64: `--jobs 2` starts its workers


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("memory") / "in.jsonl", RECORDS, seed=9)


def _batch(source: Path, out: Path, *args: str) -> None:
    result = CliRunner().invoke(cli, ["batch", str(source), *SMOKE, "-o", str(out), *args], catch_exceptions=False)
    assert result.exit_code == ExitCode.OK, result.stderr


def _watch(monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], list[int]]:
    """The rows of each batch the writer parses at once, and of each row group it writes."""
    parsed: list[int] = []
    groups: list[int] = []
    real_batch, real_write = carepolicy.arrow_lines.decisions_batch, pq.ParquetWriter.write_batch

    def counted_batch(rows: list[dict[str, Any]], *args: Any) -> Any:
        parsed.append(len(rows))
        return real_batch(rows, *args)

    def counted_write(writer: pq.ParquetWriter, batch: pa.RecordBatch, *args: Any, **kwargs: Any) -> None:
        groups.append(batch.num_rows)
        real_write(writer, batch, *args, **kwargs)

    monkeypatch.setattr(carepolicy.arrow_lines, "decisions_batch", counted_batch)  # (arrow_lines.rows_of's)
    monkeypatch.setattr(pq.ParquetWriter, "write_batch", counted_write)
    return parsed, groups


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_no_more_than_a_batch_of_lines_is_held_parsed(source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      jobs: str) -> None:
    """300 records were 300 parsed rows held until the one row group was written; now the writer
    never holds more than ROWS_PER_BATCH (64) parsed rows, and the rows go out as one row group."""
    parsed, groups = _watch(monkeypatch)
    _batch(source, tmp_path / "out.parquet", "--jobs", jobs)
    assert max(parsed) <= 64  # ROWS_PER_BATCH
    assert sum(parsed) == RECORDS
    assert groups == [RECORDS]  # under both bounds: one row group, as before
    assert pq.ParquetFile(tmp_path / "out.parquet").metadata.num_row_groups == 1


def test_a_row_group_ends_at_its_bytes_the_same_for_any_jobs(source: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows of large decisions (`--trace full`) end a row group before 2,048 of them: at
    BYTES_PER_GROUP of their JSON, counted every 64 rows. The groups hang on the rows alone, not on
    how the workers' chunks arrived, so `--jobs 1` and `--jobs 2` write the same file, and the rows
    are those of one large group (and of JSON Lines). The billable lines keep their own groups, by
    ROWS_PER_GROUP decisions: the same file as before when that is 2,048."""
    _batch(source, tmp_path / "whole.parquet", "--trace", "full")
    _batch(source, tmp_path / "out.jsonl", "--trace", "full")
    monkeypatch.setattr(carepolicy.parquet, "BYTES_PER_GROUP", 1)  # every batch of 64 rows ends its group
    parsed, groups = _watch(monkeypatch)
    for jobs in ("1", "2"):
        _batch(source, tmp_path / f"jobs{jobs}.parquet", "--jobs", jobs, "--trace", "full")
    assert groups == [64, 64, 64, 64, 44] * 2
    assert max(parsed) <= 64
    one, two = (tmp_path / "jobs1.parquet").read_bytes(), (tmp_path / "jobs2.parquet").read_bytes()
    assert one == two
    assert _groups(tmp_path / "jobs1.parquet") == [(0, 63), (64, 127), (128, 191), (192, 255), (256, 299)]
    lines = (tmp_path / "jobs1.lines.parquet").read_bytes()
    assert lines == (tmp_path / "jobs2.lines.parquet").read_bytes() == (tmp_path / "whole.lines.parquet").read_bytes()
    whole = pq.read_table(tmp_path / "whole.parquet")
    assert pq.read_table(tmp_path / "jobs1.parquet").equals(whole)
    expected = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert [decision_json_line(row) for row in whole.to_pylist()] == expected


def test_the_billable_lines_are_grouped_by_decisions_not_by_the_decisions_groups(
        source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The lines file's row groups hold the lines of ROWS_PER_GROUP decisions each (128 here), cut
    by record, whatever groups the decisions were written in (64 rows each here)."""
    monkeypatch.setattr(carepolicy.parquet, "BYTES_PER_GROUP", 1)
    monkeypatch.setattr(carepolicy.parquet, "ROWS_PER_GROUP", 128)
    _batch(source, tmp_path / "out.parquet", "--jobs", "2")
    assert _groups(tmp_path / "out.parquet") == [(0, 63), (64, 127), (128, 191), (192, 255), (256, 299)]
    lines = _groups(lines_path(tmp_path / "out.parquet"))
    assert [(first // 128, last // 128) for first, last in lines] == [(0, 0), (1, 1), (2, 2)]
    assert pq.read_table(lines_path(tmp_path / "out.parquet")).equals(
        lines_table(pq.read_table(tmp_path / "out.parquet")))


def _groups(path: Path) -> list[tuple[int, int]]:
    """The first and last `record` of each row group of a file."""
    file = pq.ParquetFile(path)
    spans = []
    for group in range(file.num_row_groups):
        records = file.read_row_group(group, columns=["record"]).column("record").to_pylist()
        spans.append((records[0], records[-1]))
    return spans
