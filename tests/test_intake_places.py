"""Fact intake whose errors and notes said too much or too little of where: YAML in UTF-16 without a
byte-order mark (two error records for one file, neither saying why), a JSON `bundle` cell whose
error named neither its column nor its row, and the note on fact-named columns beside the `bundle`
column, which `batch` gave and the Python Arrow API did not (Spark's: tests/test_spark.py).
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.engine.facts.reader import BundleError
from carepolicy.engine.facts.records import iter_records

import carepolicy
from carepolicy.arrow import UnreadColumnsWarning, evaluate_arrow_batches
from carepolicy.arrow_bundles import bundles_from_batches
from tests.test_batch import write_jsonl
from tests.test_batch_edges import SMOKE, run

_YAML = "id: a\nmonth: 2025-03\nbeneficiary:\n  part_b: true\n"
_UNMARKED = "not UTF-8 text: it looks like UTF-16 ({}) without a byte-order mark; save it as UTF-8"
_ONE_RECORD = "the file stands as one record: how many it holds is unknown until it is saved as UTF-8"


# --------------------------------------------------------------------------- YAML in UTF-16 without a mark


@pytest.mark.parametrize(("encoding", "order"), [("utf-16-le", "LE"), ("utf-16-be", "BE")])
@pytest.mark.parametrize("text", [_YAML, f"---\n{_YAML}---\n{_YAML}", f"- {_YAML.replace(chr(10), chr(10) + '  ')}"])
def test_yaml_in_utf_16_without_a_mark_is_one_error_record_that_says_so(text: str, encoding: str, order: str) -> None:
    """It was `unacceptable character U+0000` and then, for the NUL byte after the last LF (LE),
    `NUL padding (only 0x00 bytes), not a record`: two error records for one file, and neither
    said UTF-16. As JSON Lines in UTF-16 without a mark is, it is one error record that says so."""
    records = list(iter_records(io.BytesIO(text.encode(encoding)), "yaml", name="in.yaml"))
    said = [(r.index, d.code, d.message, d.help, d.span and (d.span.line, d.span.column))
            for r in records if isinstance(r, BundleError) for d in r.diagnostics]
    assert said == [(0, "facts/syntax", _UNMARKED.format(order), _ONE_RECORD, (1, 1))]
    assert len(records) == 1


@pytest.mark.parametrize(("mark", "encoding"), [(b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
                                              (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be")])
def test_yaml_with_a_utf_16_or_32_mark_is_one_error_record_too(mark: bytes, encoding: str) -> None:
    """With a mark, the file was one error record that said so, and then (little-endian: the NUL
    bytes after the last LF) a second one, `NUL padding (only 0x00 bytes), not a record`."""
    records = list(iter_records(io.BytesIO(mark + _YAML.encode(encoding)), "yaml", name="in.yaml"))
    said = [(d.message, d.help) for r in records if isinstance(r, BundleError) for d in r.diagnostics]
    kind = encoding[:6].upper()
    byte = 3 if mark.startswith(b"\x00") else 1
    assert said == [(f"not UTF-8 text (byte {byte}): it is {kind} (it starts with a {kind} byte-order mark); save it "
                     "as UTF-8", _ONE_RECORD)]
    assert len(records) == 1


def _yaml_files(tmp_path: Path) -> tuple[Path, Path]:
    """A good YAML file, and its bundle again in UTF-16 (LE) without a mark."""
    bundle = json.loads(write_jsonl(tmp_path / "one.jsonl", 1).read_text().splitlines()[0])
    good = tmp_path / "good.yaml"
    good.write_text(json.dumps(bundle) + "\n", encoding="utf-8")  # (JSON is YAML)
    spoilt = tmp_path / "u16.yaml"
    spoilt.write_bytes(good.read_text(encoding="utf-8").encode("utf-16-le"))
    return good, spoilt


def test_batch_writes_one_record_for_yaml_in_utf_16_without_a_mark(tmp_path: Path) -> None:
    good, spoilt = _yaml_files(tmp_path)
    target = tmp_path / "out.jsonl"
    result = run("batch", str(good), str(spoilt), *SMOKE, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    written = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(written) == 2
    assert "error" not in written[0]
    assert written[1]["error"] == [{
        "bundle": "#1", "code": "facts/syntax", "column": 1, "end_column": 2, "end_line": 1, "file": str(spoilt),
        "help": _ONE_RECORD, "line": 1, "message": _UNMARKED.format("LE"), "severity": "error"}]
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("2 output records: 1 decision, 1 error record (1 error record stands for records "
                              "that could not be told apart, how many is unknown) in "), summary


def test_evaluate_gives_one_error_for_yaml_in_utf_16_without_a_mark(tmp_path: Path) -> None:
    _good, spoilt = _yaml_files(tmp_path)
    result = run("evaluate", str(spoilt), *SMOKE)
    assert result.exit_code == ExitCode.BAD_INPUT
    errors = [line for line in result.stderr.splitlines() if "error[" in line]
    assert errors == [f"{spoilt}:1:1: error[facts/syntax]: {_UNMARKED.format('LE')}"]
    assert f"  help: {_ONE_RECORD}" in result.stderr.splitlines()


# --------------------------------------------------------------------------- errors of a JSON `bundle` cell

_GOOD = '{"id":"g","month":"2025-03","beneficiary":{"part_b":true}}'
# (cell, code, fact path, message after `column `c`, row n: `); the JSON's own errors
_SPOILT = [
    ('{"id": "a", "month": ', "facts/syntax", None, "invalid JSON: expecting value (line 1, column 22 of the cell)"),
    ('{"id":"b","id":"c"}', "facts/duplicate-key", "$.id",
     "key `id` appears twice in one object (first at line 1, column 2 of the cell)"),
    ("[1, 2]", "facts/not-a-bundle", "$", "expected a fact bundle (a mapping), found a list"),
    ("[" * 100 + "]" * 100, "facts/limit", None, "nested more than 16 levels deep"),
    ('{"month":"2025-03","n":' + "9" * 5000 + "}", "facts/limit", None,
     "a number with 5000 digits; fact files allow at most 15 digits (line 1, column 24 of the cell)"),
    (None, "facts/not-a-bundle", "$", "expected a fact bundle (a mapping), found `null`"),
    ('{"a": 1} x', "facts/syntax", None, "invalid JSON: extra data (line 1, column 10 of the cell)"),
]


def _cells(column: str = "bundle") -> pa.RecordBatch:
    return pa.record_batch({column: pa.array([_GOOD] + [cell for cell, *_ in _SPOILT], pa.string())})


def _expected(column: str = "bundle") -> list[tuple[str, str | None, str]]:
    return [(code, path, f"column `{column}`, row {n}: {said}") for n, (_c, code, path, said) in enumerate(_SPOILT, 2)]


@pytest.mark.parametrize("column", ["bundle", "value"])
def test_each_error_of_a_json_cell_names_its_column_and_row(column: str) -> None:
    """Only a cell that was not UTF-8 named them (`column `bundle`, row 2: not UTF-8 text (byte 26)`);
    `invalid JSON: expecting value (line 1, column 22)` said neither which column nor which row."""
    rows = list(bundles_from_batches([_cells(column)], source="t.parquet", column=column))
    assert not isinstance(rows[0], BundleError)
    said = [(d.code, d.fact_path, d.message) for r in rows[1:] if isinstance(r, BundleError) for d in r.diagnostics]
    assert said == _expected(column)


def test_an_error_of_a_fact_in_a_json_cell_is_said_at_its_path_as_before() -> None:
    batch = pa.record_batch({"bundle": ['{"id":"a","month":"bad"}']})
    [row] = bundles_from_batches([batch], source="t.parquet")
    assert isinstance(row, BundleError)
    assert [(d.fact_path, d.message) for d in row.diagnostics] == [("$.month", "`bad` is not a month `YYYY-MM`")]


def _error_messages(rows: list[dict[str, object]]) -> list[tuple[str, str | None, str]]:
    return [(d["code"], d.get("fact_path"), d["message"]) for row in rows if row["status"] == "error"
            for d in json.loads(str(row["error"]))]


def test_the_python_api_names_the_column_and_row_of_a_json_cell_error() -> None:
    rows = pa.Table.from_batches(list(evaluate_arrow_batches(carepolicy.load(), [_cells()]))).to_pylist()
    assert [row["status"] for row in rows] == ["decided"] + ["error"] * len(_SPOILT)
    assert _error_messages(rows) == _expected()


def test_batch_names_the_column_and_row_of_a_json_cell_error(tmp_path: Path) -> None:
    source, target = tmp_path / "in.parquet", tmp_path / "out.jsonl"
    pq.write_table(pa.Table.from_batches([_cells()]), source, row_group_size=3)  # (rows counted across groups)
    result = run("batch", str(source), *SMOKE, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    written = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(written) == 1 + len(_SPOILT)
    assert [(d["code"], d.get("fact_path"), d["message"]) for line in written[1:] for d in line["error"]] == _expected()


# --------------------------------------------------------------------------- fact-named columns beside `bundle`

_NOTE = ("the batch: columns `month`, `id` not read: the `bundle` column holds each row's facts, and the other "
         "columns are ignored")


def _with_columns(cells: list[str]) -> pa.RecordBatch:
    return pa.record_batch({"customer": ["c"] * len(cells), "bundle": cells, "month": ["1999-01"] * len(cells),
                            "id": ["x"] * len(cells)})


def test_the_python_api_warns_of_fact_named_columns_it_does_not_read() -> None:
    """`batch` noted them on stderr; `evaluate_arrow_batches` said nothing. It warns, with the same
    text, once for batches of the same columns, and its decisions are those without the columns."""
    cells = [_GOOD, _GOOD.replace('"g"', '"h"')]
    evaluator = carepolicy.load()
    plain = pa.record_batch({"bundle": cells})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = pa.Table.from_batches(list(evaluate_arrow_batches(evaluator, [plain, plain])))
    assert [str(w.message) for w in caught] == []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        decided = pa.Table.from_batches(list(evaluate_arrow_batches(evaluator, [_with_columns(cells)] * 2)))
    assert [(w.category, str(w.message), Path(w.filename).name) for w in caught] == [
        (UnreadColumnsWarning, _NOTE, Path(__file__).name)]  # (said at the caller's line)
    assert decided.equals(expected)


def test_the_note_is_batchs_own_text_for_a_parquet_file(tmp_path: Path) -> None:
    """The three callers make the note with one function: `batch`'s text is the API's, but for what it names."""
    source = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_batches([_with_columns([_GOOD])]), source)
    result = run("batch", str(source), *SMOKE, "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == ExitCode.OK
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes == ["note: " + _NOTE.replace("the batch", f"`{source}`", 1)]


def test_a_named_json_column_is_the_one_the_note_names() -> None:
    batch = pa.record_batch({"value": [_GOOD], "time": [None]}, schema=pa.schema([("value", pa.string()),
                                                                                  ("time", pa.string())]))
    with pytest.warns(UnreadColumnsWarning) as caught:
        list(evaluate_arrow_batches(carepolicy.load(), [batch], column="value"))
    assert [str(w.message) for w in caught] == [
        "the batch: column `time` not read: the `value` column holds each row's facts, and the other columns are "
        "ignored"]
