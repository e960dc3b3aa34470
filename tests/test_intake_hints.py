"""Fact intake that was refused without a word of why: JSON Lines in UTF-16 without a byte-order
mark, a Unicode line separator on a JSON line, an Arrow cell whose error named no column, a folder
given to `batch`, a Python `datetime.date`. Each error now says what it found and what to do.
"""

from __future__ import annotations

import datetime
import io
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.engine.diagnostics import FactError
from carepolicy.engine.facts.json_records import json_record
from carepolicy.engine.facts.reader import BundleError
from carepolicy.engine.facts.records import iter_records

from carepolicy.arrow_bundles import bundles_from_batches
from tests.test_batch import write_jsonl
from tests.test_batch_edges import SMOKE, run

_RECORD = '{"id":"a","month":"2025-03"}'


@pytest.mark.parametrize(("encoding", "order"), [("utf-16-le", "LE"), ("utf-16-be", "BE")])
def test_json_lines_in_utf_16_without_a_mark_are_one_error_record_that_says_so(encoding: str, order: str) -> None:
    """Without a byte-order mark nothing fails to decode (a NUL byte is UTF-8 too): three records
    were four error records of `expecting value`, none saying why. As with a mark, the file is one
    error record, which names the encoding and says its record count is unknown."""
    data = "".join(json.dumps({"id": f"r{n}", "month": "2025-03"}) + "\n" for n in range(3)).encode(encoding)
    [record] = iter_records(io.BytesIO(data), "jsonl")
    assert isinstance(record, BundleError)
    [diag] = record.diagnostics
    assert diag.message == f"not UTF-8 text: it looks like UTF-16 ({order}) without a byte-order mark; save it as UTF-8"
    assert diag.help == "the file stands as one record: how many it holds is unknown until it is saved as UTF-8"


@pytest.mark.parametrize("text", ['{"id": "a", "month": "2025-03"}\n', '[\n  {"id": "a", "month": "2025-03"}\n]\n'])
def test_a_json_document_in_utf_16_without_a_mark_says_so(text: str) -> None:
    """It was `invalid JSON: expecting property name enclosed in double quotes` (a NUL byte is UTF-8)."""
    with pytest.raises(FactError) as raised:
        list(iter_records(io.BytesIO(text.encode("utf-16-be")), "json", name="in.json"))
    assert [d.message for d in raised.value.diagnostics] == [
        "cannot read `in.json`: not UTF-8 text: it looks like UTF-16 (BE) without a byte-order mark; save it as UTF-8"]


