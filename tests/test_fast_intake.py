"""The fast path of intake (engine/facts/fast_intake.py) gives exactly what the precise path gives.

For every generated bundle, and for bundles with a hostile value put anywhere (over a limit, the
wrong type, a Decimal where a whole number belongs, a date that does not exist, an amount over the
maximum), `validate_bundle` (fast path first) and `validate_precisely` (every check, worded) must
return the same result, compared by value and by `repr` (so `Decimal("60")` is not `60` and a
tuple is not a list). The fast path must also really be taken for valid bundles, or the
comparison would prove nothing.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

from carepolicy.engine.facts.bundle import BundleError, validate_bundle, validate_precisely
from carepolicy.engine.facts.fast_intake import fast_bundle
from carepolicy.engine.facts.json_records import JSON_DECODER
from carepolicy.engine.facts.upgrade import upgrade_v1
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.bench_evaluate import make_bundles
from benchmarks.bench_facts import as_json
from tests.test_fact_properties import mutate

HOSTILE: list[object] = [
    10**15,
    10**15 - 1,
    -(10**15),
    Decimal("20.0"),
    Decimal("1E+5"),
    Decimal("0.1234567890123456"),
    Decimal("100000.00"),
    Decimal("100000.01"),
    100_001,
    257,
    1_501,  # minutes beyond the longest day (one entry), and 1,500 of them: 25 hours
    1_500,
    44_701,  # minutes beyond a 31-day month and its hour, and those of it
    44_700,
    Decimal("257.00"),
    1.5,
    "2025-02-30",
    "2025-02-28",
    "x" * 2001,
    "é" * 10,
    "\ud800",
    ("a", "b"),
    [],
    {},
    {"k" * 2001: 1},
    {"é": 1},
    None,
    True,
    "ccm",
    ["ccm", "ccm"],
]


def _same(fast: object, precise: object) -> None:
    assert fast == precise
    assert repr(fast) == repr(precise)


def _version_2(bundle: dict[str, Any], keep_consent: bool) -> dict[str, Any]:
    """The same facts as a version 2 bundle (JSON-shaped), with or without v1's `consent`."""
    upgraded = json.loads(json.dumps(as_json(upgrade_v1(bundle))), parse_float=Decimal)
    if not keep_consent:
        upgraded.pop("consent", None)
        upgraded.pop("ccm_start", None)
    return upgraded


def test_the_fast_path_is_taken_for_valid_bundles_and_agrees_with_the_precise_one() -> None:
    for index, bundle in enumerate(make_bundles(300, 11)):
        refused = _version_2(bundle, True)  # v2 states consent per program: v1's `consent` is refused
        if "consent" in refused or "ccm_start" in refused:
            assert fast_bundle(copy.deepcopy(refused), index) is None
            assert isinstance(validate_bundle(copy.deepcopy(refused), source="s", index=index), BundleError)
            _same(
                validate_bundle(copy.deepcopy(refused), source="s", index=index),
                validate_precisely(copy.deepcopy(refused), source="s", index=index),
            )
        for form in (bundle, _version_2(bundle, False)):
            line = json.dumps(as_json(form)).encode()
            assert fast_bundle(JSON_DECODER.decode(line), index) is not None, (index, form)
            _same(
                validate_bundle(JSON_DECODER.decode(line), source="s", index=index),
                validate_precisely(JSON_DECODER.decode(line), source="s", index=index),
            )
            _same(
                validate_bundle(copy.deepcopy(form), source="s", index=index),
                validate_precisely(copy.deepcopy(form), source="s", index=index),
            )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_hostile_value_anywhere_gives_the_precise_result(data: st.DataObject) -> None:
    [bundle] = make_bundles(1, data.draw(st.integers(0, 10_000), label="seed"))
    if data.draw(st.booleans(), label="version 2"):
        bundle = _version_2(bundle, data.draw(st.booleans(), label="keep consent"))
    mutate(data, bundle, HOSTILE, least=1)
    _same(
        validate_bundle(copy.deepcopy(bundle), source="s", index=3),
        validate_precisely(copy.deepcopy(bundle), source="s", index=3),
    )


def test_whole_amounts_and_a_single_service_are_normalised_as_the_precise_path_does() -> None:
    for index, bundle in enumerate(make_bundles(20, 5)):
        bundle["beneficiary"]["deductible_remaining"] = 60
        bundle["fee_schedule_override"] = {"99490": 42, "99439": Decimal("31.50")}
        if isinstance(bundle.get("consent"), dict):
            bundle["consent"]["service"] = "ccm"
        for form in (bundle, _version_2(bundle, False)):
            assert fast_bundle(copy.deepcopy(form), index) is not None
            _same(
                validate_bundle(copy.deepcopy(form), source="s", index=index),
                validate_precisely(copy.deepcopy(form), source="s", index=index),
            )
