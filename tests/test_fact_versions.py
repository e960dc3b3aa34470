"""Fact bundle versions: version 1 stays accepted and is upgraded on read; version 2 is read as is."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import pytest
import yaml
from carepolicy.cli.commands.schema import _VERSIONS
from carepolicy.cli.main import cli
from carepolicy.engine import Bundle, BundleError, evaluate, load_fact_text, load_policies, to_json_obj
from carepolicy.engine.facts.schema import VERSIONS
from carepolicy.engine.facts.upgrade import upgrade_v1
from click.testing import CliRunner

V1: dict[str, Any] = {
    "id": "v1",
    "month": "2025-03",
    "beneficiary": {"part_b": True, "dual_status": "none", "medigap_plan": None, "deductible_remaining": 0},
    "practitioner": {"id": "P1", "kind": "physician", "new_patient": False, "last_visit": "2024-11-02"},
    "practice": {
        "certified_ehr": True,
        "access_24_7": True,
        "continuity_designated_member": True,
        "electronic_care_plan_shared": True,
    },
    "chronic_conditions": [
        {"name": "a", "expected_months": 24, "significant_risk": True},
        {"name": "b", "expected_months": 24, "significant_risk": True},
    ],
    "consent": {
        "documented": True,
        "practitioner": "P1",
        "date": "2025-01-10",
        "method": "verbal",
        "service": ["ccm", "bhi"],
    },
    "ccm_start": "2025-01",
    "care_plan": {"comprehensive": True},
    "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": "ccm"}],
}


def _read(bundle: dict[str, Any]) -> Bundle | BundleError:
    (item,) = load_fact_text(json.dumps(bundle), name="t.json", fmt="json")
    return item


def test_a_v1_consent_becomes_the_same_consent_for_each_service_it_lists() -> None:
    bundle = _read(V1)
    assert isinstance(bundle, Bundle)
    assert bundle.data["fact_bundle"] == 2
    record = {"documented": True, "practitioner": "P1", "date": "2025-01-10", "method": "verbal", "start": "2025-01"}
    assert bundle.data["consents"] == {"ccm": record, "bhi": record}
    assert bundle.data["consent"]["service"] == ("ccm", "bhi")  # every v1 field keeps its value


def test_a_v1_bundle_without_consent_gets_no_consent_records() -> None:
    bare = {key: value for key, value in V1.items() if key not in ("consent", "ccm_start")}
    assert "consents" not in upgrade_v1(bare)


def _as_v2(v1: dict[str, Any]) -> dict[str, Any]:
    """A version 1 bundle written as version 2: its upgrade, without the version 1 keys v2 refuses."""
    return {key: value for key, value in upgrade_v1(v1).items() if key not in ("consent", "ccm_start")}


def test_a_v1_bundle_is_decided_as_its_upgrade_written_as_v2() -> None:
    policies = load_policies()
    v1, v2 = _read(V1), _read(_as_v2(V1))
    assert isinstance(v1, Bundle)
    assert isinstance(v2, Bundle)
    one, two = to_json_obj(evaluate(policies, v1)), to_json_obj(evaluate(policies, v2))
    for decision in (one, two):
        decision.pop("decision_id", None)
        decision.pop("facts_hash", None)
    assert one["billable"]
    assert one == two


def test_v2_checks_consent_records() -> None:
    v2 = _as_v2(V1)
    v2["consents"]["ccm"]["method"] = "telepathy"
    v2["consents"]["xyz"] = {}
    error = _read(v2)
    assert isinstance(error, BundleError)
    messages = {(d.fact_path, d.message) for d in error.diagnostics}
    assert ("$.consents.ccm.method", "`telepathy` is not one of `verbal`, `written`") in messages
    assert ("$.consents.xyz", "unknown key `xyz`") in messages


def test_an_unknown_version_is_reported_with_the_versions_read() -> None:
    error = _read({**V1, "fact_bundle": 3})
    assert isinstance(error, BundleError)
    (diag,) = error.diagnostics
    assert (diag.fact_path, diag.message) == ("$.fact_bundle", "`3` is not a supported version")
    assert "1 and 2" in (diag.help or "")


def test_v1_rejects_v2_fields() -> None:
    error = _read({**V1, "consents": {}})
    assert isinstance(error, BundleError)
    assert [d.message for d in error.diagnostics] == ["unknown key `consents`"]


@pytest.mark.parametrize("version", VERSIONS)
def test_schema_command_prints_each_shipped_schema(version: int) -> None:
    result = CliRunner().invoke(cli, ["schema", "--version", str(version)])
    assert result.exit_code == 0
    shipped = files("carepolicy.engine.facts") / "schemas" / f"fact-bundle-v{version}.json"
    assert json.loads(result.stdout) == json.loads(shipped.read_text(encoding="utf-8"))


def test_schema_command_defaults_to_the_latest_and_refuses_other_versions() -> None:
    assert tuple(int(v) for v in _VERSIONS) == VERSIONS
    latest = CliRunner().invoke(cli, ["schema"])
    assert json.loads(latest.stdout)["properties"]["fact_bundle"]["const"] == VERSIONS[-1]
    wrong = CliRunner().invoke(cli, ["schema", "--version", "3"])
    assert wrong.exit_code == 2


def test_yaml_v2_bundle_reads() -> None:
    text = yaml.safe_dump(_as_v2(V1))
    (bundle,) = load_fact_text(text, name="t.yaml", fmt="yaml")
    assert isinstance(bundle, Bundle)
    assert bundle.data["consents"]["bhi"]["date"] == "2025-01-10"


@pytest.mark.parametrize(
    ("key", "hint"), [("consent", "consents.<program>"), ("ccm_start", "consents.<program>.start")]
)
def test_v2_refuses_the_v1_single_consent_and_start_naming_the_path_and_the_v2_form(key: str, hint: str) -> None:
    bundle = {**_as_v2(V1), key: V1[key]}
    error = _read(bundle)
    assert isinstance(error, BundleError)
    (diag,) = error.diagnostics
    assert diag.fact_path == f"$.{key}"
    assert diag.message.startswith(f"`{key}`: version 1's")
    assert hint in (diag.help or "")
    assert "fact_bundle: 1" in (diag.help or "")


def test_a_v1_bundle_keeps_its_single_consent_and_start_read_per_program() -> None:
    bundle = _read(V1)
    assert isinstance(bundle, Bundle)
    assert set(bundle.data["consents"]) == {"ccm", "bhi"}
    assert {record["start"] for record in bundle.data["consents"].values()} == {V1["ccm_start"]}


# A 2019 month: before 2020 CCM is not billed during the practitioner's TCM period (cms-rules.md §3.3).
_TCM_2019: dict[str, Any] = {
    **V1,
    "month": "2019-06",
    "practitioner": {"id": "P1", "kind": "physician", "new_patient": False, "last_visit": "2019-05-10"},
    "consent": {**V1["consent"], "date": "2019-01-10"},
    "ccm_start": "2019-01",
    "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": "ccm", "date": "2019-06-18"}],
    "tcm_period": {"start": "2019-06-03", "end": "2019-07-02"},
}


@pytest.mark.parametrize("fmt", ["json", "jsonl", "yaml"])
def test_a_v2_bundle_giving_tcm_period_is_read_as_its_service_period(fmt: str) -> None:
    # v2's schema accepts `tcm_period`; rules read `service_periods`, so the period was dropped
    # without a word and the 2019 CCM month inside it was billed.
    policies = load_policies()
    v2 = _as_v2(_TCM_2019)
    v2.pop("service_periods")
    assert v2["tcm_period"]
    assert v2["fact_bundle"] == 2
    text = yaml.safe_dump(v2) if fmt == "yaml" else json.dumps(v2)
    (bundle,) = load_fact_text(text, name=f"t.{fmt}", fmt=fmt)
    assert isinstance(bundle, Bundle), bundle
    assert bundle.data["service_periods"] == ({"service": "tcm", "start": "2019-06-03", "end": "2019-07-02"},)
    decision = evaluate(policies, bundle)
    assert decision.billable == ()
    (v1,) = load_fact_text(json.dumps(_TCM_2019), name="t.json", fmt="json")
    assert isinstance(v1, Bundle)
    assert [d.code for d in decision.denied] == [d.code for d in evaluate(policies, v1).denied]


def test_a_v2_tcm_period_also_listed_in_service_periods_is_read_once() -> None:
    v2 = _as_v2(_TCM_2019)
    assert v2["service_periods"][0]["start"] == "2019-06-03"
    v2["service_periods"] = [{**v2["service_periods"][0], "practitioner": "P1", "code": "99495"}]
    bundle = _read(v2)
    assert isinstance(bundle, Bundle)
    assert len(bundle.data["service_periods"]) == 1
    assert bundle.data["service_periods"][0]["practitioner"] == "P1"
