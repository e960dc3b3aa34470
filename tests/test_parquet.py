"""Arrow and Parquet: `batch` reads and writes Parquet, and the decisions round-trip to the CLI's JSON Lines."""

from __future__ import annotations

import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from carepolicy.cli.main import cli
from click.testing import CliRunner

import carepolicy
from carepolicy.arrow import DECISIONS, LINE, decision_json_line, evaluate_arrow_batches, lines_table
from carepolicy.parquet import lines_path
from tests.pipeline_data import INVALID, as_read, dumps, jsonl, mixed_bundles

BUNDLES = mixed_bundles(80, seed=21)
ROOT = Path(__file__).resolve().parents[1]


def batch(*args: str) -> int:
    result = CliRunner().invoke(cli, ["batch", *args], catch_exceptions=False)
    return result.exit_code


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same bundles as JSON Lines and as Parquet (two row groups), each through `batch` both ways."""
    folder = tmp_path_factory.mktemp("parquet")
    (folder / "in.jsonl").write_text(jsonl(BUNDLES), encoding="utf-8")
    pq.write_table(pa.table({"bundle": [dumps(b) for b in BUNDLES]}), folder / "in.parquet", row_group_size=50)
    assert batch(str(folder / "in.jsonl"), "-o", str(folder / "jsonl.jsonl")) == 2  # the invalid bundles
    assert batch(str(folder / "in.parquet"), "-o", str(folder / "parquet.parquet")) == 2
    assert batch(str(folder / "in.parquet"), "-o", str(folder / "parquet.jsonl")) == 2
    return folder


def _same_source(text: str, folder: Path, name: str) -> str:
    return text.replace(json.dumps(str(folder / name)), '"IN"')


def test_parquet_out_round_trips_to_the_jsonl_output(runs: Path) -> None:
    expected = _same_source((runs / "jsonl.jsonl").read_text(encoding="utf-8"), runs, "in.jsonl").splitlines()
    table = pq.read_table(runs / "parquet.parquet")
    assert table.schema.equals(DECISIONS)
    rows = table.to_pylist()
    got = [_same_source(decision_json_line(row), runs, "in.parquet") for row in rows]
    assert got == expected
    assert [row["record"] for row in rows] == list(range(len(BUNDLES)))
    assert [row["status"] for row in rows].count("error") == len(INVALID)


def test_the_decision_columns_hold_the_decision(runs: Path) -> None:
    decided = [json.loads(line) for line in (runs / "jsonl.jsonl").read_text(encoding="utf-8").splitlines()]
    rows = pq.read_table(runs / "parquet.parquet").to_pylist()
    for obj, row in zip(decided, rows, strict=True):
        assert row["bundle_id"] == obj["bundle_id"]
        if "error" in obj:
            assert json.loads(row["error"]) == _same_errors(obj["error"], row["source"])
            continue
        assert row["total_allowed"] == (None if obj["totals"]["allowed"] is None else Decimal(obj["totals"]["allowed"]))
        assert [line["code"] for line in row["billable"]] == [line["code"] for line in obj["billable"]]
        assert [d["code"] for d in row["denied"]] == [d["code"] for d in obj["denied"]]
        assert json.loads(row["trace"]) == obj["trace"]


def _same_errors(errors: list[dict[str, object]], source: str) -> list[dict[str, object]]:
    return [{**e, "file": source} if "file" in e else e for e in errors]


def test_the_lines_file_has_one_row_per_billable_line(runs: Path) -> None:
    decided = [json.loads(line) for line in (runs / "jsonl.jsonl").read_text(encoding="utf-8").splitlines()]
    expected = [(i, line["code"], line["units"], line["allowed"]) for i, obj in enumerate(decided)
                for line in obj.get("billable", [])]
    lines = pq.read_table(lines_path(runs / "parquet.parquet"))
    assert lines.column_names == ["record", "bundle_id", "month", *LINE.names]
    got = [(r["record"], r["code"], r["units"], None if r["allowed"] is None else f"{r['allowed']:.2f}")
           for r in lines.to_pylist()]
    assert got == expected
    assert expected, "the generated batch bills nothing: the lines file was not exercised"


@pytest.mark.parametrize("name", ["OUT.PARQUET", "OUT.Parquet"])
def test_an_output_named_in_capitals_gets_its_lines_file_named_as_the_page_says(runs: Path, tmp_path: Path,
                                                                                 name: str) -> None:
    """`-o OUT.PARQUET` is Parquet (the suffix is read in any case), but its lines file was written
    as `OUT.PARQUET.lines`, a name no Parquet reader globs, not `OUT.lines.PARQUET` beside it."""
    assert batch(str(runs / "in.jsonl"), "-o", str(tmp_path / name)) == 2
    stem, suffix = name.split(".")
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([name, f"{stem}.lines.{suffix}"])
    expected = pq.read_table(lines_path(runs / "parquet.parquet"))
    assert pq.read_table(tmp_path / f"{stem}.lines.{suffix}").equals(expected)


def test_parquet_in_gives_the_jsonl_in_lines(runs: Path) -> None:
    from_jsonl = _same_source((runs / "jsonl.jsonl").read_text(encoding="utf-8"), runs, "in.jsonl")
    from_parquet = _same_source((runs / "parquet.jsonl").read_text(encoding="utf-8"), runs, "in.parquet")
    assert from_parquet == from_jsonl


@pytest.mark.parametrize("form", ["jsonl", "json", "yaml"])
def test_an_input_format_does_not_change_how_a_parquet_input_is_read(runs: Path, tmp_path: Path, form: str) -> None:
    """A `.parquet` input is read as Parquet whatever `--input-format` says (it names the text
    formats), as `evaluate` reads it. `batch --input-format jsonl` read the file's bytes as JSON
    Lines instead: an error record for every "line" of the binary file, no decision."""
    out = tmp_path / "out.jsonl"
    assert batch(str(runs / "in.parquet"), "--input-format", form, "-o", str(out)) == 2
    assert out.read_bytes() == (runs / "parquet.jsonl").read_bytes()


def test_bundle_columns_instead_of_json() -> None:
    """A table of the bundle's own columns decides as the JSON does (nulls are absent fields)."""
    valid = [b for b in as_read(BUNDLES[:30]) if b not in INVALID]
    simple = [b for b in valid if isinstance(b.get("consent", {}).get("service", []), list)][:6]  # one Arrow type
    rows_in = pa.array([json.loads(dumps(b), parse_float=float) for b in simple])  # one struct type for all rows
    table = pa.Table.from_struct_array(rows_in)
    evaluator = carepolicy.load()
    decided = evaluate_arrow_batches(evaluator, table.to_batches(max_chunksize=4))
    rows = pa.Table.from_batches(list(decided)).to_pylist()
    expected = [r.jsonl.decode().rstrip("\n") for r in evaluator.evaluate_many(simple)]
    got = [decision_json_line(row) for row in rows]
    assert [json.loads(g)["billable"] for g in got] == [json.loads(e)["billable"] for e in expected]
    assert [json.loads(g)["denied"] for g in got] == [json.loads(e)["denied"] for e in expected]
    assert [json.loads(g)["totals"] for g in got] == [json.loads(e)["totals"] for e in expected]


