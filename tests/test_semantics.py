"""The language's semantics on small policies written for each point (not the shipped library).

Each test states one rule of docs/language.md and checks the engine keeps it.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from carepolicy.engine import Decision, PolicySet, evaluate, load_policies, to_json
from carepolicy.engine.compile.runtime import month_end, shift_months
from carepolicy.engine.facts.reader import Bundle, validate_bundle
from carepolicy.engine.money import round_cents
from hypothesis import given
from hypothesis import strategies as st

HEADER = 'policy t "semantics"\n  source S1 "a source"\n'

CORE = (
    HEADER
    + """
define staff_minutes "Staff minutes" cite S1 "x"
  = sum time.minutes where time.service = ccm and time.by in {clinical_staff, billing_practitioner}
      and (time.date is missing or time.date >= start of service_month)
define personal_minutes "Personal minutes" cite S1 "x"
  = sum time.minutes where time.service = ccm and time.by = billing_practitioner

rule r.consent "Consent" cite S1 "x"
  requires consent.documented else "no documented consent"
  requires consent.date <= end of service_month

rule r.tcm "No CCM in a TCM month" cite S1 "x"
  requires tcm_period is missing

exception r.tcm_from_2020 to r.tcm "TCM allowed from 2020" cite S1 "x"
  effective 2020-01-01..

code 99490 "Staff 20" cite S1 "x"
  requires r.consent, r.tcm
  requires staff_minutes >= 20 min
add-on 99439 to 99490 "Staff each 20" cite S1 "x"
  units each full 20 min of staff_minutes beyond 20 min
  at most 2 units
code 99491 "Personal 30" cite S1 "x"
  effective 2019-01-01..
  requires r.consent
  requires personal_minutes >= 30 min

exclusive one.base "One base code" cite S1 "x"
  one of 99490, 99491 per practitioner per month
exclusion no.cpo "Not with G0181" cite S1 "x"
  99490, 99491 excludes G0181, 90951..90970 by same practitioner

choose coding pick "Prefer personal time" cite S1 "x"
  by preference 99491, 99490
  then by highest total allowed

parameter cf "Conversion factor" cite S1 "x"
  value $32.3465 effective 2025-01-01..2025-12-31
parameter ded "Deductible" cite S1 "x"
  value $257.00 effective 2025-01-01..2025-12-31
pricing pfs "PFS" cite S1 "x"
  effective 2025-01-01..2025-12-31
  allowed = total rvu times cf
  not priced when practitioner.kind = fqhc because "RHC/FQHC"
rvu table rvus "2025 RVUs" cite S1 "x"
  effective 2025-01-01..2025-12-31
  99490 work 1.00 pe 0.81 mp 0.06
  99439 work 0.70 pe 0.68 mp 0.04
  99491 work 1.50 pe 0.94 mp 0.10
cost sharing part_b "Part B" cite S1 "x"
  effective 2025-01-01..2025-12-31
  deductible up to min(beneficiary.deductible_remaining, ded)
  coinsurance 20%
  medigap pays coinsurance 50% when beneficiary.medigap_plan is present and beneficiary.medigap_plan = K
  medicaid pays all when beneficiary.dual_status = qmb
  indeterminate when beneficiary.dual_status = full_benefit because "state plan"
