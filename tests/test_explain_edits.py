"""`carepolicy explain` given compact decisions that were edited after they were written.

explain decides each bundle again and checks that this gives exactly the decision recorded. It
compared the two as Python values, where `1 == 1.0 == True`: a decision edited to `"units": 1.0`,
`"units": true`, `"decision_format": true` or a trace `"version": 3.0` passed as unchanged and was
expanded without a word. It now compares the JSON text itself. Also: a DECISION on standard input
is decoded as UTF-8 bytes, as a file is, so bytes not in UTF-8 are named as such.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from click.testing import CliRunner, Result

from tests.test_batch import write_jsonl

MISMATCH = "does not give the decision recorded"


def run(*args: str, stdin: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("claims") / "claims.jsonl", 12, seed=5)


def compact_decisions(claims: Path, folder: Path) -> list[dict[str, Any]]:
    """The decisions `batch` writes for `claims` (with the compact trace, its default)."""
    out = folder / "compact.jsonl"
    result = run("batch", str(claims), "--jobs", "1", "-o", str(out))
    assert result.exit_code == ExitCode.OK, result.stderr
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def billed(claims: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A compact decision (as `batch` writes it) with a billable line."""
    decisions = compact_decisions(claims, tmp_path_factory.mktemp("out"))
    return next(d for d in decisions if d["billable"] and d["billable"][0]["units"] == 1)


def _edit(decision: dict[str, Any], path: tuple[str | int, ...], value: object) -> str:
    edited = json.loads(json.dumps(decision))
    target = edited
    for key in path[:-1]:
        target = target[key]
    assert target[path[-1]] == value  # equal as a Python value: that is the point
    target[path[-1]] = value
    return json.dumps(edited)


EDITS = [
    (("billable", 0, "units"), 1.0),
    (("billable", 0, "units"), True),
    (("decision_format",), True),
    (("decision_format",), 1.0),
    (("trace", "version"), 3.0),
]


@pytest.mark.parametrize(("path", "value"), EDITS, ids=[f"{'.'.join(map(str, p))}={v!r}" for p, v in EDITS])
def test_a_value_edited_to_one_python_calls_equal_is_refused(claims: Path, billed: dict[str, Any],
                                                             path: tuple[str | int, ...], value: object) -> None:
    result = run("explain", "-", str(claims), stdin=_edit(billed, path, value))
    assert result.exit_code == ExitCode.BAD_INPUT
    where = "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
    shown = json.dumps(value)
    if path == ("trace", "version"):  # a version is read before the bundle is decided again
        problem = f"expected the version of the compact trace (a whole number), found `{shown}`"
    else:
        problem = (f"deciding bundle `{billed['bundle_id']}` again {MISMATCH}: the decision holds `{shown}` where "
                   "deciding again gives `1`")
    assert result.stderr.startswith(f"-: bundle `{billed['bundle_id']}`: {where}: error[explain/mismatch]: {problem}\n")
    assert result.stdout == ""


def test_the_unedited_decision_and_its_indented_form_are_expanded(claims: Path, billed: dict[str, Any]) -> None:
    """The control: the same decision, unedited, expands; so does it indented (as `evaluate
    --format json` writes one), whose text differs from the line but whose JSON does not."""
    line = run("explain", "-", str(claims), stdin=json.dumps(billed))
    assert line.exit_code == ExitCode.OK, line.stderr
    indented = run("explain", "-", str(claims), stdin=json.dumps(billed, indent=2))
    assert indented.exit_code == ExitCode.OK, indented.stderr
    assert indented.stdout == line.stdout
    assert json.loads(line.stdout)["billable"] == billed["billable"]


def test_standard_input_not_in_utf8_is_named_as_a_file_is(claims: Path, billed: dict[str, Any],
                                                          tmp_path: Path) -> None:
    """Standard input was read as the locale's text: a byte not in UTF-8 became a surrogate, reported
    as `line 2 of - is not JSON: str is not valid UTF-8: surrogates not allowed`."""
    data = json.dumps(billed).encode("utf-8") + b'\n{"bundle_id": "caf\xe9"}\n'
    result = run("explain", "-", str(claims), stdin=data)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith("-: error[usage/input]: cannot read `-`: not UTF-8 text (byte ")
    assert result.stdout == ""
    as_file = tmp_path / "decisions.jsonl"
    as_file.write_bytes(data)
    from_file = run("explain", str(as_file), str(claims))
    assert from_file.stderr.replace(str(as_file), "-") == result.stderr
    marked = run("explain", "-", str(claims), stdin=b"\xef\xbb\xbf" + json.dumps(billed).encode("utf-8"))
    assert marked.exit_code == ExitCode.OK, marked.stderr


