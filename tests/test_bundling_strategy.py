"""Bundling ("A bundles B") and coding strategies (per program, pays most, chosen by a switch).

docs/language.md, "bundling: A is paid as part of B" and "choose coding: the coding strategy".
Small policies written for each point, both expression backends; the shipped policies' cases are
in policies/tests/apcm.yaml.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from carepolicy.engine import PolicyError, PolicySet, evaluate, load_policies, to_json
from carepolicy.engine.api import check_texts
from carepolicy.engine.compile.strategy import flatten_rank
from carepolicy.engine.decision.batch_report import read_report
from carepolicy.engine.decision.explain import render_decision_text
from carepolicy.engine.decision.forms import csv_rows, render_summary
from carepolicy.engine.decision.model import Decision
from carepolicy.engine.decision.report_text import render_report_text
from carepolicy.engine.facts.reader import Bundle, validate_bundle
from carepolicy.engine.language import syntax as s

ROOT = Path(__file__).resolve().parent.parent
HEADER = 'policy t "bundling"\n  source S1 "a source"\n'

POLICY = (
    HEADER
    + """
define level2_minutes "Minutes" cite S1 "x"
  = sum time.minutes where time.service = apcm
switch coding_strategy "Strategy" cite S1 "x"
  options {work_done, pays_most}
  default work_done
switch tcm_separate "TCM separately billable" cite S1 "x"
  options {bundled, separate}
  default bundled

code G0557 "APCM level 2" cite S1 "x"
  program apcm
  requires level2_minutes >= 0 min
code 99490 "CCM" cite S1 "x"
  program ccm
  requires level2_minutes >= 1000 min

bundling apcm.bundles_tcm "APCM bundles TCM by the same practitioner" cite S1 "§5.3"
  G0557 bundles 99495, 99496 by same practitioner
exception apcm.tcm_separate to apcm.bundles_tcm "TCM separately billable (switch)" cite S1 "x"
  when tcm_separate = separate

choose coding pick.work "Work done" cite S1 "x"
  by preference program apcm, program ccm
  within program apcm by preference G0557
  then by highest total allowed
choose coding pick.pays "Pays most" cite S1 "x"
  when coding_strategy = pays_most
  by highest total allowed

parameter cf "Conversion factor" cite S1 "x"
  value $32.3465 effective 2025-01-01..2025-12-31
pricing pfs "PFS" cite S1 "x"
  effective 2025-01-01..2025-12-31
  allowed = total rvu times cf
rvu table rvus "2025 RVUs" cite S1 "x"
  effective 2025-01-01..2025-12-31
  G0557 work 0.50 pe 0.90 mp 0.11
  99495 work 2.78 pe 3.27 mp 0.17
