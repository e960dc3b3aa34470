"""`carepolicy report` over an output that holds records more than once (a file concatenated twice).

Each line was counted: a batch output concatenated with itself reported twice the decisions and
twice every dollar, and said nothing. A decision with the same bundle_id, decision_id, policy set
and month as one counted already (or an error record whose whole line is the same) is now counted
once, and the report says how many lines repeated and names the first few ids; a bundle id and
month decided again with another result is counted and said, as both may be billed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from click.testing import CliRunner, Result

from tests.goldens import assert_golden

GOLDEN = Path(__file__).resolve().parent / "golden" / "cli"
HASH = "ab" * 16
ERROR = {"bundle_id": "bad-1", "source": "in.jsonl",
         "error": [{"code": "facts/schema", "severity": "error", "message": "missing `month`"}]}


def _decision(bundle_id: str, allowed: str, decision_id: str = "") -> dict[str, Any]:
    money = {"allowed": allowed, "medicare": allowed, "beneficiary": "0.00", "medigap": "0.00", "medicaid": "0.00"}
    return {"decision_format": 1, "bundle_id": bundle_id, "decision_id": decision_id or f"{bundle_id:0>32}"[-32:],
            "policy_set_hash": HASH, "month": "2025-03", "totals": money, "denied": [], "withdraw": [],
            "billable": [{"code": "99490", "units": 1, "allowed": allowed}]}


def _run(path: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["report", str(path), *args], catch_exceptions=False)


def _file(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_an_output_concatenated_twice_counts_each_decision_once_and_says_so(tmp_path: Path) -> None:
    once = [_decision(f"p{n}", "60.49") for n in range(8)] + [ERROR]
    path = _file(tmp_path, once + once)
    result = _run(path, "--format", "json")
    assert result.exit_code == ExitCode.OK, result.stderr
    counts = json.loads(result.stdout)
    assert (counts["records"], counts["decisions"], counts["error_records"]) == (9, 8, 1)
    assert counts["totals"]["allowed"] == "483.92"  # 8 x 60.49, not 16 x
    assert counts["codes"]["99490"]["billed_lines"] == 8
    assert counts["repeated_records"] == 9
    assert counts["repeated_ids"] == {"count": 9, "first": ["p0", "p1", "p2", "p3", "p4"]}
    assert counts["decided_again"] == 0
    text = _run(path).stdout
    assert_golden(GOLDEN / "report-repeated-records.txt", text.replace(str(path), "decisions.jsonl"))
    assert ("WARNING: 9 records repeat a record already counted (the same bundle_id and decision_id, or the same "
            "error record: an output concatenated twice?) and are not counted again; 9 ids: p0, p1, p2, p3, p4 "
            "and 4 more\n") in text
    assert "<strong>Warning:</strong> 9 records repeat" in _run(path, "--format", "html").stdout


def test_a_bundle_month_decided_again_differently_is_counted_and_said(tmp_path: Path) -> None:
    first, other = _decision("p1", "60.49"), _decision("p1", "70.00", decision_id="f" * 32)
    path = _file(tmp_path, [first, other, other, _decision("p2", "1.00")])
    counts = json.loads(_run(path, "--format", "json").stdout)
    assert counts["totals"]["allowed"] == "131.49"  # both decisions of p1, the repeat of the second not
    assert (counts["repeated_records"], counts["decided_again"]) == (1, 1)
    assert counts["decided_again_ids"] == {"count": 1, "first": ["p1"]}
    assert "WARNING: 1 decision is of a bundle id and month decided before with another result" in _run(path).stdout


def test_an_output_without_repeats_says_nothing_of_them(tmp_path: Path) -> None:
    path = _file(tmp_path, [_decision("p1", "1.00"), _decision("p2", "1.00"), ERROR, dict(ERROR, bundle_id="bad-2")])
    counts = json.loads(_run(path, "--format", "json").stdout)
    assert (counts["records"], counts["repeated_records"], counts["decided_again"]) == (4, 0, 0)
    assert "WARNING" not in _run(path).stdout