@pytest.mark.parametrize("option", [["relaxed"], {"relaxed": True}], ids=["a-list", "an-object"])
def test_a_switch_edited_to_a_list_or_an_object_is_refused(claims: Path, billed: dict[str, Any],
                                                           option: object) -> None:
    """Text and numbers were refused (`5` is not an option); a list or an object ended with a
    TypeError traceback (`unhashable type`), from the cache of resolved switch settings."""
    name = sorted(billed["switches"])[0]
    edited = json.loads(json.dumps(billed))
    edited["switches"][name] = option
    result = run("explain", "-", str(claims), stdin=json.dumps(edited))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith(
        f"-: bundle `{billed['bundle_id']}`: $.switches.{name}: error[explain/mismatch]: expected an option of switch "
        f"`{name}` (text), found {'a list' if isinstance(option, list) else 'a mapping'}\n")


def test_decisions_and_bundles_both_from_standard_input_is_a_usage_error(billed: dict[str, Any]) -> None:
    """`explain - -` read the decision as a bundle file (an invalid bundle, left out), then found
    standard input empty: "`-` holds no decisions", of a decision it had been given."""
    result = run("explain", "-", "-", stdin=json.dumps(billed))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (
        "-: error[usage/input]: DECISION and BUNDLE are both standard input (`-`)\n"
        "  help: give one of them as a file: the decisions from stdin and the bundle file by name, or the other way\n"
    )
    assert result.stdout == ""


def test_json_lines_are_expanded_as_they_are_read(claims: Path, tmp_path: Path) -> None:
    """DECISION was read whole before the first decision was expanded: a whole batch output held
    about 160 kB a decision (377 MB for 2,000; the file's text three times over). JSON Lines is
    now read a line at a time: the first decision of a pipe is written while the third line is
    awaited (the second is read first: a file of one line is a document of one decision), and a
    line that is not JSON, met later, stops the command with the ones before it written."""
    import subprocess
    import sys
    import time

    compact = tmp_path / "compact.jsonl"
    assert run("batch", str(claims), "--jobs", "1", "-o", str(compact)).exit_code == ExitCode.OK
    first, second = compact.read_bytes().splitlines(keepends=True)[:2]
    out = tmp_path / "full.jsonl"
    command = [sys.executable, "-m", "carepolicy.cli", "explain", "-", str(claims), "-o", str(out)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdin is not None
        process.stdin.write(first + second)
        process.stdin.flush()
        waited = time.monotonic() + 60
        while not out.exists() or not out.read_bytes().endswith(b"\n"):  # the first line, whole
            assert process.poll() is None, "it ended before EOF"
            assert time.monotonic() < waited, "nothing was expanded before EOF"
            time.sleep(0.05)
        assert process.poll() is None  # written while stdin is still open
        process.stdin.write(b'{"bundle_id": \n')
        process.stdin.close()
        assert process.wait(timeout=60) == ExitCode.BAD_INPUT
        assert process.stderr is not None
        assert "line 3 of `-` is not JSON" in process.stderr.read().decode()
    assert out.read_bytes().count(b"\n") == 2


def test_a_switch_edited_to_another_option_is_named_at_its_path(claims: Path, billed: dict[str, Any]) -> None:
    """A switch edited to another of its options gives another decision id: that was reported at
    `$.decision_id` as made "by carepolicy 0.1.0 or with another fee schedule", the version being
    this one, and the edit itself not named. The option the id was made with is found."""
    edited = json.loads(json.dumps(billed))
    assert edited["switches"]["coding_strategy"] == "work_done"
    edited["switches"]["coding_strategy"] = "pays_most"
    result = run("explain", "-", str(claims), stdin=json.dumps(edited))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (
        f"-: bundle `{billed['bundle_id']}`: $.switches.coding_strategy: error[explain/mismatch]: decision "
        f"`{billed['bundle_id']}` has switch `coding_strategy` set to `pays_most`, but its id is that of the decision "
        "made with `work_done`\n  help: the decision was changed after it was written\n")


def test_a_fee_schedule_given_or_left_out_is_named_as_the_cause(claims: Path, billed: dict[str, Any],
                                                                tmp_path: Path) -> None:
    """The same version, facts and policies: only the fee schedule (or an edit) changes the id. It
    was "made by carepolicy 0.1.0 or with another fee schedule" whether one was given or not."""
    fees = tmp_path / "fees.csv"
    fees.write_text("code,allowed\n99490,10.00\n", encoding="utf-8")
    result = run("explain", "-", str(claims), "--fee-schedule", str(fees), stdin=json.dumps(billed))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"$.decision_id: error[explain/mismatch]: decision `{billed['bundle_id']}` was made without a fee " \
           f"schedule; this run has `{fees}`\n  help: run explain without --fee-schedule\n" in result.stderr
    priced = run("evaluate", "-", "--format", "jsonl", "--trace", "compact", "--fee-schedule", str(fees),
                 stdin=next(line for line in claims.read_text(encoding="utf-8").splitlines()
                            if json.loads(line)["id"] == billed["bundle_id"]))
    assert priced.exit_code == ExitCode.OK, priced.stderr
    result = run("explain", "-", str(claims), stdin=priced.stdout)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "was made with a fee schedule, which this run has not, or its switches or id were edited" in result.stderr
    assert "help: give --fee-schedule the fee schedule of the run that made it" in result.stderr
    assert run("explain", "-", str(claims), "--fee-schedule", str(fees), stdin=priced.stdout).exit_code == ExitCode.OK
