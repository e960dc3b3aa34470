"""`carepolicy report` read as a billing team reads it: the words of the decision's text form.

The report named the payers by their JSON keys (`medicare`, `beneficiary`), said `1 records: 1
decisions` and `1 error records`, called an allowed amount left out `indeterminate` when it was not
priced, showed `$0.00` allowed for a code billed only on lines that are not priced (an RHC/FQHC
line reads as billed for nothing), left the tables of codes and denial reasons as a bare header when
they had no rows, and showed the backquotes of `notes` in the HTML page. The counts (the JSON form)
are unchanged, but for each code's `not_priced_lines`.
"""

from __future__ import annotations

import json
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from carepolicy.cli.main import cli
from click.testing import CliRunner

from tests.goldens import assert_golden

GOLDEN = Path(__file__).resolve().parent / "golden" / "report"
HASH = "ab" * 16


def _decision(bundle_id: str, lines: list[tuple[str, str | None]], shares: dict[str, str | None],
              denied: tuple[str, ...] = ()) -> dict[str, Any]:
    allowed = [amount for _code, amount in lines]
    total = None if None in allowed else f"{sum(Decimal(a) for a in allowed if a is not None):.2f}"
    return {"decision_format": 1, "bundle_id": bundle_id, "decision_id": f"{bundle_id:0>32}"[-32:],
            "policy_set_hash": HASH, "month": "2025-03", "totals": {"allowed": total, **shares},
            "denied": [{"code": code, "reasons": [{"reason": "no documented consent to CCM"}]} for code in denied],
            "withdraw": [], "billable": [{"code": code, "units": 1, "allowed": a} for code, a in lines]}


PAID = {"medicare": "48.39", "beneficiary": "12.10", "medigap": "0.00", "medicaid": "0.00"}
UNKNOWN = {"medicare": None, "beneficiary": None, "medigap": None, "medicaid": None}
DUAL = {"medicare": "48.39", "beneficiary": None, "medigap": "0.00", "medicaid": None}
ERROR = {"bundle_id": "bad-1", "source": "in.jsonl",
         "error": [{"code": "facts/schema", "severity": "error", "message": "missing `month`"}]}


def _report(tmp_path: Path, records: list[dict[str, Any]], *args: str) -> str:
    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = CliRunner().invoke(cli, ["report", str(path), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return result.stdout.replace(str(path), "decisions.jsonl")


def _mixed() -> list[dict[str, Any]]:
    return [
        _decision("priced", [("99490", "60.49")], PAID),
        _decision("fqhc", [("G0511", None)], UNKNOWN),  # an RHC/FQHC line: not priced
        _decision("dual", [("99490", "60.49")], DUAL),  # a full-benefit dual: the shares are not known
        _decision("denied", [], dict.fromkeys(PAID, "0.00"), denied=("99490",)),
        ERROR,
    ]


def test_report_text_speaks_the_decision_text_words(tmp_path: Path) -> None:
    text = _report(tmp_path, _mixed())
    assert_golden(GOLDEN / "mixed.txt", text)
    assert text.startswith("5 records: 4 decisions (3 with something to bill), 1 error record\n")
    assert "  Medicare " in text
    assert "  patient " in text
    assert "  medicare " not in text
    assert "(+ 1 decision not priced)" in text  # the allowed total left out: not "indeterminate"
    assert "(+ 2 decisions where it is not known)" in text
    g0511 = next(line for line in text.splitlines() if line.startswith("  G0511"))
    assert "not priced" in g0511
    assert "$0.00" not in g0511
    assert "billed but not priced, not in the allowed column: G0511 (1 line)" in text


def test_report_of_one_record_and_of_nothing_decided(tmp_path: Path) -> None:
    one = _report(tmp_path, [_decision("priced", [("99490", "60.49")], PAID)])
    assert one.startswith("1 record: 1 decision (1 with something to bill), 0 error records\n")
    errors_only = _report(tmp_path, [ERROR])
    assert errors_only.startswith("1 record: 0 decisions (0 with something to bill), 1 error record\n")
    assert "By code\n  none\n" in errors_only
    assert "top 10)\n  none\n" in errors_only


def test_report_json_counts_the_lines_not_priced(tmp_path: Path) -> None:
    counts = json.loads(_report(tmp_path, _mixed(), "--format", "json"))
    assert counts["codes"]["G0511"] == {"billed_lines": 1, "units": 1, "allowed": "0.00", "denied": 0,
                                        "not_priced_lines": 1}
    assert counts["codes"]["99490"]["not_priced_lines"] == 0
    assert counts["indeterminate"]["allowed"] == 1  # (the JSON keeps its keys and words)


class _Structure(HTMLParser):
    """Every element closed in order (the void ones excepted), and the text outside tags."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "rect"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.misnested: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1] == tag:
            self.open.pop()
        else:
            self.misnested.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_report_html_says_the_same_and_is_well_formed(tmp_path: Path) -> None:
    page = _report(tmp_path, _mixed(), "--format", "html")
    assert_golden(GOLDEN / "mixed.html", page)
    structure = _Structure()
    structure.feed(page)
    structure.close()
    assert structure.open == []
    assert structure.misnested == []
    text = "".join(structure.text)
    assert "5 records: 4 decisions (3 with something to bill), 1 error record." in text
    assert "Medicare" in text
    assert "patient" in text
    assert "beneficiary" not in text
    assert "+ 1 decision not priced" in text
    assert "+ 2 decisions where it is not known" in text
    assert "<td class=n>not priced</td>" in page
    errors_only = _report(tmp_path, [ERROR], "--format", "html")
    assert "<h2>Codes billed</h2>" in errors_only
    assert errors_only.count("<p>none</p>") == 2  # no codes, no denial reasons: said, not an empty table
    noted = dict(_decision("priced", [("99490", "60.49")], PAID), notes=["time[0] is dated outside the month"])
    with_notes = _report(tmp_path, [noted], "--format", "html")
    assert "(each decision&#x27;s <code>notes</code> names them)" in with_notes.replace("'", "&#x27;")
    assert "`" not in with_notes