"""
)


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory) -> PolicySet:
    folder = tmp_path_factory.mktemp("policies")
    (folder / "core.policy").write_text(CORE, encoding="utf-8")
    return load_policies(folder)


def bundle(*, without: tuple[str, ...] = (), **changes: Any) -> Bundle:
    """The base bundle with `changes` (mappings merged one level deep), then the dotted paths
    `without` removed."""
    facts: dict[str, Any] = {
        "month": "2025-03",
        "beneficiary": {
            "part_b": True,
            "dual_status": "none",
            "medigap_plan": None,
            "deductible_remaining": Decimal("0"),
        },
        "practitioner": {"id": "P1", "kind": "physician", "new_patient": False, "last_visit": "2024-11-02"},
        "consent": {
            "documented": True,
            "practitioner": "P1",
            "date": "2025-01-10",
            "method": "verbal",
            "service": "ccm",
        },
        "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": 20, "service": "ccm"}],
        "other_claims_this_month": [],
    }
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(facts.get(key), dict):
            facts[key] = {**facts[key], **value}
        else:
            facts[key] = value
    for path in without:
        *outer, last = path.split(".")
        holder = facts
        for part in outer:
            holder = holder[part]
        holder.pop(last)
    result = validate_bundle(facts, source="test", index=0)
    assert isinstance(result, Bundle), result
    return result


def minutes(n: int, by: str = "clinical_staff", **extra: Any) -> list[dict[str, Any]]:
    return [{"practitioner": "P1", "by": by, "minutes": n, "service": "ccm", **extra}]


def billed(decision: Decision) -> dict[str, int]:
    return {line.code: line.units for line in decision.billable}


def reasons(decision: Decision, code: str) -> list[str]:
    return [r.text for d in decision.denied if d.code == code for r in d.reasons]


def test_threshold_is_inclusive_and_distance_is_explained(policies: PolicySet) -> None:
    assert billed(evaluate(policies, bundle(time=minutes(20)))) == {"99490": 1}
    decision = evaluate(policies, bundle(time=minutes(19)))
    assert billed(decision) == {}
    assert any("19 of 20 minutes (1 more needed)" in text for text in reasons(decision, "99490"))


@pytest.mark.parametrize(("total", "units"), [(39, 0), (40, 1), (59, 1), (60, 2), (200, 2)])
def test_addon_counts_full_increments_up_to_the_cap(policies: PolicySet, total: int, units: int) -> None:
    decision = evaluate(policies, bundle(time=minutes(total)))
    assert billed(decision).get("99439", 0) == units


def test_next_unit_denial_says_what_it_needs(policies: PolicySet) -> None:
    decision = evaluate(policies, bundle(time=minutes(59)))
    (denial,) = [d for d in decision.denied if d.code == "99439"]
    assert denial.unit == 2
    assert "59 of 60 minutes" in denial.reasons[0].text


def test_every_unmet_requirement_is_listed(policies: PolicySet) -> None:
    decision = evaluate(policies, bundle(time=minutes(5), consent={"documented": False}))
    texts = reasons(decision, "99490")
    assert any("no documented consent" in t for t in texts)
    assert any("5 of 20 minutes" in t for t in texts)


def test_missing_fact_is_unknown_and_named(policies: PolicySet) -> None:
    decision = evaluate(policies, bundle(consent={"date": None}))
    assert billed(decision) == {}
    assert any("`consent.date` not recorded" in t for t in reasons(decision, "99490"))


def test_minutes_dated_in_another_month_do_not_count(policies: PolicySet) -> None:
    time = minutes(10, date="2025-02-26") + minutes(15, date="2025-03-12")
    assert billed(evaluate(policies, bundle(time=time))) == {}


def test_exception_overrides_the_rule_it_names_only_while_in_effect(policies: PolicySet) -> None:
    tcm = {"start": "2025-03-03", "end": "2025-04-01"}
    assert billed(evaluate(policies, bundle(tcm_period=tcm))) == {"99490": 1}
    earlier = bundle(
        month="2019-06", tcm_period={"start": "2019-06-03", "end": "2019-07-02"}, consent={"date": "2019-01-10"}
    )
    assert "99490" not in billed(evaluate(policies, earlier))


def test_code_not_in_effect_is_denied_with_its_dates(policies: PolicySet) -> None:
    decision = evaluate(
        policies, bundle(month="2018-06", consent={"date": "2018-01-10"}, time=minutes(30, by="billing_practitioner"))
    )
    assert any("not in effect in 2018-06" in t for t in reasons(decision, "99491"))


def test_choice_follows_preference_and_lists_the_alternative(policies: PolicySet) -> None:
    decision = evaluate(policies, bundle(time=minutes(60, by="billing_practitioner")))
    assert billed(decision) == {"99491": 1}
    alternatives = [dict(a.codes) for a in decision.alternatives]
    assert {"99490": 1, "99439": 2} in alternatives
    denial = next(d for d in decision.denied if d.code == "99490")
    assert denial.with_code == "99491"


def test_claim_by_same_practitioner_excludes_range(policies: PolicySet) -> None:
    claims = [{"code": "90960", "practitioner": "P1", "status": "paid"}]
    decision = evaluate(policies, bundle(other_claims_this_month=claims))
    assert billed(decision) == {}
    assert any("90960 already paid to the same practitioner (P1)" in t for t in reasons(decision, "99490"))
    other = [{"code": "90960", "practitioner": "P2", "status": "paid"}]
    assert billed(evaluate(policies, bundle(other_claims_this_month=other))) == {"99490": 1}


@pytest.mark.parametrize(
    ("beneficiary", "expected"),
    [
        ({}, "12.10"),  # 20% of 60.49 = 12.098 -> 12.10
        ({"deductible_remaining": Decimal("50")}, "52.10"),  # 50 + 20% of 10.49
        ({"deductible_remaining": Decimal("300")}, "60.49"),  # capped by the whole line
        ({"medigap_plan": "K"}, "6.05"),  # K pays half of the rounded 12.10, rounded
        ({"dual_status": "qmb", "deductible_remaining": Decimal("257")}, "0.00"),
    ],
)
def test_patient_responsibility(policies: PolicySet, beneficiary: dict[str, Any], expected: str) -> None:
    decision = evaluate(policies, bundle(beneficiary=beneficiary))
    assert decision.patient_responsibility == Decimal(expected)


def test_an_unknown_share_leaves_only_what_depends_on_it_unknown(policies: PolicySet) -> None:
    """No `deductible_remaining`: the deductible is unknown, so the beneficiary's and Medicare's
    shares are (never taken as 0); a QMB still owes nothing (Medicaid pays all)."""

    def without_deductible_remaining(**beneficiary: Any) -> Bundle:
        return bundle(beneficiary=beneficiary, without=("beneficiary.deductible_remaining",))

    decision = evaluate(policies, without_deductible_remaining())
    assert billed(decision) == {"99490": 1}
    (line,) = decision.billable
    assert line.allowed == Decimal("60.49")
    assert line.shares is not None
    assert (line.shares.beneficiary, line.shares.medicare, line.shares.medigap) == (None, None, Decimal("0"))
    assert decision.patient_responsibility is None
    assert decision.totals.note is not None
    assert "deductible_remaining" in decision.totals.note
    qmb = evaluate(policies, without_deductible_remaining(dual_status="qmb"))
    assert qmb.patient_responsibility == Decimal("0.00")


def test_indeterminate_cost_sharing_says_why(policies: PolicySet) -> None:
    decision = evaluate(policies, bundle(beneficiary={"dual_status": "full_benefit"}))
    assert decision.patient_responsibility is None
    assert decision.totals.note is not None
    assert "state plan" in decision.totals.note


def test_not_priced_rather_than_invented(policies: PolicySet) -> None:
    fqhc = evaluate(policies, bundle(practitioner={"kind": "fqhc"}))
    (line,) = fqhc.billable
    assert line.allowed is None
    assert "RHC/FQHC" in line.price_source
    later = evaluate(policies, bundle(month="2026-03", consent={"date": "2026-01-10"}))
    (line,) = later.billable
    assert line.allowed is None
    assert line.price_source.startswith("not priced")
    override = evaluate(policies, bundle(month="2026-03", fee_schedule_override={"99490": Decimal("66.13")}))
    assert override.billable[0].allowed == Decimal("66.13")


def test_a_qmb_owes_nothing_of_a_line_that_is_not_priced(policies: PolicySet) -> None:
    """A line that is not priced (an RHC/FQHC line here) has no shares to compute, but Medicaid
    paying all (a QMB, cms-rules.md §7.2) leaves the beneficiary owing nothing of it, whatever its
    amount; anyone else's share stays undecided."""
    qmb = evaluate(policies, bundle(practitioner={"kind": "fqhc"}, beneficiary={"dual_status": "qmb"}))
    (line,) = qmb.billable
    assert line.allowed is None
    assert line.shares is not None
    assert line.shares.beneficiary == Decimal("0")
    assert qmb.patient_responsibility == Decimal("0.00")
    assert (qmb.totals.allowed, qmb.totals.medicare, qmb.totals.medicaid) == (None, None, None)
    assert qmb.totals.note is not None
    assert qmb.totals.note.startswith("not priced")
    other = evaluate(policies, bundle(practitioner={"kind": "fqhc"}))
    assert other.billable[0].shares is None
    assert other.patient_responsibility is None
    undecided = evaluate(policies, bundle(practitioner={"kind": "fqhc"}, beneficiary={"dual_status": "full_benefit"}))
    assert undecided.patient_responsibility is None


