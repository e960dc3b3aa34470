"""Text from a bundle reaches the terminal as visible escapes, never as control characters.

A bundle id (or any quoted value) may hold an escape sequence, a bell, a line break or a
bidirectional override. Printed raw, it would recolour or clear the terminal, forge a second line
of output, or show text in another order than it is (engine/printable.py says why)."""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import pytest
from carepolicy.cli.main import cli
from carepolicy.engine.diagnostics import Diagnostic, render_text
from carepolicy.engine.printable import printable, printable_lines, utf8_text
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

EVIL_ID = "b1\x1b[2J\x07\u202egnp.exe\nforged line"
SHOWN_ID = "b1\\x1b[2J\\x07\\u202egnp.exe\\x0aforged line"
_BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"


def _unsafe(text: str) -> list[str]:
    """The characters of `text` that a terminal would act on or hide (the tab is allowed)."""
    return [c for c in text if c != "\t" and unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]


def test_control_and_formatting_characters_are_shown_as_escapes() -> None:
    assert printable(EVIL_ID) == SHOWN_ID
    assert printable("\x7f\x85\u2028\ufeff") == "\\x7f\\x85\\u2028\\ufeff"


def test_printable_text_and_tabs_are_kept_as_they_are() -> None:
    text = "Bundle Émile-03 · $12.00 (patient 20%)"
    assert printable(text) is text
    assert printable("\tindented") == "\tindented"


def test_each_line_is_made_printable_on_its_own() -> None:
    assert printable_lines(["one", "two\nthree"]) == "one\ntwo\\x0athree"


@given(st.text())
def test_no_text_prints_a_control_or_line_break_character(text: str) -> None:
    shown = printable(text)
    assert "\n" not in shown
    assert "\x1b" not in shown
    # only the bidi and line-breaking formats are escaped; other Cf (soft hyphen, joiners) are text
    assert not [c for c in _unsafe(shown) if unicodedata.category(c) != "Cf" or c in _BIDI]


def test_a_diagnostic_about_a_bundle_shows_its_id_escaped() -> None:
    diag = Diagnostic("facts/schema", "`2025-13` is not a month", bundle=EVIL_ID, file="in.jsonl", fact_path="$.month")
    text = render_text([diag], {}, color=True)
    assert f"bundle `{SHOWN_ID}`" in text
    assert text.count("\n") == 1  # one line: the id's line break did not make a second
    assert text.startswith("\x1b[31m")  # the renderer's own colour is kept


def _evil_file(tmp_path: Path, month: str) -> Path:
    path = tmp_path / "evil.json"
    bundle = {
        "fact_bundle": 1,
        "id": EVIL_ID,
        "month": month,
        "beneficiary": {"part_b": True, "dual_status": "none", "medigap_plan": None, "deductible_remaining": 0},
        "practitioner": {"id": "P1", "kind": "physician", "new_patient": False, "last_visit": "2024-11-02"},
    }
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


def test_evaluate_prints_the_decision_of_a_bundle_with_such_an_id_escaped(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["evaluate", str(_evil_file(tmp_path, "2025-03"))], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first == f"Bundle {SHOWN_ID} · service month 2025-03"
    assert not _unsafe(result.output.replace("\n", ""))


def test_evaluate_reports_an_invalid_bundle_with_such_an_id_escaped(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["evaluate", str(_evil_file(tmp_path, "2025-13"))], catch_exceptions=False)
    assert result.exit_code != 0
    assert f"Bundle {SHOWN_ID} · not evaluated: 1 problem" in result.output
    assert f"bundle `{SHOWN_ID}`: $.month: error[facts/schema]" in result.output
    assert not _unsafe(result.output.replace("\n", ""))


def test_the_summary_form_shows_such_an_id_escaped_on_its_one_line(tmp_path: Path) -> None:
    """`--format summary` is one line per bundle: the raw id's line break made two, and its escape
    sequence reached the terminal."""
    result = CliRunner().invoke(cli, ["evaluate", "--format", "summary", str(_evil_file(tmp_path, "2025-03"))],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    assert line.startswith(f"{SHOWN_ID} · 2025-03")
    assert not _unsafe(line)


def test_utf8_text_spells_a_lone_surrogate_as_its_escape_and_keeps_other_text() -> None:
    assert utf8_text("in\udcff.jsonl") == "in\\udcff.jsonl"
    assert utf8_text("plain") == "plain"
    assert utf8_text("Zoë ✓") == "Zoë ✓"
    assert utf8_text("a\ud800b").encode("utf-8") == b"a\\ud800b"


@pytest.mark.parametrize("fmt", ["text", "json", "jsonl", "summary", "csv", "claim-note"])
def test_evaluate_writes_error_records_whose_id_or_file_is_not_utf8_text(tmp_path: Path, fmt: str) -> None:
    """A bundle refused for a repeated key keeps the id it was given, even `"\\ud800"`, and an error
    record names its file, whose name need not be UTF-8 (`in\\xff.jsonl`). Every form but jsonl wrote
    them raw and the command ended with a UnicodeEncodeError traceback; each now spells them as
    JSON escapes them (`\\ud800`, `\\udcff`), as `batch` does."""
    source = tmp_path / os.fsdecode(b"in\xff.jsonl")
    source.write_text('{"id":"\\ud800","id":"\\ud800","month":"2025-03"}\n{"month":"2025-13"}\n', encoding="utf-8")
    target = tmp_path / "out"
    result = CliRunner().invoke(cli, ["evaluate", "--format", fmt, "-o", str(target), str(source)],
                                catch_exceptions=False)
    assert result.exit_code == 2, result.output
    written = target.read_text(encoding="utf-8")
    assert "\\ud800" in written
    if fmt in ("json", "jsonl"):  # the records themselves: read back, the id and the file are as given
        records = json.loads(written) if fmt == "json" else [json.loads(line) for line in written.splitlines()]
        assert [r["bundle_id"] for r in records] == ["\ud800", "#2"]
        assert {r["source"] for r in records} == {str(source)}
    elif fmt != "csv":  # (a CSV row names no file)
        assert "in\\udcff.jsonl" in written
