"""A claim sent twice (two claims on file alike) gives its reason once in a denial.

Each claim on file that rules a code out gave the denial a reason of its own, so two claims of the
same code, practitioner and status listed the same words twice (686 denials of 20,000 benchmark
bundles); a reason now appears once. Claims that differ (paid and submitted, or another code) still
give a reason each: their words differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from carepolicy.engine.decision.model import Decision

import carepolicy

EXAMPLE = Path(__file__).resolve().parent.parent / "policies" / "examples" / "ccm-60-minutes.yaml"


@pytest.fixture(scope="module")
def evaluator() -> carepolicy.Evaluator:
    return carepolicy.load(trace=False)


def decide(evaluator: carepolicy.Evaluator, claims: list[dict[str, Any]]) -> Decision:
    bundle = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    bundle["other_claims_this_month"] = claims
    result = evaluator.evaluate(bundle).record
    assert isinstance(result, Decision), result
    return result


def reasons_of(decision: Decision, code: str) -> list[str]:
    (denial,) = [d for d in decision.denied if d.code == code]
    return [reason.text for reason in denial.reasons]


def test_a_claim_sent_twice_gives_its_reason_once(evaluator: carepolicy.Evaluator) -> None:
    claim = {"code": "99490", "practitioner": "P1", "status": "submitted"}
    once = decide(evaluator, [claim])
    twice = decide(evaluator, [claim, dict(claim)])
    assert not [line.code for line in twice.billable if line.code == "99490"]
    words = reasons_of(twice, "99490")
    assert len(words) == len(set(words)), words
    assert words == reasons_of(once, "99490")
    assert any("99490 already claimed by the same practitioner (P1) this month" in w for w in words), words


def test_claims_that_differ_keep_a_reason_each(evaluator: carepolicy.Evaluator) -> None:
    submitted = {"code": "99490", "practitioner": "P1", "status": "submitted"}
    paid = {"code": "99490", "practitioner": "P1", "status": "paid"}
    words = reasons_of(decide(evaluator, [submitted, paid, dict(submitted)]), "99490")
    assert len(words) == len(set(words)), words
    assert any("already claimed" in w for w in words), words
    assert any("already paid" in w for w in words), words
