"""An error quotes a number as it was written, not as the Decimal read from it prints.

`{"fee_schedule_override":{"99490":1e27}}` was "`1E+27` is too large"; `1.0e3` was `1.0E+3`,
`2.5e1` minutes `25`, YAML's `040` days `40`. The project's rule is that messages quote what was
written, so each error record of a text input quotes the number's own text (the JSON token, the
YAML scalar); a Python value is quoted as the value it is.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from carepolicy.engine.facts import json_records
from carepolicy.engine.facts.bundle import validate_bundle
from carepolicy.engine.facts.json_records import json_record
from carepolicy.engine.facts.reader import Bundle, BundleError
from carepolicy.engine.facts.records import iter_records
from carepolicy.engine.facts.written import path_parts

from carepolicy.arrow_bundles import bundles_from_batches
from tests.test_batch import write_jsonl
from tests.test_batch_edges import SMOKE, run

_HEAD = '"fact_bundle":1,"id":"a","month":"2025-03",'
# (the facts after _HEAD, the path of the error, its message): each number quoted as written
_CASES = [
    ('"fee_schedule_override":{"99490":1e27}', "$.fee_schedule_override['99490']",
     "`1e27` is too large; fact files allow at most 15 digits"),
    ('"fee_schedule_override":{"99490":1.0E+27}', "$.fee_schedule_override['99490']",
     "`1.0E+27` is too large; fact files allow at most 15 digits"),
    ('"fee_schedule_override":{"99490":2.5e-16}', "$.fee_schedule_override['99490']",
     "`2.5e-16` has 17 decimal places; fact files allow at most 15"),
    ('"fee_schedule_override":{"99490":1.50e6}', "$.fee_schedule_override['99490']",
     "`1.50e6` is more than any fee (at most 100,000.00 per amount)"),
    ('"beneficiary":{"part_b":true,"deductible_remaining":-1.0e1}', "$.beneficiary.deductible_remaining",
     "`-1.0e1` is less than the minimum of 0"),
    ('"time":[{"practitioner":"P1","by":"clinical_staff","minutes":2.5e1,"service":"ccm"}]', "$.time[0].minutes",
     "expected a whole number of minutes, found `2.5e1`"),
]


def _messages(record: object) -> list[tuple[str | None, str]]:
    assert isinstance(record, BundleError), record
    return [(d.fact_path, d.message) for d in record.diagnostics]


@pytest.mark.parametrize(("facts", "path", "message"), _CASES)
def test_a_json_line_quotes_its_number_as_written(facts: str, path: str, message: str) -> None:
    record = json_record(("{" + _HEAD + facts + "}\n").encode(), "in.jsonl", 1, 0)
    assert (path, message) in _messages(record)


@pytest.mark.parametrize(("facts", "path", "message"), _CASES)
def test_a_json_document_quotes_its_numbers_as_written(facts: str, path: str, message: str) -> None:
    good = '{"id":"g","month":"2025-03","beneficiary":{"part_b":true}}'
    text = "[\n" + good + ",\n  {" + _HEAD + facts + "}\n]\n"
    records = list(iter_records(io.BytesIO(text.encode()), "json", name="in.json"))
    assert isinstance(records[0], Bundle)
    assert (path, message) in _messages(records[1])
    [alone] = iter_records(io.BytesIO(("{" + _HEAD + facts + "}").encode()), "json", name="one.json")
    assert (path, message) in _messages(alone)


@pytest.mark.parametrize(("facts", "path", "message"), _CASES)
def test_a_yaml_document_quotes_its_scalars_as_written(facts: str, path: str, message: str) -> None:
    """JSON is YAML (flow style); the second document puts the bundle in a block list."""
    text = "---\n{" + _HEAD + facts + "}\n---\n- {" + _HEAD + facts + "}\n"
    records = list(iter_records(io.BytesIO(text.encode()), "yaml", name="in.yaml"))
    assert len(records) == 2
    for record in records:
        assert (path, message) in _messages(record)


def test_a_yaml_block_scalar_with_leading_zeros_is_quoted_as_written() -> None:
    text = "id: z\nmonth: 2025-03\nrpm:\n  device_days: 040\n"
    [record] = iter_records(io.BytesIO(text.encode()), "yaml", name="in.yaml")
    assert _messages(record) == [("$.rpm.device_days", "`040` is greater than the maximum of 31")]


def test_a_json_cell_quotes_its_number_as_written() -> None:
    cell = "{" + _HEAD + '"fee_schedule_override":{"99490":1e27}}'
    [row] = bundles_from_batches([pa.record_batch({"bundle": pa.array([cell])})], source="t.parquet")
    assert _messages(row) == [("$.fee_schedule_override['99490']",
                               "`1e27` is too large; fact files allow at most 15 digits")]


def test_not_a_number_is_quoted_as_written_in_json_and_yaml() -> None:
    line = json_record(b'{"id":"e","month":"2025-03","deductible_remaining":NaN}', "in.jsonl", 1, 0)
    assert ("$.deductible_remaining", "`NaN` is not a finite number") in _messages(line)
    [doc] = iter_records(io.BytesIO(b"id: e\nmonth: 2025-03\nfee_schedule_override:\n  '99490': -.inf\n"), "yaml")
    assert _messages(doc) == [("$.fee_schedule_override['99490']", "`-.inf` is not a finite number")]


def test_a_python_value_is_quoted_as_the_value_it_is() -> None:
    """No text was written: a Decimal is quoted by its own text, a float by Python's."""
    for value, shown in [(Decimal("1E+27"), "1E+27"), (1e27, "1e+27"), (float("nan"), "nan")]:
        record = validate_bundle({"id": "p", "month": "2025-03", "fee_schedule_override": {"99490": value}},
                                 source="<api>", index=0)
        [(_path, message)] = _messages(record)
        assert message.startswith(f"`{shown}` "), message


def test_batch_writes_the_number_as_written(tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", 1)
    with source.open("a", encoding="utf-8") as out:
        out.write('{"fact_bundle":1,"id":"a","month":"2025-03","fee_schedule_override":{"99490":1e27}}\n')
    target = tmp_path / "out.jsonl"
    run("batch", str(source), *SMOKE, "-o", str(target))
    [error] = [line["error"] for line in map(json.loads, target.read_text().splitlines()) if "error" in line]
    assert [d["message"] for d in error] == ["`1e27` is too large; fact files allow at most 15 digits"]


def test_a_valid_line_is_never_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The text is read again only for an error record: a valid bundle, on the typed path or the
    untyped one (a note for time dated outside the month), costs nothing more."""
    def refuse(text: str) -> object:
        raise AssertionError("read again for a valid bundle")

    monkeypatch.setattr(json_records, "json_spelling", refuse)
    lines = [b'{"id":"v","month":"2025-03","beneficiary":{"part_b":true}}',
             b'{"id":"w","month":"2025-03","time":[{"practitioner":"P1","by":"clinical_staff","minutes":20,'
             b'"service":"ccm","date":"2025-02-01"}]}']
    for number, line in enumerate(lines, 1):
        assert isinstance(json_record(line, "in.jsonl", number, number - 1), Bundle)


@pytest.mark.parametrize(("path", "parts"), [("$", []), ("$.time[0].minutes", ["time", 0, "minutes"]),
                                             ("$.fee_schedule_override['99490']", ["fee_schedule_override", "99490"]),
                                             ("$['it\\'s']", ["it's"]), ("time", None), ("$.a[", None)])
def test_a_fact_path_is_read_back_into_its_steps(path: str, parts: list[object] | None) -> None:
    assert path_parts(path) == parts
