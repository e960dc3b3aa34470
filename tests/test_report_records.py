"""`carepolicy report` over batch outputs that were edited, damaged or made by something else.

The report read each line as a plain dict and trusted the types of what it found: a money field
written as a JSON number or `true` was added in (`true` as $1.00), `"NaN"` made every total NaN,
`units: 1.7` counted as 1, a `month` of `null` became a month named `None`, and a `totals` that
was a list, or an error record whose `error` was not a list of diagnostics, ended the command
with a traceback (the latter only among the first 20 error records: later ones were not looked
at). A line is now a decision or an error record in the documented form
(docs/reference/decision-format.md), or the report stops at it, naming the line and the field.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from click.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "policies" / "examples" / "ccm-60-minutes.yaml"  # billed: 99490 × 1 and 99439 × 2
ERROR_RECORD = {"bundle_id": "b1", "source": "in.jsonl",
                "error": [{"code": "facts/schema", "severity": "error", "message": "problem"}]}


def run(*args: str, stdin: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["report", *args], input=stdin, catch_exceptions=False)


@pytest.fixture(scope="module")
def decision() -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["evaluate", str(EXAMPLE), "--format", "jsonl", "--trace", "none"],
                                catch_exceptions=False)
    assert result.exit_code == ExitCode.OK, result.stderr
    made: dict[str, Any] = json.loads(result.stdout)
    assert made["billable"]
    assert made["totals"]["allowed"] == "152.35"
    return made


def _edited(record: dict[str, Any], path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    copy = json.loads(json.dumps(record))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), encoding="utf-8")
    return path


EDITS = [  # (where, the value written there, the JSON path the message names)
    (("totals", "allowed"), 152.35, "$.totals.allowed"),
    (("totals", "allowed"), True, "$.totals.allowed"),
    (("totals", "allowed"), "NaN", "$.totals.allowed"),
    (("totals", "medicare"), "Infinity", "$.totals.medicare"),
    (("totals", "beneficiary"), "1e3", "$.totals.beneficiary"),
    (("totals", "medigap"), "12.7", "$.totals.medigap"),
    (("totals",), [], "$.totals"),
    (("billable", 0, "allowed"), "sNaN", "$.billable[0].allowed"),
    (("billable", 0, "allowed"), 60.49, "$.billable[0].allowed"),
    (("billable", 1, "units"), 1.7, "$.billable[1].units"),
    (("billable", 1, "units"), True, "$.billable[1].units"),
    (("billable", 1, "units"), -2, "$.billable[1].units"),
    (("billable", 0, "code"), ["99490"], "$.billable[0].code"),
    (("billable",), None, "$.billable"),
    (("month",), None, "$.month"),
    (("month",), 202503, "$.month"),
    (("denied", 0, "reasons", 0, "reason"), ["text"], "$.denied[0].reasons[0].reason"),
    (("withdraw",), "99490", "$.withdraw"),
]


@pytest.mark.parametrize(("where", "value", "json_path"), EDITS, ids=[f"{e[2]}={e[1]!r}" for e in EDITS])
def test_a_decision_with_a_value_of_another_type_is_refused_at_its_line_and_field(
    decision: dict[str, Any], tmp_path: Path, where: tuple[str | int, ...], value: object, json_path: str
) -> None:
    path = _write(tmp_path / "decisions.jsonl", [decision, _edited(decision, where, value)])
    result = run(str(path), "--format", "json")
    assert result.exit_code == ExitCode.BAD_INPUT, result.stdout
    assert result.stderr.startswith(f"{path}: error[report/input]: {path}:2: not a decision or an error record (")
    assert f"at `{json_path}`" in result.stderr
    assert result.stdout == ""


def test_the_unedited_decision_is_counted(decision: dict[str, Any], tmp_path: Path) -> None:
    """The control for the refusals above: the same lines, unedited, are a report (the second of
    another bundle: the same line twice is one decision, test_report_repeats.py)."""
    second = dict(decision, bundle_id="second")
    result = run(str(_write(tmp_path / "decisions.jsonl", [decision, second])), "--format", "json")
    assert result.exit_code == ExitCode.OK, result.stderr
    counts = json.loads(result.stdout)
    assert counts["totals"]["allowed"] == "304.70"
    assert counts["codes"]["99439"] == {"allowed": "183.72", "billed_lines": 2, "denied": 0, "units": 4,
                                        "not_priced_lines": 0}


@pytest.mark.parametrize("error", [{"code": "facts/schema"}, 5, "problem", [5], None],
                         ids=["an-object", "a-number", "text", "a-list-of-numbers", "null"])
@pytest.mark.parametrize("before", [0, 25], ids=["first", "after-25-error-records"])
def test_an_error_record_whose_error_is_not_a_list_of_diagnostics_is_refused(
    tmp_path: Path, error: object, before: int
) -> None:
    path = _write(tmp_path / "decisions.jsonl", [ERROR_RECORD] * before + [dict(ERROR_RECORD, error=error)])
    result = run(str(path))
    assert result.exit_code == ExitCode.BAD_INPUT, result.stdout
    assert result.stderr.startswith(
        f"{path}: error[report/input]: {path}:{before + 1}: not a decision or an error record ("
    )
    assert "at `$.error" in result.stderr


def test_a_line_read_through_the_lone_surrogate_path_is_held_to_the_same_form(
    decision: dict[str, Any], tmp_path: Path
) -> None:
    """A lone surrogate escaped (an error record naming a file whose name is not UTF-8) is read by
    the fallback decoder; its values are checked as any other line's, and its text is kept escaped."""
    named = dict(ERROR_RECORD, source="in\udcff.jsonl")
    edited = dict(_edited(decision, ("totals", "allowed"), True), bundle_id="\ud800")
    path = tmp_path / "decisions.jsonl"
    path.write_text(json.dumps(named) + "\n" + json.dumps(edited) + "\n", encoding="utf-8")
    result = run(str(path), "--format", "json")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"{path}:2: not a decision or an error record (" in result.stderr
    assert "at `$.totals.allowed`" in result.stderr
    path.write_text(json.dumps(named) + "\n", encoding="utf-8")
    kept = run(str(path), "--format", "json")
    assert kept.exit_code == ExitCode.OK, kept.stderr
    assert json.loads(kept.stdout)["errors"][0]["source"] == "in\\udcff.jsonl"


