"""The decision's notes in every form for people: text, summary, CSV, claim note, `explain --format text`.

Issue 9: "Entries dated outside the service month are named in the decision's notes." The JSON
forms carried them, and the text form; the summary, CSV and claim-note forms did not, so a biller
reading those never learned that 45 minutes were not counted.

Golden files: tests/golden/forms/time-outside-month.{txt,summary.txt,csv,claim-note.txt}, from
tests/fixtures/facts/time-outside-month.yaml (the shipped example with a third entry, of 45
minutes, dated 2025-04-02). Refresh with CAREPOLICY_UPDATE_GOLDENS=1 and read the diff.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from pathlib import Path

import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from carepolicy.engine import Bundle, Decision, PolicySet, evaluate, load_fact_file, load_fact_text
from carepolicy.engine.decision.explain import render_decision_text
from carepolicy.engine.decision.forms import (
    CLAIM_NOTE_WIDTH,
    CSV_COLUMNS,
    SUMMARY_NOTES,
    csv_rows,
    render_claim_note,
    render_csv,
    render_summary,
)
from click.testing import CliRunner

from tests.goldens import assert_golden

HERE = Path(__file__).resolve().parent
FACTS = HERE / "fixtures" / "facts" / "time-outside-month.yaml"
GOLDEN = HERE / "golden" / "forms"
NOTE = ("time[2] (45 minutes of ccm by `P1`) is dated 2025-04-02, outside the service month 2025-03: not counted "
        "in the month's minutes")


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    [read] = load_fact_file(FACTS)
    assert isinstance(read, Bundle)
    return read


@pytest.fixture(scope="module")
def decision(policies: PolicySet, bundle: Bundle) -> Decision:
    decided = evaluate(policies, bundle)
    assert decided.notes == (NOTE,)
    assert [(line.code, line.units) for line in decided.billable] == [("99490", 1), ("99439", 2)]  # 60 minutes, not 105
    return decided


def _with_notes(decision: Decision, count: int) -> Decision:
    return dataclasses.replace(decision, notes=tuple(f"note {n}: not counted" for n in range(1, count + 1)))


def test_each_form_of_a_decision_with_a_note_matches_golden(bundle: Bundle, decision: Decision) -> None:
    pinned = dataclasses.replace(decision, decision_id="<decision id>", policy_set_hash="<policy set hash>")
    assert_golden(GOLDEN / "time-outside-month.txt", render_decision_text(pinned))
    assert_golden(GOLDEN / "time-outside-month.summary.txt", render_summary(pinned) + "\n")
    assert_golden(GOLDEN / "time-outside-month.csv", render_csv(csv_rows(pinned)))
    assert_golden(GOLDEN / "time-outside-month.claim-note.txt", render_claim_note(pinned, bundle.data))


def test_the_text_form_has_a_notes_part_after_the_answer_and_the_reasons(decision: Decision) -> None:
    lines = render_decision_text(decision).splitlines()
    at = lines.index("Notes")
    assert lines[at + 1] == "  " + NOTE
    assert lines.index("Denied") < at < lines.index("Not considered")
    no_notes = render_decision_text(dataclasses.replace(decision, notes=())).splitlines()
    assert "Notes" not in no_notes


def test_the_summary_ends_with_the_note_and_stays_one_line(decision: Decision) -> None:
    line = render_summary(decision)
    assert line.endswith(" · patient $37.73 · note: " + NOTE)
    assert "\n" not in line
    assert render_summary(dataclasses.replace(decision, notes=())).endswith(" · patient $37.73")
    assert render_summary(_with_notes(decision, 2)).endswith(" · 2 notes: note 1: not counted; note 2: not counted")


def test_the_summary_names_the_first_notes_and_counts_the_rest(decision: Decision) -> None:
    many = _with_notes(decision, SUMMARY_NOTES + 4)
    line = render_summary(many)
    named = "; ".join(f"note {n}: not counted" for n in range(1, SUMMARY_NOTES + 1))
    assert line.endswith(f" · {SUMMARY_NOTES + 4} notes: {named}; and 4 more (the text form lists them)")
    assert "note 4:" not in line


def test_the_summary_shows_a_note_s_separator_as_an_escape(decision: Decision) -> None:
    # a practitioner id `P · 2025-04` in a note must not read as another field of the line
    line = render_summary(dataclasses.replace(decision, notes=("time[0] by `P · 2025-04`\x1b[2J",)))
    assert line.endswith(" · note: time[0] by `P \\u00b7 2025-04`\\x1b[2J")


def test_the_csv_has_one_note_row_per_note_and_the_same_columns(decision: Decision) -> None:
    text = render_csv(csv_rows(_with_notes(decision, 2)))
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS  # (the header is unchanged: no column was added)
    notes = [row for row in rows if row["status"] == "note"]
    assert [row["reasons"] for row in notes] == ["note 1: not counted", "note 2: not counted"]
    assert rows[-2:] == notes, "the notes come last, after the decision's code rows"
    for row in notes:
        assert (row["bundle_id"], row["month"], row["decision_id"]) == ("time-outside-month", "2025-03",
                                                                        decision.decision_id)
        assert all(row[column] == "" for column in CSV_COLUMNS[4:] if column != "reasons")
    assert len(rows) == len(decision.billable) + len(decision.denied) + 2
    plain = list(csv.DictReader(io.StringIO(render_csv(csv_rows(dataclasses.replace(decision, notes=()))),
                                            newline="")))
    assert [row for row in plain if row["status"] == "note"] == []


def test_a_csv_note_that_starts_as_a_formula_is_guarded(decision: Decision) -> None:
    text = render_csv(csv_rows(dataclasses.replace(decision, notes=("=HYPERLINK(\"http://x\",\"a\")",))))
    [row] = [row for row in csv.DictReader(io.StringIO(text, newline="")) if row["status"] == "note"]
    assert row["reasons"] == "'=HYPERLINK(\"http://x\",\"a\")"


def test_the_claim_note_lists_the_notes_after_its_decision_lines(bundle: Bundle, decision: Decision) -> None:
    lines = render_claim_note(decision, bundle.data).splitlines()
    assert lines[0] == "2025-03 99490x1 99439x2; clinical staff 60 min; consent 2025-01-10"  # the 45 minutes not in it
    assert lines[1:3] == [f"decision {decision.decision_id}", f"policy set {decision.policy_set_hash}"]
    assert lines[3:] == [
        "Notes",
        "  time[2] (45 minutes of ccm by `P1`) is dated 2025-04-02, outside the service",
        "    month 2025-03; not counted in the month's minutes",
    ]
    hostile = dataclasses.replace(decision, notes=("by `P*1~:^|>` é " + "x" * 200,))
    for line in render_claim_note(hostile, bundle.data).splitlines():
        assert 0 < len(line) <= CLAIM_NOTE_WIDTH, line
        assert line.isascii(), line
        assert not set(line) & set("*~:^|>"), line
    assert len(render_claim_note(dataclasses.replace(decision, notes=()), bundle.data).splitlines()) == 3


@pytest.mark.parametrize("fmt", ["text", "summary", "csv", "claim-note"])
def test_evaluate_shows_the_note_in_each_form(fmt: str) -> None:
    result = CliRunner().invoke(cli, ["evaluate", str(FACTS), "--format", fmt], catch_exceptions=False)
    assert result.exit_code == ExitCode.OK, result.stderr
    shown = {"claim-note": "outside the service"}.get(fmt, NOTE)
    assert shown in result.stdout
    assert "45 minutes of ccm" in result.stdout


def test_explain_text_shows_the_note(tmp_path: Path) -> None:
    decisions = tmp_path / "out.jsonl"
    runner = CliRunner()
    batch = runner.invoke(cli, ["batch", str(FACTS), "-o", str(decisions)], catch_exceptions=False)
    assert batch.exit_code == ExitCode.OK, batch.stderr
    result = runner.invoke(cli, ["explain", str(decisions), str(FACTS), "--format", "text"], catch_exceptions=False)
    assert result.exit_code == ExitCode.OK, result.stderr
    lines = result.stdout.splitlines()
    assert lines[lines.index("Notes") + 1] == "  " + NOTE
    assert lines.index("Notes") < lines.index("Why"), "the notes are in the answer's part, before the why-tree"


def test_a_summary_with_nothing_billable_shows_its_notes_too(policies: PolicySet) -> None:
    # every entry of the month moved to April: nothing is billable, and the line still says why not 105 minutes
    text = re.sub(r"date: '2025-0[34]-[0-9]{2}'", "date: '2025-04-02'", FACTS.read_text(encoding="utf-8"))
    [moved] = load_fact_text(text, name="moved.yaml", fmt="yaml")
    assert isinstance(moved, Bundle)
    decision = evaluate(policies, moved)
    assert not decision.billable
    line = render_summary(decision)
    assert " · nothing billable: " in line
    assert line.endswith(" · 3 notes: time[0] (35 minutes of ccm by `P1`) is dated 2025-04-02, outside the service "
                         "month 2025-03: not counted in the month's minutes; time[1] (25 minutes of ccm by `P1`) is "
                         "dated 2025-04-02, outside the service month 2025-03: not counted in the month's minutes; "
                         "time[2] (45 minutes of ccm by `P1`) is dated 2025-04-02, outside the service month 2025-03: "
                         "not counted in the month's minutes")
