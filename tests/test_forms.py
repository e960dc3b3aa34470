"""The forms of a decision for its readers: the default text (one screen), summary, CSV, claim note.

Golden files: tests/golden/forms/BUNDLE.{txt,summary.txt,csv,claim-note.txt}, from the shipped
policies and the shipped example bundles (the ones a billing team tries first). Refresh with
`CAREPOLICY_UPDATE_GOLDENS=1` (docs/contributing/testing.md) and read the diff.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from pathlib import Path

import pytest
from carepolicy.engine import (
    Bundle,
    Decision,
    PolicySet,
    evaluate,
    load_fact_file,
    load_fact_text,
    to_json,
)
from carepolicy.engine.decision.explain import render_decision_text
from carepolicy.engine.decision.forms import (
    CLAIM_NOTE_WIDTH,
    CSV_COLUMNS,
    csv_rows,
    render_claim_note,
    render_csv,
    render_summary,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.goldens import assert_golden

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden" / "forms"
EXAMPLES = ("policies/examples/ccm-60-minutes.yaml", "policies/examples/month-batch.yaml")
SCENARIOS = ROOT.parent / "shared" / "acceptance" / "scenarios.yaml"


@pytest.fixture(scope="module")
def bundles(policies: PolicySet) -> dict[str, tuple[Bundle, Decision]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        items = [b for path in EXAMPLES for b in load_fact_file(path) if isinstance(b, Bundle)]
    return {b.id: (b, evaluate(policies, b)) for b in items}


def test_the_shipped_example_fits_a_screen(bundles: dict[str, tuple[Bundle, Decision]]) -> None:
    text = render_decision_text(bundles["example-ccm-60-minutes"][1])
    lines = text.splitlines()
    # 40, and the two assumptions its Plan K shares rest on, said once after the total
    assert len(lines) <= 42, f"{len(lines)} lines"
    assert lines[1] == "Bill 99490 × 1, 99439 × 2 (practitioner P1) · allowed $152.35 · patient owes $37.73"
    assert "Switches" not in text, "all switches are at their defaults: none is shown"
    assert re.search(r"^  no consent to .*\(1[0-9] codes\)$", text, re.M), "out-of-scope codes on one line"
    assert "  S7    NGS Medicare, 'Care Management – Chronic Care Management'" in text


def test_forms_match_golden(bundles: dict[str, tuple[Bundle, Decision]]) -> None:
    # ids pinned: every edit of a shipped policy changes the policy-set hash, and with it every id
    pinned = {"decision_id": "<decision id>", "policy_set_hash": "<policy set hash>"}
    for bundle_id, (bundle, real) in bundles.items():
        decision = dataclasses.replace(real, **pinned)
        assert_golden(GOLDEN / f"{bundle_id}.txt", render_decision_text(decision))
        assert_golden(GOLDEN / f"{bundle_id}.summary.txt", render_summary(decision) + "\n")
        assert_golden(GOLDEN / f"{bundle_id}.csv", render_csv(csv_rows(decision)))
        assert_golden(GOLDEN / f"{bundle_id}.claim-note.txt", render_claim_note(decision, bundle.data))


def test_qmb_zero_share_says_who_pays(bundles: dict[str, tuple[Bundle, Decision]]) -> None:
    text = render_decision_text(bundles["qmb-apcm-level-3"][1])
    expected = "deductible $107.07 + coinsurance $0.00 = $107.07: Medicaid pays $107.07, the patient owes $0.00"
    assert expected in text


def test_csv_is_rfc_4180(bundles: dict[str, tuple[Bundle, Decision]]) -> None:
    decision = bundles["complex-ccm-90-minutes"][1]
    text = render_csv(csv_rows(decision))
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert all(len(row) == len(CSV_COLUMNS) for row in rows)
    statuses = [row[3] for row in rows[1:]]
    assert statuses.count("billable") == len(decision.billable)
    assert len(rows) - 1 == len(decision.billable) + len(decision.denied)


def test_claim_note_lines_fit_the_nte_segment(bundles: dict[str, tuple[Bundle, Decision]]) -> None:
    for bundle, decision in bundles.values():
        note = render_claim_note(decision, bundle.data)
        for line in note.splitlines():
            assert 0 < len(line) <= CLAIM_NOTE_WIDTH, line
            assert line.isascii(), line
            assert not set(line) & set("*~:^|"), line
        assert f"decision {decision.decision_id}" in note
        assert f"policy set {decision.policy_set_hash}" in note


def test_a_claim_note_run_with_a_bundle_not_decided_keeps_every_line_in_the_segment(tmp_path: Path) -> None:
    """An input record that could not be decided was written in the claim-note form as the text
    form heads it, `Bundle X · not evaluated: 1 problem in SOURCE (details on stderr)`: a `·`, a
    colon (an X12 delimiter) and, with a long path, more than 80 characters."""
    from carepolicy.cli.main import cli
    from click.testing import CliRunner

    folder = tmp_path / ("a-folder-with-a-long-name-as-exports-have-" * 2)
    folder.mkdir()
    bundles = folder / "march.jsonl"
    bundles.write_text('{"id": "bad · one", "month": "2025-13"}\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluate", "--format", "claim-note", str(bundles)], catch_exceptions=False)
    assert result.exit_code == 2
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Bundle bad \\u00b7 one - not evaluated; 1 problem in ")
    for line in lines:
        assert 0 < len(line) <= CLAIM_NOTE_WIDTH, line
        assert line.isascii(), line
        assert not set(line) & set("*~:^|>"), line


@given(st.text(max_size=300))
@settings(max_examples=60, deadline=None)
def test_claim_note_of_any_text_fits(consent_date: str) -> None:
    from carepolicy.engine.decision.forms import _ascii

    cleaned = _ascii(consent_date)
    assert cleaned.isascii()
    assert not set(cleaned) & set("*~:^|")


# --------------------------------------------------------------------------------------------- authoring notes

# What an authoring note looks like in a cite text: a confidence mark, or a remark about the
# reference file or a policy file. Decisions must carry neither (the policies keep them).
AUTHORING = re.compile(r"\((?:H|M|L)\)|cms-rules\.md|\b\w+\.policy\b(?!:\d)|does not state")


def _scenario_decisions(policies: PolicySet) -> list[Decision]:
    from carepolicy.engine.facts.reader import load_yaml_documents, validate_bundle

    scenarios = load_yaml_documents(SCENARIOS.read_text(encoding="utf-8"), str(SCENARIOS))[0]
    found = []
    for scenario in scenarios:
        bundle = validate_bundle(scenario["facts"], source="scenarios", index=0)
        if isinstance(bundle, Bundle):
            found.append(evaluate(policies, bundle))
    return found


def test_no_decision_carries_an_authoring_note(
    policies: PolicySet, bundles: dict[str, tuple[Bundle, Decision]]
) -> None:
    decisions = [d for _b, d in bundles.values()] + _scenario_decisions(policies)
    assert len(decisions) > 70
    for decision in decisions:
        cites = re.findall(r'"cites": \[(.*?)\]', to_json(decision, indent=None), re.S)
        for cite in cites:
            assert not AUTHORING.search(cite), f"{decision.bundle_id}: {cite}"
        text = render_decision_text(decision, explain=True)
        # the legend of sources gives titles as the registry holds them (A1 *is* cms-rules.md §12)
        head, _legend, rest = text.partition("\nSources cited\n")
        for line in (head + rest.partition("\n\n")[2]).splitlines():
            assert not re.search(r"\((?:H|M|L)\)|cms-rules\.md|does not state", line), line


def test_claim_note_takes_the_consent_date_of_a_v2_record(policies: PolicySet) -> None:
    # a version 2 bundle has one consent record per program and no single `consent`
    example = (ROOT / "policies" / "examples" / "ccm-60-minutes.yaml").read_text(encoding="utf-8")
    (bundle,) = load_fact_text(example, name="example.yaml", fmt="yaml")
    assert isinstance(bundle, Bundle)
    v2 = {key: value for key, value in bundle.data.items() if key != "consent"}
    v2["consents"] = {"ccm": {**bundle.data["consents"]["ccm"], "date": "2024-11-05"}}
    decision = evaluate(policies, dataclasses.replace(bundle, data=v2))
    assert decision.billable
    assert "consent 2024-11-05" in render_claim_note(decision, v2).splitlines()[0]