def test_a_line_a_thousand_levels_deep_through_the_lone_surrogate_path_is_refused() -> None:
    """Within orjson's depth limit (1,024) but past Python's recursion limit once walked in Python."""
    line = '{"bundle_id":"\\ud800","error":' + "[" * 1010 + "]" * 1010 + "}\n"
    result = run("-", stdin=line)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith("-: error[report/input]: -:1: not a decision or an error record (")


def test_standard_input_drops_a_byte_order_mark_and_names_bytes_not_in_utf8(decision: dict[str, Any]) -> None:
    """As a file does: the mark was read as the start of the first line, and bytes not in UTF-8
    were reported as a JSON problem of the line ("surrogates not allowed")."""
    line = json.dumps(decision) + "\n"
    plain = run("-", "--format", "json", stdin=line)
    assert plain.exit_code == ExitCode.OK, plain.stderr
    marked = run("-", "--format", "json", stdin=b"\xef\xbb\xbf" + line.encode("utf-8"))
    assert marked.exit_code == ExitCode.OK, marked.stderr
    assert marked.stdout == plain.stdout
    latin = run("-", stdin=line.encode("utf-8") + b'{"bundle_id": "caf\xe9"}\n')
    assert latin.exit_code == ExitCode.BAD_INPUT
    assert latin.stderr == (
        "-: error[report/io]: cannot read `-`: line 2 is not UTF-8 text (byte 19)\n"
        "  help: a batch output is UTF-8 JSON Lines; give the file `carepolicy batch` wrote\n"
    )


def test_the_text_form_shows_control_characters_from_the_input_as_escapes(tmp_path: Path) -> None:
    """An id or a message may hold any character (batch writes the error record of a bundle whose id
    is `a\\x1b[2J...` as it is): the text report wrote them raw, so a terminal cleared its screen, a
    line break forged a line, and U+202E showed the text reversed. Every other human form escapes them."""
    hostile = "a\x1b[2Jb\u202ec\nforged line"
    record = dict(ERROR_RECORD, bundle_id=hostile, error=[{"code": "facts/schema", "message": f"bad `{hostile}`"}])
    result = run(str(_write(tmp_path / "decisions.jsonl", [record])))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert all(line.isprintable() for line in result.stdout.splitlines())
    shown = "a\\x1b[2Jb\\u202ec\\x0aforged line"
    assert f"  {shown} in in.jsonl: facts/schema: bad `{shown}`\n" in result.stdout
    assert "\nforged line" not in result.stdout


def test_a_parquet_output_is_named_as_such(tmp_path: Path) -> None:
    """`batch -o OUT.parquet` writes Parquet; given to `report`, it was `not UTF-8 text` with the
    help to give the file `carepolicy batch` wrote, which it is."""
    out = tmp_path / "decisions.parquet"
    made = CliRunner().invoke(cli, ["batch", str(EXAMPLE), "-o", str(out)], catch_exceptions=False)
    assert made.exit_code == ExitCode.OK, made.stderr
    result = run(str(out))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (
        f"{out}: error[report/io]: cannot read `{out}`: it is a Parquet file; report reads JSON Lines\n"
        "  help: run `carepolicy batch` with `-o DECISIONS.jsonl` for the report; a Parquet row reads back as the "
        "JSON line with carepolicy.arrow.decision_json_line\n"
    )


def test_a_closed_standard_input_is_named_not_a_traceback() -> None:
    """`report - <&-`: "TypeError: 'NoneType' object does not support the context manager protocol"
    (and `explain - BUNDLE <&-` an AttributeError); `evaluate` and `batch` said it was closed."""
    command = [sys.executable, "-c", "from carepolicy.cli.main import main; main()"]
    bundles = str(EXAMPLE)
    for args, code in ((["report", "-"], "report/io"), (["explain", "-", bundles], "usage/input")):
        done = subprocess.run([*command, *args], preexec_fn=lambda: os.close(0), capture_output=True, check=False)
        assert done.returncode == ExitCode.BAD_INPUT, done.stderr.decode()
        assert done.stderr.decode() == f"-: error[{code}]: cannot read `-`: standard input is closed\n"
