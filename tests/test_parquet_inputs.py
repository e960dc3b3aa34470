"""Hostile Parquet inputs to `batch`, as a claim pipeline meets them: one output record per input
row whatever the columns hold, the same bytes with `--jobs 2`, and a way forward for a JSON file
named `.parquet` (its name decides its format, and `--input-format` does not change it)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from click.testing import CliRunner, Result

from tests.test_batch import write_jsonl

HERE = Path(__file__).resolve().parent
SMOKE = ("--policies", str(HERE / "fixtures" / "policies"))


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _hostile_tables(good: list[str]) -> dict[str, pa.Table]:
    """Tables of 3 rows each whose columns are of the wrong type, missing, null, nested or huge."""
    three = good[:3]
    month = pa.array(["2025-03"] * 3)
    return {
        "bundle-as-integers": pa.table({"bundle": pa.array([1, 2, 3])}),
        "bundle-all-null": pa.table({"bundle": pa.array([None] * 3, pa.string())}),
        "bundle-as-structs": pa.table({"bundle": pa.array([{"a": 1}] * 3)}),
        "bundle-as-dates": pa.table({"bundle": pa.array([datetime.date(2025, 3, 1)] * 3)}),
        "bundle-huge-and-good": pa.table({"bundle": ["x" * 2_000_000, *three[1:]]}),
        "month-as-integers": pa.table({"month": pa.array([202503] * 3), "id": ["a", "b", "c"]}),
        "no-month": pa.table({"id": ["a", "b", "c"]}),
        "month-as-timestamps": pa.table({"month": pa.array([datetime.datetime(2025, 3, 1)] * 3)}),
        "beneficiary-as-a-map": pa.table({"month": month, "beneficiary": pa.array(
            [[("part_b", "true")]] * 3, pa.map_(pa.string(), pa.string()))}),
        "time-as-nested-lists": pa.table({"month": month, "time": pa.array([[[1]]] * 3)}),
        "struct-fields-named-twice": pa.table({"month": month, "beneficiary": pa.StructArray.from_arrays(
            [pa.array([True] * 3), pa.array([False] * 3)], names=["part_b", "part_b"])}),
        # 1.1 reads as its float32's shortest text (1.1, decided); 1.125, three decimal places, is refused
        "a-float32-amount": pa.table({"month": month, "beneficiary": pa.array(
            [{"deductible_remaining": amount} for amount in (1.1, 1.125, 1.1)],
            pa.struct([("deductible_remaining", pa.float32())]))}),
        "an-id-of-2-MB": pa.table({"month": month, "id": ["y" * 2_000_000, "b", "c"]}),
    }


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = tmp_path_factory.mktemp("hostile")
    good = write_jsonl(made / "good.jsonl", 160, seed=9).read_text(encoding="utf-8").splitlines()
    for name, table in _hostile_tables(good).items():
        pq.write_table(table, made / f"{name}.parquet")
    # the good rows and the hostile ones interleaved, in row groups of 7: enough rows for two workers
    cells: list[str | None] = [cell if i % 9 else None for i, cell in enumerate(good)]
    cells[5] = good[5][: len(good[5]) // 2]
    pq.write_table(pa.table({"bundle": cells}), made / "mixed.parquet", row_group_size=7)
    pq.write_table(pa.table({"bundle": pa.array([], pa.string())}), made / "no-rows.parquet")
    return made


@pytest.mark.parametrize("name", sorted(_hostile_tables([""] * 3)))
def test_each_hostile_row_is_one_error_record_or_decision(folder: Path, tmp_path: Path, name: str) -> None:
    source = folder / f"{name}.parquet"
    out = tmp_path / "out.jsonl"
    result = run("batch", str(source), *SMOKE, "--jobs", "1", "-o", str(out))
    assert result.exit_code == ExitCode.BAD_INPUT, result.stderr  # each table holds at least one bad row
    assert "Traceback" not in result.stderr
    records = _records(out)
    assert len(records) == pq.ParquetFile(source).metadata.num_rows
    for record in records:
        if "error" in record:
            assert record["source"] == str(source)
            assert all(problem["code"].startswith("facts/") for problem in record["error"])


def test_jobs_two_writes_the_same_bytes_over_hostile_rows(folder: Path, tmp_path: Path) -> None:
    for suffix in ("jsonl", "parquet"):
        made = []
        for jobs in ("1", "2"):
            out = tmp_path / f"out-{jobs}.{suffix}"
            result = run("batch", str(folder / "mixed.parquet"), *SMOKE, "--jobs", jobs, "-o", str(out))
            assert result.exit_code == ExitCode.BAD_INPUT, result.stderr
            assert "160 records: 141 decisions, 19 error records" in result.stderr
            made.append(out.read_bytes())
        assert made[0] == made[1]


def test_a_file_of_no_rows_writes_no_line_and_is_said(folder: Path, tmp_path: Path) -> None:
    """It holds no record, so no line (it was an error record, counted as a record); stderr says so."""
    out = tmp_path / "out.jsonl"
    result = run("batch", str(folder / "no-rows.parquet"), *SMOKE, "-o", str(out))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert _records(out) == []
    assert "error[facts/empty]" in result.stderr
    assert "(1 input file holds no records: no line is written for it)" in result.stderr


@pytest.mark.parametrize("start", [b"", b"\xef\xbb\xbf", b"\n  "], ids=["plain", "byte-order-mark", "blank-first"])
def test_json_lines_named_parquet_says_how_to_read_them(folder: Path, tmp_path: Path, start: bytes) -> None:
    named = tmp_path / "export.parquet"
    named.write_bytes(start + (folder / "good.jsonl").read_bytes())
    out = tmp_path / "out.jsonl"
    result = run("batch", str(named), *SMOKE, "--input-format", "jsonl", "-o", str(out))
    assert result.exit_code == ExitCode.BAD_INPUT
    (record,) = _records(out)
    (problem,) = record["error"]
    assert problem["code"] == "facts/io"
    assert problem["help"] == ("it holds JSON text, not Parquet: name it `.jsonl` (one bundle a line) or `.json` "
                               "to read it as such")


CUT_SHORT_HELP = ("it starts as a Parquet file, but its end, where Parquet keeps the index of its rows, cannot be "
                  "read: the file was cut short (a copy, upload or write that did not finish) or damaged there, and "
                  "none of its rows can be read without it: copy or write it again from its source")


def test_a_damaged_file_that_is_not_json_gets_no_such_advice(tmp_path: Path) -> None:
    """No JSON advice for a file that starts as Parquet: the help says its end cannot be read."""
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(b"PAR1" + b"\x00" * 40)
    out = tmp_path / "out.jsonl"
    assert run("batch", str(damaged), *SMOKE, "-o", str(out)).exit_code == ExitCode.BAD_INPUT
    (record,) = _records(out)
    assert record["error"][0]["help"] == CUT_SHORT_HELP


@pytest.mark.parametrize("kept", [0.5, 0.99])
def test_a_file_cut_short_is_one_error_record_that_says_so(folder: Path, tmp_path: Path, kept: float) -> None:
    """A Parquet file cut short (an interrupted copy) has lost its footer, and with it every row: its
    one error record said only Arrow's `Parquet magic bytes not found in footer. Either the file is
    corrupted or this is not a parquet file.`, with no way forward and no word that none of its rows
    was read. The help says so; the inputs after it are decided as ever."""
    data = (folder / "mixed.parquet").read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(data[:int(len(data) * kept)])
    for out in (tmp_path / "out.jsonl", tmp_path / "out.parquet"):
        result = run("batch", str(cut), str(folder / "good.jsonl"), *SMOKE, "-o", str(out))
        assert result.exit_code == ExitCode.BAD_INPUT
        assert f"help: {CUT_SHORT_HELP}" in result.stderr
    first, *rest = _records(tmp_path / "out.jsonl")
    [problem] = first["error"]
    assert (first["bundle_id"], problem["code"], problem["help"]) == (None, "facts/io", CUT_SHORT_HELP)
    assert len(rest) == 160
    assert all("error" not in record for record in rest)


BAD_FOOTER_HELP = ("it starts and ends as a Parquet file, but the index of its rows that Parquet keeps at its end "
                   "(the footer) cannot be read: the file is damaged there or a part of it is missing (a copy, upload "
                   "or write that went wrong), and none of its rows can be read without it: copy or write it again "
                   "from its source")


def _damaged_footer(data: bytes, how: str) -> bytes:
    """`data` (a whole Parquet file) with its footer damaged `how`, its PAR1 at both ends kept."""
    size = int.from_bytes(data[-8:-4], "little")  # the footer's length, before the closing PAR1
    start = len(data) - 8 - size
    if how == "garbled":
        return data[:start] + b"\xff" * 20 + data[start + 20:]
    if how == "zeroed":
        return data[:start] + b"\x00" * size + data[-8:]
    return data[:10] + data[-8:]  # "middle lost": its footer's length now past the start of the file


@pytest.mark.parametrize("how", ["garbled", "zeroed", "middle lost"])
def test_a_file_with_a_damaged_footer_is_one_error_record_that_says_so(folder: Path, tmp_path: Path, how: str) -> None:
    """A file that starts and ends with PAR1 but whose footer cannot be read said only Arrow's
    `Couldn't deserialize thrift: ...` (or `Parquet file size is 18 bytes, smaller than the size
    reported by footer's (382bytes)`), with no help, where a file cut short has one."""
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(_damaged_footer((folder / "mixed.parquet").read_bytes(), how))
    out = tmp_path / "out.jsonl"
    result = run("batch", str(damaged), str(folder / "good.jsonl"), *SMOKE, "-o", str(out))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"help: {BAD_FOOTER_HELP}" in result.stderr
    first, *rest = _records(out)
    [problem] = first["error"]
    assert (first["bundle_id"], problem["code"], problem["help"]) == (None, "facts/io", BAD_FOOTER_HELP)
    assert problem["message"].startswith("cannot read `")
    assert len(rest) == 160


