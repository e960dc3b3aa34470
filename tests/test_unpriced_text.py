"""The text form of a month with a line that is not priced (an RHC/FQHC line; a code with no fee in
the shipped data for its year), read as a biller reads it.

The answer line read `allowed: not priced: G0511 · patient share indeterminate` (the totals' note
put after a colon, after a colon) and the total `Total: not priced: G0511`; and when what the
patient owes was known all the same (a QMB owes nothing), the answer said `patient owes $0.00` but
the Billable part said nothing of who pays what, nor did the total.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from carepolicy.engine import Bundle, PolicySet, evaluate, load_fact_text
from carepolicy.engine.decision.explain import render_decision_text

SCENARIOS = Path(__file__).resolve().parents[2] / "shared" / "acceptance" / "scenarios.yaml"


def _facts(scenario: str) -> dict[str, Any]:
    """A public scenario's facts (99484 in 2026-02: no fee in the shipped data; an RHC/FQHC month)."""
    (found,) = [s["facts"] for s in yaml.safe_load(SCENARIOS.read_text(encoding="utf-8")) if s["id"] == scenario]
    return dict(found, id=scenario)


def _text(policies: PolicySet, scenario: str, dual_status: str = "none") -> str:
    facts = _facts(scenario)
    facts["beneficiary"] = dict(facts["beneficiary"], dual_status=dual_status)
    (bundle,) = load_fact_text(yaml.safe_dump(facts), name="unpriced.yaml", fmt="yaml")
    assert isinstance(bundle, Bundle), bundle
    return render_decision_text(evaluate(policies, bundle, trace=False))


def test_a_qmb_month_not_priced_says_the_patient_owes_nothing_in_the_billable_part(policies: PolicySet) -> None:
    text = _text(policies, "apcm-bh-addon-without-apcm", "qmb")
    answer = text.splitlines()[1]
    assert answer == "Bill 99484 × 1 (practitioner P1) · allowed: not priced (99484) · patient owes $0.00"
    assert "    the patient owes $0.00; what the payers pay is not known until the line is priced\n" in text
    assert "  Total allowed: not priced (99484) · patient $0.00\n" in text


def test_a_share_not_known_is_not_given_a_number(policies: PolicySet) -> None:
    text = _text(policies, "apcm-bh-addon-without-apcm")
    answer = text.splitlines()[1]
    assert answer == "Bill 99484 × 1 (practitioner P1) · allowed: not priced (99484) · patient share indeterminate"
    assert "  Total allowed: not priced (99484)\n" in text
    assert "the patient owes" not in text
    assert "not priced: 99484" not in text  # (the totals' note, as it was shown after a colon)
    fqhc = _text(policies, "fqhc-2024-uses-g0511")
    assert "· allowed: not priced (G0511) · patient share indeterminate\n" in fqhc
    assert "  Total allowed: not priced (G0511)\n" in fqhc
