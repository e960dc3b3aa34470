"""`assumption "reason"`: a declaration the reference does not state, labelled wherever it shows.

It stands in for a `cite` (the "every declaration cites" check accepts either), `carepolicy check`
lists each one, and every decision that quotes the rule labels it "assumption, not a CMS rule".
"""

from __future__ import annotations

from pathlib import Path

from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from carepolicy.engine import evaluate, load_fact_file, load_policies, to_json_obj
from click.testing import CliRunner

HERE = Path(__file__).resolve().parent
SMOKE = (HERE / "fixtures" / "policies" / "smoke.policy").read_text()


def _policy_with_assumption(tmp_path: Path) -> Path:
    text = SMOKE.replace(
        'rule ccm.patient "Two conditions" cite S7 "x"',
        'rule ccm.patient "Two conditions"\n  assumption "the reference states no Part B rule for this test"',
    )
    assert text != SMOKE
    (tmp_path / "smoke.policy").write_text(text)
    return tmp_path


def test_check_accepts_an_assumption_instead_of_a_cite_and_lists_it(tmp_path: Path) -> None:
    folder = _policy_with_assumption(tmp_path)
    result = CliRunner().invoke(cli, ["check", str(folder)])
    assert result.exit_code == ExitCode.OK, result.output
    assert result.stdout == "0 errors, 0 warnings in 1 file; 1 assumption, not CMS rules\n"
    assert "smoke.policy:20:3: info[check/assumption]: rule `ccm.patient`: the reference states no Part B rule" in (
        result.stderr
    )


def test_a_declaration_with_neither_cite_nor_assumption_is_an_error(tmp_path: Path) -> None:
    uncited = SMOKE.replace('rule ccm.patient "Two conditions" cite S7 "x"', 'rule ccm.patient "Two conditions"')
    (tmp_path / "smoke.policy").write_text(uncited)
    result = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert result.exit_code == ExitCode.POLICY_ERRORS
    assert "error[check/missing-cite]: rule `ccm.patient` has no citation" in result.stderr
    assert '`assumption "why"`' in result.stderr


def test_decisions_label_the_assumed_rule(tmp_path: Path) -> None:
    policies = load_policies(_policy_with_assumption(tmp_path))
    bundles = load_fact_file(HERE / "fixtures" / "facts" / "two.yaml")
    decision = evaluate(policies, bundles[0])
    text = str(to_json_obj(decision))
    assert "assumption, not a CMS rule: the reference states no Part B rule for this test" in text
    patient_nodes = [
        n for n in _walk(to_json_obj(decision)["trace"]) if n.get("id") == "ccm.patient" and n["kind"] == "rule"
    ]
    assert patient_nodes
    label = "assumption, not a CMS rule: the reference states no Part B rule for this test"
    assert all(n["cites"] == [label] for n in patient_nodes)


def _walk(nodes: list[dict[str, object]]) -> list[dict[str, object]]:
    found: list[dict[str, object]] = []
    for node in nodes:
        found.append(node)
        children = node.get("children")
        if isinstance(children, list):
            found.extend(_walk(children))
    return found


def test_the_language_guide_quotes_what_check_prints_for_the_shipped_policies() -> None:
    """docs/language.md quotes the summary and one info line of `carepolicy check`: both must be
    what check prints today (the counts and line numbers move whenever a policy changes)."""
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == ExitCode.OK, result.output
    guide = " ".join((HERE.parent / "docs" / "language.md").read_text().split())
    summary = result.stdout.strip()
    assert summary.startswith("0 errors, 0 warnings in 14 policy files and the source registry; ")
    assert f"(`{summary}`" in guide
    rule = "rule `remote_monitoring.rpm_consent`"
    printed = next(line for line in result.stderr.splitlines() if rule in line)
    assert f"``{printed[: printed.index(rule) + len(rule)]}: ...``" in guide


def test_check_names_the_registry_apart_from_the_policy_files(tmp_path: Path) -> None:
    """`fmt` lays out the .policy files; the registry beside them is checked too: the summary says
    so rather than counting it as one more file."""
    folder = _policy_with_assumption(tmp_path)
    (folder / "sources.registry").write_text("S1\tRVU\nS7\tNGS\n")
    result = CliRunner().invoke(cli, ["check", str(folder)])
    assert result.exit_code == ExitCode.OK, result.output
    summary = "0 errors, 0 warnings in 1 policy file and the source registry; 1 assumption, not CMS rules\n"
    assert result.stdout == summary


def test_ccm_denied_by_another_practitioners_g0511_quotes_the_reading_that_g0511_is_ccm(tmp_path: Path) -> None:
    """§3.1 states one practitioner paid for CCM a month; that another practitioner's G0511 claim on
    file was CCM is the policies' reading (concurrency.one_g0511_practitioner), so the denial it
    gives this practitioner's 99490 quotes that assumption, not §3.1's rule alone."""
    example = (HERE.parent / "policies" / "examples" / "ccm-60-minutes.yaml").read_text()
    claimed = example.replace(
        "other_claims_this_month: []",
        "other_claims_this_month:\n  - {code: G0511, practitioner: P2, status: paid}",
    )
    assert claimed != example
    (tmp_path / "bundle.yaml").write_text(claimed)
    bundle = load_fact_file(tmp_path / "bundle.yaml")[0]
    decision = to_json_obj(evaluate(load_policies(HERE.parent / "policies"), bundle))
    assert not any(line["code"] == "99490" for line in decision["billable"])
    reasons = [r for d in decision["denied"] if d["code"] == "99490" for r in d["reasons"]]
    by_g0511 = [r for r in reasons if r["reason"].startswith("G0511 already paid to another practitioner (P2)")]
    assert [r["rule"] for r in by_g0511] == ["concurrency.one_g0511_practitioner"]
    label = "assumption, not a CMS rule: a G0511 claim of another practitioner"
    assert any(cite.startswith(label) for cite in by_g0511[0]["cites"])
