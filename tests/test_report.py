"""`carepolicy report` over a generated batch of 10,000 decisions: every count and amount is
recomputed here, independently, from the JSON Lines; the HTML page parses, holds its SVG charts
and loads nothing from outside."""

from __future__ import annotations

import html
import json
from collections import Counter
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.main import cli
from carepolicy.engine import Bundle, evaluate, load_policies, to_json
from carepolicy.engine.facts.reader import load_yaml_documents, validate_bundle
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT.parent / "shared" / "acceptance" / "scenarios.yaml"
N = 10_000


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10,000 records: the decisions of every public scenario, repeated under new bundle ids, with
    an error record every 1,000 lines (as `batch` writes them)."""
    policies = load_policies()
    scenarios = load_yaml_documents(SCENARIOS.read_text(encoding="utf-8"), str(SCENARIOS))[0]
    lines = []
    for scenario in scenarios:
        bundle = validate_bundle(scenario["facts"], source="scenarios.yaml", index=0)
        assert isinstance(bundle, Bundle)
        lines.append(json.loads(to_json(evaluate(policies, bundle, trace=False), indent=None)))
    path = tmp_path_factory.mktemp("report") / "decisions.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for i in range(N):
            if i % 1000 == 999:
                record: dict[str, Any] = {
                    "bundle_id": f"bad-{i}",
                    "source": "in.jsonl",
                    "error": [{"code": "facts/schema", "severity": "error", "message": f"problem {i}"}],
                }
            else:
                record = dict(lines[i % len(lines)], bundle_id=f"b{i}")
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def _recount(path: Path) -> dict[str, Any]:
    decisions = errors = with_billable = with_notes = 0
    billed: Counter[str] = Counter()
    units: Counter[str] = Counter()
    denied: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    allowed_by_code: dict[str, Decimal] = {}
    totals = dict.fromkeys(("allowed", "medicare", "beneficiary", "medigap", "medicaid"), Decimal(0))
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if "error" in record:
            errors += 1
            continue
        decisions += 1
        with_billable += bool(record["billable"])
        with_notes += bool(record.get("notes"))
        for b in record["billable"]:
            billed[b["code"]] += 1
            units[b["code"]] += b["units"]
            allowed_by_code[b["code"]] = allowed_by_code.get(b["code"], Decimal(0)) + Decimal(b["allowed"] or 0)
        for name in totals:
            if record["totals"][name] is not None:
                totals[name] += Decimal(record["totals"][name])
        for d in record["denied"]:
            denied[d["code"]] += 1
        reasons.update({r["reason"] for d in record["denied"] for r in d["reasons"]})
    return {
        "decisions": decisions,
        "errors": errors,
        "with_billable": with_billable,
        "with_notes": with_notes,
        "billed": billed,
        "units": units,
        "denied": denied,
        "reasons": reasons,
        "allowed": allowed_by_code,
        "totals": totals,
    }


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, ["report", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_report_counts_match_an_independent_recount(batch: Path) -> None:
    expected = _recount(batch)
    report = json.loads(_run(str(batch), "--format", "json", "--top", "5"))
    assert report["records"] == N
    assert report["decisions"] == expected["decisions"] == N - 10
    assert report["error_records"] == expected["errors"] == 10
    assert report["decisions_with_billable"] == expected["with_billable"]
    assert report["decisions_with_notes"] == expected["with_notes"]
    assert {k: Decimal(v) for k, v in report["totals"].items()} == expected["totals"]
    for code, counts in report["codes"].items():
        assert counts["billed_lines"] == expected["billed"][code], code
        assert counts["units"] == expected["units"][code], code
        assert counts["denied"] == expected["denied"][code], code
        assert Decimal(counts["allowed"]) == expected["allowed"].get(code, Decimal(0)), code
    assert set(report["codes"]) == set(expected["billed"]) | set(expected["denied"])
    top = [(r["reason"], r["decisions"]) for r in report["top_denial_reasons"]]
    assert [n for _r, n in top] == sorted(expected["reasons"].values(), reverse=True)[:5]
    assert all(expected["reasons"][reason] == n for reason, n in top)


def test_report_text_names_the_totals(batch: Path) -> None:
    expected = _recount(batch)
    text = _run(str(batch))
    assert text.startswith(
        f"{N} records: {N - 10} decisions ({expected['with_billable']} with something to bill), 10 error records\n"
    )
    assert f"${expected['totals']['allowed']:,.2f}" in text
    assert "Error records (10; the first 10 shown)" in text


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "data") and value:
                self.external.append(f"{tag} {name}={value}")
        if tag in ("script", "link", "img", "iframe", "object", "embed"):
            self.external.append(tag)


def test_report_html_is_one_offline_page_with_charts(batch: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    _run(str(batch), "--format", "html", "-o", str(target))
    page = target.read_text(encoding="utf-8")
    parser = _Page()
    parser.feed(page)
    parser.close()
    assert parser.tags["svg"] == 2, "codes billed and denial reasons"
    assert parser.tags["rect"] >= 2
    assert parser.external == []
    assert "url(" not in page
    assert "@import" not in page


def test_report_of_a_line_that_is_not_a_record_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"bundle_id": "x"}\nnot json\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(bad)], catch_exceptions=False)
    assert result.exit_code == 2
    assert "error[report/input]" in result.stderr
    assert f"{bad}:1:" in result.stderr
    missing = CliRunner().invoke(cli, ["report", str(tmp_path / "none.jsonl")], catch_exceptions=False)
    assert missing.exit_code == 2
    assert "error[report/io]" in missing.stderr
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    for args, name in (([str(empty)], str(empty)), (["-"], "-")):  # an empty file, an empty stdin
        nothing = CliRunner().invoke(cli, ["report", *args], input="", catch_exceptions=False)
        assert nothing.exit_code == 2
        assert f"error[report/input]: `{name}` holds no records" in nothing.stderr
        assert nothing.stdout == ""


def test_report_drops_a_byte_order_mark_and_names_a_file_not_in_utf8(batch: Path, tmp_path: Path) -> None:
    first = batch.read_bytes().split(b"\n")[0] + b"\n"
    plain, marked = tmp_path / "plain.jsonl", tmp_path / "marked.jsonl"
    plain.write_bytes(first)
    marked.write_bytes(b"\xef\xbb\xbf" + first)  # as a Windows editor saves it
    assert _run(str(marked)) == _run(str(plain))
    wide = tmp_path / "wide.jsonl"
    wide.write_bytes(first.decode("utf-8").encode("utf-16"))
    result = CliRunner().invoke(cli, ["report", str(wide)], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{wide}: error[report/io]: cannot read `{wide}`: line 1 is not UTF-8 text (byte 1): it is UTF-16 (it starts "
        "with a UTF-16 byte-order mark); save it as UTF-8\n"
        "  help: a batch output is UTF-8 JSON Lines; give the file `carepolicy batch` wrote\n"
    )


def test_report_says_how_many_decisions_have_notes(tmp_path: Path) -> None:
    """A decision's notes name facts read but not counted (time dated outside the month): the
    report counted none of them, so a billing team reading it did not know to look."""
    entry = {"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": "ccm", "date": "2025-03-04"}
    facts = {"month": "2025-03", "beneficiary": {"part_b": True, "dual_status": "none", "deductible_remaining": 0},
             "practitioner": {"id": "P1", "kind": "physician"}, "time": [entry]}
    early = dict(facts, time=[entry, dict(entry, date="2025-02-27")])
    bundles = tmp_path / "in.jsonl"
    bundles.write_text("".join(json.dumps(dict(f, id=i)) + "\n" for i, f in
                               (("a", facts), ("b", early), ("c", early), ("d", facts))))
    decisions = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["batch", str(bundles), "-o", str(decisions)], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    noted = [bool(json.loads(line)["notes"]) for line in decisions.read_text().splitlines()]
    assert noted == [False, True, True, False]
    assert json.loads(_run(str(decisions), "--format", "json"))["decisions_with_notes"] == 2
    said = ("2 decisions have notes: facts read but not counted, such as time dated outside the service month, "
            "or a policy's note on a code billed or on the decision (each decision's `notes` names them)")
    assert f"\nnote: {said}\n" in _run(str(decisions))
    page = tmp_path / "r.html"
    _run(str(decisions), "--format", "html", "-o", str(page))
    said_in_html = html.escape(said, quote=False).replace("`notes`", "<code>notes</code>")  # a name, not backquotes
    assert f"<p><strong>Note:</strong> {said_in_html}.</p>" in page.read_text()
