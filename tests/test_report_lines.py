"""`carepolicy report` over batch outputs a pipeline really meets: damaged, unfinished, compressed,
of another format version, of several policy sets, holding hostile text.

Before: a line not in UTF-8 was `cannot read F: not UTF-8 text`, with no line and no byte (nor
that the file is gzip-compressed); the last line of an unfinished `.partial` output was
"(Input data was truncated)" with the help to give the file batch wrote; a decision of another
`decision_format` (whose fields may mean other things) was counted as format 1; decisions made
with two policy sets were added together without a word; and the HTML page carried an input's NUL,
ESC and right-to-left override characters as they are (the text form shows them as escapes).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from click.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "policies" / "examples" / "ccm-60-minutes.yaml"
UTF8_HELP = "  help: a batch output is UTF-8 JSON Lines; give the file `carepolicy batch` wrote\n"


def run(*args: str, stdin: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["report", *args], input=stdin, catch_exceptions=False)


@pytest.fixture(scope="module")
def line(example_decision_line: str) -> str:
    return example_decision_line


def test_a_line_not_in_utf8_is_named_by_its_number_and_byte(line: str, tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    path.write_bytes((line + "\n" + line + "\n").encode("utf-8") + b'{"bundle_id": "caf\xe9"}\n')
    result = run(str(path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (
        f"{path}: error[report/io]: cannot read `{path}`: line 3 is not UTF-8 text (byte 19)\n" + UTF8_HELP
    )
    assert result.stdout == ""


def test_a_compressed_output_says_so(line: str, tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl.gz"
    path.write_bytes(gzip.compress((line + "\n").encode("utf-8")))
    result = run(str(path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "line 1 is not UTF-8 text (byte 2): it is gzip-compressed; decompress it first" in result.stderr


def test_the_cut_last_line_of_an_unfinished_output_says_what_it_is(line: str, tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl.partial"
    path.write_text(line + "\n" + line[:500], encoding="utf-8")  # as a batch still writing leaves it
    result = run(str(path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (
        f"{path}: error[report/input]: {path}:2: not a decision or an error record (the line ends before its "
        "JSON does)\n"
        "  help: the last line has no line end: the output of a batch still running, or interrupted "
        "(`OUT.jsonl.partial`); finish it with `carepolicy batch --resume`, or report on the lines before it\n"
    )
    ended = tmp_path / "ended.jsonl"  # the same line with its line end: not an unfinished output
    ended.write_text(line + "\n" + line[:500] + "\n", encoding="utf-8")
    assert "the last line has no line end" not in run(str(ended)).stderr


@pytest.mark.parametrize("version", [2, 0], ids=["a-later-format", "format-0"])
def test_a_decision_of_another_format_version_is_not_counted(line: str, tmp_path: Path, version: int) -> None:
    other = dict(json.loads(line), decision_format=version)
    path = tmp_path / "decisions.jsonl"
    path.write_text(line + "\n" + json.dumps(other) + "\n", encoding="utf-8")
    result = run(str(path), "--format", "json")
    assert result.exit_code == ExitCode.BAD_INPUT, result.stdout
    assert result.stderr.startswith(
        f"{path}: error[report/input]: {path}:2: not a decision or an error record (decision format {version} at "
        "`$.decision_format`; this carepolicy reads format 1)\n"
    )
    assert result.stdout == ""


def test_decisions_of_several_policy_sets_are_counted_apart_and_noted(line: str, tmp_path: Path) -> None:
    decision: dict[str, Any] = json.loads(line)
    other = dict(decision, policy_set_hash="0" * 32)
    again = dict(decision, bundle_id="another")  # (the same line twice is one decision: test_report_repeats.py)
    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in (decision, again, other)), encoding="utf-8")
    counts = json.loads(run(str(path), "--format", "json").stdout)
    assert counts["policy_sets"] == {"0" * 32: 1, decision["policy_set_hash"]: 2}
    text = run(str(path)).stdout
    assert f"policy sets: {'0' * 32} (1), {decision['policy_set_hash']} (2)\n" in text
    note = "the decisions were made with 2 policy sets: the counts and totals add them together"
    assert f"\nnote: {note}\n" in text
    assert f"<strong>Note:</strong> {note}." in run(str(path), "--format", "html").stdout
    one = tmp_path / "one.jsonl"
    one.write_text(line + "\n", encoding="utf-8")
    assert "note:" not in run(str(one)).stdout  # one policy set: nothing to note


def test_the_html_page_shows_control_and_bidirectional_characters_as_escapes(line: str, tmp_path: Path) -> None:
    hostile = 'x</td><script>alert(1)</script>\u202e\x00\x1b[2J"'
    decision = json.loads(line)
    decision["denied"][0]["reasons"][0]["reason"] = hostile
    error = {"bundle_id": hostile, "source": hostile, "error": [{"code": hostile, "message": hostile}]}
    path = tmp_path / "decisions.jsonl"
    path.write_text(json.dumps(decision) + "\n" + json.dumps(error) + "\n", encoding="utf-8")
    result = run(str(path), "--format", "html", "--top", "1000")
    assert result.exit_code == ExitCode.OK, result.stderr
    page = result.stdout
    for raw in ("\u202e", "\x00", "\x1b", "<script>"):
        assert raw not in page
    shown = "x&lt;/td&gt;&lt;script&gt;alert(1)&lt;/script&gt;\\u202e\\x00\\x1b[2J&quot;"
    assert f"<td>{shown}</td>" in page  # the error record's id, source, codes and message
    assert f"<title>{shown}</title>" in page  # the reason in the chart


# --- a key set twice ------------------------------------------------------------------------------
#
# Before: `{"bundle_id": "a", ..., "bundle_id": "b"}` was counted as bundle "b" without a word (every
# JSON reader keeps the last value). Batch never writes such a line; a hand-edited or foreign one
# may, and the report refuses it at its line, as any line not in the decision format.

REPEATED_HELP = ("  help: keep the one value that is meant (a JSON reader would keep the last without a word); "
                 "`carepolicy batch` never writes a key twice: the line was edited or made elsewhere\n")


def _refused(path: Path, number: int, said: str) -> None:
    for fmt in ("text", "json", "html"):
        result = run(str(path), "--format", fmt)
        assert result.exit_code == ExitCode.BAD_INPUT, result.stdout
        assert result.stderr == (
            f"{path}: error[report/input]: {path}:{number}: not a decision or an error record ({said})\n"
            + REPEATED_HELP
        )
        assert result.stdout == ""


def test_a_decision_that_sets_its_bundle_id_twice_is_refused_at_its_line(line: str, tmp_path: Path) -> None:
    twice = '{"bundle_id":"a",' + line[1:]  # the line's own `bundle_id` comes later: the last one wins
    assert json.loads(twice)["bundle_id"] == "example-ccm-60-minutes"
    again = twice.index('"bundle_id"', 2) + 1
    path = tmp_path / "decisions.jsonl"
    path.write_text(f"{line}\n{twice}\n{line}\n", encoding="utf-8")
    _refused(path, 2, f"key `bundle_id` appears twice in one object: `$.bundle_id`, columns 2 and {again}")
    good = tmp_path / "good.jsonl"  # the same lines without the repeat: counted
    good.write_text(f"{line}\n{line.replace('example-ccm', 'another-ccm')}\n", encoding="utf-8")
    assert json.loads(run(str(good), "--format", "json").stdout)["decisions"] == 2


def test_a_key_set_twice_inside_the_totals_is_named_by_its_path(line: str, tmp_path: Path) -> None:
    totals = line.index('"totals":{') + len('"totals":{')
    twice = line[:totals] + '"allowed":"1.00",' + line[totals:]
    path = tmp_path / "decisions.jsonl"
    path.write_text(twice + "\n", encoding="utf-8")
    again = twice.index('"allowed"', totals + 2) + 1
    said = f"key `allowed` appears twice in one object: `$.totals.allowed`, columns {totals + 1} and {again}"
    _refused(path, 1, said)


def test_a_key_set_twice_in_a_denial_s_reason_is_named_by_its_path(line: str, tmp_path: Path) -> None:
    # (`\u` escapes in the line, none of them a colon's: the count of colons finds it, as the exact test would)
    decision = json.loads(line)
    decision["denied"][0]["reasons"][0]["reason"] = "caf\u00e9 \u2014 \u003a"
    text = json.dumps(decision)  # ASCII: `\u00e9`, `\u2014`
    assert "\\u" in text
    twice = text.replace('"reason": ', '"reason": "first", "reason": ', 1)
    path = tmp_path / "decisions.jsonl"
    path.write_text(twice + "\n", encoding="utf-8")
    first = twice.index('"reason"') + 1
    again = twice.index('"reason"', first) + 1
    said = f"key `reason` appears twice in one object: `$.denied[0].reasons[0].reason`, columns {first} and {again}"
    _refused(path, 1, said)


def test_an_error_record_that_sets_a_key_twice_is_refused_too(tmp_path: Path) -> None:
    error = '{"bundle_id":"b1","source":"in.jsonl","source":"other.jsonl","error":[{"code":"facts/x","message":"m"}]}'
    path = tmp_path / "decisions.jsonl"
    path.write_text(error + "\n", encoding="utf-8")
    _refused(path, 1, "key `source` appears twice in one object: `$.source`, columns 19 and 39")


def test_a_line_that_is_not_json_is_named_as_such_not_as_a_repeat(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    path.write_text('{"bundle_id":"a","bundle_id":\n', encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "appears twice" not in result.stderr
    assert f"{path}:1: not a decision or an error record (" in result.stderr
