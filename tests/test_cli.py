"""The `carepolicy` command line, run in-process with click's CliRunner.

Each golden file under tests/golden/cli/ is the transcript of one invocation: the command, its
exit status, its stdout and (where it is deterministic) its stderr. The commands run in
tests/fixtures/ with relative paths, so no transcript holds an absolute path, and against the
fixture policy set (tests/fixtures/policies/smoke.policy), not the shipped policies. The engine
version is pinned so that a release does not change every decision id. Refresh the transcripts
with `CAREPOLICY_UPDATE_GOLDENS=1` (see tests/goldens.py) and review the diff.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import carepolicy.engine
import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from carepolicy.engine import api
from click.testing import CliRunner, Result

from tests.goldens import assert_golden

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden" / "cli"
SMOKE = ("--policies", "policies")


@pytest.fixture(autouse=True)
def _stable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    monkeypatch.setattr(api, "engine_version", lambda: "0.0.0+test")
    monkeypatch.setenv("NO_COLOR", "1")


def run(*args: str, stdin: str | None = None) -> Result:
    """One in-process invocation; an exception (a traceback for the user) fails the test."""
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


def transcript(args: tuple[str, ...], result: Result, *, stderr: bool = True) -> str:
    parts = [f"$ carepolicy {shlex.join(args)}\n", f"--- exit {result.exit_code}\n",
             "--- stdout\n", result.stdout]
    if stderr:
        parts += ["--- stderr\n", result.stderr]
    return "".join(parts)


def golden(name: str, *args: str, stdin: str | None = None, stderr: bool = True) -> Result:
    result = run(*args, stdin=stdin)
    assert_golden(GOLDEN / f"{name}.txt", transcript(args, result, stderr=stderr))
    return result


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


# --------------------------------------------------------------------------------------------- evaluate


def test_evaluate_text_shows_decision_then_why() -> None:
    result = golden("evaluate-text", "evaluate", *SMOKE, "--explain", "facts/two.yaml")
    assert result.exit_code == ExitCode.OK
    out = result.stdout
    assert out.index("Bundle ccm-staff-21-min") < out.index("Bundle complex-60-min-moderate-mdm")
    first = out.split("Bundle complex-60-min-moderate-mdm")[0]
    assert first.index("Billable") < first.index("Denied") < first.index("Why")
    assert "Bill 99490 × 1 (practitioner P1) · allowed $60.49 · patient owes $12.10" in first
    assert result.stderr == ""


def test_evaluate_text_default_has_no_trace() -> None:
    result = golden("evaluate-text-default", "evaluate", *SMOKE, "facts/two.yaml")
    assert result.exit_code == ExitCode.OK
    assert "Why" not in result.stdout
    assert "Other valid codings, not chosen" in result.stdout
    assert result.stdout == run("evaluate", *SMOKE, "--no-explain", "facts/two.yaml").stdout


def test_evaluate_json_is_a_list_of_decisions() -> None:
    result = golden("evaluate-json", "evaluate", *SMOKE, "--format", "json", "facts/two.yaml")
    assert result.exit_code == ExitCode.OK
    decisions = json.loads(result.stdout)
    assert [d["bundle_id"] for d in decisions] == ["ccm-staff-21-min", "complex-60-min-moderate-mdm"]
    assert [d["patient_responsibility"] for d in decisions] == ["12.10", "26.33"]
    assert all("trace" in d for d in decisions)


def test_evaluate_one_bundle_from_stdin_is_one_json_object() -> None:
    text = (FIXTURES / "facts" / "two.yaml").read_text(encoding="utf-8").split("\n- id: complex")[0]
    result = run("evaluate", *SMOKE, "--format", "json", "--no-explain", "-", stdin=text)
    assert result.exit_code == ExitCode.OK, result.stderr
    decision = json.loads(result.stdout)
    assert isinstance(decision, dict)
    assert decision["bundle_id"] == "ccm-staff-21-min"
    assert "trace" not in decision
    assert [line["code"] for line in decision["billable"]] == ["99490"]


def test_evaluate_bad_bundle_among_good_ones() -> None:
    result = golden("evaluate-mixed-json", "evaluate", *SMOKE, "--format", "json", "--no-explain",
                    "facts/mixed.yaml")
    assert result.exit_code == ExitCode.BAD_INPUT
    records = json.loads(result.stdout)
    assert [r["bundle_id"] for r in records] == ["ccm-staff-20-min", "bad-minutes", "missing-consent"]
    good, bad, denied = records
    assert good["billable"][0]["code"] == "99490"
    assert "error" not in good
    assert set(bad) == {"bundle_id", "source", "error"}
    assert bad["source"] == "facts/mixed.yaml"
    assert {e["fact_path"] for e in bad["error"]} == {"$.month", "$.time[0].minutes"}
    assert denied["billable"] == []
    assert denied["denied"]
    assert "bad-minutes" in result.stderr
    assert "$.time[0].minutes" in result.stderr


def test_evaluate_mixed_text_keeps_the_place_of_the_bad_bundle() -> None:
    result = golden("evaluate-mixed-text", "evaluate", *SMOKE, "--no-explain", "facts/mixed.yaml")
    assert result.exit_code == ExitCode.BAD_INPUT
    out = result.stdout
    assert out.index("Bundle ccm-staff-20-min") < out.index("Bundle bad-minutes · not evaluated") \
        < out.index("Bundle missing-consent")


def test_evaluate_jsonl_one_line_per_input_record() -> None:
    result = run("evaluate", *SMOKE, "--format", "jsonl", "facts/mixed.yaml", "facts/two.yaml")
    assert result.exit_code == ExitCode.BAD_INPUT
    records = json_lines(result.stdout)
    assert [r["bundle_id"] for r in records] == [
        "ccm-staff-20-min", "bad-minutes", "missing-consent",
        "ccm-staff-21-min", "complex-60-min-moderate-mdm"]
    assert ["error" in r for r in records] == [False, True, False, False, False]


def test_evaluate_missing_file_is_an_error_record_and_the_rest_still_runs() -> None:
    result = golden("evaluate-missing-file", "evaluate", *SMOKE, "--format", "jsonl", "--no-explain",
                    "facts/nope.yaml", "facts/two.yaml")
    assert result.exit_code == ExitCode.BAD_INPUT
    missing, *decisions = json_lines(result.stdout)
    assert missing["bundle_id"] is None
    assert missing["source"] == "facts/nope.yaml"
    assert missing["error"][0]["code"] == "facts/io"
    assert len(decisions) == 2
    assert "cannot read `facts/nope.yaml`: no such file" in result.stderr


def test_evaluate_bad_yaml_quotes_the_line() -> None:
    result = golden("evaluate-bad-yaml", "evaluate", *SMOKE, "facts/bad-syntax.yaml")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "facts/bad-syntax.yaml:5:4: error[facts/syntax]" in result.stderr
    assert "   5 |    service: ccm" in result.stderr


def test_evaluate_bad_switch() -> None:
    result = golden("evaluate-bad-switch", "evaluate", *SMOKE, "--switch", "no_such_switch=on",
                    "--switch", "malformed", "facts/two.yaml")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stdout == ""
    assert "`malformed` is not NAME=OPTION" in result.stderr
    unknown = run("evaluate", *SMOKE, "--switch", "no_such_switch=on", "facts/two.yaml")
    assert unknown.exit_code == ExitCode.BAD_INPUT
    assert "error[usage/switch]: unknown switch `no_such_switch`" in unknown.stderr


def test_evaluate_with_policy_errors_hints_at_check() -> None:
    result = golden("evaluate-policy-errors", "evaluate", "--policies", "bad_policies", "facts/two.yaml")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stdout == ""
    assert "error[check/type]" in result.stderr
    assert "run `carepolicy check bad_policies`" in result.stderr


def test_evaluate_missing_policy_folder() -> None:
    result = run("evaluate", "--policies", "no-such-folder", "facts/two.yaml")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "error[policy/not-found]" in result.stderr
    assert "hint" not in result.stderr


def test_evaluate_fee_schedule_prices_lines(tmp_path: Path) -> None:
    result = run("evaluate", *SMOKE, "--format", "jsonl", "--fee-schedule", "fees.csv", "facts/two.yaml")
    assert result.exit_code == ExitCode.OK
    assert [r["billable"][0]["allowed"] for r in json_lines(result.stdout)] == ["66.13", "140.00"]
    missing = run("evaluate", *SMOKE, "--fee-schedule", str(tmp_path / "fees.csv"), "facts/two.yaml")
    assert missing.exit_code == ExitCode.BAD_INPUT
    assert "error[fee-schedule/unreadable]" in missing.stderr
    (tmp_path / "bad.csv").write_text("procedure,price\n99490,1\n", encoding="utf-8")
    bad = run("evaluate", *SMOKE, "--fee-schedule", str(tmp_path / "bad.csv"), "facts/two.yaml")
    assert bad.exit_code == ExitCode.BAD_INPUT
    assert "error[fee-schedule/columns]" in bad.stderr


def test_evaluate_output_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    result = run("evaluate", *SMOKE, "--format", "json", "--output", str(target), "facts/two.yaml")
    assert result.exit_code == ExitCode.OK
    assert result.stdout == ""
    assert len(json.loads(target.read_text(encoding="utf-8"))) == 2
    nowhere = str(tmp_path / "no" / "such" / "dir.txt")
    unwritable = run("evaluate", *SMOKE, "--output", nowhere, "facts/two.yaml")
    assert unwritable.exit_code == ExitCode.BAD_INPUT
    assert "error[usage/output]" in unwritable.stderr


def test_evaluate_without_files_is_a_usage_error() -> None:
    result = run("evaluate", *SMOKE)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "Missing argument 'FILE...'" in result.stderr


# --------------------------------------------------------------------------------------------- check


def test_check_reports_every_error_with_its_line() -> None:
    result = golden("check-errors", "check", "bad_policies")
    assert result.exit_code == ExitCode.POLICY_ERRORS
    assert result.stdout == "3 errors, 2 warnings in 2 files\n"
    assert "bad_policies/codes.policy:6:12: error[check/type]" in result.stderr
    assert "   6 |   requires staff_minutes >= 20" in result.stderr
    assert "warning[check/unused]" in result.stderr


def test_check_json() -> None:
    result = golden("check-errors-json", "check", "bad_policies", "--format", "json")
    assert result.exit_code == ExitCode.POLICY_ERRORS
    diagnostics = json.loads(result.stdout)
    assert [d["severity"] for d in diagnostics].count("error") == 3
    assert {d["file"] for d in diagnostics} == {"bad_policies/base.policy", "bad_policies/codes.policy"}
    assert result.stderr == "3 errors, 2 warnings in 2 files\n"


def test_check_clean_policies() -> None:
    result = run("check", "policies")
    assert result.exit_code == ExitCode.OK
    assert (result.stdout, result.stderr) == ("0 errors, 0 warnings in 1 file\n", "")


def test_check_missing_folder_is_bad_input() -> None:
    result = run("check", "no-such-folder")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "error[policy/not-found]" in result.stderr


def test_check_profile_prints_stage_timings() -> None:
    result = run("check", "policies", "--profile")
    assert result.exit_code == ExitCode.OK
    assert "profile:" in result.stderr
    assert "check_unused" in result.stderr
    assert " ms" in result.stderr
    assert result.stdout == "0 errors, 0 warnings in 1 file\n"


# --------------------------------------------------------------------------------------------- schema


def test_schema_is_sorted_indented_json() -> None:
    result = run("schema")
    assert result.exit_code == ExitCode.OK
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "month" in schema["properties"]
    assert result.stdout == json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------- batch


def test_batch_one_line_per_record_and_byte_identical(tmp_path: Path) -> None:
    inputs = ("facts/records.jsonl", "facts/two.yaml", "facts/nope.yaml")
    outputs = []
    for name in ("first.jsonl", "second.jsonl"):
        result = run("batch", *inputs, *SMOKE, "--output", str(tmp_path / name))
        assert result.exit_code == ExitCode.BAD_INPUT
        assert result.stdout == ""
        assert ("8 output records: 6 decisions, 2 error records (1 input file could not be read, "
                "how many records it holds is unknown) in") in result.stderr
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    records = json_lines(outputs[0].decode("utf-8"))
    assert len(records) == 8  # 5 lines + 2 bundles + 1 unreadable file
    assert [r["bundle_id"] for r in records] == [
        "ccm-staff-20-min", "complex-60-min-moderate-mdm", "#3", "missing-consent",
        "fqhc-2025-04-individual-codes", "ccm-staff-21-min", "complex-60-min-moderate-mdm", None]
    assert records[2]["error"][0]["code"] == "facts/syntax"
    assert records[7]["error"][0]["code"] == "facts/io"


def test_batch_golden_output(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    result = run("batch", "facts/records.jsonl", *SMOKE, "--no-explain", "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert_golden(GOLDEN / "batch-records.jsonl", target.read_text(encoding="utf-8"))


def test_batch_all_good_exits_zero(tmp_path: Path) -> None:
    result = run("batch", "facts/two.yaml", *SMOKE, "--no-explain", "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == ExitCode.OK
    assert "2 records: 2 decisions, 0 error records" in result.stderr
    assert all("trace" not in r for r in json_lines((tmp_path / "out.jsonl").read_text(encoding="utf-8")))


def test_batch_internal_error_becomes_an_error_record(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    real = carepolicy.engine.evaluate

    def flaky(policies: Any, bundle: Any, **options: Any) -> Any:
        if bundle.id == "ccm-staff-21-min":
            raise ZeroDivisionError("boom")
        return real(policies, bundle, **options)

    monkeypatch.setattr(carepolicy.engine, "evaluate", flaky)
    result = run("batch", "facts/two.yaml", *SMOKE, "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == ExitCode.BAD_INPUT
    broken, fine = json_lines((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert broken["bundle_id"] == "ccm-staff-21-min"
    assert broken["error"][0]["code"] == "eval/internal"
    assert "ZeroDivisionError: boom" in broken["error"][0]["message"]
    assert fine["bundle_id"] == "complex-60-min-moderate-mdm"
    assert fine["billable"]


def test_batch_requires_output() -> None:
    result = run("batch", "facts/two.yaml", *SMOKE)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "Missing option '--output'" in result.stderr


# --------------------------------------------------------------------------------------------- test


def test_policy_tests_pass() -> None:
    result = golden("test-pass", "test", "policies")
    assert result.exit_code == ExitCode.OK
    assert result.stdout.endswith("3 cases passed, 0 failed\n")


def test_policy_tests_report_failures() -> None:
    result = golden("test-fail", "test", "policies", "--cases", "failing_cases")
    assert result.exit_code == ExitCode.POLICY_ERRORS
    assert "✘ failing_cases/wrong.yaml::ccm-staff-21-min" in result.stdout
    assert "    billable {99490×1}; expected {99439×1, 99490×1}" in result.stdout
    # the amount of a coding that was not billed is not known: said in words, with the billed one's
    assert "not known: not billed (the billed {99490×1} has 12.10); expected 21.29" in result.stdout


def test_check_of_a_file_that_is_not_a_rule_file_says_so(tmp_path: Path) -> None:
    """`carepolicy check tests/ccm.yaml` (or `fmt policies/*`, the registry with the rules) said
    only "found `cases` where `policy` was expected"."""
    cases = tmp_path / "ccm.yaml"
    cases.write_text(f"cases:\n{CASE}", encoding="utf-8")
    result = run("check", str(cases))
    assert result.exit_code == ExitCode.POLICY_ERRORS
    assert result.stderr == (
        f"{cases}:1:1: error[parse/unexpected-token]: found `cases` where `policy` was expected\n"
        "   1 | cases:\n"
        "       ^^^^^\n"
        f"  help: `{cases}` is not a rule file (they end in `.policy`): give a .policy file, or the folder"
        " that holds them\n"
    )


def test_policy_tests_without_cases_folder() -> None:
    result = run("test", "bad_policies")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "error[test/not-found]" in result.stderr


CASE = "- name: one\n  facts: {id: x, month: 2025-03}\n  expect: {billable: []}\n"
SHAPE_HELP = (
    "  help: a case file holds `cases:`, a list of {name, facts, switches, expect} (see `carepolicy test --help`)\n"
)


@pytest.mark.parametrize(
    ("text", "stderr"),
    [
        (f"cases:\n{CASE}---\ncases:\n{CASE}", "error[test/cases]: `{file}` holds 2 YAML documents; a case file holds"
         " one\n  help: put all the cases in the one `cases:` list, or in files of their own\n"),
        (CASE, "$: error[test/cases]: expected a mapping with `cases:`, found a list\n" + SHAPE_HELP),
        ("cases:\n  one: {facts: {}}\n", "$.cases: error[test/cases]: expected a list of cases, found a mapping\n"
         + SHAPE_HELP),
        ("cases:\n- just text\n", "$.cases[0]: error[test/cases]: expected a case (a mapping), found text `just text`\n"
         + SHAPE_HELP),
        (CASE.replace("- name", "cases:\n- switches: [a]\n  name"),
         "$.cases[0].switches: error[test/cases]: expected a mapping, found a list\n" + SHAPE_HELP),
        (f"case:\n{CASE}", "$.case: error[test/cases]: unknown key `case`\n  help: did you mean `cases`?\n"),
        (f"cases:\n{CASE}notes: x\n", "$.notes: error[test/cases]: unknown key `notes`\n"
         "  help: a case file holds `cases:` and, optionally, `bases:`\n"),
    ],
    ids=["two-documents", "a-list", "cases-a-mapping", "case-text", "switches-a-list", "case-for-cases", "another-key"],
)
def test_a_case_file_of_another_shape_is_named_not_skipped(text: str, stderr: str, tmp_path: Path) -> None:
    file = tmp_path / "cases.yaml"
    file.write_text(text, encoding="utf-8")
    result = run("test", "policies", "--cases", str(tmp_path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == f"{file}: " + stderr.replace("{file}", str(file))


def test_a_yml_case_file_runs_as_a_yaml_one(tmp_path: Path) -> None:
    """`new-year.yml` was skipped without a word: its cases never ran, and `test` passed."""
    text = (FIXTURES / "failing_cases" / "wrong.yaml").read_text(encoding="utf-8")
    (tmp_path / "wrong.yml").write_text(text, encoding="utf-8")
    result = run("test", "policies", "--cases", str(tmp_path))
    assert result.exit_code == ExitCode.POLICY_ERRORS
    assert f"✘ {tmp_path.name}/wrong.yml::ccm-staff-21-min" in result.stdout


def test_two_cases_of_one_name_and_a_case_without_expect_fail(tmp_path: Path) -> None:
    """The second `one` ran and was reported as `one` too, and a case with no `expect` passed
    whatever the decision."""
    (tmp_path / "cases.yaml").write_text(f"cases:\n{CASE}{CASE}- name: two\n  facts: {{id: y, month: 2025-03}}\n")
    result = run("test", "policies", "--cases", str(tmp_path), "-v")
    assert result.exit_code == ExitCode.POLICY_ERRORS
    folder = tmp_path.name
    assert result.stdout == (
        f"✔ {folder}/cases.yaml::one\n"
        f"✘ {folder}/cases.yaml::one\n"
        "    name: case 1 of this file is also called `one`; give each case its own name\n"
        f"✘ {folder}/cases.yaml::two\n"
        "    expect: missing; a case checks what its `expect` says (at least `billable:`, `[]` for nothing)\n"
        "1 case passed, 2 failed\n"
    )


def test_an_expect_of_another_shape_fails_its_case_with_the_shape_it_needs(tmp_path: Path) -> None:
    """`billable: "99490"`, a line written as text, `units: two`, `denied: 99490`: each case failed
    with `internal error: TypeError: string indices must be integers, not 'str'` and the like; a
    denied code without a reason was `not explained under denied (expected: )`."""
    facts = "  facts: {id: x, month: 2025-03}\n"
    expects = [
        "{billable: '99490'}",
        "{billable: ['99490']}",
        "{billable: [{code: '99490', units: two}]}",
        "{billable: [], denied: '99490'}",
        "{billable: [], alternatives: 5}",
        "{billable: [], withdraw: [{units: 1}]}",
        "{billable: [], denied: [{code: '99999'}]}",
        "{billable: [], notes: 'by non-clinical staff'}",
        "{billable: [], notes: ['by non-clinical staff']}",
    ]
    cases = "".join(f"- name: c{i}\n{facts}  expect: {e}\n" for i, e in enumerate(expects))
    (tmp_path / "cases.yaml").write_text(f"cases:\n{cases}", encoding="utf-8")
    result = run("test", "policies", "--cases", str(tmp_path))
    assert result.exit_code == ExitCode.POLICY_ERRORS
    line = '`billable: [{code: "99490", units: 1}]` (`[]` for nothing)'
    assert result.stdout.replace(f"{tmp_path.name}/cases.yaml::", "") == (
        f"✘ c0\n    expect.billable: expected a list of billed lines, as in {line}, found `99490`\n"
        f"✘ c1\n    expect.billable: each entry is a mapping with a `code`, as in {line}; found `99490`\n"
        "✘ c2\n    expect.billable: `units: two` of 99490 is not a whole number of units (1 or more)\n"
        "✘ c3\n    expect.denied: expected a list of denied codes, as in"
        ' `denied: [{code: "99439", reason: "..."}]`, found `99490`\n'
        "✘ c4\n    expect.alternatives: expected a list of codings, each a list of lines, as in"
        ' `alternatives: [[{code: "99490", units: 1}]]`, found `5`\n'
        "✘ c5\n    expect.withdraw: each entry is a mapping with a `code`, as in `withdraw: [{code: \"99495\"}]`;"
        " found a mapping\n"
        "✘ c6\n    99999 is not among the decision's denials\n"
        "✘ c7\n    expect.notes: expected a list of texts, each a part of one note, as in"
        ' `notes: ["by non-clinical staff"]` (`[]` for none), found `by non-clinical staff`\n'
        "✘ c8\n    notes: none; expected one with `by non-clinical staff`\n"
        "0 cases passed, 9 failed\n"
    )


def test_a_case_file_not_in_utf8_is_named(tmp_path: Path) -> None:
    file = tmp_path / "cases.yaml"
    file.write_bytes(f"cases:\n{CASE}".encode("utf-16"))
    result = run("test", "policies", "--cases", str(tmp_path))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (f"{file}: error[test/cases]: not UTF-8 text (byte 1): it is UTF-16 "
                             "(it starts with a UTF-16 byte-order mark); save it as UTF-8\n")
    file.write_bytes(b"cases:\n  - name: caf\xe9\n")  # Latin-1: no mark to tell, the help says what to do
    result = run("test", "policies", "--cases", str(tmp_path))
    assert result.stderr == (f"{file}:2:14: error[test/cases]: not UTF-8 text (byte 21)\n"  # at its line (s33)
                             "   2 |   - name: caf\ufffd\n"
                             "                    ^\n"
                             "  help: save the file as UTF-8\n")


# --------------------------------------------------------------------------------------------- help


@pytest.mark.parametrize(
    "command", ["evaluate", "check", "schema", "batch", "explain", "test", "switches", "diff", "serve", "fmt", "codes"]
)
def test_every_command_help_teaches_with_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == ExitCode.OK
    assert "Examples:" in result.stdout
    assert re.search(rf"^ +carepolicy {command}\b", result.stdout, re.MULTILINE), result.stdout


@pytest.mark.parametrize(
    ("command", "codes"),
    [("check", "012"), ("test", "012"), ("fmt", "012"), ("diff", "02"), ("codes", "02"), ("switches", "02")],
)
def test_the_help_of_each_analyst_command_says_its_exit_codes(command: str, codes: str) -> None:
    """check, test and diff said theirs in a sentence in the middle of a paragraph, codes and
    switches not at all; each now ends with the block fmt had."""
    block = run(command, "--help").stdout.partition("\n  Exit status:\n")[2].partition("\n\n")[0]
    assert [line.split()[0] for line in block.splitlines() if line.startswith("    ") and line[4] != " "] == list(codes)


def test_group_help_lists_commands_and_exit_codes() -> None:
    result = run("--help")
    assert result.exit_code == ExitCode.OK
    for command in ("batch", "check", "evaluate", "schema", "serve", "test"):
        assert f"\n  {command} " in result.stdout
    assert "Exit status:" in result.stdout
    assert "  2  bad input" in result.stdout


def test_help_does_not_import_the_engine() -> None:
    probe = ("import sys; from carepolicy.cli.main import cli; "
             "heavy = ('lark', 'yaml', 'jsonschema', 'carepolicy.engine'); "
             "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_exit_codes_are_the_documented_numbers() -> None:
    assert [(c.name, int(c)) for c in ExitCode] == [("OK", 0), ("POLICY_ERRORS", 1), ("BAD_INPUT", 2),
                                                    ("INTERRUPTED", 130)]


def test_a_failed_case_that_billed_nothing_says_so_for_its_amounts(tmp_path: Path) -> None:
    text = (FIXTURES / "failing_cases" / "wrong.yaml").read_text(encoding="utf-8")
    (tmp_path / "nothing.yaml").write_text(text.replace("minutes: 21", "minutes: 5"), encoding="utf-8")
    result = run("test", "policies", "--cases", str(tmp_path))
    assert "patient responsibility of {99439×1, 99490×1} not known: nothing was billed; expected 21.29" in result.stdout


def test_a_case_with_a_misspelt_switch_or_fact_value_shows_the_did_you_mean(tmp_path: Path) -> None:
    """The help of a case's switch or fact problem is shown, as `evaluate --switch` shows it."""
    text = (FIXTURES / "failing_cases" / "wrong.yaml").read_text(encoding="utf-8")
    first = text.index("  expect:")
    (tmp_path / "switch.yaml").write_text(text[:first] + "  switches: {unit_cap_99437: nocap}\n" + text[first:])
    (tmp_path / "fact.yaml").write_text(text.replace("by: clinical_staff", "by: clinical_stuff"), encoding="utf-8")
    shipped = str(files("carepolicy.policies"))  # the fixture policies have no switches
    result = run("test", shipped, "--cases", str(tmp_path))
    assert "`nocap` is not an option of switch `unit_cap_99437` (options: no_cap, one_unit, two_units)" in result.stdout
    assert "is not one of `clinical_staff`, `billing_practitioner`, `non_clinical_staff` (did you mean" in result.stdout
