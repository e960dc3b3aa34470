"""Ids of up to 2,000 characters (the fact limit) in the human forms of a decision.

The text, summary and CSV forms wrote a 2,000-character bundle or practitioner id whole: a summary
"line" of 2,065 characters, and every CSV row 2,000 characters wider. An id of more than 64
characters is now shown by its first 40 and last 20 characters and a marker with its length
(`… (2,000 characters, shortened)`); the JSON forms keep it exact.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from carepolicy.cli.main import cli
from carepolicy.engine.printable import shortened_id
from click.testing import CliRunner

from tests.goldens import assert_golden

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "policies" / "examples" / "ccm-60-minutes.yaml"
GOLDEN = Path(__file__).resolve().parent / "golden" / "forms"
# a long common prefix, as the ids of one export have: they differ only at the end
BUNDLE = "=org.example.clinic/" + "a" * 1968 + "patient-0001"  # 2,000 characters, the most a fact file allows
PRACTITIONER = "P" * 1000


def test_shortened_id_keeps_short_ids_and_marks_long_ones() -> None:
    assert shortened_id("x" * 64) == "x" * 64
    assert shortened_id("s" * 40 + "m" * 25 + "e" * 20) == "s" * 40 + "…" + "e" * 20 + " (85 characters, shortened)"
    assert shortened_id(BUNDLE).endswith(f"…{BUNDLE[-20:]} (2,000 characters, shortened)")


@pytest.fixture(scope="module")
def facts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    facts: dict[str, Any] = copy.deepcopy(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    facts["id"] = BUNDLE
    facts["practitioner"]["id"] = PRACTITIONER
    facts["consent"]["practitioner"] = PRACTITIONER
    for entry in facts["time"]:
        entry["practitioner"] = PRACTITIONER
    path = tmp_path_factory.mktemp("long") / "in.json"
    path.write_text(json.dumps(facts), encoding="utf-8")
    return path


def _run(path: Path, fmt: str) -> str:
    result = CliRunner().invoke(cli, ["evaluate", "--format", fmt, str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_text_and_summary_forms_shorten_long_ids(facts_file: Path) -> None:
    text = _run(facts_file, "text")
    summary = _run(facts_file, "summary")
    assert_golden(GOLDEN / "long-ids.txt", "".join(text.splitlines(keepends=True)[:2]) + summary)
    assert BUNDLE not in text
    assert PRACTITIONER not in text
    assert max(len(line) for line in text.splitlines()[:2]) < 200
    assert len(summary) < 200


def test_the_csv_form_shortens_the_id_and_still_guards_the_cell(facts_file: Path) -> None:
    rows = list(csv.reader(io.StringIO(_run(facts_file, "csv"), newline="")))
    assert len(rows) > 2
    for row in rows[1:]:
        assert row[0] == "'" + shortened_id(BUNDLE)  # starts with `=`: guarded as before
        assert len(row[0]) < 100


def test_the_json_forms_keep_long_ids_exact(facts_file: Path) -> None:
    decision = json.loads(_run(facts_file, "json"))
    assert decision["bundle_id"] == BUNDLE
    assert decision["billable"][0]["practitioner"] == PRACTITIONER


def test_a_diagnostic_on_stderr_names_a_long_bundle_id_shortened(tmp_path: Path) -> None:
    """The `bundle `...`` of an error on stderr was the whole id: a 2,084-character line."""
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": BUNDLE, "month": "2025-13"}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluate", "--format", "jsonl", str(path)], catch_exceptions=False)
    assert result.exit_code == 2
    assert json.loads(result.stdout)["bundle_id"] == BUNDLE  # the JSON form: whole
    (header,) = [line for line in result.stderr.splitlines() if "error[facts/schema]" in line]
    assert f"bundle `{shortened_id(BUNDLE)}`: $.month: error[facts/schema]" in header
    assert len(header) < 250
