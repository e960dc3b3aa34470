"""Fact loading: the v1 contract, exact numbers, one diagnostic per problem, and bad bundles kept apart."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from carepolicy.engine.diagnostics import Diagnostic, FactError
from carepolicy.engine.facts.reader import (
    Bundle,
    BundleError,
    fact_schema,
    fact_types,
    load_fact_file,
    load_fact_text,
    validate_bundle,
)
from carepolicy.engine.language.valuetypes import (
    BOOL,
    CODE,
    MONEY,
    MONTH,
    EnumType,
    ListType,
    MapType,
    RecordType,
    SetType,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "shared" / "acceptance" / "scenarios.yaml"

BASE = """\
month: 2025-03
beneficiary: {part_b: true, dual_status: none, medigap_plan: null, deductible_remaining: 0.0}
practitioner: {id: P1, kind: physician, new_patient: false, last_visit: 2024-11-02}
consent: {documented: true, practitioner: P1, date: '2025-01-10', method: written, service: ccm}
time:
- {practitioner: P1, by: clinical_staff, minutes: 20, service: ccm}
fee_schedule_override: {'99490': 66.13}
"""


def as_json(yaml_text: str) -> str:
    """The same bundle as JSON: floats are written by repr (`66.13`), the date as its text."""
    return json.dumps(yaml.safe_load(yaml_text), default=str)


def load(text: str, fmt: str = "yaml") -> list[Bundle | BundleError]:
    return load_fact_text(text, name=f"t.{fmt}", fmt=fmt)


def one_bundle(text: str, fmt: str = "yaml") -> Bundle:
    [result] = load(text, fmt)
    assert isinstance(result, Bundle), result
    return result


def errors(text: str) -> tuple[Diagnostic, ...]:
    [result] = load(text)
    assert isinstance(result, BundleError), result
    return result.diagnostics


def by_path(diagnostics: tuple[Diagnostic, ...], path: str) -> Diagnostic:
    [found] = [d for d in diagnostics if d.fact_path == path]
    return found


# --- the acceptance scenarios -------------------------------------------------------------------


def _scenario_facts() -> list[Any]:
    """Each scenario's `facts` block as its original YAML text (re-serialised from the node tree)."""
    if not SCENARIOS.exists():
        return []
    root = yaml.compose(SCENARIOS.read_text(encoding="utf-8"))
    assert root is not None
    blocks = []
    for scenario in root.value:
        fields = {key.value: value for key, value in scenario.value}
        blocks.append(pytest.param(yaml.serialize(fields["facts"]), id=fields["id"].value))
    return blocks


def test_scenario_file_is_present() -> None:
    assert SCENARIOS.exists(), f"the acceptance scenarios are expected at {SCENARIOS}"


@pytest.mark.parametrize("text", _scenario_facts())
def test_every_scenario_facts_block_validates_unchanged(text: str) -> None:
    bundle = one_bundle(text)
    assert bundle.month == bundle.data["month"]
    assert isinstance(bundle.data["beneficiary"]["deductible_remaining"], Decimal)


# --- the schema ---------------------------------------------------------------------------------

_XTYPES = {
    *("boolean", "count", "number", "minutes", "money", "percent"),
    *("date", "month", "text", "code", "enum"),
}


