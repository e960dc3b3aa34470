"""Golden explanation traces of the shipped policies, text and JSON, for a handful of the public
acceptance scenarios: what a billing team reads and what a pipeline attaches to a claim.

Golden files: tests/golden/traces/SCENARIO.txt and .json. Refresh with CAREPOLICY_UPDATE_GOLDENS=1
and review every diff (docs/contributing/testing.md). The JSON is compared with three fields
masked — `decision_id`, `policy_set_hash` and the engine version — because they change with any
policy edit or release by design; everything else must match byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from carepolicy.engine import Decision, PolicySet, evaluate, load_policies, to_json
from carepolicy.engine.decision.explain import render_decision_text
from carepolicy.engine.facts.reader import Bundle, load_yaml_documents, validate_bundle

from tests.goldens import assert_golden

SCENARIOS = Path(__file__).resolve().parents[2] / "shared" / "acceptance" / "scenarios.yaml"
GOLDEN = Path(__file__).resolve().parent / "golden" / "traces"
CHOSEN = [
    "ccm-staff-60-min",  # add-on units, cost sharing
    "complex-60-min-moderate-mdm",  # coding choice with an alternative
    "missing-consent",  # a denial listing its reasons
    "apcm-level3-qmb-two-conditions",  # QMB: Medicaid pays the beneficiary's share
    "fqhc-2025-04-individual-codes",  # not priced rather than invented
    "ccm-with-tcm-same-practitioner-2019",  # an exclusion before its exception takes effect
]


@pytest.fixture(scope="module")
def decisions() -> dict[str, Decision]:
    documents = load_yaml_documents(SCENARIOS.read_text(encoding="utf-8"), str(SCENARIOS))
    scenarios = {s["id"]: s for s in documents[0]}  # type: ignore[union-attr]
    policies: PolicySet = load_policies()
    out = {}
    for name in CHOSEN:
        bundle = validate_bundle({**scenarios[name]["facts"], "id": name}, source="scenarios.yaml", index=0)
        assert isinstance(bundle, Bundle)
        out[name] = evaluate(policies, bundle)
    return out


def _masked(decision: Decision) -> str:
    obj: dict[str, Any] = json.loads(to_json(decision))
    obj["decision_id"] = obj["policy_set_hash"] = "<masked>"
    obj["engine"]["version"] = "<masked>"
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", CHOSEN)
def test_text_trace_matches_golden(decisions: dict[str, Decision], name: str) -> None:
    assert_golden(GOLDEN / f"{name}.txt", render_decision_text(decisions[name], explain=True))


@pytest.mark.parametrize("name", CHOSEN)
def test_json_trace_matches_golden(decisions: dict[str, Decision], name: str) -> None:
    assert_golden(GOLDEN / f"{name}.json", _masked(decisions[name]))
