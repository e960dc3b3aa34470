"""Every `facts/limit` error has a help, as every other kind of fact error does.

A limit said only that it was crossed (`a number with 4400 digits; fact files allow at most 15
digits`), with no `help:` line: each limit now says what it is for and how to get under it, from
whichever reader made the error (a JSON line, a table cell, a bundle's values, YAML).
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from carepolicy.engine.diagnostics import Diagnostic, FactError, render_text
from carepolicy.engine.facts import limits as helps
from carepolicy.engine.facts.bundle import validate_bundle
from carepolicy.engine.facts.json_records import json_record
from carepolicy.engine.facts.reader import BundleError
from carepolicy.engine.facts.record_errors import whole
from carepolicy.engine.facts.records import iter_records

from carepolicy.arrow_bundles import bundles_from_batches

ROOT = Path(__file__).resolve().parent.parent
_BUNDLE = '{"id":"a","month":"2025-03",'


def _only(record: object) -> Diagnostic:
    assert isinstance(record, BundleError)
    [diag] = [d for d in record.diagnostics if d.code == "facts/limit"]
    return diag


def _line(text: str) -> Diagnostic:
    return _only(json_record(text.encode(), "in.jsonl", 1, 0))


@pytest.mark.parametrize(("line", "expected"), [
    (_BUNDLE + '"n":' + "9" * 4400 + "}", helps.DIGITS_HELP),  # too long to read at all
    (_BUNDLE + '"n":1e' + "9" * 22 + "}", helps.DIGITS_HELP),  # an exponent no Decimal holds
    (_BUNDLE + '"fee_schedule_override":{"99490":1e27}}', helps.DIGITS_HELP),
    (_BUNDLE + '"n":1234567890123456789}', helps.DIGITS_HELP),
    (_BUNDLE + '"n":0.1234567890123456789}', helps.DIGITS_HELP),
    (_BUNDLE + '"n":' + "[" * 20 + "]" * 20 + "}", helps.DEPTH_HELP),  # past the limit, read
    ("[" * 5000 + "]" * 5000, helps.DEPTH_HELP),  # past what the parser is let recurse
    (_BUNDLE + '"n":"' + "x" * 2001 + '"}', helps.TEXT_HELP),
    (_BUNDLE + '"n":"\\ud800"}', helps.SURROGATE_HELP),
    (_BUNDLE + '"n":NaN}', helps.FINITE_HELP),
])
def test_each_limit_of_a_json_line_has_its_help(line: str, expected: str) -> None:
    assert _line(line).help == expected


def test_a_line_over_the_record_size_has_its_help() -> None:
    assert _only(json_record(None, "in.jsonl", 3, 2)).help == helps.RECORD_HELP


def test_the_values_and_cycle_limits_of_a_python_mapping_have_their_help() -> None:
    many = {"id": "a", "month": "2025-03", "n": list(range(600_000))}
    assert _only(validate_bundle(many, source="<api>", index=0)).help == helps.VALUES_HELP
    looped: dict[str, object] = {"id": "a", "month": "2025-03"}
    looped["self"] = looped
    assert _only(validate_bundle(looped, source="<api>", index=0)).help == helps.CYCLE_HELP
    assert _only(validate_bundle({"id": "a", "month": "2025-03", "n": Decimal("Infinity")},
                                 source="<api>", index=0)).help == helps.FINITE_HELP


@pytest.mark.parametrize(("cell", "expected"), [
    (_BUNDLE + '"n":' + "9" * 5000 + "}", helps.DIGITS_HELP),
    ("[" * 100 + "]" * 100, helps.DEPTH_HELP),
    ('"' + "x" * 1_000_001 + '"', helps.RECORD_HELP),
])
def test_each_limit_of_a_table_cell_has_its_help(cell: str, expected: str) -> None:
    [row] = bundles_from_batches([pa.record_batch({"bundle": pa.array([cell], pa.string())})], source="t.parquet")
    assert _only(row).help == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("id: a\nmonth: 2025-03\nn: 12345678901234567890\n", helps.DIGITS_HELP),
    ("id: a\nmonth: 2025-03\nn: 1e99999999999999999999\n", helps.DIGITS_HELP),
    ("id: a\nmonth: 2025-03\nn: " + "[" * 20 + "]" * 20 + "\n", helps.DEPTH_HELP),
])
def test_each_limit_of_a_yaml_document_has_its_help(text: str, expected: str) -> None:
    [record] = iter_records(io.BytesIO(text.encode()), "yaml", name="in.yaml")
    assert _only(record).help == expected


def test_a_json_document_over_its_size_says_to_split_it() -> None:
    with pytest.raises(FactError) as raised:
        whole([(1, None)], "big.json", "JSON")
    [diag] = raised.value.diagnostics
    assert diag.help == helps.DOCUMENT_HELP


def test_the_help_is_shown_under_the_error() -> None:
    diag = _line(_BUNDLE + '"n":' + "9" * 4400 + "}")
    assert f"  help: {helps.DIGITS_HELP}" in render_text([diag], {}).splitlines()


def test_every_value_the_helps_name_is_the_one_the_fact_input_page_gives() -> None:
    """The helps name only what docs/reference/fact-input.md (Limits) says: its numbers, its terms."""
    page = (ROOT / "docs" / "reference" / "fact-input.md").read_text(encoding="utf-8")
    limits = page[page.index("## Limits"):page.index("## Values no month can have")]
    named = [value for name, value in vars(helps).items() if name.endswith("_HELP")]
    assert len(named) >= 10
    for help_text in named:
        for number in re.findall(r"\d[\d,^]*", help_text.replace("257.00", "")):
            assert number in limits, f"{number!r} of {help_text!r} is not in the Limits section"
    assert "docs/reference/fact-input.md (Limits)" in helps.OTHER_HELP


def test_the_errors_page_shows_a_limit_with_its_help() -> None:
    page = (ROOT / "docs" / "reference" / "errors.md").read_text(encoding="utf-8")
    section = page[page.index("### facts/limit"):page.index("### facts/internal")]
    assert f"  help: {helps.DIGITS_HELP}" in section
    assert f"  help: {helps.DEPTH_HELP}" in section