def test_json_lines_in_utf_16_without_a_mark_are_one_uncounted_error_record_in_batch(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", 20)
    source.write_bytes(source.read_text(encoding="utf-8").encode("utf-16-le"))
    good = write_jsonl(tmp_path / "good.jsonl", 2)
    target = tmp_path / "out.jsonl"
    result = run("batch", str(good), str(source), *SMOKE, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    written = [json.loads(line) for line in target.read_text().splitlines()]
    [error] = [line["error"][0] for line in written if "error" in line]
    assert "looks like UTF-16 (LE) without a byte-order mark" in error["message"]
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith(f"{len(written)} output records: 2 decisions, 1 error record (1 error record "
                              "stands for records that could not be told apart, how many is unknown) in "), summary


@pytest.mark.parametrize("line", [_RECORD + "\u2028\n", _RECORD + "\u2028\r\n", "\u2028" + _RECORD + "\n"])
def test_a_unicode_line_separator_on_a_json_line_is_named(line: str) -> None:
    """U+2028 after the record was `invalid JSON: extra data` at its column, and nothing more."""
    record = json_record(line.encode("utf-8"), "f.jsonl", 3, 2)
    assert isinstance(record, BundleError)
    [diag] = record.diagnostics
    column = line.index("\u2028") + 1
    assert diag.help == (f"at column {column} is U+2028 LINE SEPARATOR, which JSON does not allow outside a string: "
                         "JSON Lines ends a line with LF (or CRLF) only; remove it")
    assert diag.span is not None
    assert (diag.span.line, diag.span.column) == (3, column)


@pytest.mark.parametrize(("char", "name"), [("\u2029", "U+2029 PARAGRAPH SEPARATOR"), ("\x85", "U+0085 NEXT LINE"),
                                            ("\x0c", "a form feed (U+000C)")])
def test_records_joined_by_a_unicode_separator_are_one_error_record_of_unknown_count(char: str, name: str) -> None:
    record = json_record(f"{_RECORD}{char}{_RECORD}\n".encode(), "f.jsonl", 1, 0)
    assert isinstance(record, BundleError)
    [diag] = record.diagnostics
    assert diag.message == "invalid JSON: extra data"
    assert diag.help is not None
    assert diag.help.startswith(f"at column {len(_RECORD) + 1} is {name}, which JSON does not allow outside a "
                                "string: JSON Lines ends a line with LF (or CRLF) only, so anything after it")
    assert "how many it holds is unknown" in diag.help


def test_a_line_separator_inside_a_string_is_text() -> None:
    record = json_record('{"id":"a\u2028b","month":"2025-03"}\n'.encode(), "f.jsonl", 1, 0)
    assert not isinstance(record, BundleError)
    assert record.id == "a\u2028b"


def _arrow_errors(batch: pa.RecordBatch) -> list[tuple[str | None, str, str | None]]:
    return [(d.fact_path, d.message, d.bundle) for row in bundles_from_batches([batch], source="t.parquet")
            if isinstance(row, BundleError) for d in row.diagnostics]


def test_a_json_bundle_cell_that_is_not_utf_8_names_its_column_and_row() -> None:
    """It said only `not UTF-8 text (byte 26)`: of which column, which row, it did not say."""
    cells = [_RECORD.encode(), b'{"month":"2025-03","id":"\xff"}']
    batch = pa.record_batch({"bundle": pa.array(cells, pa.binary())})
    assert _arrow_errors(batch) == [(None, "column `bundle`, row 2: not UTF-8 text (byte 26)", "#2")]


_MONEY_64 = pa.struct([("deductible_remaining", pa.float64())])


def test_a_dictionary_encoded_float32_cell_is_read_as_its_shortest_text() -> None:
    """A dictionary-encoded float32 column escaped the float32 fix: 25.1 was refused as
    `25.100000381469727 has 17 significant digits`, digits the table never held."""
    money = pa.StructArray.from_arrays([pa.array([25.1], pa.float32()).dictionary_encode()],
                                       names=["deductible_remaining"])
    rows = list(bundles_from_batches([pa.record_batch({"month": ["2025-03"], "id": ["x"], "beneficiary": money})],
                                     source="t.parquet"))
    assert not isinstance(rows[0], BundleError), rows[0]
    assert rows[0].data["beneficiary"]["deductible_remaining"] == Decimal("25.1")


def test_a_float_refused_for_its_digits_says_to_use_a_decimal_column() -> None:
    money = pa.array([{"deductible_remaining": 25.100000381469727}], _MONEY_64)
    batch = pa.record_batch({"month": ["2025-03"], "id": ["x"], "beneficiary": money})
    [(path, message, _bundle)] = _arrow_errors(batch)
    assert path == "$.beneficiary.deductible_remaining"
    assert message == ("`25.100000381469727` has 17 significant digits; fact files allow at most 15 digits; the value "
                       "is a binary float, which holds no exact decimal: give amounts as decimals (a decimal column "
                       "in Arrow or Parquet, a Decimal in Python)")


@pytest.mark.parametrize(("files", "pattern"), [(["part-00000.parquet", "_SUCCESS"], "*.parquet"), ([], "*.jsonl")])
def test_a_folder_given_to_batch_says_to_pass_its_files(tmp_path: Path, files: list[str], pattern: str) -> None:
    """A Spark output folder (`out.parquet/part-*.parquet`) was `cannot read ...: Cannot open for
    reading: path '...' is a directory`, in Arrow's words, with no help; another folder the same
    without the Arrow words. Neither said what to pass instead."""
    folder = tmp_path / "out.parquet"
    folder.mkdir()
    for name in files:
        (folder / name).write_bytes(b"")
    target = tmp_path / "decisions.jsonl"
    result = run("batch", str(folder), *SMOKE, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    [line] = [json.loads(line) for line in target.read_text().splitlines()]
    [error] = line["error"]
    assert error["message"] == f"cannot read `{folder}`: is a directory"
    assert f"`{folder / pattern}`; folders are not read" in error["help"]
    assert ("Spark writes part-*.parquet" in error["help"]) == bool(files)


def test_a_fact_named_column_beside_the_bundle_column_is_noted_once_and_not_read(tmp_path: Path) -> None:
    """A `month` column beside `bundle` was never read, without a word: a table whose `month`
    differed from its bundles' was decided by the bundles' alone. It still is (other columns are
    kept for joins, so not refused), and batch says once, on stderr, that the column is not read."""
    import pyarrow.parquet as pq

    bundles = [json.loads(line) for line in write_jsonl(tmp_path / "in.jsonl", 3).read_text().splitlines()]
    cells = [json.dumps(b) for b in bundles]
    plain, extra = tmp_path / "plain.parquet", tmp_path / "extra.parquet"
    pq.write_table(pa.table({"bundle": cells}), plain)
    pq.write_table(pa.table({"customer": ["c"] * 3, "bundle": cells, "month": ["1999-01"] * 3, "id": ["x"] * 3}),
                   extra, row_group_size=1)
    expected = run("batch", str(plain), *SMOKE, "-o", str(tmp_path / "plain.jsonl"))
    result = run("batch", str(extra), *SMOKE, "-o", str(tmp_path / "extra.jsonl"))
    assert result.exit_code == expected.exit_code == ExitCode.OK
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes == [f"note: `{extra}`: columns `month`, `id` not read: the `bundle` column holds each row's facts, "
                     "and the other columns are ignored"]
    assert "note:" not in expected.stderr
    decided = [{k: v for k, v in json.loads(line).items() if k != "source"}
               for line in (tmp_path / "extra.jsonl").read_text().splitlines()]
    assert decided == [{k: v for k, v in json.loads(line).items() if k != "source"}
                       for line in (tmp_path / "plain.jsonl").read_text().splitlines()]


def test_a_python_date_where_a_date_is_wanted_is_read_as_its_iso_text() -> None:
    """`datetime.date(2026, 5, 15)` was refused (`found a datetime.date value`), though an Arrow date
    cell is read as its `YYYY-MM-DD` text. It is read so now, where the schema wants a date, giving
    the same line byte for byte; elsewhere (an id) it is still refused."""
    import carepolicy
    from tests.test_python_api_hostile import GOOD

    evaluator = carepolicy.load()
    dated = json.loads(json.dumps(GOOD, default=str))
    dated["practitioner"]["last_visit"] = datetime.date(2026, 5, 15)
    dated["consent"]["date"] = datetime.date(2024, 10, 17)
    dated["time"][0]["date"] = datetime.date(2026, 7, 6)
    expected = evaluator.evaluate(GOOD)
    result = evaluator.evaluate(dated)
    assert expected.ok, expected.diagnostics
    assert result.jsonl == expected.jsonl
    named = evaluator.evaluate({**GOOD, "id": datetime.date(2026, 5, 15)})
    refused = [(d.fact_path, d.message) for d in named.diagnostics]
    assert refused == [("$.id", "expected text, found a `datetime.date` value")]


def test_a_python_datetime_where_a_date_is_wanted_is_refused_with_a_help() -> None:
    import carepolicy
    from tests.test_python_api_hostile import GOOD

    timed = json.loads(json.dumps(GOOD, default=str))
    timed["practitioner"]["last_visit"] = datetime.datetime(2026, 5, 15, 9, 30)
    [diag] = carepolicy.load().evaluate(timed).diagnostics
    assert (diag.fact_path, diag.message) == ("$.practitioner.last_visit",
                                              "expected a date `YYYY-MM-DD` or null, found a timestamp")
    assert diag.help is not None
    assert diag.help.startswith("a date is a whole day, and a timestamp's day depends on its time zone")


@pytest.mark.parametrize(
    ("line", "path", "found"),
    [
        ("id: 00123", "$.id", "`00123`"),  # an MRN with leading zeros: YAML 1.2 reads the number 123
        ("id: 123", "$.id", "`123`"),
        ("practitioner: {id: 0012, kind: physician, new_patient: false, last_visit: 2024-11-02}",
         "$.practitioner.id", "`0012`"),
    ],
)
def test_a_number_where_text_is_expected_says_to_quote_it(line: str, path: str, found: str) -> None:
    """`id: 00123` was refused as `expected text, found `123`` with no help: the message showed the
    number YAML read, not the `00123` written, and nothing said that quotes keep it as text. It now
    quotes the scalar as written (tests/test_written_numbers.py), and the help says to quote it."""
    from tests.intake_data import BASE, read

    key = line.split(":")[0]
    text = "\n".join(line if row.startswith(f"{key}:") else row for row in BASE.splitlines()) + "\n"
    [record] = read(text)
    assert isinstance(record, BundleError)
    [diag] = record.diagnostics
    assert (diag.fact_path, diag.message) == (path, f"expected text, found {found}")
    assert diag.help == ("put the text in quotes as it is written, e.g. `'00123'`: unquoted, it is a number, "
                         "and a number has no leading zeros")


_LEAVE_OUT = "is optional: leave the key out when there is no value (null is not one here)"
_CONSENT = {"documented": True, "practitioner": "P1", "date": "2025-01-10", "service": "ccm"}


@pytest.mark.parametrize(
    ("change", "path", "tip"),
    [
        ({"consent": {**_CONSENT, "revoked": None}}, "$.consent.revoked", f"`revoked` {_LEAVE_OUT}"),
        ({"ccm_start": None}, "$.ccm_start", f"`ccm_start` {_LEAVE_OUT}"),
        ({"medical_decision_making": None}, "$.medical_decision_making", f"`medical_decision_making` {_LEAVE_OUT}"),
        ({"month": None}, "$.month", "null is not a value here: give the value"),
    ],
)
def test_a_null_where_a_fact_has_none_says_what_to_write(change: dict[str, object], path: str, tip: str) -> None:
    """`revoked: null` (an export's empty column) was refused with `expected a date` and no help:
    an optional key is left out, a required one given its value."""
    record = json.dumps({"id": "a", "month": "2025-03", **change})
    [bundle] = iter_records(io.BytesIO(record.encode() + b"\n"), "jsonl")
    assert isinstance(bundle, BundleError)
    [diag] = [d for d in bundle.diagnostics if d.fact_path == path]
    assert diag.help == tip