def test_a_folder_where_the_lines_file_goes_is_refused_before_anything_is_read(folder: Path, tmp_path: Path) -> None:
    """Spark writes "parquet" folders: one named OUT.lines.parquet was found only at the end, after
    OUT.parquet was moved into place, and the message named the wrong files ("cannot move
    `OUT.parquet.partial` to `OUT.parquet`: is a directory; all records are in OUT.parquet.partial",
    which no longer existed); the lines file stayed `.partial`."""
    (tmp_path / "out.lines.parquet").mkdir()
    out = tmp_path / "out.parquet"
    result = run("batch", str(folder / "good.jsonl"), *SMOKE, "-o", str(out))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith(f"{out}: error[usage/output]: cannot write `{tmp_path / 'out.lines.parquet'}`: "
                                    "it is a folder\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out.lines.parquet"]


def test_a_lines_file_that_cannot_be_moved_into_place_leaves_the_earlier_pair_as_it_was(
        folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The decisions were moved into place first and the billable lines after them: when the second
    move failed, OUT.parquet was this run's and OUT.lines.parquet still the earlier run's, a pair that
    does not belong together (and a crash between the two moves left the same). The lines are moved
    first now, so a new OUT.parquet always has its own lines beside it; when they cannot be moved,
    nothing is, and the earlier run's pair is left as it was."""
    import os

    out, lines = tmp_path / "out.parquet", tmp_path / "out.lines.parquet"
    assert run("batch", str(folder / "mixed.parquet"), *SMOKE, "-o", str(out)).exit_code == ExitCode.BAD_INPUT
    earlier = out.read_bytes(), lines.read_bytes()
    replace = os.replace

    def refuse_the_lines(source: str, target: str) -> None:
        if ".lines." in str(source):
            raise PermissionError(13, "Permission denied")
        replace(source, target)

    monkeypatch.setattr(os, "replace", refuse_the_lines)
    result = run("batch", str(folder / "good.jsonl"), *SMOKE, "-o", str(out))
    assert result.exit_code == ExitCode.BAD_INPUT
    partial, lines_partial = tmp_path / "out.parquet.partial", tmp_path / "out.lines.parquet.partial"
    assert result.stderr == (
        f"{out}: error[usage/output]: cannot move the finished billable lines `{lines_partial}` to `{lines}`: "
        "permission denied\n"
        f"  help: nothing was moved: the decisions are in `{partial}`, the billable lines in `{lines_partial}`; "
        f"move the lines to `{lines}`, then the decisions to `{out}`\n"
    )
    assert (out.read_bytes(), lines.read_bytes()) == earlier
    assert pq.read_table(partial).num_rows == 160
    assert pq.read_table(lines_partial).num_rows > 0


def test_the_lines_file_is_in_place_before_the_decisions_are(folder: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """OUT.parquet is what a pipeline waits for: its billable lines are beside it when it appears."""
    import os

    moved: list[str] = []
    replace = os.replace

    def noted(source: str, target: str) -> None:
        moved.append(Path(target).name)
        replace(source, target)

    monkeypatch.setattr(os, "replace", noted)
    assert run("batch", str(folder / "good.jsonl"), *SMOKE, "-o", str(tmp_path / "out.parquet")).exit_code == 0
    assert moved == ["out.lines.parquet", "out.parquet"]


def test_a_whole_file_refused_for_its_schema_gets_no_cut_short_help(tmp_path: Path) -> None:
    """A file that ends as Parquet (its footer there) but whose schema Arrow refuses (nested past
    100 levels) is not cut short: the help must not say so."""
    kind: pa.DataType = pa.int64()
    value: object = 1
    for _ in range(120):
        kind, value = pa.list_(kind), [value]
    deep = tmp_path / "deep.parquet"
    pq.write_table(pa.table({"month": pa.array([value], kind)}), deep)
    out = tmp_path / "out.jsonl"
    result = run("batch", str(deep), *SMOKE, "-o", str(out))
    assert result.exit_code == ExitCode.BAD_INPUT
    [record] = _records(out)
    [problem] = record["error"]
    assert "too deeply nested" in problem["message"]
    assert "help" not in problem


def test_a_missing_parquet_file_is_said_as_a_missing_json_lines_file_is(tmp_path: Path) -> None:
    # Arrow's own words were `failed to open local file '…'. detail: [errno 2] no such file or directory`
    out = tmp_path / "out.jsonl"
    missing = [str(tmp_path / "gone.parquet"), str(tmp_path / "gone.jsonl")]
    result = run("batch", *missing, *SMOKE, "-o", str(out))
    assert result.exit_code == ExitCode.BAD_INPUT
    said = [record["error"][0]["message"] for record in _records(out)]
    assert said == [f"cannot read `{name}`: no such file" for name in missing]
