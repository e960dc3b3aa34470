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
from carepolicy.engine.decision.explain import render_decision_text
from carepolicy.engine.decision.model import Alternative, Denial, Line, Read, Reason, Shares, Totals, TraceNode

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
def test_decision_text_matches_golden(decisions: dict[str, Decision], bundle: str) -> None:
    text = render_decision_text(decisions[bundle])
    assert_golden(GOLDEN / f"{bundle}.txt", text)
    assert text == render_decision_text(decisions[bundle]), "the same decision must give the same bytes"


def test_decision_comes_before_why(decisions: dict[str, Decision]) -> None:
    text = render_decision_text(decisions["complex-60-min-moderate-mdm"])
    assert text.startswith("Bundle complex-60-min-moderate-mdm · service month 2025-03\n")
    order = [text.index(h) for h in ("\nBillable\n", "\nDenied\n", "\nAlternatives", "\nWhy\n")]
    assert order == sorted(order)
    assert "  99490 × 1 + 99439 × 2: total allowed $152.35, patient responsibility $30.47" in text
    assert "  99490 (with 99487)\n    ✘ 99490: not billed with 99487, which was chosen: one\n" in text


def test_unknown_requirements_are_failed_and_show_missing_reads(decisions: dict[str, Decision]) -> None:
    text = render_decision_text(decisions["missing-consent"])
    assert '✘ requirement ccm.consent "consent.date <= end of service_month": unknown' in text
    assert "consent.date = missing" in text
    assert "nothing is billable this month" in text


def test_no_explain_leaves_out_the_trace(decisions: dict[str, Decision]) -> None:
    full = render_decision_text(decisions["complex-60-min-moderate-mdm"])
    short = render_decision_text(decisions["complex-60-min-moderate-mdm"], explain=False)
    assert "\nWhy\n" in full
    assert "\nWhy\n" not in short
    assert full.startswith(short.rstrip("\n"))


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
    assert "    ✘ 99439: staff_minutes: 21 of 40 minutes\n      [ccm.policy:9] cites S7: §1.1\n" in text


def test_unpriced_and_indeterminate_are_said_not_invented() -> None:
    why = "RHC/FQHC lines are not paid with PFS arithmetic"
    unpriced = Line("G0511", 1, "P1", None, f"not priced: {why}", None, ("G0511",))
    text = render_decision_text(_decision(billable=(unpriced,),
                                          totals=Totals(None, None, None, None, None, "not priced: G0511")))
    assert f"G0511 × 1  practitioner P1  allowed: not priced: {why}\n" in text
    assert "  Total: not priced: G0511\n  Patient responsibility: indeterminate (not priced: G0511)\n" in text

    note = "depends on the state Medicaid plan"
    shares = Shares(Decimal("0.00"), Decimal("12.10"), Decimal("48.39"), None, Decimal("0.00"), None, note)
    priced = Line("99490", 1, "P1", Decimal("60.49"), "fee schedule file", shares, ("99490",))
    totals = Totals(Decimal("60.49"), Decimal("48.39"), None, Decimal("0.00"), None,
                    f"patient responsibility indeterminate: {note}")
    switches = (("dual_reading", "strict"),)
    text = render_decision_text(_decision(billable=(priced,), totals=totals, switches=switches))
    assert "Switches: dual_reading=strict\n" in text
    payers = f"beneficiary indeterminate ({note}) · Medicare $48.39 · Medigap $0.00 · Medicaid indeterminate"
    assert payers in text
    assert f"Patient responsibility: indeterminate (patient responsibility indeterminate: {note})" in text
    assert "$None" not in text
    assert "None" not in text


def test_trace_tree_shape_reads_and_marks() -> None:
    leaf = TraceNode("requirement", "r1", "staff_minutes >= 20 min", (), "a.policy:5", "not met",
                     (Read("staff_minutes", 19), Read("cf", Decimal("32.3465"), "2025-03-31")))
    rule = TraceNode("rule", "r1", "Rule one", CITE, "a.policy:4", "unmet", (), (leaf,))
    skipped = TraceNode("rule", "r0", "Old rule", CITE, "a.policy:2", "not in effect in 2025-03")
    code = TraceNode("code", "99490", "CCM", CITE, "a.policy:1", "not valid", (), (skipped, rule))
    choose = TraceNode("choose", "c", "pref", (), "a.policy:9", "chose nothing: no code is valid")
    text = render_decision_text(_decision(trace=(code, choose)))
    why = text.split("\nWhy\n", 1)[1]
    assert why == (
        '├─ ✘ code 99490 "CCM": not valid [a.policy:1] cites S7: §1.1\n'
        '│  ├─ · rule r0 "Old rule": not in effect in 2025-03 [a.policy:2] cites S7: §1.1\n'
        '│  └─ ✘ rule r1 "Rule one": unmet [a.policy:4] cites S7: §1.1\n'
        '│     └─ ✘ requirement r1 "staff_minutes >= 20 min": not met [a.policy:5]\n'
        "│          staff_minutes = 19\n"
        "│          cf = 32.3465 (as of 2025-03-31)\n"
        '└─ · choose c "pref": chose nothing: no code is valid [a.policy:9]\n'
    )


def test_alternative_with_unknown_totals() -> None:
    alt = Alternative((("99491", 1),), None, None, "ranked after the chosen coding")
    text = render_decision_text(_decision(alternatives=(alt,)))
    assert "  99491 × 1: total allowed not priced, patient responsibility indeterminate\n" \
           "    not chosen: ranked after the chosen coding\n" in text
