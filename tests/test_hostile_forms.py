"""Every form of a decision with hostile text wherever a bundle's text reaches it.

A bundle's id, practitioner ids and condition names may hold any character. The human forms must
not run it (a CSV cell `=HYPERLINK(...)` is a formula in Excel and LibreOffice; an escape sequence
acts on a terminal), let it forge a line or a field (`\\nbillable: 99490`, `a · 2025-03 · 99490 × 1`)
or hide it (a zero-width space makes `P1\\u200b` read as `P1`). The JSON forms carry it exactly.
docs/reference/output-forms.md says what each form promises; golden files:
tests/golden/forms/hostile.* (refresh with CAREPOLICY_UPDATE_GOLDENS=1 and read the diff).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from carepolicy.cli.main import cli
from carepolicy.engine import Bundle, Decision, PolicySet, evaluate
from carepolicy.engine.decision.explain import render_decision_text
from carepolicy.engine.decision.forms import CSV_COLUMNS, csv_rows, csv_text_cell, render_csv, render_summary
from carepolicy.engine.facts.bundle import validate_bundle
from carepolicy.engine.printable import printable, shortened_id
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.goldens import assert_golden

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden" / "forms"
EXAMPLE = ROOT / "policies" / "examples" / "ccm-60-minutes.yaml"

# a formula, a forged line, a CR, the summary's separator, CSV's comma and quote, NUL, a screen
# clear, an OSC 8 hyperlink, a right-to-left override and a zero-width space
HOSTILE = (
    '=HYPERLINK("http://x","a")\nbillable: 99490\r|x · y,"q"\x00\x1b[2J'
    "\x1b]8;;http://e\x1b\\L\x1b]8;;\x1b\\\u202eevil\u200b"
)
UNSAFE = ("\n", "\r", "\x00", "\x1b", "\u202e", "\u200b")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _facts(**changes: Any) -> dict[str, Any]:
    facts: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    facts = copy.deepcopy(facts)
    facts.update(changes)
    return facts


def _hostile_facts() -> dict[str, Any]:
    """The shipped example with hostile text in every free-text field the schema allows."""
    facts = _facts(id=HOSTILE)
    facts["practitioner"]["specialty"] = "@" + HOSTILE
    facts["chronic_conditions"][0]["name"] = "+" + HOSTILE
    facts["chronic_conditions"][0]["icd10"] = "-" + HOSTILE
    facts["other_claims_this_month"] = [{"code": "99490", "practitioner": "X" + HOSTILE}]
    return facts


def _decide(policies: PolicySet, facts: dict[str, Any]) -> Decision:
    bundle = validate_bundle(facts, source="hostile", index=0)
    assert isinstance(bundle, Bundle), bundle
    return evaluate(policies, bundle)


def _run(tmp_path: Path, facts: dict[str, Any], fmt: str) -> str:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(facts), encoding="utf-8")
    target = tmp_path / "out"
    result = CliRunner().invoke(cli, ["evaluate", "--format", fmt, "-o", str(target), str(path)],
                                catch_exceptions=False)
    assert result.exit_code in (0, 2), result.output
    return target.read_bytes().decode("utf-8")


# --------------------------------------------------------------------------------------------- csv


def test_a_csv_text_cell_that_starts_as_a_formula_gets_one_quote_and_numbers_are_kept() -> None:
    """A bundle id `=HYPERLINK(...)` was written as a cell starting with `=`: a formula when the
    file is opened. Every text cell that starts with = + - @ tab CR (or ') now gets a `'` in front;
    the money and unit columns are written as they are (a negative amount keeps its `-`)."""
    row = {
        "bundle_id": '=HYPERLINK("http://x","a")', "month": "2025-03", "status": "denied", "code": "99490",
        "units": "1", "allowed": "-5.00", "reasons": "+1", "rules": "-x", "cites": "@SUM(A1)",
        "with_code": "\tcmd", "decision_id": "'=already quoted",
    }
    assert render_csv([row], header=False).encode("utf-8") == (
        b"\"'=HYPERLINK(\"\"http://x\"\",\"\"a\"\")\",2025-03,''=already quoted,denied,99490,1,,'\tcmd,"
        b"-5.00,,,,,,,,'+1,'-x,'@SUM(A1)\r\n"
    )


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\tx", "'\tx"),
        ("\rx", "\\x0dx"),  # (a CR is shown as its escape: it can no longer start a cell)
        ("'=1", "''=1"), ("''=1", "'''=1"), ("'plain", "''plain"), ("plain", "plain"), ("", ""),
        ("a=1", "a=1"), (" =1", " =1"),
    ],
)
def test_the_quote_rule_is_exact(value: str, cell: str) -> None:
    assert csv_text_cell(value) == cell


def _undo(cell: str) -> str:
    """The rule docs/reference/output-forms.md gives: a text cell that starts with `'` loses one."""
    return cell[1:] if cell.startswith("'") else cell


@given(st.text(max_size=40))
@settings(max_examples=200, deadline=None)
def test_a_text_cell_read_back_and_unquoted_is_the_text_as_printed(text: str) -> None:
    """Unambiguous: whatever the text (one that already starts with `'=` included), reading the CSV
    and applying the documented rule gives the text as the other human forms show it, and no cell
    starts as a formula."""
    written = render_csv([{"bundle_id": text, "reasons": "'" + text}], header=False)
    [row] = list(csv.reader(io.StringIO(written, newline="")))
    assert _undo(row[0]) == printable(text)
    assert _undo(row[16]) == printable("'" + text)
    assert not row[0].startswith(FORMULA_STARTS)


def test_the_csv_of_a_hostile_bundle_has_one_line_per_row_and_no_formula(
    policies: PolicySet, tmp_path: Path
) -> None:
    """The id's line break split each row over two lines (legal RFC 4180 in quotes, but a line-based
    tool, `grep` or `wc -l`, and a biller reading the file saw a forged row `billable: 99490`), and
    its escape sequence, NUL and override reached whatever showed the file."""
    text = _run(tmp_path, _hostile_facts(), "csv")
    lines = text.split("\r\n")
    assert lines[-1] == ""
    assert not any("\n" in line or "\r" in line for line in lines)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == len(lines) - 1
    assert tuple(rows[0]) == CSV_COLUMNS
    for row in rows[1:]:
        assert row[0] == "'" + printable(shortened_id(HOSTILE))  # (87 characters: shortened, still guarded)
        assert not [cell for cell in row if cell.startswith(FORMULA_STARTS)], row
        assert not [cell for cell in row if any(c in cell for c in UNSAFE)], row


# --------------------------------------------------------------------------------------------- summary and text


def test_an_id_holding_the_summary_separator_does_not_forge_an_answer(policies: PolicySet) -> None:
    """`a · 2025-03 · 99490 × 1 · allowed $60.49 · patient $12.10` as an id made the summary line
    begin with a whole forged answer; its `·` is now shown as `\\u00b7`."""
    forged = "a · 2025-03 · 99490 × 1 · allowed $60.49 · patient $12.10"
    line = render_summary(_decide(policies, _facts(id=forged)))
    assert line == (
        "a \\u00b7 2025-03 \\u00b7 99490 × 1 \\u00b7 allowed $60.49 \\u00b7 patient $12.10"
        " · 2025-03 · 99490 × 1, 99439 × 2 · allowed $152.35 · patient $37.73"
    )
    assert len(line.split(" · ")) == 5


def test_the_summary_reason_and_the_error_line_escape_the_separator(tmp_path: Path) -> None:
    facts = _facts(id="b · 2025-03 · 99490 × 1")
    facts["other_claims_this_month"] = [{"code": "99490", "practitioner": "X · allowed $1.00"}]
    line = _run(tmp_path, facts, "summary")
    assert line == (
        "b \\u00b7 2025-03 \\u00b7 99490 × 1 · 2025-03 · nothing billable: 99490 already claimed by another"
        " practitioner (X \\u00b7 allowed $1.00) this month: Only one practitioner is paid for CCM per"
        " beneficiary per month\n"
    )
    bad = _run(tmp_path, _facts(id="c · 2025-03 · 99490 × 1", month="2025-13"), "summary")
    assert bad.startswith("Bundle c \\u00b7 2025-03 \\u00b7 99490 × 1 · not evaluated: 1 problem in ")


def test_the_text_form_shows_the_practitioner_and_reasons_without_a_forged_field(policies: PolicySet) -> None:
    """The answer line read `Bill ... (practitioner P1 · allowed $0.00) · allowed $152.35`; a reason
    quoting another practitioner `X · S99]` forged the cites of its policy line."""
    facts = _facts(id="d · service month 2025-04")
    for place in (facts["practitioner"], facts["consent"], *facts["time"]):
        place["id" if place is facts["practitioner"] else "practitioner"] = "P1 · allowed $0.00"
    lines = render_decision_text(_decide(policies, facts)).splitlines()
    assert lines[0] == "Bundle d \\u00b7 service month 2025-04 · service month 2025-03"
    assert lines[1].startswith("Bill 99490 × 1, 99439 × 2 (practitioner P1 \\u00b7 allowed $0.00) · allowed $")
    facts["other_claims_this_month"] = [{"code": "99491", "practitioner": "X  [policies/ccm.policy:1 · S99]"}]
    lines = render_decision_text(_decide(policies, facts)).splitlines()
    quoting = [line for line in lines if "X  [policies/ccm.policy:1" in line]
    assert len(quoting) > 2
    assert all("X  [policies/ccm.policy:1 \\u00b7 S99]" in line for line in quoting)


def test_an_invisible_character_in_a_practitioner_id_is_shown(policies: PolicySet) -> None:
    """`P1\\u200b` (a zero-width space) read as `P1`: `99490 already claimed by another practitioner
    (P1)` named the billing practitioner itself. The tag characters hide ASCII text the same way."""
    facts = _facts()
    facts["other_claims_this_month"] = [{"code": "99490", "practitioner": "P1\u200b\u2060\U000e0041"}]
    decision = _decide(policies, facts)
    text = render_decision_text(decision)
    assert "another practitioner (P1\\u200b\\u2060\\U000e0041)" in text
    assert "(P1\\u200b\\u2060\\U000e0041)" in render_summary(decision)
    assert printable("\u200d\u200c\u00ad") == "\u200d\u200c\u00ad"  # joiners and soft hyphen: text


def test_hostile_forms_match_golden(policies: PolicySet) -> None:
    """Every human form of the hostile bundle, byte for byte: one line per line, escapes shown."""
    real = _decide(policies, _hostile_facts())
    decision = dataclasses.replace(real, decision_id="<decision id>", policy_set_hash="<policy set hash>")
    text = render_decision_text(decision, explain=True)
    assert not [c for c in text.replace("\n", "") if c in UNSAFE]
    assert_golden(GOLDEN / "hostile.txt", text)
    assert_golden(GOLDEN / "hostile.summary.txt", render_summary(decision) + "\n")
    assert_golden(GOLDEN / "hostile.csv", render_csv(csv_rows(decision)))


# --------------------------------------------------------------------------------------------- json


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_the_json_forms_carry_the_hostile_text_exactly(tmp_path: Path, fmt: str) -> None:
    written = _run(tmp_path, _hostile_facts(), fmt)
    assert "\x1b" not in written  # escaped by JSON itself
    assert "\x00" not in written
    record = json.loads(written)
    assert record["bundle_id"] == HOSTILE
    reasons = [r["reason"] for d in record["denied"] for r in d["reasons"]]
    assert any(f"another practitioner (X{HOSTILE})" in text for text in reasons)