def test_bad_rows_and_files(tmp_path: Path) -> None:
    evaluator = carepolicy.load()
    rows = pa.Table.from_batches(list(evaluate_arrow_batches(
        evaluator, [pa.record_batch({"bundle": ['{"month": "2025-03"', None, "[1]"]})]))).to_pylist()
    assert [row["status"] for row in rows] == ["error"] * 3
    assert [json.loads(row["error"])[0]["code"] for row in rows] == ["facts/syntax", "facts/not-a-bundle",
                                                                    "facts/not-a-bundle"]
    assert [row["bundle_id"] for row in rows] == ["#1", "#2", "#3"]
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"not parquet at all")
    out = tmp_path / "out.jsonl"
    assert batch(str(garbage), "-o", str(out)) == 2
    (record,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert record["bundle_id"] is None
    assert record["error"][0]["code"] == "facts/io"


def test_the_schema_page_names_every_column() -> None:
    page = (ROOT / "docs" / "reference" / "arrow-schema.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_.]+)` \|", page, flags=re.MULTILINE))
    columns = set(DECISIONS.names) | {f"billable.{name}" for name in LINE.names} | {
        f"shares.{name}" for name in LINE.field("shares").type.names}
    assert columns <= documented, sorted(columns - documented)
    empty = lines_table(pa.RecordBatch.from_pylist([], schema=DECISIONS))
    assert empty.num_rows == 0


