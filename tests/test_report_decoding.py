"""`carepolicy report` decodes each line once, and reads what it read before.

Before: each line was decoded twice, by msgspec for the fields counted and by orjson for the check
that no key is set twice (json_keys.unique_by_count), and the check made the report 2.2-2.7x as
slow. Now one orjson decoding serves both (report_lines.checked_record); a line it does not take
as is goes the old way. These tests hold the two ways to the same record, or the same error, for
each kind of line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from carepolicy.engine.decision import batch_report, report_lines
from carepolicy.engine.decision.report_lines import Record
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "policies" / "examples" / "ccm-60-minutes.yaml"


@pytest.fixture(scope="module")
def line(example_decision_line: str) -> str:
    return example_decision_line


def _two_decodings(text: str) -> Record:
    """The reading before: msgspec's decoder for the fields, then the key check on the line."""
    record = report_lines._record(text)
    report_lines._refuse_repeated_key(text)
    return record


def _outcome(read: Any, text: str) -> tuple[object, ...]:
    try:
        return ("record", read(text))
    except ValueError as error:
        return ("refused", type(error).__name__, str(error), getattr(error, "help", None))


def _same(text: str) -> tuple[object, ...]:
    before = _outcome(_two_decodings, text)
    assert _outcome(report_lines.checked_record, text) == before, text[:300]
    return before


def _variants(line: str) -> dict[str, str]:
    decision = json.loads(line)
    totals = line.index('"totals":{') + len('"totals":{')
    small = {key: decision[key] for key in Record.__struct_fields__ if key in decision}
    return {
        "decision": line,
        "with its line end": line + "\n",
        "fields only": json.dumps(small),
        "keys spaced": json.dumps(decision, indent=1),
        "a repeated key": '{"bundle_id":"a",' + line[1:],
        "a repeated key in the totals": line[:totals] + '"allowed":"1.00",' + line[totals:],
        "a repeated key of another type first": '{"billable":5,' + line[1:],  # (the type is said first)
        "a repeated key, colons in its texts": '{"x":"a:b","x":"c:d",' + line[1:],
        "a repeated key not read": '{"zz":{"a":1,"a":2},' + line[1:],
        "a colon escaped": line.replace('"month":', '"month":"x\\u003a",  "mon":', 1),
        "an escape": json.dumps(decision, ensure_ascii=True),
        "an integer beyond 64 bits, not read": '{"zz":' + "9" * 30 + "," + line[1:],
        "an integer beyond 64 bits, read": line.replace('"decision_format":1', '"decision_format":' + "9" * 30),
        "a float for an integer": line.replace('"decision_format":1', '"decision_format":1.0'),
        "a number past a double": '{"zz":1e400,' + line[1:],
        "a value of another type": line.replace('"month":"', '"month":7,"m":"', 1),
        "a field missing": json.dumps({key: value for key, value in decision.items() if key != "totals"}),
        "deep, not read": '{"zz":' + "[" * 1000 + "]" * 1000 + "," + line[1:],
        "too deep": '{"zz":' + "[" * 1100 + "]" * 1100 + "," + line[1:],
        "cut short": line[: len(line) // 2],
        "not JSON": line.replace(":", "=", 1),
        "trailing text": line + " x",
        "an array": "[" + line + "]",
        "a string": '"x"',
        "an error record": '{"bundle_id":"b","source":"in.jsonl","error":[{"code":"facts/x","message":"m:1"}]}',
        "an error record, a key twice": '{"bundle_id":"b","source":"a","source":"b","error":[]}',
        "an empty object": "{}",
    }


def test_each_kind_of_line_gets_the_record_or_the_error_it_got_before(line: str) -> None:
    said = {name: _same(text) for name, text in _variants(line).items()}
    assert said["decision"][0] == said["fields only"][0] == said["an escape"][0] == "record"
    assert "appears twice" in str(said["a repeated key"][2])
    assert "Expected `array`, got `int`" in str(said["a repeated key of another type first"][2])
    assert "appears twice" in str(said["a repeated key not read"][2])
    assert said["deep, not read"][0] == "record"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_lines_with_keys_set_again_anywhere_read_as_before(line: str, data: st.DataObject) -> None:
    # a pair put after one `{` of the line: a key of that object again, or a new one
    decision = json.loads(line)
    text = json.dumps({key: decision[key] for key in Record.__struct_fields__ if key in decision})
    opens = [at for at, char in enumerate(text) if char == "{"]
    at = data.draw(st.sampled_from(opens))
    key = data.draw(st.sampled_from(["month", "code", "allowed", "reason", "units", "x:y", "bundle_id", "z"]))
    value = data.draw(st.sampled_from(['"2025-04"', "1", "null", '"1.00"', "[]", "{}", '"a:b"', "1.5", "true"]))
    _same(text[: at + 1] + f'"{key}":{value},' + text[at + 1 :])


def test_a_decision_line_is_decoded_once(line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def decoded_again(text: str) -> Record:
        raise AssertionError("a good line decoded a second time")

    monkeypatch.setattr(report_lines, "_record", decoded_again)
    monkeypatch.setattr(report_lines, "_refuse_repeated_key", decoded_again)
    report = batch_report.read_report([line + "\n", line.replace("example-ccm", "other-ccm") + "\n"], name="d")
    assert report.decisions == 2