def test_same_input_gives_byte_identical_output(policies: PolicySet) -> None:
    first = to_json(evaluate(policies, bundle(time=minutes(75))))
    second = to_json(evaluate(policies, bundle(time=minutes(75))))
    assert first == second
    assert '"allowed": "60.49"' in first


@given(st.decimals(min_value=0, max_value=10_000, places=6))
def test_rounding_is_half_up_to_the_cent(amount: Decimal) -> None:
    # an independent statement of half-up for non-negative amounts: floor(x * 100 + 0.5) / 100
    expected = Decimal(int(amount * 100 + Decimal("0.5"))) / 100
    assert round_cents(amount) == expected
    assert round_cents(amount).as_tuple().exponent == -2


@given(
    st.integers(min_value=2000, max_value=2100),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=-48, max_value=48),
)
def test_month_shift_round_trips(year: int, month: int, delta: int) -> None:
    start = f"{year:04d}-{month:02d}"
    assert shift_months(shift_months(start, delta), -delta) == start
    day = shift_months(month_end(start), delta)
    assert day[:7] == shift_months(start, delta)


def test_policy_files_need_not_exist_on_disk_twice(tmp_path: Path) -> None:
    (tmp_path / "a.policy").write_text(CORE, encoding="utf-8")
    assert load_policies(tmp_path).policy_hash == load_policies(tmp_path).policy_hash