def _decided(cells: list[object], kind: pa.DataType | None = None) -> list[dict[str, object]]:
    """`evaluate_arrow_batches` over one batch of a `bundle` column holding `cells` (strings by default)."""
    batch = pa.record_batch({"bundle": pa.array(cells, kind or pa.string())})
    return pa.Table.from_batches(list(evaluate_arrow_batches(carepolicy.load(), [batch]))).to_pylist()


def _errors(rows: list[dict[str, object]]) -> list[tuple[str, str]]:
    return [
        (d["code"], d["message"]) for row in rows if row["status"] == "error" for d in json.loads(str(row["error"]))
    ]


def test_a_json_value_over_a_limit_is_its_rows_error_as_in_json_lines() -> None:
    """Nesting and digits that the standard library's JSON reader cannot take (a RecursionError, a
    ValueError) are the row's error record, worded as for a JSON line, and the other rows decide."""
    good = dumps(BUNDLES[0])
    rows = _decided(["[" * 5000 + "]" * 5000, '{"month":"2025-03","n":' + "9" * 5000 + "}", good])
    assert [row["status"] for row in rows] == ["error", "error", "decided"]
    assert _errors(rows) == [
        ("facts/limit", "column `bundle`, row 1: nested more than 16 levels deep"),
        ("facts/limit", "column `bundle`, row 2: a number with 5000 digits; fact files allow at most 15 digits"
                        " (line 1, column 24 of the cell)"),
    ]
    assert [row["bundle_id"] for row in rows] == ["#1", "#2", BUNDLES[0]["id"]]


def test_a_binary_json_value_that_is_not_utf8_is_its_rows_error() -> None:
    """Bytes that are not UTF-8 are refused as in a JSON line, never read with a replacement character
    (the bundle `\\ufffdb000000` was decided), and the error names the column and row."""
    good = dumps(BUNDLES[0]).encode()
    spoilt = good.replace(b'"id":"', b'"id":"\xff', 1)
    rows = _decided([spoilt, good], pa.binary())
    assert [row["status"] for row in rows] == ["error", "decided"]
    byte = spoilt.index(b"\xff") + 1
    assert _errors(rows) == [("facts/syntax", f"column `bundle`, row 1: not UTF-8 text (byte {byte})")]
    assert [row["bundle_id"] for row in rows] == ["#1", BUNDLES[0]["id"]]


def test_a_json_value_over_the_record_size_is_its_rows_error() -> None:
    """A cell of more than 1,000,000 bytes is refused as a JSON line of that size is (it was decided)."""
    good = dumps(BUNDLES[0])
    padded = dumps({**BUNDLES[0], "time": [{**BUNDLES[0]["time"][0], "minutes": 0}] * 10_500})  # valid, but large
    assert len(padded) > 1_000_000
    rows = _decided([padded, good])
    assert [row["status"] for row in rows] == ["error", "decided"]
    assert _errors(rows) == [
        ("facts/limit",
         "column `bundle`, row 1: a value of more than 1,000,000 bytes; fact files allow at most 1,000,000 per record")
    ]


