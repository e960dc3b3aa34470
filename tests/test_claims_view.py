"""One view of every claim: `claims` (docs/language.md, "claims: one list of every claim").

The older lists `other_claims_this_month` and `prior_claims` stay accepted in bundles (v1 and v2)
and are read into `claims`; rules name only `claims`; `denied` and `withdrawn` claims count for
nothing. Each test states one of these points and could fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from carepolicy.engine import PolicyError, PolicySet, evaluate, load_policies
from carepolicy.engine.check.names import READ_INTO_CLAIMS
from carepolicy.engine.facts.reader import Bundle, BundleError, validate_bundle
from carepolicy.engine.facts.schema import read_as

HEADER = 'policy t "claims"\n  source S1 "a source"\n'

POLICY = (
    HEADER
    + """
define staff_minutes "Staff minutes" cite S1 "x"
  = sum time.minutes where time.service = ccm
define paid_before "G0506 on file from an earlier month, by this practitioner" cite S1 "x"
  = count claims where claims.code = G0506 and claims.month < service_month
      and claims.practitioner = practitioner.id
      and ((claims.status not in {denied, withdrawn}) otherwise true)
define others_this_month "Claims of other practitioners this month" cite S1 "x"
  = count claims where claims.month = service_month and claims.practitioner != practitioner.id

code 99490 "Staff 20" cite S1 "x"
  requires staff_minutes >= 20 min
  requires others_this_month = 0 else "another practitioner claimed this month"
code G0506 "Once per patient" cite S1 "x"
  requires paid_before = 0 else "G0506 already on file"
add-on 99439 to 99490 "Staff each 20" cite S1 "x"
  units each full 20 min of staff_minutes beyond 20 min
  at most 2 units

exclusive one.base "One base code" cite S1 "x"
  one of 99490 per practitioner per month
exclusion no.esrd "Not with ESRD by the same practitioner" cite S1 "x"
  99490 excludes 90960 by same practitioner
exclusion once.g0506 "G0506 once" cite S1 "x"
  G0506 excludes G0506 by same practitioner in any month
