"""The text form of a decision (engine/explain.py): golden text for real decisions, plus the edge cases.

Golden files: tests/golden/explain/BUNDLE.txt, from the fixture policy set and facts in
tests/fixtures/ (evaluated with relative paths, so no absolute path shows). Refresh with
`CAREPOLICY_UPDATE_GOLDENS=1` (see tests/goldens.py).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from carepolicy.engine import Bundle, Decision, evaluate, load_fact_file, load_policies
from carepolicy.engine.decision.citations import source_info
from carepolicy.engine.decision.context import DecisionContext
from carepolicy.engine.decision.explain import render_decision_text
from carepolicy.engine.decision.model import Alternative, Denial, Line, Reason, Shares, Totals
from carepolicy.engine.decision.trace_nodes import Read, TraceNode

from tests.goldens import assert_golden

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden" / "explain"


@pytest.fixture(scope="module")
def decisions() -> dict[str, Decision]:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(FIXTURES)
        policies = load_policies("policies")
        bundles = [b for b in load_fact_file("facts/explain.yaml") if isinstance(b, Bundle)]
        return {b.id: evaluate(policies, b) for b in bundles}


@pytest.mark.parametrize("bundle", ["complex-60-min-moderate-mdm", "missing-consent"])
@pytest.mark.parametrize("explain", [False, True], ids=["default", "explain"])
def test_decision_text_matches_golden(decisions: dict[str, Decision], bundle: str, explain: bool) -> None:
    text = render_decision_text(decisions[bundle], explain=explain)
    assert_golden(GOLDEN / f"{bundle}{'.explain' if explain else ''}.txt", text)
    assert text == render_decision_text(decisions[bundle], explain=explain), "the same decision, the same bytes"


def test_decision_leads_with_the_answer(decisions: dict[str, Decision]) -> None:
    text = render_decision_text(decisions["complex-60-min-moderate-mdm"], explain=True)
    assert text.startswith(
        "Bundle complex-60-min-moderate-mdm · service month 2025-03\n"
        "Bill 99487 × 1 (practitioner P1) · allowed $131.65 · patient owes $26.33\n"
    )
    order = [text.index(h) for h in ("\nBillable\n", "\nDenied\n", "\nOther valid codings", "\nWhy\n")]
    assert order == sorted(order)
    assert "  99490 × 1 + 99439 × 2: allowed $152.35, patient owes $30.47" in text
    assert "  99490 (with 99487)  ✘ not billed with 99487, which was chosen: one" in text


def test_missing_facts_are_not_recorded_not_late(decisions: dict[str, Decision]) -> None:
    text = render_decision_text(decisions["missing-consent"], explain=True)
    assert '✘ requires "consent.date <= end of service_month": unknown' in text
    assert "consent.date = not recorded" in text
    assert "`consent.date` not recorded, so `consent.date <= end of service_month` cannot be checked" in text
    assert text.splitlines()[1] == "Nothing to bill: no documented consent"


def test_no_explain_leaves_out_the_trace(decisions: dict[str, Decision]) -> None:
    full = render_decision_text(decisions["complex-60-min-moderate-mdm"], explain=True)
    short = render_decision_text(decisions["complex-60-min-moderate-mdm"])
    assert "\nWhy\n" in full
    assert "\nWhy\n" not in short
    assert short.endswith(" · --explain shows why\n")


# --------------------------------------------------------------------------------------------- edge cases

CITE = ("S7: §1.1",)


def _decision(**changes: object) -> Decision:
    fields: dict[str, object] = {
        "decision_id": "d", "engine": "carepolicy", "engine_version": "0", "policy_set_hash": "p",
        "facts_hash": "f", "bundle_id": "b1", "month": "2025-03", "switches": (), "billable": (),
        "denied": (), "alternatives": (),
        "totals": Totals(Decimal(0), Decimal(0), Decimal(0), Decimal(0), Decimal(0), None),
        "trace": None,
    }
    fields.update(changes)
    return Decision(**fields)  # type: ignore[arg-type]


def _dormant(code: str) -> Denial:
    text = "not in effect in 2025-03 (effective 2022..2024)"
    return Denial(code, (Reason(code, "effective dates", (), "", text),))


def test_codes_not_in_effect_are_one_line() -> None:
    reason = Reason("99439", "addl", CITE, "ccm.policy:9", "staff_minutes: 21 of 40 minutes")
    real = Denial("99439", (reason,))
    text = render_decision_text(_decision(denied=(_dormant("G2058"), real, _dormant("G2064"))))
    assert text.count("not in effect") == 1
    assert "  not in effect in 2025-03: G2058, G2064\n" in text
    assert "  99439  ✘ staff_minutes: 21 of 40 minutes  [ccm.policy:9 · S7]\n" in text


def test_unpriced_and_indeterminate_are_said_not_invented() -> None:
    why = "RHC/FQHC lines are not paid with PFS arithmetic"
    unpriced = Line("G0511", 1, "P1", None, f"not priced: {why}", None, ("G0511",))
    text = render_decision_text(_decision(billable=(unpriced,),
                                          totals=Totals(None, None, None, None, None, "not priced: G0511")))
    assert f"  G0511 × 1  not priced: {why}\n" in text
    assert "  Total allowed: not priced (G0511)\n" in text  # (not "allowed: not priced: G0511": a colon too many)
    assert "Bill G0511 × 1 (practitioner P1) · allowed: not priced (G0511) · patient share indeterminate\n" in text

    note = "depends on the state Medicaid plan"
    shares = Shares(Decimal("0.00"), Decimal("12.10"), Decimal("48.39"), None, Decimal("0.00"), None, note)
    priced = Line("99490", 1, "P1", Decimal("60.49"), "fee schedule file", shares, ("99490",))
    totals = Totals(Decimal("60.49"), Decimal("48.39"), None, Decimal("0.00"), None,
                    f"patient responsibility indeterminate: {note}")
    switches = (("dual_reading", "strict"),)
    context = DecisionContext(switch_defaults={"dual_reading": "lenient", "other": "a"})
    text = render_decision_text(
        _decision(billable=(priced,), totals=totals, switches=(*switches, ("other", "a")), context=context)
    )
    assert "Switches not at their default: dual_reading=strict\n" in text
    payers = (
        "Medicare pays $48.39; deductible $0.00 + coinsurance $12.10 = $12.10: Medicaid's part is indeterminate,"
        f" the patient's part is indeterminate ({note})"
    )
    assert payers in text
    assert f"  note: patient responsibility indeterminate: {note}" in text
    assert "$None" not in text
    assert "None" not in text


def test_trace_tree_shape_reads_and_marks() -> None:
    leaf = TraceNode("requirement", "r1", "staff_minutes >= 20 min", (), "a.policy:5", "not met",
                     (Read("staff_minutes", 19), Read("cf", Decimal("32.3465"), "2025-03-31")))
    rule = TraceNode("rule", "r1", "Rule one", CITE, "a.policy:4", "unmet", (), (leaf,))
    skipped = TraceNode("rule", "r0", "Old rule", CITE, "a.policy:2", "not in effect in 2025-03")
    code = TraceNode("code", "99490", "CCM", CITE, "a.policy:1", "not valid", (), (skipped, rule))
    choose = TraceNode("choose", "c", "pref", (), "a.policy:9", "chose nothing: no code is valid")
    text = render_decision_text(_decision(trace=(code, choose)), explain=True)
    why = text.split("\nWhy\n", 1)[1]
    assert why == (
        '├─ ✘ code 99490 "CCM": not valid [a.policy:1] cites S7: §1.1\n'
        '│  ├─ · rule r0 "Old rule": not in effect in 2025-03 [a.policy:2] cites S7: §1.1\n'
        '│  └─ ✘ rule r1 "Rule one": not met [a.policy:4] cites S7: §1.1\n'
        '│     └─ ✘ requires "staff_minutes >= 20 min": not met [a.policy:5]\n'
        "│          staff_minutes = 19\n"
        "│          cf = 32.3465 (as of 2025-03-31)\n"
        '└─ · coding choice c "pref": chose nothing: no code is valid [a.policy:9]\n'
    )


def test_alternative_with_unknown_totals() -> None:
    alt = Alternative((("99491", 1),), None, None, "ranked after the chosen coding")
    text = render_decision_text(_decision(alternatives=(alt,)))
    # ("patient owes indeterminate" said the patient owes something; the answer line's words)
    assert "  99491 × 1: allowed: not priced, patient share indeterminate\n" \
           "    not chosen: ranked after the chosen coding\n" in text


def test_an_assumption_is_labelled_and_is_not_a_source() -> None:
    cites = ("S7: §2.2", "assumption, not a CMS rule: consent is required as for CCM")
    reason = Reason("rpm.consent", "Consent to RPM", cites, "common.policy:180", "no consent to RPM")
    sources = {"S7": source_info("S7", "NGS Medicare, 'Care Management', ngsmedicare.com/web/ngs/x?id=1.")}
    context = DecisionContext(sources=sources)
    text = render_decision_text(_decision(denied=(Denial("99457", (reason,)),), context=context))
    assert "  99457  ✘ no consent to RPM  [common.policy:180 · S7, assumption, not a CMS rule]\n" in text
    assert "Sources cited\n  S7    NGS Medicare, 'Care Management', ngsmedicare.com/web/ngs/x?id=1.\n\n" in text
    assert sources["S7"].address == "ngsmedicare.com/web/ngs/x?id=1"
