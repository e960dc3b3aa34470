"""`carepolicy diff`: shipped policies against a copy with one changed amount and one changed
threshold reports exactly the affected bundles, grouped under those two changes."""

from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from carepolicy.engine import evaluate, load_fact_file, load_policies
from carepolicy.engine.policy_cases import read_cases
from click.testing import CliRunner

SHIPPED = Path(str(files("carepolicy.policies")))
FACTOR_2025 = r"(parameter conversion_factor .*?value )\$32\.3465( effective 2025)"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _copy_shipped(target: Path) -> None:
    """The shipped policy files alone (no cases, examples or Python), to edit for a diff."""
    shutil.copytree(SHIPPED, target, ignore=shutil.ignore_patterns("tests", "examples", "__pycache__", "*.py"))


def _sub(path: Path, pattern: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    edited = re.sub(pattern, new, text, count=1, flags=re.S | re.M)
    assert edited != text, pattern
    path.write_text(edited, encoding="utf-8")


def test_diff_groups_exactly_the_affected_bundles_under_the_two_changes(tmp_path: Path) -> None:
    copy = tmp_path / "next"
    _copy_shipped(copy)
    _sub(copy / "fees.policy", FACTOR_2025, r"\g<1>$33.0000\2")
    _sub(copy / "ccm.policy", r"(code 99490 .*?requires \w*staff_minutes >= )20 min", r"\g<1>25 min")
    cases = [c for c in read_cases(SHIPPED / "tests") if not c.switches and c.fee_schedule is None]
    bundles = tmp_path / "bundles.jsonl"
    bundles.write_text(
        "".join(json.dumps({**_plain(dict(c.facts)), "id": f"b{i}"}) + "\n" for i, c in enumerate(cases)),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["diff", str(SHIPPED), str(copy), str(bundles), "--format", "json"])
    assert result.exit_code == ExitCode.OK, result.output
    report = json.loads(result.stdout)
    causes = {g["cause"]: {d["bundle_id"] for d in g["decisions"]} for g in report["groups"]}
    amount = "parameter conversion_factor value effective 2025-01-01..2025-12-31"
    threshold = "code 99490 effective 2015-01-01.."
    assert set(causes) == {amount, threshold}, causes

    # independently: which bundles change, and whether through the billed 99490 or through prices
    old, new = load_policies(SHIPPED), load_policies(copy)
    changed, through_99490 = set(), set()
    for bundle in load_fact_file(bundles):
        before, after = evaluate(old, bundle, trace=False), evaluate(new, bundle, trace=False)
        codes = lambda d: sorted((line.code, line.units) for line in d.billable)  # noqa: E731
        if (codes(before), before.totals.allowed, before.patient_responsibility) != (
            codes(after), after.totals.allowed, after.patient_responsibility
        ):
            changed.add(bundle.id)
        if codes(before) != codes(after):
            through_99490.add(bundle.id)
    assert changed
    assert causes[amount] | causes[threshold] == changed
    assert through_99490 <= causes[threshold]
    assert through_99490
    assert report["compared"] == len(cases)
    for group in report["groups"]:
        assert group["count"] == len(group["decisions"])


def test_diff_text_names_the_change_and_the_amounts(tmp_path: Path) -> None:
    copy = tmp_path / "next"
    _copy_shipped(copy)
    _sub(copy / "fees.policy", FACTOR_2025, r"\g<1>$33.0000\2")
    example = SHIPPED / "examples" / "month-batch.yaml"
    result = CliRunner().invoke(cli, ["diff", str(SHIPPED), str(copy), str(example)])
    assert result.exit_code == ExitCode.OK
    assert "parameter conversion_factor value effective 2025-01-01..2025-12-31: " in result.stdout
    assert re.search(r"allowed [0-9.]+ -> [0-9.]+, beneficiary", result.stdout)
    assert result.stdout.startswith("1 declaration differs:\n  parameter conversion_factor")  # the singular
    assert re.search(r"^[^\n]+: (1 decision|[0-9]+ decisions)$", result.stdout, re.MULTILINE)


def test_diff_reads_git_revisions_of_a_policy_folder(tmp_path: Path, monkeypatch: Any) -> None:
    import subprocess

    repo = tmp_path / "repo"
    shutil.copytree(SHIPPED, repo / "policies", ignore=shutil.ignore_patterns("tests", "__pycache__", "*.py"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=repo, check=True)
    _sub(repo / "policies" / "fees.policy", FACTOR_2025, r"\g<1>$33.0000\2")
    subprocess.run([*git, "commit", "-qam", "two"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(cli, ["diff", "HEAD~1:policies", "HEAD:policies", "policies/examples/month-batch.yaml"])
    assert result.exit_code == ExitCode.OK, result.output
    assert "parameter conversion_factor value effective 2025-01-01..2025-12-31: " in result.stdout
    example = "policies/examples/month-batch.yaml"
    missing = CliRunner().invoke(cli, ["diff", "HEAD~1:nowhere", "HEAD:policies", example])
    assert missing.exit_code == ExitCode.BAD_INPUT
    assert "usage/revision" in missing.stderr


def test_diff_reads_two_folders_of_one_revision_apart(tmp_path: Path, monkeypatch: Any) -> None:
    """Each edition is written to its own temp folder: the files of one never join the other's."""
    import subprocess

    repo = tmp_path / "repo"
    shutil.copytree(SHIPPED, repo / "policies", ignore=shutil.ignore_patterns("tests", "__pycache__", "*.py"))
    shutil.copytree(Path(__file__).parent / "fixtures" / "policies", repo / "smoke")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    example = "policies/examples/month-batch.yaml"
    by_folder = CliRunner().invoke(cli, ["diff", "policies", "smoke", example])
    assert by_folder.exit_code == ExitCode.OK, by_folder.output
    by_revision = CliRunner().invoke(cli, ["diff", "HEAD:policies", "HEAD:smoke", example])
    assert by_revision.exit_code == ExitCode.OK, by_revision.output
    assert by_revision.stdout == by_folder.stdout


def test_the_errors_of_a_revision_name_its_files_not_a_temp_folder(tmp_path: Path, monkeypatch: Any) -> None:
    import subprocess

    repo = tmp_path / "repo"
    shutil.copytree(Path(__file__).parent / "fixtures" / "policies", repo / "smoke")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "one"], cwd=repo, check=True)
    with (repo / "smoke" / "smoke.policy").open("a", encoding="utf-8") as text:
        text.write('rule broken "x"\n  requires\n')
    lines = (repo / "smoke" / "smoke.policy").read_text(encoding="utf-8").count("\n")
    subprocess.run([*git, "commit", "-qam", "two"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    example = str(SHIPPED / "examples" / "month-batch.yaml")
    result = CliRunner().invoke(cli, ["diff", "HEAD~1:smoke", "HEAD:smoke", example])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith(f"HEAD:smoke/smoke.policy:{lines}:3: error[parse/unexpected-token]: ")
    assert f"\n{lines:>4} |   requires\n" in result.stderr  # the line is quoted
    assert result.stderr.endswith(
        "hint: the policy set at `HEAD:smoke` has errors; `carepolicy check` on a checkout of it shows them\n"
    )
    assert "carepolicy-diff-" not in result.stderr


def test_a_changed_rvu_is_attributed_to_its_rvu_table(tmp_path: Path) -> None:
    """The pricing trace names the RVU table it read (`rvu table pfs.national_2025 (non-facility):
    1.87 RVU × ...`): a changed RVU is that table's change, not "(no changed declaration in its trace)"."""
    copy = tmp_path / "next"
    _copy_shipped(copy)
    _sub(copy / "fees.policy", r"(rvu table pfs\.national_2025 .*?^\s+99490 work 1\.00 pe )0\.81", r"\g<1>0.18")
    example = SHIPPED / "examples" / "ccm-60-minutes.yaml"
    result = CliRunner().invoke(cli, ["diff", str(SHIPPED), str(copy), str(example), "--format", "json"])
    assert result.exit_code == ExitCode.OK, result.output
    report = json.loads(result.stdout)
    assert report["changed_declarations"] == ["rvu table pfs.national_2025 effective 2025-01-01..2025-12-31"]
    assert [g["cause"] for g in report["groups"]] == report["changed_declarations"]


def test_diff_text_says_not_determined_for_amounts_an_edition_does_not_give(tmp_path: Path) -> None:
    """A 2026 line is not priced by the shipped set (no 2026 RVUs); a copy with a 2026 table prices
    it. The group's totals read like its lines: `allowed not determined -> $...`, never `None`."""
    copy = tmp_path / "next"
    _copy_shipped(copy)
    with (copy / "fees.policy").open("a", encoding="utf-8") as fees:
        fees.write(
            '\nrvu table pfs.national_2026 "CY2026 RVUs"\n  cite S1 "x"\n  setting non_facility\n'
            "  effective 2026-01-01..2026-12-31\n  99490 work 1.00 pe 0.81 mp 0.06\n  99439 work 0.70 pe 0.68 mp 0.04\n"
        )
    example = tmp_path / "2026.yaml"
    text = (SHIPPED / "examples" / "ccm-60-minutes.yaml").read_text(encoding="utf-8")
    example.write_text(re.sub(r"\b2024-", "2025-", re.sub(r"\b2025-", "2026-", text)), encoding="utf-8")
    result = CliRunner().invoke(cli, ["diff", str(SHIPPED), str(copy), str(example)])
    assert result.exit_code == ExitCode.OK, result.output
    assert "1 of 1 decisions change" in result.stdout, result.stdout
    assert "None" not in result.stdout
    assert re.search(r"^  allowed not determined -> [0-9]+\.[0-9]{2}, beneficiary", result.stdout, re.M), result.stdout


def test_a_moved_effective_interval_is_one_changed_declaration(tmp_path: Path) -> None:
    """Moving the end of `pricing pfs.national` (as docs/adding-a-year.md does, here the other way)
    changes one declaration: it is listed once, with its old interval, not removed and added."""
    copy = tmp_path / "next"
    _copy_shipped(copy)
    _sub(copy / "fees.policy", r"(pricing pfs\.national .*?effective 2024-01-01\.\.)2026-12-31", r"\g<1>2025-12-31")
    example = SHIPPED / "examples" / "month-batch.yaml"
    result = CliRunner().invoke(cli, ["diff", str(SHIPPED), str(copy), str(example), "--format", "json"])
    assert result.exit_code == ExitCode.OK, result.output
    assert json.loads(result.stdout)["changed_declarations"] == [
        "pricing pfs.national effective 2024-01-01..2025-12-31 (was 2024-01-01..2026-12-31)"
    ]


def test_a_revision_git_cannot_read_says_why(tmp_path: Path, monkeypatch: Any) -> None:
    """Without git on PATH, `diff HEAD~1:policies ...` ended in a FileNotFoundError traceback; a
    revision git refused was `no policy files`, whatever git had said."""
    example = str(SHIPPED / "examples" / "month-batch.yaml")
    monkeypatch.chdir(tmp_path)  # no repository here, nor above it
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    result = CliRunner().invoke(cli, ["diff", "HEAD:policies", str(SHIPPED), example])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (
        "carepolicy: error[usage/revision]: no policy files at `HEAD:policies` (git: not a git repository"
        " (or any of the parent directories): .git)\n  help: give a folder, or REV:PATH such as HEAD~1:policies\n"
    )
    monkeypatch.setenv("PATH", str(tmp_path))  # no git to run
    result = CliRunner().invoke(cli, ["diff", "HEAD:policies", str(SHIPPED), example])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (
        "carepolicy: error[usage/revision]: cannot read `HEAD:policies`: git cannot be run: no such file or directory\n"
        "  help: install git, or check the revision out into a folder (`git worktree add`) and give the folder\n"
    )


def test_comments_are_aside_also_with_a_quote_and_a_hash_in_a_string_is_text(tmp_path: Path) -> None:
    """A comment with a `"` in it (`# the "old" reading`) counted as a change of its declaration,
    and a parameter value's text was cut at its first `#`, even one inside its quoted source, so
    an edit after it went unseen."""
    from carepolicy.engine.policy_diff import changed_declarations

    old, new = tmp_path / "old", tmp_path / "new"
    _copy_shipped(old)
    _sub(old / "fees.policy", r'(value \$32\.3465 effective 2025-01-01\.\..*? from S113 "§8\.1: CY2025)"', r'\1 #1"')
    shutil.copytree(old, new)
    _sub(new / "pcm.policy", r"^  requires ccm\.scope_of_service$", '  requires ccm.scope_of_service  # see "S60"')
    _sub(new / "pcm.policy", r"^  # The base's patient (.*)$", r'  # The "base" patient \1')
    assert changed_declarations(load_policies(old), load_policies(new)) == {}
    _sub(new / "fees.policy", r'(from S113 "§8\.1: CY2025) #1"', r'\1 #2"')
    assert list(changed_declarations(load_policies(old), load_policies(new))) == [
        "parameter conversion_factor value effective 2025-01-01..2025-12-31"
    ]


def test_diff_names_each_kind_of_change_one_a_line(tmp_path: Path) -> None:
    """Every construct changed at once (a rule added, one removed, one edited, a parameter value
    changed and one added for a new year, an interval moved, a switch's default, a comment): the
    header named them all on one line joined by `;`, a new value as if an existing one had
    changed. Golden: tests/golden/diff/each-construct.txt."""
    from tests.goldens import assert_golden

    old, new = tmp_path / "old", tmp_path / "new"
    _copy_shipped(old)
    shutil.copytree(old, new)
    rule = '\nrule diff.{0} "A rule only the {1} edition has"\n  cite S2 "§2.1"\n  requires beneficiary.part_b\n'
    with (old / "ccm.policy").open("a", encoding="utf-8") as text:
        text.write(rule.format("gone", "old"))
    with (new / "ccm.policy").open("a", encoding="utf-8") as text:
        text.write(rule.format("added", "new"))
    _sub(new / "fees.policy", FACTOR_2025, r"\g<1>$33.0000\2")
    year = r'\1\n  value $34.0000 effective 2027-01-01..2027-12-31 from S116 "CY2027"'
    _sub(new / "fees.policy", r"^(  value \$33\.4009 effective 2026[^\n]*)$", year)
    _sub(new / "fees.policy", r"(pricing pfs\.national .*?effective 2024-01-01\.\.)2026-12-31", r"\g<1>2025-12-31")
    _sub(new / "switches.policy", r"^(switch complex_ccm_care_plan .*?default )relaxed", r"\1substantial_revision")
    _sub(new / "pcm.policy", r"pcm_qualifying_conditions >= 1", "pcm_qualifying_conditions >= 2")
    _sub(new / "ccm.policy", r"^(rule ccm\.patient [^\n]*)$", r'\1  # the "patient" of §2.1')  # a comment: no change
    example = SHIPPED / "examples" / "month-batch.yaml"
    result = CliRunner().invoke(cli, ["diff", str(old), str(new), str(example)])
    assert result.exit_code == ExitCode.OK, result.output
    assert_golden(Path(__file__).parent / "golden" / "diff" / "each-construct.txt", result.stdout)
    again = CliRunner().invoke(cli, ["diff", str(old), str(new), str(example)])
    assert again.stdout == result.stdout


def test_a_moved_interval_is_a_cause_only_where_the_move_changes_what_is_in_effect(tmp_path: Path) -> None:
    """The next-year walkthrough moves `pricing pfs.national` to end in 2027. A 2025 decision that
    changed through its own 2025 value was listed under the moved pricing too, though the pricing
    is in effect in 2025 in both editions. Only a move that is all that changed is set aside so:
    one also edited says `; and edited` and stays a cause."""
    new = tmp_path / "next"
    _copy_shipped(new)
    value = r'\1\n  value $34.0000 effective 2027-01-01..2027-12-31 from S116 "CY2027"'
    _sub(new / "fees.policy", r"^(  value \$33\.4009 effective 2026[^\n]*)$", value)
    _sub(new / "fees.policy", r"^(  value \$33\.5675 effective 2026[^\n]*)$", value.replace("34.0000", "34.1000"))
    _sub(new / "fees.policy", r"(pricing pfs\.national .*?effective 2024-01-01\.\.)2026-12-31", r"\g<1>2027-12-31")
    _sub(new / "fees.policy", FACTOR_2025, r"\g<1>$33.0000\2")
    example = str(SHIPPED / "examples" / "month-batch.yaml")

    def causes() -> dict[str, list[str]]:
        result = CliRunner().invoke(cli, ["diff", str(SHIPPED), str(new), example, "--format", "json"])
        assert result.exit_code == ExitCode.OK, result.output
        return {g["cause"]: sorted(d["bundle_id"] for d in g["decisions"]) for g in json.loads(result.stdout)["groups"]}

    factor = "parameter conversion_factor value effective 2025-01-01..2025-12-31"
    priced = ["complex-ccm-90-minutes", "qmb-apcm-level-3"]
    assert causes() == {factor: priced}
    _sub(new / "fees.policy", r"^(pricing pfs\.national )\"[^\"]*\"", r'\1"National allowed amount, edited"')
    edited = "pricing pfs.national effective 2024-01-01..2027-12-31 (was 2024-01-01..2026-12-31; and edited)"
    assert causes() == {factor: priced, edited: priced}


def test_a_declaration_differs_by_what_it_says_not_by_its_layout(tmp_path: Path) -> None:
    """A comment on its own line inside a declaration, or a clause broken across lines, made the
    declaration "differ" (its lines were compared as text, a comment line leaving a gap), and so
    did a whole folder after `carepolicy fmt`. Declarations are compared as syntax trees now:
    a changed cite is still a change, and so is one of a parameter's own cites, which was not
    compared at all (only its values were)."""
    from carepolicy.engine.policy_diff import changed_declarations

    new = tmp_path / "new"
    _copy_shipped(new)
    _sub(new / "ccm.policy", r"^(code 99490 [^\n]*\n(?:  [^\n]*\n){2})", r"\1  # reviewed for 2026: still §1.1\n")
    _sub(new / "ccm.policy", r"^(  requires ccm\.patient), (rhc_fqhc\.individual_codes_allowed)$", r"\1,\n    \2")
    _sub(new / "pcm.policy", r"pcm_qualifying_conditions >= 1", "pcm_qualifying_conditions>=1")
    assert changed_declarations(load_policies(SHIPPED), load_policies(new)) == {}
    _sub(new / "ccm.policy", r'(cite S13 "§1\.1: exactly 20 minutes) already( meets 99490")', r"\1\2")
    _sub(new / "fees.policy", r'(cite S113 "§8\.1: CY2025) factor"', r'\1 factor, reworded"')
    assert list(changed_declarations(load_policies(SHIPPED), load_policies(new))) == [
        "code 99490 effective 2015-01-01..",
        "parameter conversion_factor",
    ]


_CCM_MONTH = {
    "month": "2025-03",
    "beneficiary": {"part_b": True, "dual_status": "none", "medigap_plan": None, "deductible_remaining": 0.0},
    "practitioner": {"id": "P1", "kind": "physician", "new_patient": False, "last_visit": "2024-11-02"},
    "practice": {"certified_ehr": True, "access_24_7": True, "continuity_designated_member": True,
                 "electronic_care_plan_shared": True},
    "chronic_conditions": [
        {"name": "type 2 diabetes", "icd10": "E11.9", "expected_months": 24, "significant_risk": True},
        {"name": "hypertension", "icd10": "I10", "expected_months": 24, "significant_risk": True},
    ],
    "consent": {"documented": True, "practitioner": "P1", "date": "2025-01-10", "method": "written",
                "service": ["ccm", "rpm"]},
    "care_plan": {"comprehensive": True, "established_or_substantially_revised_this_month": False},
    "medical_decision_making": "low",
    "rpm": {"device_days": 18, "interactive_communication": True},
}


def test_a_new_exclusion_is_the_cause_of_the_decisions_it_changes(tmp_path: Path) -> None:
    """An exclusion keeps a code out of the chosen coding, or rules it out by a claim on file,
    without a trace node of its own: a denial names it by its title (`..., which was chosen:
    TITLE`) or as its reason's rule. The decisions an added exclusion changed were listed under
    `(no changed declaration in its trace)`."""
    new = tmp_path / "next"
    _copy_shipped(new)
    with (new / "concurrency.policy").open("a", encoding="utf-8") as text:
        text.write(
            '\nexclusion concurrency.ccm_not_with_rpm "CCM not with RPM by the same practitioner"\n'
            '  assumption "made up for this test"\n  program ccm excludes program rpm by same practitioner\n'
        )
    minutes = [{"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": s} for s in ("ccm", "rpm")]
    claim = [{"code": "99457", "practitioner": "P1", "status": "paid"}]
    bundles = tmp_path / "bundles.jsonl"
    bundles.write_text(
        json.dumps({**_CCM_MONTH, "id": "separate-minutes", "time": minutes, "other_claims_this_month": []}) + "\n"
        + json.dumps({**_CCM_MONTH, "id": "rpm-on-file", "time": minutes[:1], "other_claims_this_month": claim})
        + "\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["diff", str(SHIPPED), str(new), str(bundles), "--format", "json"])
    assert result.exit_code == ExitCode.OK, result.output
    groups = {g["cause"]: sorted(d["bundle_id"] for d in g["decisions"]) for g in json.loads(result.stdout)["groups"]}
    assert groups == {"exclusion concurrency.ccm_not_with_rpm (new)": ["rpm-on-file", "separate-minutes"]}


def test_the_count_of_changed_decisions_counts_decisions_not_bundle_ids(tmp_path: Path) -> None:
    """Bundle ids need not be unique across files (a patient's id in two months' files): the
    header counted distinct ids, `2 of 6 decisions change` above a group of 4 decisions."""
    new = tmp_path / "next"
    _copy_shipped(new)
    _sub(new / "fees.policy", FACTOR_2025, r"\g<1>$33.0000\2")
    example = str(SHIPPED / "examples" / "month-batch.yaml")
    once = CliRunner().invoke(cli, ["diff", str(SHIPPED), str(new), example])
    twice = CliRunner().invoke(cli, ["diff", str(SHIPPED), str(new), example, example])
    assert once.exit_code == twice.exit_code == ExitCode.OK, twice.output
    counted = re.compile(r"^(\d+) of (\d+) decisions change$", re.MULTILINE)
    grouped = re.compile(r"^parameter conversion_factor value [^\n]*: (\d+) decisions?$", re.MULTILINE)
    (changed, compared), (changed2, compared2) = counted.findall(once.stdout)[0], counted.findall(twice.stdout)[0]
    assert int(changed) > 0
    assert (int(changed2), int(compared2)) == (2 * int(changed), 2 * int(compared))
    assert int(grouped.findall(twice.stdout)[0]) == int(changed2)


def test_a_decision_whose_denials_alone_change_says_which(tmp_path: Path) -> None:
    """A decision whose only change is a denied code (a code added, denied in these months) was
    listed as `99490×1; allowed $60.49, ...  ->  99490×1; allowed $60.49, ...`: the same text on
    both sides of the arrow."""
    new = tmp_path / "next"
    _copy_shipped(new)
    with (new / "ccm.policy").open("a", encoding="utf-8") as text:
        text.write(
            '\ncode G9999 "A made-up long CCM month"\n  assumption "made up for this test"\n  program ccm\n'
            "  effective 2025-01-01..\n  requires ccm.patient\n  requires ccm_staff_minutes >= 200 min\n"
        )
    example = str(SHIPPED / "examples" / "month-batch.yaml")
    result = CliRunner().invoke(cli, ["diff", str(SHIPPED), str(new), example])
    assert result.exit_code == ExitCode.OK, result.output
    listed = [line for line in result.stdout.split("\n") if "  ->  " in line]
    assert listed
    for line in listed:
        before, after = line.split(": ", 1)[1].split("  ->  ")
        assert before != after, line
        assert line.endswith(" (now denied: G9999)"), line
    removed = CliRunner().invoke(cli, ["diff", str(new), str(SHIPPED), example])
    assert all(line.endswith(" (no longer denied: G9999)") for line in removed.stdout.split("\n") if "  ->  " in line)


def test_an_empty_folder_is_named_without_a_hint_to_check_it(tmp_path: Path) -> None:
    """An empty folder as OLD or NEW was reported, then followed by `hint: the policy set has
    errors; run carepolicy check ...`, which only says the same again: as for a missing folder,
    the error is all there is to say."""
    empty = tmp_path / "empty"
    empty.mkdir()
    example = str(SHIPPED / "examples" / "month-batch.yaml")
    for old, new in ((str(empty), str(SHIPPED)), (str(SHIPPED), str(empty))):
        result = CliRunner().invoke(cli, ["diff", old, new, example])
        assert (result.exit_code, result.stdout) == (ExitCode.BAD_INPUT, "")
        assert result.stderr == f"carepolicy: error[policy/empty]: no .policy files under `{empty}`\n"
