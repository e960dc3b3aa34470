"""Assumptions quoted where they decide: a switch's on the lines and unit denials of the codes whose
`units`/`at most` clauses read it, a clause's own `with assumption` on its code's line and unit
denials only, and the cost sharing's on the lines whose shares rest on them (docs/language.md,
"What a switch assumes is quoted where it decides")."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from carepolicy.engine import PolicySet, evaluate, load_policies, to_json_obj
from carepolicy.engine.compile.policy_set import CompiledPolicySet
from carepolicy.engine.decision.explain import render_decision_text
from carepolicy.engine.decision.model import Decision
from carepolicy.engine.facts.bundle import Bundle, validate_bundle
from carepolicy.engine.language.format import format_text
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
SMOKE = (HERE / "fixtures" / "policies" / "smoke.policy").read_text()

CAP_99437 = (
    "assumption, not a CMS rule: 99437's monthly unit limit is unconfirmed (§1.1, §9b, §10 item 1: sources say"
    " 1, 2 or unlimited; no CMS text): no cap unless this switch names one (switch unit_cap_99437)"
)
NO_CAP_99489 = (
    "assumption, not a CMS rule: no monthly unit cap: none was found for 99489 (§1.1, medium confidence;"
    " §10 item 1) and no candidate value is named"
)


@pytest.fixture(scope="module")
def shipped() -> PolicySet:
    return load_policies(None)


def _bundle(**changes: Any) -> Bundle:
    """The ccm base of policies/tests/ccm.yaml with `changes` (top-level keys replaced; `beneficiary`
    merged)."""
    base = dict(yaml.safe_load((ROOT / "policies" / "tests" / "ccm.yaml").read_text())["bases"]["ccm"])
    beneficiary = {**base["beneficiary"], **changes.pop("beneficiary", {})}
    bundle = validate_bundle({**base, **changes, "beneficiary": beneficiary}, source="<test>", index=0)
    assert isinstance(bundle, Bundle)
    return bundle


def _personal(minutes: int) -> list[dict[str, Any]]:
    return [{"practitioner": "DR-OKAFOR", "by": "billing_practitioner", "minutes": minutes, "service": "ccm"}]


def _staff(minutes: int) -> list[dict[str, Any]]:
    return [{"practitioner": "DR-OKAFOR", "by": "clinical_staff", "minutes": minutes, "service": "ccm"}]


def _lines(decision: Decision) -> dict[str, dict[str, Any]]:
    return {line["code"]: line for line in to_json_obj(decision)["billable"]}


def _reasons(decision: Decision, code: str) -> list[dict[str, Any]]:
    return [r for d in to_json_obj(decision)["denied"] if d["code"] == code for r in d["reasons"]]


def test_the_99437_line_quotes_its_unit_cap_switch_and_the_99491_line_does_not(shipped: PolicySet) -> None:
    decision = evaluate(shipped, _bundle(time=_personal(125)))
    lines = _lines(decision)
    assert (lines["99491"]["units"], lines["99437"]["units"]) == (1, 3)
    assert lines["99437"]["cites"] == [CAP_99437]
    assert lines["99491"]["cites"] == []
    # the text form quotes it under the 99437 line, not under 99491's
    text = render_decision_text(decision)
    after_99437 = text.split("  99437 × 3", 1)[1].split("\n  Total", 1)[0]
    assert CAP_99437 in after_99437
    assert CAP_99437 not in text.split("  99437 × 3", 1)[0]


def test_a_99490_line_quotes_no_switch(shipped: PolicySet) -> None:
    lines = _lines(evaluate(shipped, _bundle(time=_staff(60))))
    assert lines["99490"]["cites"] == []
    assert lines["99439"]["cites"] == []


def test_the_unit_denials_of_99437_quote_the_switch_whatever_its_option(shipped: PolicySet) -> None:
    no_cap = evaluate(shipped, _bundle(time=_personal(125)))
    [fourth] = _reasons(no_cap, "99437")
    assert fourth["reason"] == "ccm_personal_minutes: 125 of 150 minutes (25 more needed)"
    assert fourth["cites"][-1] == CAP_99437
    capped = evaluate(shipped, _bundle(time=_personal(125)), switches={"unit_cap_99437": "two_units"})
    [third] = _reasons(capped, "99437")
    assert third["reason"] == "at most 2 units per month"
    assert third["cites"][-1] == CAP_99437
    assert _lines(capped)["99437"]["cites"] == [CAP_99437]


def test_a_clause_assumption_is_on_the_line_and_the_unit_denial_not_on_other_reasons(shipped: PolicySet) -> None:
    complex_month = evaluate(shipped, _bundle(
        time=_staff(125), medical_decision_making="moderate",
        care_plan={"comprehensive": True, "established_or_substantially_revised_this_month": True},
    ))
    assert _lines(complex_month)["99489"]["units"] == 2
    assert _lines(complex_month)["99489"]["cites"] == [NO_CAP_99489]
    [unit] = _reasons(complex_month, "99489")
    assert unit["reason"] == "ccm_staff_minutes: 125 of 150 minutes (25 more needed)"
    assert NO_CAP_99489 in unit["cites"]
    # a denial for medical decision making does not rest on the units clause: it does not quote it
    low = evaluate(shipped, _bundle(time=_personal(125)))
    [mdm] = _reasons(low, "99489")
    assert mdm["reason"] == "medical decision making below moderate"
    assert NO_CAP_99489 not in mdm["cites"]
    assert not any(c.startswith("assumption") for c in mdm["cites"])


def test_both_backends_quote_the_same(shipped: PolicySet) -> None:
    closures = CompiledPolicySet.build(shipped.checked, shipped.sources, shipped.policy_hash, backend="closures")
    assert [c.line_cites for v in closures.codes.values() for c in v] == [
        c.line_cites for v in shipped.compiled.codes.values() for c in v
    ]
    assert closures.codes["99437"][0].line_cites == (CAP_99437,)
    assert closures.codes["99490"][0].line_cites == ()


def test_the_medigap_k_shares_quote_the_limit_assumptions_and_plan_g_none(shipped: PolicySet) -> None:
    k = _lines(evaluate(shipped, _bundle(time=_staff(60), beneficiary={"medigap_plan": "K"})))
    for line in k.values():
        assert [c.rsplit(" (", 1)[-1] for c in line["cites"]] == [
            "define medigap_k_limit_reached)", "define medigap_k_limit_reached)"]  # not the 2026 value's doubt
    g = _lines(evaluate(shipped, _bundle(time=_staff(60), beneficiary={"medigap_plan": "G"})))
    assert all(line["cites"] == [] for line in g.values())
    n = _lines(evaluate(shipped, _bundle(time=_staff(60), beneficiary={"medigap_plan": "N"})))
    assert all(line["cites"][0].endswith("(switch plan_n_copay_for_care_management)") for line in n.values())


def test_the_sequestration_switch_is_quoted_only_when_it_applies(shipped: PolicySet) -> None:
    bundle = _bundle(time=_staff(60))
    assert all(line["cites"] == [] for line in _lines(evaluate(shipped, bundle)).values())
    applied = _lines(evaluate(shipped, bundle, switches={"medicare_sequestration": "applied"}))
    assert all(line["cites"][-1].endswith("(switch medicare_sequestration)") for line in applied.values())


def test_an_undecided_dual_quotes_only_the_switches_its_clause_read(shipped: PolicySet) -> None:
    """The full-benefit dual's `indeterminate` clause reads `medigap_pays_all_cost_sharing`, whose
    Plan N branch reads a switch: quoted for a Plan N holder whose deductible is met, whom it decides,
    not for a dual with no Medigap plan (it told that biller of a Plan N the patient does not have)."""
    plan_n = "(switch plan_n_copay_for_care_management)"
    owes: dict[str | None, str | None] = {None: None, "G": "0.00"}  # undecided; Plan G pays it all
    for plan, share in owes.items():
        lines = _lines(evaluate(shipped, _bundle(time=_staff(60), beneficiary={
            "dual_status": "full_benefit", "medigap_plan": plan, "deductible_remaining": 0})))
        assert lines
        assert [line["shares"]["beneficiary"] for line in lines.values()] == [share] * len(lines)
        assert all(not c.endswith(plan_n) for line in lines.values() for c in line["cites"]), plan
    n = _lines(evaluate(shipped, _bundle(time=_staff(60), beneficiary={
        "dual_status": "full_benefit", "medigap_plan": "N", "deductible_remaining": 0})))
    assert all(any(c.endswith(plan_n) for c in line["cites"]) for line in n.values())


# ------------------------------------------------------------------ the clause in the language

WITH_ASSUMPTIONS = SMOKE.replace(
    "  units each full 20 min of staff_minutes beyond 20 min\n  at most 2 units\n",
    "  units each full 20 min of staff_minutes beyond 20 min\n"
    '    with assumption "counted as the CPT descriptor counts them"\n'
    '  at most 2 units with assumption "no third unit: a test reading"\n',
)


def test_check_lists_and_counts_a_clause_assumption(tmp_path: Path) -> None:
    assert WITH_ASSUMPTIONS != SMOKE
    (tmp_path / "smoke.policy").write_text(WITH_ASSUMPTIONS)
    result = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert result.exit_code == ExitCode.OK, result.output
    assert result.stdout == "0 errors, 0 warnings in 1 file; 2 assumptions, not CMS rules\n"
    line = WITH_ASSUMPTIONS.splitlines().index('    with assumption "counted as the CPT descriptor counts them"') + 1
    assert f"smoke.policy:{line}:5: info[check/assumption]: code `99439`: counted as the CPT descriptor" in (
        result.stderr
    )
    assert f"smoke.policy:{line + 1}:19: info[check/assumption]: code `99439`: no third unit" in result.stderr


def test_a_clause_assumption_is_quoted_on_its_line(tmp_path: Path) -> None:
    (tmp_path / "smoke.policy").write_text(WITH_ASSUMPTIONS)
    policies = load_policies(tmp_path)
    bundle = _bundle(time=_staff(45), practitioner={"id": "DR-OKAFOR", "kind": "physician"},
                     consent={"documented": True, "practitioner": "DR-OKAFOR", "date": "2025-01-10",
                              "service": "ccm"},
                     chronic_conditions=[{"name": n, "expected_months": 24, "significant_risk": True}
                                         for n in ("a", "b")])
    lines = _lines(evaluate(policies, bundle))
    assert lines["99439"]["cites"] == [
        "assumption, not a CMS rule: counted as the CPT descriptor counts them",
        "assumption, not a CMS rule: no third unit: a test reading",
    ]
    assert lines["99490"]["cites"] == []


def test_an_assumption_line_after_a_units_clause_is_still_the_declarations(tmp_path: Path) -> None:
    text = SMOKE.replace("  at most 2 units\n", '  at most 2 units\n  assumption "of the whole add-on"\n')
    (tmp_path / "smoke.policy").write_text(text)
    policies = load_policies(tmp_path)
    [addon] = policies.compiled.codes["99439"]
    assert addon.header.cites[-1] == "assumption, not a CMS rule: of the whole add-on"
    assert addon.line_cites == ()


def test_fmt_keeps_the_clause_and_is_stable() -> None:
    formatted = format_text(WITH_ASSUMPTIONS, "smoke.policy")
    assert '    with assumption "counted as the CPT descriptor counts them"\n' in formatted
    assert '  at most 2 units with assumption "no third unit: a test reading"\n' in formatted
    assert format_text(formatted, "smoke.policy") == formatted
    squeezed = WITH_ASSUMPTIONS.replace('\n    with assumption "counted', ' with   assumption "counted')
    assert "beyond 20 min with assumption \"counted as" in format_text(squeezed, "smoke.policy")


def test_the_c_f_reading_of_a_holder_not_eligible_before_2020_is_quoted_only_where_it_decides(
    shipped: PolicySet,
) -> None:
    """A Plan C or F holder said not to be eligible before 2020 contradicts §7.3; the shipped reading
    (the plan pays the coinsurance, not the deductible) is an assumption, quoted on that holder's
    lines, where it leaves the deductible to the beneficiary. A holder eligible before 2020, or one
    whose bundle leaves the fact out (a C or F holder was, §7.3), rests on no assumption: their lines
    quote none. (It was the other way round: the assumption was on the define the deductible clause
    reads, so it was quoted where that clause applied and not where it did not.)"""
    word = "is taken at its word"
    for plan in ("C", "F"):
        by_eligibility: dict[bool | None, dict[str, dict[str, Any]]] = {}
        for eligible in (True, False, None):
            beneficiary: dict[str, Any] = {"medigap_plan": plan, "deductible_remaining": 100}
            if eligible is not None:
                beneficiary["medicare_eligible_before_2020"] = eligible
            by_eligibility[eligible] = _lines(evaluate(shipped, _bundle(time=_staff(60), beneficiary=beneficiary)))
        for eligible, lines in by_eligibility.items():
            assert lines, (plan, eligible)
            quoted = [any(word in c for c in line["cites"]) for line in lines.values()]
            assert quoted == [eligible is False] * len(lines), (plan, eligible)
        # the money is as before: the deductible is the beneficiary's only when not eligible
        owed = {e: sum((Decimal(line["shares"]["beneficiary"]) for line in lines.values()), Decimal(0))
                for e, lines in by_eligibility.items()}
        assert owed[True] == owed[None] == 0, (plan, owed)
        assert owed[False] == 100, (plan, owed)  # the deductible_remaining given
