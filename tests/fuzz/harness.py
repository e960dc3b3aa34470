"""Policy text -> parse -> check -> (when clean) compile -> evaluate, in memory, for the fuzz tests.

`run(texts)` raises nothing but `PolicyError` for any policy text: that is the property the fuzz
tests (tests/test_fuzz.py, tests/fuzz/campaign.py) hold the engine to. Evaluation runs on a few
bundles of different months with both expression backends (codegen, the product, and closures,
the reference), so a limit that only one of them has is found too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from carepolicy.engine.check import check
from carepolicy.engine.compile.policy_set import CompiledPolicySet
from carepolicy.engine.diagnostics import PolicyError
from carepolicy.engine.evaluation.coding import SwitchSettings, decide
from carepolicy.engine.facts.reader import Bundle, validate_bundle
from carepolicy.engine.facts.schema import fact_types
from carepolicy.engine.language.parse import parse_text
from carepolicy.engine.source import SourceFile


def _bundle(month: str, minutes: int, **changes: Any) -> Bundle:
    facts: dict[str, Any] = {
        "month": month,
        "beneficiary": {
            "part_b": True,
            "dual_status": "none",
            "medigap_plan": None,
            "deductible_remaining": Decimal(0),
        },
        "practitioner": {"id": "P1", "kind": "physician", "new_patient": False, "last_visit": "2024-11-02"},
        "consent": {
            "documented": True,
            "practitioner": "P1",
            "date": "2023-01-10",
            "method": "verbal",
            "service": "ccm",
        },
        "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": minutes, "service": "ccm"}],
        "other_claims_this_month": [],
    }
    facts.update(changes)
    result = validate_bundle(facts, source="fuzz", index=0)
    assert isinstance(result, Bundle), result
    return result


BUNDLES = (
    _bundle("2025-03", 45),
    _bundle("2019-06", 20, beneficiary={"part_b": True, "dual_status": "qmb", "medigap_plan": "K"}),
    _bundle("2024-12", 75, practitioner={"id": "P1", "kind": "fqhc", "new_patient": True, "last_visit": None}),
)


def check_texts(texts: Mapping[str, str]) -> Any:
    """Parse and check; raises PolicyError with every error found (the CLI's `check`)."""
    parsed, problems = [], []
    for name, text in texts.items():
        try:
            parsed.append(parse_text(text, name))
        except PolicyError as error:
            problems.extend(error.diagnostics)
    if problems:
        raise PolicyError(problems)
    result = check(tuple(parsed), fact_types())
    if result.errors:
        raise PolicyError(result.errors)
    return result


def run(texts: Mapping[str, str], *, backends: tuple[str, ...] = ("codegen", "closures")) -> int:
    """The whole path; returns how many decisions were made. Raises only PolicyError."""
    checked = check_texts(texts)
    sources = {name: SourceFile(name, text) for name, text in texts.items()}
    digest = hashlib.sha256("".join(texts.values()).encode()).hexdigest()[:32]
    made = 0
    for backend in backends:
        compiled = CompiledPolicySet.build(checked, sources, digest, backend=backend)
        defaults = {
            name: sw.default or (sw.options[0] if sw.options else "") for name, sw in checked.index.switches.items()
        }
        for bundle in BUNDLES:
            decide(
                compiled,
                bundle.data,
                bundle_id=bundle.id,
                month=bundle.month,
                facts_hash=bundle.facts_hash,
                switches=SwitchSettings.of(defaults),
                fee_schedule=None,
                trace=True,
                version="fuzz",
            )
            made += 1
    return made