def _properties(schema: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, sub in schema.get("properties", {}).items():
        found.append((f"{path}{name}", sub))
        found.extend(_properties(sub.get("items", sub), f"{path}{name}."))
    return found


@pytest.mark.parametrize("version", [1, 2])
def test_schema_is_valid_draft_2020_12(version: int) -> None:
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(fact_schema(version))


@pytest.mark.parametrize("version", [1, 2])
def test_every_property_is_documented_and_every_leaf_typed(version: int) -> None:
    for path, schema in _properties(fact_schema(version)):
        assert schema.get("title"), path
        assert schema.get("description"), path
        is_container = "properties" in schema or "items" in schema or "propertyNames" in schema
        if not is_container:
            assert schema["x-carepolicy-type"] in _XTYPES, path
        if schema.get("x-carepolicy-type") == "set":
            assert schema["items"]["x-carepolicy-type"] == "enum", path


def test_fact_types_come_from_the_schema_annotations() -> None:
    types = fact_types()
    assert types["month"] == MONTH
    assert types["beneficiary.part_b"] == BOOL
    dual_status = ("none", "qmb", "slmb", "qi", "full_benefit")
    assert types["beneficiary.dual_status"] == EnumType("dual_status", dual_status)
    assert types["initiating_visit.code"] == CODE
    assert types["fee_schedule_override"] == MapType(CODE, MONEY)
    service = types["consent.service"]
    assert isinstance(service, SetType)
    assert isinstance(service.element, EnumType)
    assert service.element.name == "service"
    time = types["time"]
    assert isinstance(time, ListType)
    assert isinstance(time.item, RecordType)
    assert time.item.field("service") is service.element  # one service enumeration, shared
    assert time.item.field("also_claimed_for") is service.element
    assert "time.minutes" not in types
    assert "id" not in types


def test_importing_facts_does_not_import_jsonschema() -> None:
    code = "import sys, carepolicy.engine.facts.reader; print('jsonschema' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- values as the evaluator sees them ----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_money_is_an_exact_decimal(fmt: str) -> None:
    data = one_bundle(BASE if fmt == "yaml" else as_json(BASE), fmt).data
    assert str(data["beneficiary"]["deductible_remaining"]) == "0.0"
    assert data["beneficiary"]["deductible_remaining"] == Decimal("0.0")
    assert data["fee_schedule_override"] == {"99490": Decimal("66.13")}
    assert str(data["fee_schedule_override"]["99490"]) == "66.13"


def test_money_with_more_than_two_decimals_is_an_error() -> None:
    diag = by_path(errors(BASE.replace("66.13", "66.135")), "$.fee_schedule_override['99490']")
    assert diag.message == "`66.135` has more than two decimal places"


def test_dates_and_months_stay_strings() -> None:
    data = one_bundle(BASE).data
    assert data["practitioner"]["last_visit"] == "2024-11-02"  # unquoted in BASE
    assert data["month"] == "2025-03"


def test_impossible_date_is_rejected() -> None:
    diag = by_path(errors(BASE.replace("2024-11-02", "2025-02-30")), "$.practitioner.last_visit")
    assert diag.code == "facts/schema"
    assert diag.message == "`2025-02-30` is not a calendar date"
    one_bundle(BASE.replace("2024-11-02", "2024-02-29"))  # a leap day is fine


def test_consent_service_is_always_a_tuple() -> None:
    assert one_bundle(BASE).data["consent"]["service"] == ("ccm",)
    both = one_bundle(BASE.replace("written, service: ccm}", "written, service: [ccm, bhi]}"))
    assert both.data["consent"]["service"] == ("ccm", "bhi")


def test_python_floats_are_read_through_their_text() -> None:
    bundle = {"month": "2025-03", "fee_schedule_override": {"99490": 66.13}}
    result = validate_bundle(bundle, source="py", index=0)
    assert isinstance(result, Bundle)
    assert result.data["fee_schedule_override"]["99490"] == Decimal("66.13")
    again = validate_bundle(result.data, source="py", index=0)  # a normalised bundle is still valid
    assert isinstance(again, Bundle)


# --- diagnostics --------------------------------------------------------------------------------


def test_typo_key_points_at_the_key_and_suggests_the_right_one() -> None:
    diag = by_path(errors(BASE.replace("minutes: 20", "minuts: 20")), "$.time[0].minuts")
    assert diag.message == "unknown key `minuts`"
    assert diag.help == "did you mean `minutes`?"
    assert (diag.file, diag.bundle) == ("t.yaml", "#1")


def test_negative_minutes_name_their_path() -> None:
    diag = by_path(errors(BASE.replace("minutes: 20", "minutes: -5")), "$.time[0].minutes")
    assert diag.message == "`-5` is less than the minimum of 0"


def test_all_problems_of_a_bundle_are_reported_in_order() -> None:
    text = BASE.replace("kind: physician", "kind: phisician").replace("minutes: 20", "minutes: -5")
    text = text.replace("month: 2025-03", "month: 2025-13")
    paths = [d.fact_path for d in errors(text)]
    assert paths == ["$.month", "$.practitioner.kind", "$.time[0].minutes"]
    assert by_path(errors(text), "$.practitioner.kind").help == "did you mean `physician`?"


def test_missing_month_is_reported() -> None:
    diag = by_path(errors("id: a\n"), "$.month")
    assert diag.message == "missing required key `month`"


def test_yaml_on_is_text_as_yaml_1_2_says() -> None:
    diag = errors(BASE + "on: true\n")[0]
    assert diag.message == "unknown key `on`"


def test_unquoted_billing_code_asks_for_quotes() -> None:
    diagnostics = errors(BASE + "other_claims_this_month: [{code: 99490}]\n")
    diag = by_path(diagnostics, "$.other_claims_this_month[0].code")
    assert diag.message.startswith("expected a billing code")
    assert diag.help is not None
    assert "quotes" in diag.help


def test_number_written_as_text_gets_a_hint() -> None:
    quoted = by_path(errors(BASE.replace("minutes: 20", "minutes: '20'")), "$.time[0].minutes")
    assert quoted.message == "expected a whole number of minutes, found text `20`"
    assert quoted.help == "write it as a plain number, without quotes"
    words = by_path(errors(BASE.replace("minutes: 20", "minutes: twenty")), "$.time[0].minutes")
    assert words.help is None


def test_yaml_infinity_is_not_money() -> None:
    diag = by_path(errors(BASE.replace("66.13", ".inf")), "$.fee_schedule_override['99490']")
    assert diag.message == "`.inf` is not a finite number"  # as written, not the Decimal's `Infinity`


# --- several bundles in a file ------------------------------------------------------------------

_GOOD = {"month": "2025-03"}
_BAD = {"month": "2025-03", "time": [{"minutes": -5}]}


@pytest.mark.parametrize(
    ("suffix", "text"),
    [
        (".yaml", yaml.safe_dump([_GOOD, _BAD, dict(_GOOD)])),  # the same dict twice would be an alias
        (".yml", yaml.safe_dump_all([_GOOD, _BAD, dict(_GOOD)])),
        (".json", json.dumps([_GOOD, _BAD, _GOOD])),
        (".jsonl", "\n".join(json.dumps(b) for b in (_GOOD, _BAD, _GOOD)) + "\n"),
    ],
)
def test_one_bad_bundle_does_not_stop_the_others(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"facts{suffix}"
    path.write_text(text, encoding="utf-8")
    results = load_fact_file(path)
    assert [type(r) for r in results] == [Bundle, BundleError, Bundle]
    assert [r.id for r in results] == ["#1", "#2", "#3"]
    assert [r.index for r in results] == [0, 1, 2]
    assert {r.source for r in results} == {str(path)}


def test_json_lines_syntax_error_spoils_only_its_line(tmp_path: Path) -> None:
    path = tmp_path / "facts.ndjson"
    path.write_text('{"month": "2025-03"}\n{"month": \n\n{"id": "c", "month": "2025-04"}\n', encoding="utf-8")
    first, broken, last = load_fact_file(path)
    assert isinstance(first, Bundle)
    assert isinstance(last, Bundle)
    assert last.id == "c"
    assert isinstance(broken, BundleError)
    [diag] = broken.diagnostics
    assert diag.code == "facts/syntax"
    assert diag.span is not None
    assert diag.span.line == 2
    assert broken.id == "#2"


def test_bundle_id_comes_from_the_bundle_or_its_position() -> None:
    results = load("- {month: 2025-03}\n- {id: second, month: 2025-03}\n- 42\n")
    assert [r.id for r in results] == ["#1", "second", "#3"]
    assert isinstance(results[2], BundleError)
    assert results[2].diagnostics[0].code == "facts/not-a-bundle"


def test_stdin_is_read_as_yaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"month": "2025-03"}'))
    [result] = load_fact_file("-")
    assert isinstance(result, Bundle)
    assert result.source == "<stdin>"


# --- facts_hash ---------------------------------------------------------------------------------


def test_facts_hash_is_the_same_from_yaml_and_json() -> None:
    from_yaml = one_bundle(BASE)
    from_json = one_bundle(as_json(BASE), "json")
    assert from_json.facts_hash == from_yaml.facts_hash
    assert len(from_yaml.facts_hash) == 64


def test_facts_hash_changes_with_a_value() -> None:
    assert one_bundle(BASE).facts_hash != one_bundle(BASE.replace("minutes: 20", "minutes: 21")).facts_hash


# --- files that cannot be read at all -----------------------------------------------------------


def test_missing_file_raises_fact_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(FactError, match="no such file") as caught:
        load_fact_file(missing)
    [diag] = caught.value.diagnostics
    assert diag.code == "facts/io"
    assert diag.message == f"cannot read `{missing}`: no such file"


def test_yaml_syntax_error_has_its_line_and_column() -> None:
    [record] = load("month: 2025-03\ntime: [1, 2\nid: x\n")  # one mapping: one record, in error
    assert isinstance(record, BundleError)
    assert record.id == "x"
    [diag] = record.diagnostics
    assert diag.code == "facts/syntax"
    assert diag.span is not None
    assert (diag.span.line, diag.span.column) == (3, 3)


@pytest.mark.parametrize(("text", "code"), [("42\n", "facts/not-a-bundle"), ("# nothing\n", "facts/empty")])
def test_scalar_or_empty_file_raises(text: str, code: str) -> None:
    with pytest.raises(FactError) as caught:
        load(text)
    assert caught.value.diagnostics[0].code == code


def test_a_tab_in_yaml_indentation_is_named_in_the_help() -> None:
    """An editor that indents with a tab: YAML's "found character that cannot start any token"
    under an invisible character; the help says it is a tab, and what to write instead."""
    from carepolicy.engine.facts.yaml_records import load_yaml_documents

    text = "month: 2025-03\nbeneficiary:\n\tpart_b: true\nid: x\n"
    [record] = load(text)
    assert isinstance(record, BundleError)
    [diag] = record.diagnostics
    with pytest.raises(FactError) as caught:  # a policy test case file is read the same way
        load_yaml_documents("cases:\n- name: a\n  facts:\n\tmonth: 2025-03\n", "t.yaml")
    [case_diag] = caught.value.diagnostics
    for found, line in ((diag, 3), (case_diag, 4)):
        assert found.code == "facts/syntax"
        assert found.span is not None
        assert (found.span.line, found.span.column) == (line, 1)
        assert found.help == "this line is indented with a tab: YAML indents with spaces only; replace the tab"


def test_an_unclosed_quote_is_named_where_it_opens() -> None:
    """`option: "non_qp` without its closing quote: YAML reads on to the next `"`, lines below, and
    stumbles there; the help names the line that opened the quote."""
    from carepolicy.engine.facts.yaml_records import load_yaml_documents

    text = (
        "cases:\n- name: a\n  switches:\n    qualifying_apm_participant: \"non_qp\n  facts:\n"
        "    month: 2025-03\n    consents: {\"ccm\": {\"documented\": true}}\n"
    )
    with pytest.raises(FactError) as caught:
        load_yaml_documents(text, "t.yaml")
    [diag] = caught.value.diagnostics
    assert diag.code == "facts/syntax"
    assert diag.help is not None
    assert diag.help.startswith('line 4 opens a `"` that it does not close'), diag.help