def test_base_line_comes_before_its_addon_and_takes_the_deductible_first(policies: PolicySet) -> None:
    decision = evaluate(policies, bundle(time=minutes(60), beneficiary={"deductible_remaining": Decimal("50")}))
    assert [line.code for line in decision.billable] == ["99490", "99439"]
    first, second = (line.shares for line in decision.billable)
    assert first is not None
    assert second is not None
    assert (first.deductible, second.deductible) == (Decimal("50"), Decimal("0"))


def test_every_node_typed_by_the_checker_outlives_its_entry() -> None:
    """The checker keys types by node identity (`id()`): each key must be a node still alive (in
    the policy files' AST, or made by the checker and kept, such as a selection's condition typed
    as an `any`), or a node made later could reuse the id and be handed a stale type."""
    checked = load_policies().checked
    alive: set[int] = set()

    def walk(value: object) -> None:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            if id(value) not in alive:
                alive.add(id(value))
                for item in dataclasses.fields(value):
                    walk(getattr(value, item.name))
        elif isinstance(value, tuple | list):
            for item in value:
                walk(item)

    walk(checked.index.files)
    walk(checked.resolution.made)
    assert checked.resolution.made  # the shipped policies have selections
    stray = set(checked.resolution.types) - alive
    assert not stray, f"{len(stray)} types keyed by the id of a node no longer alive"