"""
)


@pytest.fixture(scope="module", params=["codegen", "closures"])
def policies(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PolicySet:
    folder = tmp_path_factory.mktemp("claims")
    (folder / "t.policy").write_text(POLICY, encoding="utf-8")
    return load_policies(folder, backend=request.param)


def read(**changes: Any) -> Bundle | BundleError:
    facts: dict[str, Any] = {
        "month": "2025-03",
        "practitioner": {"id": "P1", "kind": "physician"},
        "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": 45, "service": "ccm"}],
        **changes,
    }
    return validate_bundle(facts, source="test", index=0)


def bundle(**changes: Any) -> Bundle:
    result = read(**changes)
    assert isinstance(result, Bundle), result
    return result


def billed(policies: PolicySet, facts: Bundle) -> dict[str, int]:
    return {line.code: line.units for line in evaluate(policies, facts).billable}


def test_v1_lists_are_read_into_one_list_with_their_months() -> None:
    facts = bundle(
        other_claims_this_month=[{"code": "99490", "practitioner": "P2", "status": "paid"}],
        prior_claims=[{"code": "G0506", "practitioner": "P1", "month": "2024-01"}],
    )
    assert "other_claims_this_month" not in facts.data
    assert "prior_claims" not in facts.data
    assert [dict(c) for c in facts.data["claims"]] == [
        {"code": "99490", "practitioner": "P2", "status": "paid", "month": "2025-03"},
        {"code": "G0506", "practitioner": "P1", "month": "2024-01"},
    ]


def test_v2_claims_come_first_then_the_older_lists() -> None:
    facts = bundle(
        fact_bundle=2,
        claims=[{"code": "99491", "month": "2025-02", "date": "2025-02-11", "status": "denied"}],
        prior_claims=[{"code": "G0506", "practitioner": "P1", "month": "2024-01"}],
    )
    assert [c["code"] for c in facts.data["claims"]] == ["99491", "G0506"]
    assert facts.data["claims"][0]["date"] == "2025-02-11"


def test_a_claim_needs_its_month_and_v1_has_no_claims_list() -> None:
    missing = read(fact_bundle=2, claims=[{"code": "99490"}])
    assert isinstance(missing, BundleError)
    assert any(d.fact_path == "$.claims[0].month" for d in missing.diagnostics)
    assert any("month" in d.message for d in missing.diagnostics)
    v1 = read(claims=[{"code": "99490", "month": "2025-03"}])
    assert isinstance(v1, BundleError)
    assert any("claims" in d.message for d in v1.diagnostics)
    denied_in_v1 = read(other_claims_this_month=[{"code": "99490", "status": "denied"}])
    assert isinstance(denied_in_v1, BundleError)  # version 1 is unchanged: paid or submitted only


def test_rules_read_claims_of_every_month_and_practitioner(policies: PolicySet) -> None:
    assert billed(policies, bundle()) == {"99490": 1, "99439": 1, "G0506": 1}
    other = bundle(other_claims_this_month=[{"code": "99491", "practitioner": "P2"}])
    assert "99490" not in billed(policies, other)
    before = bundle(prior_claims=[{"code": "G0506", "practitioner": "P1", "month": "2024-01"}])
    decision = evaluate(policies, before)
    assert "G0506" not in {line.code for line in decision.billable}
    texts = [r.text for d in decision.denied if d.code == "G0506" for r in d.reasons]
    assert "G0506 already on file" in texts  # the expression over `claims`
    assert any("G0506 already claimed by the same practitioner (P1) in 2024-01" in t for t in texts)  # the exclusion


@pytest.mark.parametrize("status", ["denied", "withdrawn"])
def test_denied_and_withdrawn_claims_count_for_nothing(policies: PolicySet, status: str) -> None:
    earlier = bundle(
        fact_bundle=2, claims=[{"code": "G0506", "practitioner": "P1", "month": "2024-01", "status": status}]
    )
    assert "G0506" in billed(policies, earlier)
    esrd = bundle(fact_bundle=2, claims=[{"code": "90960", "practitioner": "P1", "month": "2025-03", "status": status}])
    assert "99490" in billed(policies, esrd)


@pytest.mark.parametrize("status", ["paid", "submitted", None])
def test_paid_submitted_and_unknown_claims_count(policies: PolicySet, status: str | None) -> None:
    claim = {"code": "90960", "practitioner": "P1", "month": "2025-03"} | ({"status": status} if status else {})
    assert "99490" not in billed(policies, bundle(fact_bundle=2, claims=[claim]))


@pytest.mark.parametrize(("status", "expected"), [("submitted", {"99439": 1}), ("denied", {"99490": 1, "99439": 1})])
def test_only_a_base_claim_on_file_is_billed_once_and_carries_its_add_on(
    policies: PolicySet, status: str, expected: dict[str, int]
) -> None:
    """A 99490 on file this month is not billed again (exclusive group) and its add-on rides on
    the claim; a denied 99490 is not on file, so 99490 is billed now."""
    claim = {"code": "99490", "practitioner": "P1", "month": "2025-03", "status": status}
    decided = billed(policies, bundle(fact_bundle=2, claims=[claim]))
    assert {code: units for code, units in decided.items() if code != "G0506"} == expected


def test_claims_of_later_months_are_not_read(policies: PolicySet) -> None:
    later = bundle(fact_bundle=2, claims=[{"code": "G0506", "practitioner": "P1", "month": "2025-06"}])
    assert "G0506" in billed(policies, later)


@pytest.mark.parametrize("old", ["prior_claims", "other_claims_this_month"])
def test_rules_cannot_name_the_older_lists(tmp_path: Path, old: str) -> None:
    text = HEADER + f'define n "n" cite S1 "x"\n  = count {old} where {old}.code = G0506\n'
    (tmp_path / "t.policy").write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policies(tmp_path)
    diag = next(d for d in raised.value.diagnostics if d.code == "check/unknown-fact")
    assert diag.span is not None
    assert diag.span.line == 4
    assert diag.help is not None
    assert "claims where claims.month" in diag.help


def test_the_checker_hints_cover_every_list_read_into_claims() -> None:
    assert read_as() == dict.fromkeys(READ_INTO_CLAIMS, "claims")
