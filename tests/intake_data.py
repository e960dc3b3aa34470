"""A small valid YAML bundle and a reader of fact text, shared by the intake tests."""

from __future__ import annotations

from carepolicy.engine.facts.reader import Bundle, BundleError, load_fact_text

BASE = """\
id: march
month: 2025-03
beneficiary: {part_b: true, dual_status: none, medigap_plan: null, deductible_remaining: 0}
practitioner: {id: P1, kind: physician, new_patient: false, last_visit: 2024-11-02}
time:
- {practitioner: P1, by: clinical_staff, minutes: 20, service: ccm}
"""


def read(text: str, fmt: str = "yaml") -> list[Bundle | BundleError]:
    return load_fact_text(text, name=f"t.{fmt}", fmt=fmt)