"""
)


@pytest.fixture(scope="module", params=["codegen", "closures"])
def policies(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PolicySet:
    folder = tmp_path_factory.mktemp("bundling")
    (folder / "t.policy").write_text(POLICY, encoding="utf-8")
    return load_policies(folder, backend=request.param)


def bundle(*claims: dict[str, Any]) -> Bundle:
    facts = {
        "id": "b1",
        "fact_bundle": 2,
        "month": "2025-05",
        "practitioner": {"id": "P1", "kind": "physician"},
        "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": 30, "service": "apcm"}],
        "other_claims_this_month": list(claims),
    }
    result = validate_bundle(facts, source="test", index=0)
    assert isinstance(result, Bundle), result
    return result


TCM = {"code": "99495", "practitioner": "P1", "status": "submitted"}


def decide(policies: PolicySet, *claims: dict[str, Any], **switches: str) -> Decision:
    return evaluate(policies, bundle(*claims), switches=switches or None)


def test_default_strategy_bills_the_bundling_code_and_withdraws_the_claim(policies: PolicySet) -> None:
    decision = decide(policies, TCM)
    assert [line.code for line in decision.billable] == ["G0557"]
    [withdrawal] = decision.withdraw
    assert (withdrawal.code, withdrawal.practitioner, withdrawal.month, withdrawal.status) == (
        "99495",
        "P1",
        "2025-05",
        "submitted",
    )
    assert withdrawal.bundled_into == "G0557"
    assert withdrawal.reasons[0].rule == "apcm.bundles_tcm"
    assert "withdraw the claim" in withdrawal.reasons[0].text
    [alternative] = decision.alternatives
    assert alternative.codes == ()
    assert alternative.withdraw == ()
    assert "prefers G0557 to keeping the 99495 claim on file" in alternative.why_not


def test_pays_most_keeps_the_claim_that_pays_more(policies: PolicySet) -> None:
    decision = decide(policies, TCM, coding_strategy="pays_most")
    assert decision.billable == ()
    assert decision.withdraw == ()
    denial = next(d for d in decision.denied if d.code == "G0557")
    assert denial.with_code == "99495"
    assert "is kept, as pick.pays chose" in denial.reasons[0].text
    assert render_decision_text(decision).splitlines()[1].startswith("Nothing to bill: the 99495 claim on file")
    [alternative] = decision.alternatives
    assert alternative.codes == (("G0557", 1),)
    assert alternative.withdraw == ("99495",)
    assert "less the 99495 claim $201.20" in alternative.why_not


def test_a_paid_claim_is_to_be_voided_and_other_claims_are_not_bundled(policies: PolicySet) -> None:
    paid = decide(policies, {**TCM, "status": "paid"})
    assert "void or correct the paid claim" in paid.withdraw[0].reasons[0].text
    other = decide(policies, {**TCM, "practitioner": "P2"})
    assert [line.code for line in other.billable] == ["G0557"]
    assert other.withdraw == ()
    denied = decide(policies, {**TCM, "status": "denied"})
    assert [line.code for line in denied.billable] == ["G0557"]
    assert denied.withdraw == ()
    nothing = decide(policies)
    assert nothing.withdraw == ()
    assert nothing.alternatives == ()


def test_an_exception_lifts_the_bundling(policies: PolicySet) -> None:
    decision = decide(policies, TCM, tcm_separate="separate")
    assert [line.code for line in decision.billable] == ["G0557"]
    assert decision.withdraw == ()


def test_the_withdrawal_is_in_every_form(policies: PolicySet) -> None:
    decision = decide(policies, TCM)
    obj = json.loads(to_json(decision))
    assert obj["withdraw"][0]["code"] == "99495"
    assert obj["withdraw"][0]["bundled_into"] == "G0557"
    assert obj["withdraw"][0]["reasons"][0]["rule"] == "apcm.bundles_tcm"
    assert obj["alternatives"][0]["withdraw"] == []
    text = render_decision_text(decision)
    assert "withdraw the 99495 claim" in text.splitlines()[1]
    assert "Withdraw (claims on file that a billed code bundles)" in text
    assert render_summary(decision).endswith("· withdraw 99495")
    rows = [row for row in csv_rows(decision) if row["status"] == "withdraw"]
    assert rows
    assert rows[0]["code"] == "99495"
    assert rows[0]["with_code"] == "G0557"
    report = read_report([to_json(decision, indent=None)], name="decisions.jsonl")
    assert report.withdraw == {"99495": 1}
    assert "Claims on file to withdraw" in render_report_text(report)
    [choice] = [node for node in decision.trace or () if node.kind == "choose"]
    assert choice.result == "chose G0557; withdraw the 99495 claim on file"


def test_the_withdrawal_survives_the_arrow_round_trip(policies: PolicySet) -> None:
    from carepolicy.arrow import decision_json_obj, row_from_json_obj

    obj = json.loads(to_json(decide(policies, TCM), indent=None, trace="none"))
    assert decision_json_obj(row_from_json_obj(obj, 0)) == obj


def check(text: str) -> list[tuple[str, int, str, str | None]]:
    _result, _sources, diagnostics = check_texts([("t.policy", HEADER + text)])
    return [(d.code, d.span.line if d.span else 0, d.message, d.help) for d in diagnostics if d.is_error]


CODES = 'code G0557 "APCM" cite S1 "x"\n  program apcm\ncode 99490 "CCM" cite S1 "x"\n  program ccm\n'


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('bundling b "B" cite S1 "x"\n  G0557 bundles 99495 by another practitioner\n', 8, "binds `another`"),
        ('bundling b "B" cite S1 "x"\n  G0557 bundles 99495 by any practitioner\n', 8, "binds `any`"),
        ('bundling b "B" cite S1 "x"\n  G0557 bundles G0556..G0558 by same practitioner\n', 8, "bundles itself"),
        ('bundling b "B" cite S1 "x"\n', 7, "says nothing is bundled"),
    ],
)
def test_bad_bundlings_are_check_errors(text: str, line: int, words: str) -> None:
    found = check(CODES + text)
    assert [(code, at) for code, at, *_ in found] == [("check/bundling", line)], found
    assert words in found[0][2]
    assert found[0][3]


STRATEGY_ERRORS = [
    ("when beneficiary.part_b\n  by highest total allowed\n", "reads `beneficiary.part_b`"),
    ("by preference G0557\n  by highest total allowed\n", "two first criteria"),
    ("by highest total allowed\n  then by highest total allowed\n", "says `by highest total allowed` twice"),
    ("then by preference G0557\n", "without `by highest total allowed`"),
    ("within program apcm by preference 99490\n", "`99490` is not a code of program `apcm`"),
    (
        "within program ccm by preference 99490\n  within program ccm by preference 99490\n",
        "orders program `ccm` twice",
    ),
    ("by preference 99490\n  within program ccm by preference 99490\n", "ranks `99490` twice"),
]


@pytest.mark.parametrize(("clauses", "words"), STRATEGY_ERRORS)
def test_bad_strategies_are_check_errors(clauses: str, words: str) -> None:
    found = check(CODES + f'choose coding c "C" cite S1 "x"\n  {clauses}')
    assert any(code == "check/strategy" and words in message and hint for code, _l, message, hint in found), found


WORK = (
    'choose coding w "W" cite S1 "x"\n  by preference program apcm, program ccm\n'
    "  within program ccm by preference 99490\n"
)
PAYS_OF = 'switch k "K" cite S1 "x"\n  options {x, y}\n  default x\nchoose coding c "C" cite S1 "x"\n  when k = y\n  '

PREFERENCE_OF_ERRORS = [
    ("by highest total allowed\n  then by preference of v\n", "check/unknown-name", "no `choose coding` named `v`"),
    ("then by preference of w\n", "check/strategy", "without `by highest total allowed` first"),
    ("by highest total allowed\n  then by preference of c\n", "check/strategy", "which is this strategy"),
    (
        "by highest total allowed\n  then by preference of w\n  then by preference G0557\n",
        "check/strategy",
        "gives its own order beside",
    ),
    (
        "by highest total allowed\n  then by preference of w\n  within program ccm by preference 99490\n",
        "check/strategy",
        "gives its own order beside",
    ),
]


@pytest.mark.parametrize(("clauses", "code", "words"), PREFERENCE_OF_ERRORS)
def test_bad_preference_of_is_a_check_error(clauses: str, code: str, words: str) -> None:
    found = check(CODES + WORK + PAYS_OF + clauses)
    assert any(c == code and words in message and hint for c, _l, message, hint in found), found


def test_preference_of_a_strategy_that_ranks_by_amount_is_a_check_error() -> None:
    pays = 'choose coding p "P" cite S1 "x"\n  when k = x\n  by highest total allowed\n'
    found = check(CODES + WORK + PAYS_OF + "by highest total allowed\n  then by preference of p\n" + pays)
    assert any("does not rank `by preference` first" in message for _c, _l, message, _h in found), found


def test_preference_of_takes_the_named_order_with_its_within_lines() -> None:
    """`then by preference of w` ranks every code as `w` does, its `within` lines included."""
    text = CODES + WORK + PAYS_OF + "by highest total allowed\n  then by preference of w\n"
    result, _sources, diagnostics = check_texts([("t.policy", HEADER + text)])
    assert not [d for d in diagnostics if d.is_error]
    index = result.index
    strategies = {d.id: d for d in index.of_kind(s.Choose) if isinstance(d, s.Choose)}
    assert flatten_rank(index, strategies["c"]) == flatten_rank(index, strategies["w"]) == {"G0557": 0, "99490": 1}


def test_an_unknown_program_in_within_is_named() -> None:
    found = check(CODES + 'choose coding c "C" cite S1 "x"\n  within program cmm by preference 99490\n')
    assert any(
        code == "check/unknown-name" and "cmm" in message and hint == "did you mean `ccm`?"
        for code, _l, message, hint in found
    )


def test_two_default_strategies_conflict_but_a_switch_selected_one_does_not() -> None:
    two = (
        CODES
        + 'choose coding a "A" cite S1 "x"\n  by preference G0557\n'
        + 'choose coding b "B" cite S1 "x"\n  by preference 99490\n'
    )
    assert any(code == "check/conflict" for code, *_ in check(two))
    switched = (
        CODES
        + 'switch k "K" cite S1 "x"\n  options {x, y}\n  default x\n'
        + 'choose coding a "A" cite S1 "x"\n  by preference G0557\n'
        + 'choose coding b "B" cite S1 "x"\n  when k = y\n  by highest total allowed\n'
    )
    assert check(switched) == []


def test_the_shipped_per_program_order_is_the_former_flat_list() -> None:
    """coding.work_done was one flat list; its per-program form ranks every code as the list did,
    with the RPM and RTM programs (each at one place: no `within` line) before G0511, so an
    RHC/FQHC in the 2025 transition bills the individual RPM/RTM codes rather than G0511. The APCM
    behavioral-health add-ons rank after the APCM levels, so an APCM month bills them rather than
    the standalone 99484/99492/99493 (policies/tests/apcm.yaml); collaborative care (G0512 on an
    RHC/FQHC claim) ranks before general BHI, as it pays more wherever amounts are known, and both
    after RPM and RTM, where they were unranked (the order of a month's lines is kept). G0511 is
    last, after general BHI, which it also pays for: the 2025 transition bills 99484 rather than
    G0511 too."""
    policies = load_policies(None)
    index = policies.checked.index
    [work_done] = [d for d in index.of_kind(s.Choose) if d.id == "coding.work_done"]
    assert isinstance(work_done, s.Choose)
    flat = ["G0558", "G0557", "G0556", "G0568", "G0569", "G0570", "99487", "99491", "99490", "99424", "99426"]
    flat += ["G2064", "G2065"]
    expected = {code: place for place, code in enumerate(flat)}
    expected.update({"99457": 13, "99458": 13, "98980": 14, "98981": 14})
    expected.update(dict.fromkeys(("99492", "99493", "99494", "G0502", "G0503", "G0504"), 15))
    expected.update({"G0512": 16, "99484": 17, "G0507": 17, "G0511": 18})
    assert flatten_rank(index, work_done) == expected


def test_the_shipped_switch_selects_the_strategy() -> None:
    policies = load_policies(None)
    default = evaluate(policies, bundle())
    assert ("coding_strategy", "work_done") in default.switches
    chosen = evaluate(policies, bundle(), switches={"coding_strategy": "pays_most"})
    assert ("coding_strategy", "pays_most") in chosen.switches
    with pytest.raises(PolicyError):
        evaluate(policies, bundle(), switches={"coding_strategy": "cheapest"})


def test_the_withdrawal_survives_compact_trace_and_explain(tmp_path: Path) -> None:
    """batch --trace compact, then explain, gives the line batch --trace full writes (shipped policies)."""
    from carepolicy.cli.exit_codes import ExitCode
    from carepolicy.cli.main import cli
    from click.testing import CliRunner

    cases = yaml.safe_load((ROOT / "policies" / "tests" / "apcm.yaml").read_text(encoding="utf-8"))
    facts = dict(cases["bases"]["apcm"], id="apcm-tcm")
    facts["other_claims_this_month"] = [{"code": "99495", "practitioner": "DR-NAKAMURA", "status": "submitted"}]
    claims = tmp_path / "claims.jsonl"
    claims.write_text(json.dumps(facts, default=str) + "\n", encoding="utf-8")
    lines = {}
    for form in ("full", "compact"):
        out = tmp_path / f"{form}.jsonl"
        result = CliRunner().invoke(cli, ["batch", str(claims), "--trace", form, "--jobs", "1", "-o", str(out)])
        assert result.exit_code == ExitCode.OK, result.output
        lines[form] = out.read_bytes()
    assert json.loads(lines["full"])["withdraw"][0]["code"] == "99495"
    expanded = tmp_path / "expanded.jsonl"
    result = CliRunner().invoke(cli, ["explain", str(tmp_path / "compact.jsonl"), str(claims), "-o", str(expanded)])
    assert result.exit_code == ExitCode.OK, result.output
    assert expanded.read_bytes() == lines["full"]


def test_a_misspelt_program_on_a_code_is_pointed_at_not_moved_to_a_line_that_does_not_exist() -> None:
    """`program ccmm` on code 99490: the `within program ccm` line that ranks it says so; its help
    named a `within program ccmm` line that does not exist. It names the code's `program` instead."""
    codes = CODES.replace("program ccm\n", "program ccmm\n") + 'code 99491 "CCM" cite S1 "x"\n  program ccm\n'
    found = check(codes + 'choose coding c "C" cite S1 "x"\n  within program ccm by preference 99490\n')
    [(code, _line, message, hint)] = found
    assert code == "check/strategy"
    assert "`99490` is not a code of program `ccm`" in message
    assert hint == "code `99490` says `program ccmm` (t.policy:5): did you mean `program ccm` there?", hint