def test_an_error_record_holding_a_lone_surrogate_is_written(tmp_path: Path) -> None:
    """A message quoting `"\\ud800"` (a JSON escape no UTF-8 text can hold), or a file name that is not
    UTF-8, is written escaped, as the JSON Lines output writes it, not a UnicodeEncodeError that
    stopped `batch` with a traceback."""
    (row,) = _decided(['"\\ud800"'])
    # the message spells the half pair as JSON does (`\\ud800`, six characters), as every fact message does
    said = "column `bundle`, row 1: expected a fact bundle (a mapping), found text `\\ud800`"
    assert json.loads(str(row["error"]))[0]["message"] == said
    source = tmp_path / os.fsdecode(b"in\xff.jsonl")
    source.write_text('"\\ud800"\n', encoding="utf-8")
    out = tmp_path / "out.parquet"
    assert batch(str(source), "-o", str(out)) == 2
    (written,) = pq.read_table(out).to_pylist()
    assert written["source"] == str(tmp_path / "in\\udcff.jsonl")
    (diag,) = json.loads(written["error"])
    assert (diag["file"], diag["message"]) == (str(source), "expected a fact bundle (a mapping), found text `\\ud800`")


@pytest.mark.parametrize("form", ["string", "large_string", "dictionary"])
def test_a_text_cell_that_is_not_utf8_is_its_rows_error(tmp_path: Path, form: str) -> None:
    """Parquet writers need not check that a string column is UTF-8: the cell that is not is its
    row's error, as a JSON line that is not UTF-8 is; the whole file was one `eval/internal` record
    (UnicodeDecodeError), every other row lost."""
    cells = [dumps(b).encode() for b in BUNDLES[:3]]
    cells[1] = cells[1].replace(b'"id":"', b'"id":"\xff', 1)
    column = pa.array(cells, pa.binary()).view(pa.string())
    column = column.dictionary_encode() if form == "dictionary" else column.cast(pa.type_for_alias(form))
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"bundle": column}), path)
    out = tmp_path / "out.jsonl"
    assert batch(str(path), "-o", str(out)) == 2
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["bundle_id"] for line in lines] == [BUNDLES[0]["id"], "#2", BUNDLES[2]["id"]]
    byte = cells[1].index(b"\xff") + 1
    said = f"column `bundle`, row 2: not UTF-8 text (byte {byte})"
    assert [(e["code"], e["message"]) for e in lines[1]["error"]] == [("facts/syntax", said)]


def test_a_damaged_row_group_is_an_error_record_for_each_of_its_rows(tmp_path: Path) -> None:
    """A row group whose page cannot be read gives one `facts/io` record for each of its rows, and
    the row groups before and after it are decided: the whole file was one `eval/internal` record
    ("this is a bug in carepolicy"), every row lost."""
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"bundle": [dumps(b) for b in BUNDLES[:9]]}), path, row_group_size=3)
    chunk = pq.ParquetFile(path).metadata.row_group(1).column(0)
    data = bytearray(path.read_bytes())
    start = chunk.dictionary_page_offset or chunk.data_page_offset
    data[start : start + 12] = bytes(b ^ 0xFF for b in data[start : start + 12])  # the page header
    path.write_bytes(bytes(data))
    out = tmp_path / "out.jsonl"
    assert batch(str(path), "-o", str(out)) == 2
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    ids = [b.get("id", f"#{i + 1}") for i, b in enumerate(BUNDLES[:9])]
    assert [line["bundle_id"] for line in lines] == [*ids[:3], "#4", "#5", "#6", *ids[6:]]
    assert all("error" not in line for line in lines[:3] + lines[6:])
    for line in lines[3:6]:
        (diag,) = line["error"]
        assert diag["code"] == "facts/io"
        assert diag["message"].startswith(f"cannot read row group 2 of `{path}` (rows 4 to 6): Couldn't deserialize")
        assert diag["help"] == "the file is damaged: write it again from its source"


def test_a_bundle_column_cell_python_cannot_hold_is_its_rows_error() -> None:
    """With the bundle's own columns, a cell that is not UTF-8 text or a date past year 9,999 is its
    row's error record, the other rows decided: the batch's conversion raised, and the whole batch
    (in `batch`, the whole file) was lost."""
    good = {"month": "2025-03", "beneficiary": {"part_b": True}}
    table = pa.Table.from_pylist([{**good, "id": "a"}, {**good, "id": "b"}, {**good, "id": "c"}])
    ids = pa.array([b"a", b"\xffb", b"c"], pa.binary()).view(pa.string())
    dates = pa.array([None, None, 2**31 - 1], pa.date32())
    table = table.set_column(table.schema.get_field_index("id"), "id", ids).append_column("ccm_start", dates)
    rows = pa.Table.from_batches(list(evaluate_arrow_batches(carepolicy.load(), table.to_batches()))).to_pylist()
    assert [(row["bundle_id"], row["status"]) for row in rows] == [("a", "decided"), ("#2", "error"), ("c", "error")]
    errors = [json.loads(str(row["error"])) for row in rows[1:]]
    # (the date was "a value Python cannot hold: days=2147483647; must have magnitude <= 999999999")
    far = ("column `ccm_start`, row 3: date out of range: 2,147,483,647 days from 1970-01-01 (about year 5,881,581, "
           "column type date32[day]); dates are accepted from 0001-01-01 to 9999-12-31 (the years Python's datetime "
           "holds)")
    assert [(e["code"], e["fact_path"], e["message"]) for (e,) in errors] == [
        ("facts/syntax", "$.id", "column `id`, row 2: not UTF-8 text (byte 1)"),
        ("facts/schema", "$.ccm_start", far),
    ]


def test_a_column_name_given_twice_is_an_error_for_every_row(tmp_path: Path) -> None:
    """Two `month` columns are a key set twice in every row, refused as in JSON: the row read the last
    (a March bundle decided as April without a word). Two `bundle` columns raised a KeyError."""
    months = pa.table([pa.array(["2025-03"] * 2), pa.array(["2025-04"] * 2)], names=["month", "month"])
    path = tmp_path / "in.parquet"
    pq.write_table(months, path)
    out = tmp_path / "out.jsonl"
    assert batch(str(path), "-o", str(out)) == 2
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["bundle_id"] for line in lines] == ["#1", "#2"]
    expected = ("facts/duplicate-key", "$.month", "column `month` appears twice in the table")
    assert [(e["code"], e["fact_path"], e["message"]) for line in lines for e in line["error"]] == [expected] * 2
    assert lines[0]["error"][0]["help"] == "keep the one column that is meant: a table reader would keep the last"
    twice = pa.record_batch([pa.array([dumps(BUNDLES[0])])] * 2, names=["bundle", "bundle"])
    (row,) = pa.Table.from_batches(list(evaluate_arrow_batches(carepolicy.load(), [twice]))).to_pylist()
    (diag,) = json.loads(row["error"])
    assert (diag["code"], diag["message"]) == ("facts/duplicate-key", "column `bundle` appears twice in the table")
    assert "fact_path" not in diag  # the JSON column is not a fact


def test_an_error_records_bundle_id_holding_a_lone_surrogate_is_written() -> None:
    """A bundle refused for a repeated key keeps the id it was given, even `"\\ud800"`: escaped in the
    `bundle_id` column as in the error's JSON, not a UnicodeEncodeError for the batch."""
    (row,) = _decided(['{"id":"\\ud800","id":"\\ud800","month":"2025-03"}'])
    assert row["bundle_id"] == "\\ud800"
    (diag,) = json.loads(str(row["error"]))
    assert (diag["code"], diag["bundle"]) == ("facts/duplicate-key", "\ud800")


def test_a_full_disk_when_the_parquet_footer_is_written_is_the_outputs_error(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A Parquet file's footer is written when it is closed, after the last row group. A full disk
    then was caught as a failed write to standard output: "cannot write standard output: error
    writing bytes to file", naming neither the file nor the records."""
    source = tmp_path / "in.jsonl"
    source.write_text(jsonl(BUNDLES[:5]), encoding="utf-8")
    real = pq.ParquetWriter.close

    def close(writer: pq.ParquetWriter) -> None:
        real(writer)
        raise OSError(28, "Error writing bytes to file. Detail: [errno 28] No space left on device")

    monkeypatch.setattr(pq.ParquetWriter, "close", close)
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(cli, ["batch", str(source), "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 2
    assert "standard output" not in result.stderr
    assert f"error[usage/output]: cannot write `{out}.partial`: " in result.stderr
    assert "no space left on device" in result.stderr.lower()
    assert not out.exists()
