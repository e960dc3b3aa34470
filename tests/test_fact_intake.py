"""Fact intake that cannot be fooled: YAML 1.2 values, duplicate keys, aliases, limits, one record each.

Each bad input of issue 9 has a test here with its exact outcome: the value as written, or a clear
error naming the file, the bundle and the place (a line, or a JSON path).
"""

from __future__ import annotations

import codecs
import io
import json
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from carepolicy.engine import PolicySet, evaluate, iter_records
from carepolicy.engine.diagnostics import Diagnostic, FactError
from carepolicy.engine.expectations import check_expectation
from carepolicy.engine.facts.reader import Bundle, BundleError, load_fact_file, load_fact_text

from tests.intake_data import BASE, read


def bundle(text: str, fmt: str = "yaml") -> Bundle:
    [result] = read(text, fmt)
    assert isinstance(result, Bundle), result
    return result


def only_error(text: str, fmt: str = "yaml") -> Diagnostic:
    [result] = read(text, fmt)
    assert isinstance(result, BundleError), result
    [diag] = result.diagnostics
    return diag


# --- YAML 1.2 core schema -----------------------------------------------------------------------


def test_leading_zero_is_decimal_as_yaml_1_2_says() -> None:
    data = bundle(BASE.replace("minutes: 20", "minutes: 035")).data
    assert data["time"][0]["minutes"] == 35  # YAML 1.1 would read octal 29


def test_base_60_is_text_and_refused_where_money_is_expected() -> None:
    diag = only_error(BASE.replace("deductible_remaining: 0", "deductible_remaining: 1:30"))
    assert (diag.code, diag.fact_path) == ("facts/schema", "$.beneficiary.deductible_remaining")
    assert diag.message == "expected an amount of money such as `257.00`, found text `1:30`"
    assert diag.help is not None
    assert "YAML 1.2" in diag.help


@pytest.mark.parametrize(
    ("written", "kind"), [("0x23", "a hexadecimal"), ("0o43", "an octal"), ("0xFF", "a hexadecimal")]
)
def test_hex_and_octal_are_refused(written: str, kind: str) -> None:
    diag = only_error(BASE.replace("minutes: 20", f"minutes: {written}"))
    assert diag.code == "facts/number"
    assert diag.message.startswith(f"`{written}` is {kind} number;")
    assert diag.span is not None
    assert diag.span.line == 6
    assert diag.bundle == "march"


@pytest.mark.parametrize("written", ["yes", "on", "y", "Off"])
def test_yes_and_on_are_text_not_booleans(written: str) -> None:
    diag = only_error(BASE.replace("part_b: true", f"part_b: {written}"))
    assert (diag.fact_path, diag.message) == ("$.beneficiary.part_b", f"expected true or false, found text `{written}`")
    assert diag.help == "fact files are YAML 1.2, where only `true` and `false` are booleans"


@pytest.mark.parametrize("written", ["true", "True", "TRUE"])
def test_core_booleans_are_booleans(written: str) -> None:
    assert bundle(BASE.replace("part_b: true", f"part_b: {written}")).data["beneficiary"]["part_b"] is True


def test_grouped_digits_are_text() -> None:
    diag = only_error(BASE.replace("minutes: 20", "minutes: 1_000"))
    assert diag.message == "expected a whole number of minutes, found text `1_000`"


@pytest.mark.parametrize(("written", "found", "whole"), [("25.0", "25.0", "25"), ("2.5e1", "2.5e1", "25"),
                                                       ("1e2", "1e2", "100")])  # (found: as written, not `1E+2`)
@pytest.mark.parametrize("fmt", ["yaml", "jsonl"])
def test_whole_minutes_written_as_a_decimal_say_how_to_write_them(written: str, found: str, whole: str,
                                                                  fmt: str) -> None:
    text = BASE.replace("minutes: 20", f"minutes: {written}")
    if fmt == "jsonl":  # BASE as one JSON line, the minutes as written
        text = ('{"id": "march", "month": "2025-03", "beneficiary": {"part_b": true, "dual_status": "none", '
                '"medigap_plan": null, "deductible_remaining": 0}, "practitioner": {"id": "P1", "kind": "physician", '
                '"new_patient": false, "last_visit": "2024-11-02"}, "time": [{"practitioner": "P1", '
                f'"by": "clinical_staff", "minutes": {written}, "service": "ccm"}}]}}\n')
    diag = only_error(text, fmt)
    assert diag.message == f"expected a whole number of minutes, found `{found}`"
    assert diag.help == f"it is written with a decimal point or an exponent: write it as `{whole}`"


def test_minutes_with_a_fraction_get_no_such_help() -> None:
    diag = only_error(BASE.replace("minutes: 20", "minutes: 25.5"))
    assert (diag.message, diag.help) == ("expected a whole number of minutes, found `25.5`", None)


def test_exponent_decimals_are_numbers_in_yaml_1_2() -> None:
    data = bundle(BASE.replace("deductible_remaining: 0", "deductible_remaining: 2.57e2")).data
    assert data["beneficiary"]["deductible_remaining"] == Decimal("257")


def test_duplicate_key_names_both_lines() -> None:
    diag = only_error(BASE.replace("month: 2025-03\n", "month: 2025-03\nmonth: 2025-04\n"))
    assert diag.code == "facts/duplicate-key"
    assert diag.message == "key `month` appears twice in one mapping (first on line 2)"
    assert diag.span is not None
    assert diag.span.line == 3
    [(label, first)] = diag.related
    assert (label, first.line) == ("`month` first set here", 2)


def test_duplicate_key_in_a_nested_flow_mapping() -> None:
    diag = only_error(BASE.replace("part_b: true", "part_b: true, part_b: false"))
    assert diag.code == "facts/duplicate-key"
    assert diag.message == "key `part_b` appears twice in one mapping (first on line 3)"


def test_alias_is_refused() -> None:
    text = BASE.replace("practitioner: {", "practitioner: &p {") + "other: *p\n"
    diag = only_error(text)
    assert diag.code == "facts/alias"
    assert diag.span is not None
    assert diag.span.line == 4  # the anchor the alias refers to


BOMB = "month: 2025-03\na: &a [" + ",".join(['"lol"'] * 9) + "]\n" + "".join(
    f"{b}: &{b} [{','.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_alias_bomb_is_a_clear_error_within_a_second_and_small_memory() -> None:
    assert len(BOMB) < 400
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    diag = only_error(BOMB)
    assert time.perf_counter() - started < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB
    assert diag.code == "facts/alias"


def test_explicit_timestamp_tag_is_refused() -> None:
    diag = only_error(BASE.replace("last_visit: 2024-11-02", "last_visit: !!timestamp 2024-11-02"))
    assert diag.code == "facts/syntax"
    assert "timestamp" in diag.message


def test_month_with_non_ascii_digits_is_refused() -> None:
    diag = only_error(BASE.replace("2025-03", "２０２５-03"))
    assert (diag.fact_path, diag.message) == ("$.month", "`２０２５-03` is not a month `YYYY-MM`")


def test_date_with_non_ascii_digits_is_refused() -> None:
    diag = only_error(BASE.replace("2024-11-02", "2024-11-٠٢"))
    assert diag.fact_path == "$.practitioner.last_visit"


@pytest.mark.parametrize("field", ["start", "end"])
def test_a_service_period_date_with_non_ascii_digits_is_refused(field: str) -> None:
    """Version 2's period dates were the one date pattern written `\\d`, which takes any digit: a TCM
    period from `٢٠١٩-08-01` was read, never matched a month, and CCM was billed inside it."""
    period = {"service": "tcm", "start": "2019-08-01", "end": "2019-08-29"} | {field: "٢٠١٩-08-01"}
    text = json.dumps({"fact_bundle": 2, "month": "2019-08", "service_periods": [period]}, ensure_ascii=False)
    diag = only_error(text, "json")
    assert diag.fact_path == f"$.service_periods[0].{field}"
    assert diag.message == "`٢٠١٩-08-01` is not a date `YYYY-MM-DD`"


# --- limits and impossible values --------------------------------------------------------------


def test_minutes_beyond_the_month_are_impossible() -> None:
    diag = only_error(BASE.replace("minutes: 20", "minutes: 500000"))
    assert (diag.code, diag.fact_path) == ("facts/impossible", "$.time[0].minutes")
    assert "500,000 minutes in 2025-03" in diag.message
    assert "more than the 44,700 minutes the month can have (31 days, and the hour clocks may go back)" in diag.message
    # a month may hold the day clocks go back: 31 days and that hour are possible (the bundle says no
    # time zone), as a day of 25 hours is
    assert bundle(BASE.replace("minutes: 20", "minutes: 44700")).data["time"][0]["minutes"] == 44_700


def test_minutes_of_one_practitioner_add_up() -> None:
    entry = "- {practitioner: P1, by: clinical_staff, minutes: 20200, service: ccm}\n"
    text = BASE.replace("month: 2025-03", "month: 2025-02") + entry + entry  # February 2025: 40,380 at most
    diag = only_error(text)
    assert diag.fact_path == "$.time[2].minutes"
    assert "40,420 minutes" in diag.message


def test_minutes_of_different_practitioners_do_not_add_up() -> None:
    entry = "- {practitioner: P2, by: clinical_staff, minutes: 40000, service: ccm}\n"
    assert bundle(BASE + entry).data["time"][1]["minutes"] == 40000


@pytest.mark.parametrize("fmt", ["yaml", "jsonl"])
def test_minutes_dated_in_another_month_count_against_that_month_not_the_service_month(fmt: str) -> None:
    """An entry dated outside the service month is not counted in it (the notes say so), but its
    minutes were added to the service month's: a valid export of February and March was refused
    with "P1 has 44,700 minutes in 2025-03" for 60 minutes in March. (February's 40,000 minutes are
    spread over its days: a day has at most 1,500.)"""
    day = {"practitioner": "P1", "by": "clinical_staff", "minutes": 1_440, "service": "ccm"}  # 24 hours a day
    entries = [{**day, "date": f"2025-02-{n:02}"} for n in range(1, 28)] + [
        {**day, "minutes": 1_120, "date": "2025-02-28"},  # 40,000 in February
        {**day, "minutes": 4_700},  # undated: in the service month
    ]
    facts = {"id": "march", "month": "2025-03", "time": entries}
    text = json.dumps(facts) + "\n" if fmt == "jsonl" else yaml.safe_dump(facts)
    read_back = bundle(text, fmt)
    assert sum(e["minutes"] for e in read_back.data["time"][:28]) == 40_000
    assert len(read_back.notes) == 28
    assert read_back.notes[0].startswith("time[0] (1440 minutes of ccm by `P1`) is dated 2025-02-01, outside")
    # what no month can have is still refused, in the month it is dated in: February 2025 can have
    # 40,380 minutes (28 days, and the hour clocks may go back)
    entries.append({**entries[0], "minutes": 381, "date": "2025-02-11"})
    text = json.dumps(facts) + "\n" if fmt == "jsonl" else yaml.safe_dump(facts)
    diag = only_error(text, fmt)
    assert (diag.code, diag.fact_path) == ("facts/impossible", "$.time[29].minutes")
    assert diag.message == (
        "practitioner `P1` has 40,381 minutes in 2025-02 up to this entry, more than the 40,380 minutes the month "
        "can have (28 days, and the hour clocks may go back)"
    )


@pytest.mark.parametrize("fmt", ["yaml", "jsonl"])
def test_one_practitioners_minutes_on_one_day_beyond_the_day_are_impossible(fmt: str) -> None:
    """A day has at most 1,500 minutes (25 hours, when clocks go back): two entries of 1,000 minutes
    by P1 on 4 March were billed because only the month's 44,640 were checked."""
    entry = {"practitioner": "P1", "by": "clinical_staff", "minutes": 1_000, "service": "ccm", "date": "2025-03-04"}
    facts = {"id": "day", "month": "2025-03", "time": [entry, {**entry, "date": "2025-03-05"}]}

    def text() -> str:
        return json.dumps(facts) + "\n" if fmt == "jsonl" else yaml.safe_dump(facts)

    assert [e["minutes"] for e in bundle(text(), fmt).data["time"]] == [1_000, 1_000]  # one each day
    facts["time"].append({**entry, "minutes": 501})  # 1,501 on 4 March, from the second entry that day
    diag = only_error(text(), fmt)
    assert (diag.code, diag.fact_path) == ("facts/impossible", "$.time[2].minutes")
    assert diag.message == (
        "practitioner `P1` has 1,501 minutes on 2025-03-04 up to this entry, "
        "more than the 1,500 minutes a day can have (25 hours, when clocks go back)"
    )
    facts["time"][2]["minutes"] = 500  # the longest day: possible
    assert len(bundle(text(), fmt).data["time"]) == 3


@pytest.mark.parametrize("fmt", ["yaml", "jsonl"])
def test_a_days_minutes_are_each_named_practitioners_own(fmt: str) -> None:
    """Two practitioners' minutes on one day are not added up, nor those of entries without a
    practitioner (they may be several people's), nor undated ones (their day is not known)."""
    entry = {"by": "clinical_staff", "minutes": 1_000, "service": "ccm", "date": "2025-03-04"}
    entries = [{**entry, "practitioner": "P1"}, {**entry, "practitioner": "P2"}, entry, entry,
               {**entry, "practitioner": "P1", "date": None}, {**entry, "practitioner": "P1", "date": None}]
    facts = {"id": "apart", "month": "2025-03", "time": [{k: v for k, v in e.items() if v is not None}
                                                         for e in entries]}
    text = json.dumps(facts) + "\n" if fmt == "jsonl" else yaml.safe_dump(facts)
    assert len(bundle(text, fmt).data["time"]) == 6


def test_an_entry_beyond_the_month_and_its_day_is_said_once_as_the_month() -> None:
    text = BASE.replace("minutes: 20, service: ccm}", "minutes: 500000, service: ccm, date: 2025-03-04}")
    diag = only_error(text)
    assert diag.message == (
        "practitioner `P1` has 500,000 minutes in 2025-03 up to this entry, more than the 44,700 minutes the month "
        "can have (31 days, and the hour clocks may go back)"
    )


def test_huge_minutes_are_a_limit_error_at_their_path_as_in_json() -> None:
    """Said as JSON says it (the same error record in every format): at the JSON path, not at a line
    of the document, which the YAML loader gave it until session 34."""
    diag = only_error(BASE.replace("minutes: 20", "minutes: " + "1" + "0" * 30))
    assert diag.code == "facts/limit"
    assert diag.message == "a number of more than 15 digits; fact files allow at most 15"
    assert diag.fact_path == "$.time[0].minutes"


def test_amount_beyond_any_fee_is_impossible() -> None:
    diag = only_error(BASE + "fee_schedule_override: {'99490': 250000}\n")
    assert (diag.code, diag.fact_path) == ("facts/impossible", "$.fee_schedule_override['99490']")


@pytest.mark.parametrize("fmt", ["yaml", "jsonl"])  # JSON Lines: the typed path, which must refuse it too
@pytest.mark.parametrize(("month", "days", "allowed"), [("2025-02", 29, 28), ("2024-02", 30, 29), ("2025-04", 31, 30)])
def test_more_device_days_than_the_month_has_is_impossible(fmt: str, month: str, days: int, allowed: int) -> None:
    """The schema allows 0-31 days of RPM device data; February 2025 has 28. One day more is refused
    with the days the month has; as many as it has is a bundle."""
    facts = {"id": "rpm", "month": month, "rpm": {"device_days": days, "interactive_communication": True}}
    text = json.dumps(facts) + "\n" if fmt == "jsonl" else yaml.safe_dump(facts)
    diag = only_error(text, fmt)
    assert (diag.code, diag.fact_path) == ("facts/impossible", "$.rpm.device_days")
    assert diag.message == f"{days} days of device data in {month}, which has {allowed} days"
    facts["rpm"]["device_days"] = allowed  # type: ignore[index]
    text = json.dumps(facts) + "\n" if fmt == "jsonl" else yaml.safe_dump(facts)
    assert bundle(text, fmt).data["rpm"]["device_days"] == allowed


SCENARIOS = Path(__file__).resolve().parents[2] / "shared" / "acceptance" / "scenarios.yaml"
SPELLINGS = {"as written": str, "in small letters": str.lower, "without its dot": lambda c: c.replace(".", "")}


@pytest.mark.parametrize("fmt", ["yaml", "jsonl"])  # JSON Lines: the typed path too
@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
@pytest.mark.parametrize("scenario_id", ["second-condition-not-expected-12-months", "apcm-level1-one-condition"])
def test_one_condition_listed_twice_counts_once(policies: PolicySet, fmt: str, spelling: str, scenario_id: str) -> None:
    """§2.1 asks for two or more chronic conditions: one diagnosis listed twice (two encounters name
    it) is read and counted once (`count distinct chronic_conditions.icd10`, common.policy), so each
    public scenario with its one qualifying condition repeated still meets its own expectations:
    nothing billed for CCM, APCM level 1 (G0556). Counting entries billed 99490 and G0557 (found by
    the metamorphic driver of session 35). A second condition of another code is still a second."""
    [scenario] = [s for s in yaml.safe_load(SCENARIOS.read_text(encoding="utf-8")) if s["id"] == scenario_id]
    facts = json.loads(json.dumps(scenario["facts"], default=str))
    [qualifying] = [c for c in facts["chronic_conditions"] if c["expected_months"] >= 12 and c["significant_risk"]]
    again = {**qualifying, "name": qualifying["name"] + " (a second encounter)"}
    again["icd10"] = SPELLINGS[spelling](qualifying["icd10"])
    facts["chronic_conditions"].append(again)

    def decided(facts: dict[str, Any]) -> list[str]:
        text = json.dumps(facts) + "\n" if fmt == "jsonl" else yaml.safe_dump(facts)
        return check_expectation(evaluate(policies, bundle(text, fmt)), scenario["expect"])

    assert decided(facts) == []
    again["icd10"] = "J44.9" if qualifying["icd10"] != "J44.9" else "I10"  # another condition: counted
    assert decided(facts) != []


def test_override_of_1e27_is_a_clear_error() -> None:
    diag = only_error(BASE + "fee_schedule_override: {'99490': 1.0e27}\n")
    assert (diag.code, diag.fact_path) == ("facts/limit", "$.fee_schedule_override['99490']")
    assert diag.message == "`1.0e27` is too large; fact files allow at most 15 digits"  # as written, not `1.0E+27`


def test_long_text_is_a_limit_error() -> None:
    diag = only_error(BASE.replace("id: P1", "id: " + "x" * 2001))
    assert (diag.code, diag.fact_path) == ("facts/limit", "$.practitioner.id")


def test_deep_nesting_is_a_limit_error() -> None:
    diag = only_error(BASE + "extra: " + "[" * 40 + "]" * 40 + "\n")
    assert diag.code == "facts/limit"
    assert diag.message == "nested more than 16 levels deep"


@pytest.mark.parametrize("shape", ["flow", "stream"])
def test_yaml_nested_deeper_than_the_parser_goes_is_a_limit_error(shape: str) -> None:
    """libyaml stops at 1,000 levels: that was `facts/syntax` (`invalid YAML: exceeded maximum nesting
    depth`), where fact-input.md says that crossing a limit, nesting included, is `facts/limit`."""
    deep = BASE + "extra: " + "[" * 2_000 + "]" * 2_000 + "\n"
    records = read(deep if shape == "flow" else BASE + "---\n" + deep)
    diag = only_error_of(records[-1])
    assert (diag.code, diag.message) == ("facts/limit", "nested more than 16 levels deep")
    assert diag.span is not None
    assert diag.span.line == (7 if shape == "flow" else 14)


# --- exactly one record per input record -------------------------------------------------------

GOOD = json.dumps({"month": "2025-03"})
BAD_LINES = {
    5: '{"month": "2025-03", "x": ' + "1" * 4400 + "}",
    6: '{"month": "2025-03", "x": ' + "[" * 500 + "]" * 500 + "}",
    7: '{"month": "2025-03", "practitioner": {"id": "\\ud800"}}',
    8: '{"month": "2025-03", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
    9: '{"month": "2025-03", "fee_schedule_override": {"99490": 1e27}}',
}


def test_each_bad_json_line_is_its_own_error_record(tmp_path: Path) -> None:
    lines = [GOOD] * 20_000
    for number, text in BAD_LINES.items():
        lines[number - 1] = text
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records = list(iter_records(path))
    assert len(records) == 20_000
    errors = {r.index + 1: r for r in records if isinstance(r, BundleError)}
    assert sorted(errors) == sorted(BAD_LINES)
    digits, nested, surrogate, very_deep, huge = (errors[n].diagnostics[0] for n in sorted(BAD_LINES))
    assert (digits.code, digits.span and digits.span.line) == ("facts/limit", 5)
    assert digits.message == "a number with 4400 digits; fact files allow at most 15 digits"
    assert (nested.code, nested.message) == ("facts/limit", "nested more than 16 levels deep")
    assert (surrogate.code, surrogate.fact_path) == ("facts/limit", "$.practitioner.id")
    assert surrogate.message == "text holds `\\ud800`, half of a UTF-16 pair and not a character"
    assert (very_deep.code, very_deep.span and very_deep.span.line) == ("facts/limit", 8)
    assert (huge.code, huge.fact_path) == ("facts/limit", "$.fee_schedule_override['99490']")
    assert all(r.source == str(path) for r in records)
    assert [r.index for r in records] == list(range(20_000))


def test_json_line_over_the_record_size_is_its_own_error(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text(GOOD + "\n" + '{"month": "2025-03", "x": "' + "a" * 1_000_001 + '"}\n' + GOOD + "\n")
    first, big, last = iter_records(path)
    assert isinstance(first, Bundle)
    assert isinstance(last, Bundle)
    assert isinstance(big, BundleError)
    assert big.diagnostics[0].code == "facts/limit"
    assert big.diagnostics[0].message.startswith("a line of more than 1,000,000 bytes")


def _padded(size: int) -> str:
    """GOOD, a valid bundle, padded with spaces (JSON white space) to `size` bytes."""
    return GOOD[:-1] + " " * (size - len(GOOD)) + "}"


@pytest.mark.parametrize("size", [999_999, 1_000_000, 1_500_000])
def test_a_long_first_line_after_a_byte_order_mark_is_one_record(tmp_path: Path, size: int) -> None:
    """The first line was read in part (the limit's bytes, the byte-order mark among them), the mark
    dropped, and the part taken for the whole line: a first record of 999,999 or 1,000,000 bytes, or
    any over the limit, became two error records (two syntax errors), one more than the input has."""
    from carepolicy.cli.batch_input import RawRecord, read_work

    path = tmp_path / "bom.jsonl"
    path.write_bytes(codecs.BOM_UTF8 + (_padded(size) + "\n" + GOOD + "\n").encode())
    first, last = iter_records(path)
    assert isinstance(last, Bundle)
    assert last.index == 1
    if size <= 1_000_000:
        assert isinstance(first, Bundle), first
    else:
        assert isinstance(first, BundleError)
        assert [(d.code, d.span and d.span.line) for d in first.diagnostics] == [("facts/limit", 1)]
    works = list(read_work([str(path)]))  # batch splits JSON Lines itself, with the reader's splitter
    assert [(w.index, w.lineno, w.line is None) for w in works if isinstance(w, RawRecord)] == [
        (0, 1, size > 1_000_000), (1, 2, False)]


@pytest.mark.parametrize("end", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_a_json_line_of_the_record_size_is_read_whatever_its_line_end(tmp_path: Path, end: str) -> None:
    """A record may have 1,000,000 bytes, its line end aside: with LF it was read, with CRLF (a
    Windows export) the CR was counted in it and it was `a line of more than 1,000,000 bytes`."""
    path = tmp_path / "f.jsonl"
    path.write_bytes((_padded(1_000_000) + end + _padded(1_000_001) + end + GOOD + end).encode())
    fits, over, last = iter_records(path)
    assert isinstance(fits, Bundle), fits
    assert isinstance(over, BundleError)
    assert [(d.code, d.span and d.span.line) for d in over.diagnostics] == [("facts/limit", 2)]
    assert isinstance(last, Bundle)


def test_a_long_integer_in_a_json_document_spoils_only_its_bundle() -> None:
    """As in JSON Lines: a number over the digit limit is its bundle's error, with its path; the
    document's other bundles are read. (Only one too long for Python's int, 4,300 digits, is the
    document's error.)"""
    long = '{"month": "2025-03", "time": [{"minutes": 10000000000000000}]}'
    first, spoilt, last = load_fact_text(f"[{GOOD}, {long}, {GOOD}]", name="d.json", fmt="json")
    assert isinstance(first, Bundle)
    assert isinstance(last, Bundle)
    assert isinstance(spoilt, BundleError)
    assert [(d.code, d.fact_path, d.message) for d in spoilt.diagnostics] == [
        ("facts/limit", "$.time[0].minutes", "a number of more than 15 digits; fact files allow at most 15")
    ]
    with pytest.raises(FactError, match="a number with 4301 digits; fact files allow at most 15 digits"):
        load_fact_text(f"[{GOOD}, " + "1" * 4301 + "]", name="d.json", fmt="json")


def test_a_deep_bundle_in_a_long_json_document_spoils_only_its_bundle() -> None:
    """However many bundles come before it: a bundle nested past the limit is its own error, with
    its path. (Only nesting the parser should not recurse into is the document's error.)"""
    good = '{"month": "2025-03", "beneficiary": {"part_b": true}}'
    deep = '{"month": "2025-03", "x": ' + "[" * 18 + "]" * 18 + "}"
    records = load_fact_text("[" + ", ".join([good] * 40 + [deep] + [good] * 40) + "]", name="d.json", fmt="json")
    assert [type(r) for r in records] == [Bundle] * 40 + [BundleError] + [Bundle] * 40
    (problem,) = records[40].diagnostics  # type: ignore[union-attr]
    assert (problem.code, problem.fact_path) == ("facts/limit", "$.x" + "[0]" * 15)
    with pytest.raises(FactError, match="nested more than 16 levels deep"):
        load_fact_text("[" + good + ", " + "[" * 65 + "]" * 65 + "]", name="d.json", fmt="json")


def test_a_json_document_on_one_line_may_be_larger_than_a_record(tmp_path: Path) -> None:
    """Every JSON writer puts a whole document on one line: its limit is the document's, not a record's."""
    bundles = [{"id": f"b{i}", "month": "2025-03", "beneficiary": {"part_b": True}} for i in range(20_000)]
    path = tmp_path / "f.json"
    path.write_text(json.dumps(bundles))
    assert path.stat().st_size > 1_000_000
    records = list(iter_records(path))
    assert all(isinstance(r, Bundle) for r in records)
    assert [r.id for r in records if isinstance(r, Bundle)] == [b["id"] for b in bundles]
    flow = load_fact_text(json.dumps(bundles), name="flow.yaml", fmt="yaml")  # a YAML flow list: the same
    assert [r.id for r in flow if isinstance(r, Bundle)] == [b["id"] for b in bundles]
    (long,) = load_fact_text(json.dumps({"month": "2025-03", "id": "x" * 1_000_000}), name="long", fmt="json")
    assert isinstance(long, BundleError)  # the bundle's own error, not the document's
    assert long.diagnostics[0].message == "text of 1,000,000 characters; fact files allow at most 2,000"


def test_json_line_not_utf8_is_its_own_error(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(GOOD.encode() + b'\n{"id": "\xff"}\n' + GOOD.encode() + b"\n")
    records = list(iter_records(path))
    assert [type(r) for r in records] == [Bundle, BundleError, Bundle]
    assert records[1].diagnostics[0].message == "not UTF-8 text (byte 9)"  # type: ignore[union-attr]


def test_yaml_stream_document_errors_stay_in_their_document() -> None:
    text = "month: 2025-03\n---\nid: two\nmonth: [2025-03\n---\nmonth: 2025-04\n---\nid: x\nid: y\n"
    first, broken, third, duplicate = read(text)
    assert isinstance(first, Bundle)
    assert isinstance(third, Bundle)
    assert third.month == "2025-04"
    assert isinstance(broken, BundleError)
    assert broken.id == "two"
    [diag] = broken.diagnostics
    assert diag.code == "facts/syntax"
    assert diag.span is not None
    assert diag.span.line >= 4  # lines count from the top of the file, not of the document
    assert isinstance(duplicate, BundleError)
    assert duplicate.diagnostics[0].span is not None
    assert duplicate.diagnostics[0].span.line == 9
    assert [r.index for r in (first, broken, third, duplicate)] == [0, 1, 2, 3]


@pytest.mark.parametrize("listed", [False, True], ids=["bundle", "list"])
def test_a_duplicate_key_in_a_later_document_names_the_first_line_of_the_file(listed: bool) -> None:
    """The message named the first key's line in its own document (`first on line 3` for a key on
    line 9 of the file), while the span and the note below it counted from the top of the file."""
    second = BASE.replace("month: 2025-03\n", "month: 2025-03\nmonth: 2025-04\n")
    if listed:  # the same bundle as the one item of a list: each item is constructed on its own
        second = "".join(("- " if n == 0 else "  ") + line + "\n" for n, line in enumerate(second.splitlines()))
    records = read(BASE + "---\n" + second)  # BASE: lines 1-6, `---`: 7, the two `month`: 9, 10
    assert isinstance(records[0], Bundle)
    diag = only_error_of(records[1])
    assert diag.code == "facts/duplicate-key"
    assert diag.message == "key `month` appears twice in one mapping (first on line 9)"
    assert diag.span is not None
    assert diag.span.line == 10
    [(label, first)] = diag.related
    assert (label, first.line) == ("`month` first set here", 9)


def test_a_document_marker_after_a_byte_order_mark_starts_a_document() -> None:
    """`cat march.yaml april.yaml`, each saved with a byte-order mark by a Windows editor: YAML 1.2
    allows one at the start of any document of a stream, but the `---` after it was not seen as a
    marker, and the two bundles were one document (one error record for two input records)."""
    april = BASE.replace("id: march", "id: april").replace("month: 2025-03", "month: 2025-04")
    march_, april_ = read("\ufeff---\n" + BASE + "\ufeff---\n" + april)
    assert isinstance(march_, Bundle), march_
    assert isinstance(april_, Bundle), april_
    assert [(r.id, r.month, r.index) for r in (march_, april_)] == [("march", "2025-03", 0), ("april", "2025-04", 1)]


@pytest.mark.parametrize("char", ["\x00", "\x1b"])
def test_a_control_character_in_yaml_is_shown_at_its_line_and_column(char: str) -> None:
    """A character YAML does not allow (a NUL byte: a file zero-filled after a crash) was reported at
    the first line of its document, column 1, in PyYAML's words for its own string: `unacceptable
    character #x0000: ...\\n  in "<unicode string>", position 20`."""
    records = read(BASE + "---\nid: b\nmonth: 2025-03" + char + "\n")  # line 9 of the file
    diag = only_error_of(records[1])
    code = f"U+{ord(char):04X}"
    assert (diag.code, diag.message) == ("facts/syntax", f"invalid YAML: unacceptable character {code} "
                                         "(control characters are not allowed)")
    assert diag.span is not None
    assert (diag.span.line, diag.span.column) == (9, 15)


def test_a_duplicate_key_gets_no_help_about_a_quote_between_the_two() -> None:
    """The help that names a line opening a `"` it does not close is for a syntax error, where YAML
    read on to a later line. A duplicate key is read as written: a plain text holding one `"`
    (`5" tall`) between the two keys got that help, which sent the reader to a line that is fine."""
    diag = only_error(BASE.replace("month: 2025-03\n", 'month: 2025-03\nnote: a 5" tall\nmonth: 2025-04\n'))
    assert diag.code == "facts/duplicate-key"
    assert diag.help is None


def only_error_of(record: Bundle | BundleError) -> Diagnostic:
    assert isinstance(record, BundleError), record
    [diag] = record.diagnostics
    return diag


def test_unparsable_yaml_list_says_the_count_is_unknown() -> None:
    with pytest.raises(FactError) as caught:
        read("- month: 2025-03\n- month: [2025-03\n- month: 2025-04\n")
    [diag] = caught.value.diagnostics
    assert diag.code == "facts/syntax"
    assert "no record of the file was read (how many it holds is unknown)" in diag.message
    assert diag.help is not None
    assert "JSON Lines" in diag.help


def test_unparsable_json_array_says_the_count_is_unknown() -> None:
    with pytest.raises(FactError) as caught:
        read('[{"month": "2025-03"}, {"month": ]', "json")
    assert "how many it holds is unknown" in caught.value.diagnostics[0].message


def test_unparsable_single_json_bundle_is_one_record() -> None:
    with pytest.raises(FactError) as caught:
        read('{"month": ', "json")
    assert "unknown" not in caught.value.diagnostics[0].message


def test_records_are_read_lazily(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text(GOOD + "\n" + GOOD + "\n")
    with path.open("rb") as stream:
        records = iter_records(stream, "jsonl", name="f.jsonl")
        first = next(records)
        assert isinstance(first, Bundle)
        assert stream.tell() < path.stat().st_size  # the second line is not read yet


# --- formats -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD + "\n" + GOOD + "\n", 2),  # JSON Lines
        ('[{"month": "2025-03"},\n {"month": "2025-04"}]\n', 2),  # JSON
        ('{\n  "month": "2025-03"\n}\n', 1),  # pretty JSON
        ("month: 2025-03\n---\nmonth: 2025-04\n", 2),  # a YAML stream
    ],
)
def test_stdin_format_is_detected(monkeypatch: pytest.MonkeyPatch, text: str, expected: int) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    records = load_fact_file("-")
    assert len(records) == expected
    assert all(isinstance(r, Bundle) for r in records)


def test_input_format_overrides_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text(GOOD + "\n{bad\n")
    records = load_fact_file(path, "jsonl")
    assert [type(r) for r in records] == [Bundle, BundleError]


def test_json_money_is_exact() -> None:
    data = bundle('{"month": "2025-03", "fee_schedule_override": {"99490": 66.13}}', "jsonl").data
    assert data["fee_schedule_override"]["99490"] == Decimal("66.13")


# --- time dated outside the month -------------------------------------------------------------


def test_time_dated_outside_the_month_is_named_in_the_notes() -> None:
    from carepolicy.engine import evaluate, load_policies, to_json_obj

    text = BASE.replace("service: ccm}", "service: ccm, date: 2025-03-04}") + (
        "- {practitioner: P1, by: clinical_staff, minutes: 25, service: ccm, date: 2025-04-02}\n"
    )
    read_back = bundle(text)
    note = "time[1] (25 minutes of ccm by `P1`) is dated 2025-04-02, outside the service month 2025-03"
    assert read_back.notes == (note + ": not counted in the month's minutes",)
    decision = evaluate(load_policies(), read_back, trace=False)
    assert to_json_obj(decision)["notes"] == list(read_back.notes)
    assert bundle(BASE).notes == ()


def test_time_dated_outside_the_month_is_named_up_to_the_cap_and_the_rest_counted() -> None:
    """A bundle that carries a year's export (here 3,000 entries of other months) wrote one note per
    entry into its decision; the first MAX_NOTES are named, one more note counts the others exactly,
    on the fast path (JSON Lines) and the precise one (YAML) alike."""
    from carepolicy.engine.facts.limits import MAX_NOTES

    other = [f"- {{practitioner: P1, by: clinical_staff, minutes: 1, service: ccm, date: 2025-04-{1 + i % 28:02d}}}\n"
             for i in range(3_000)]
    text = BASE + "".join(other)
    as_json = json.dumps(yaml.safe_load(text), default=str)
    for read_back in (bundle(text), bundle(as_json, "jsonl")):
        assert len(read_back.notes) == MAX_NOTES + 1
        assert read_back.notes[0].startswith("time[1] (1 minutes of ccm by `P1`) is dated 2025-04-01,")
        assert read_back.notes[MAX_NOTES - 1].startswith(f"time[{MAX_NOTES}] ")
        assert read_back.notes[-1] == (
            f"{3_000 - MAX_NOTES:,} more time entries are dated outside the service month 2025-03: not counted "
            f"in the month's minutes (a decision names at most {MAX_NOTES} of them)"
        )
    exactly = bundle(BASE + "".join(other[:MAX_NOTES]))
    assert len(exactly.notes) == MAX_NOTES
    assert "more time entries" not in exactly.notes[-1]


# --- the command line ----------------------------------------------------------------------------


def test_jsonl_on_stdin_is_detected_and_each_line_decided() -> None:
    from carepolicy.cli.main import cli
    from click.testing import CliRunner

    stdin = GOOD + "\n{bad\n" + json.dumps({"id": "third", "month": "2025-04"}) + "\n"
    result = CliRunner().invoke(cli, ["evaluate", "--no-explain", "--format", "jsonl", "-"], input=stdin)
    assert result.exit_code == 2
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["bundle_id"] for r in records] == ["#1", "#2", "third"]
    assert "error" in records[1]
    assert records[1]["error"][0]["line"] == 2


def test_input_format_option_reads_stdin_as_told() -> None:
    from carepolicy.cli.main import cli
    from click.testing import CliRunner

    stdin = "month: 2025-03\n"  # YAML, told to be JSON: a clear syntax error, never a traceback
    result = CliRunner().invoke(cli, ["evaluate", "--input-format", "json", "-"], input=stdin)
    assert result.exit_code == 2
    assert "error[facts/syntax]: invalid JSON" in result.stderr


def test_a_bug_while_reading_one_record_spoils_only_that_record(monkeypatch: pytest.MonkeyPatch) -> None:
    from carepolicy.engine.facts import json_records, record_errors

    real = record_errors.validate_bundle
    real_typed = json_records.typed_record

    def fails_on_the_second(obj: object, *, source: str, index: int, parsed: bool = False) -> Bundle | BundleError:
        if index == 1:
            raise KeyError("boom")
        return real(obj, source=source, index=index, parsed=parsed)

    def typed_fails_on_the_second(line: bytes | str, source: str, index: int) -> Bundle | None:
        if index == 1:  # a bug in the typed path: the untyped path reads the line (and meets the other bug)
            raise KeyError("typed boom")
        return real_typed(line, source, index)

    monkeypatch.setattr(record_errors, "validate_bundle", fails_on_the_second)
    monkeypatch.setattr(json_records, "typed_record", typed_fails_on_the_second)
    first, broken, last = read(GOOD + "\n" + GOOD + "\n" + GOOD + "\n", "jsonl")
    assert isinstance(first, Bundle)
    assert isinstance(last, Bundle)
    assert isinstance(broken, BundleError)
    assert broken.diagnostics[0].code == "facts/internal"
    assert broken.diagnostics[0].message == "internal error while reading: KeyError: 'boom'"


@pytest.mark.parametrize("line", ["", " ", "{", "\ud800", '{"month": "2025-03"}'])
def test_a_json_line_given_as_text_is_read_like_bytes(line: str) -> None:
    from carepolicy.engine.facts.json_records import json_record

    item = json_record(line, "<line>", 5, 4)
    assert item.index == 4
    assert isinstance(item, Bundle) == (line == '{"month": "2025-03"}')


def test_json_guessed_from_the_first_line_says_how_to_name_yaml() -> None:
    flow = b"{id: a, month: 2025-03}\n"  # a YAML flow mapping starts like JSON
    with pytest.raises(FactError) as guessed:
        list(iter_records(io.BytesIO(flow)))
    [diag] = guessed.value.diagnostics
    assert diag.code == "facts/syntax"
    assert diag.help is not None
    assert "give the format: --input-format yaml" in diag.help
    assert diag.help.endswith("keeps one bad record from hiding the others")  # the JSON Lines hint kept
    with pytest.raises(FactError) as named:  # the format given: nothing was guessed
        list(iter_records(io.BytesIO(flow), "json"))
    assert "--input-format" not in (named.value.diagnostics[0].help or "")
    [bundle] = iter_records(io.BytesIO(flow), "yaml")
    assert isinstance(bundle, Bundle)
    assert bundle.month == "2025-03"


@pytest.mark.parametrize("fmt", ["yaml", "json", "jsonl"])
@pytest.mark.parametrize(("encoding", "name"), [("utf-16", "UTF-16"), ("utf-32", "UTF-32")])
def test_a_file_saved_as_utf_16_or_32_says_so(tmp_path: Path, fmt: str, encoding: str, name: str) -> None:
    path = tmp_path / f"bundle.{fmt}"
    text = "month: 2025-03\n" if fmt == "yaml" else '{"month": "2025-03"}\n'
    path.write_bytes(text.encode(encoding))  # Python's utf-16 and utf-32 write a byte-order mark first
    expected = f"not UTF-8 text (byte 1): it is {name} (it starts with a {name} byte-order mark); save it as UTF-8"
    if fmt == "json":  # a JSON document: the file is the unit
        with pytest.raises(FactError) as raised:
            load_fact_file(path)
        assert [d.message for d in raised.value.diagnostics] == [f"cannot read `{path}`: {expected}"]
        return
    first = load_fact_file(path)[0]
    assert isinstance(first, BundleError)
    assert first.diagnostics[0].message == expected


def test_a_file_not_utf_8_without_a_mark_gives_the_byte_only(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes("month: 2025-03\nid: caf\xe9\n".encode("latin-1"))
    [record] = load_fact_file(path)
    assert isinstance(record, BundleError)
    assert record.diagnostics[0].message == "not UTF-8 text (byte 23)"



@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32", "utf-32-le"])
def test_json_lines_saved_as_utf_16_or_32_are_one_error_record_not_one_a_piece(tmp_path: Path, encoding: str) -> None:
    """Split at UTF-8's line break, a UTF-16LE or UTF-32 file has the rest of each break (NUL bytes)
    at the start of the next line and one more piece at the end: three records were four error
    records. The file is one error record, as a YAML file in that encoding is."""
    path = tmp_path / "bundles.jsonl"
    lines = "".join(json.dumps({"id": f"r{n}", "month": "2025-03"}) + "\n" for n in range(3))
    mark = {"utf-16-be": codecs.BOM_UTF16_BE, "utf-32-le": codecs.BOM_UTF32_LE}.get(encoding, b"")
    path.write_bytes(mark + lines.encode(encoding))
    [record] = load_fact_file(path)
    assert isinstance(record, BundleError)
    [diag] = record.diagnostics
    assert "(it starts with a UTF-" in diag.message
    assert diag.help is not None
    assert "how many it holds is unknown" in diag.help


@pytest.mark.parametrize("suffix", [".jsonl", ".yaml", ".json"])
def test_a_read_error_half_way_names_the_file(tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A disk that fails after the first block (EIO) was a facts/io error with no file: the
    diagnostic's file was empty, so batch's error record and stderr named none."""
    path = tmp_path / f"claims{suffix}"
    path.write_bytes(b"x" * 10)
    real_open = Path.open

    class Failing(io.BufferedReader):
        def readline(self, size: int | None = -1) -> bytes:
            raise OSError(5, "Input/output error")

        def read(self, size: int | None = -1) -> bytes:
            raise OSError(5, "Input/output error")

    def failing_open(self: Path, mode: str = "r", *args: object, **kwargs: object) -> object:
        if self == path:
            return Failing(io.FileIO(str(path), "rb"))
        return real_open(self, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", failing_open)
    with pytest.raises(FactError) as raised:
        list(iter_records(path))
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "facts/io"
    assert diagnostic.file == str(path)
    assert diagnostic.message == f"cannot read `{path}`: input/output error"


@pytest.mark.parametrize("fmt", ["yaml", "jsonl"])  # JSON Lines: the typed path counts them too
def test_entries_without_a_practitioner_are_not_the_practitioner_named_none(fmt: str) -> None:
    """Each practitioner's minutes are added up apart: the entries without a practitioner were
    counted as those of a practitioner named "None" (`str(None)`), so 30,000 minutes of each were
    refused as 60,000 minutes of one."""
    entries = [
        {"by": "clinical_staff", "minutes": 30_000, "service": "ccm"},
        {"practitioner": "None", "by": "clinical_staff", "minutes": 30_000, "service": "ccm"},
    ]
    facts = {"id": "apart", "month": "2025-03", "time": entries}
    text = json.dumps(facts) + "\n" if fmt == "jsonl" else yaml.safe_dump(facts)
    assert [e["minutes"] for e in bundle(text, fmt).data["time"]] == [30_000, 30_000]
    # the entries without a practitioner are still added up together, and said so
    entries.append({"by": "non_clinical_staff", "minutes": 15_000, "service": "ccm"})
    text = json.dumps(facts) + "\n" if fmt == "jsonl" else yaml.safe_dump(facts)
    diag = only_error(text, fmt)
    assert (diag.code, diag.fact_path) == ("facts/impossible", "$.time[2].minutes")
    assert diag.message == (
        "the entries without a practitioner have 45,000 minutes in 2025-03 up to this entry, "
        "more than the 44,700 minutes the month can have (31 days, and the hour clocks may go back)"
    )


def test_problems_are_listed_in_the_order_of_their_paths_and_at_most_a_hundred() -> None:
    """Paths were sorted as text: of 80,000 unknown keys, `$.time[10000]` came second and
    `$.time[9]` last, and all 80,000 were listed (an 11.7 MB error line). The first 100 by index
    are listed, then one problem that counts the rest."""
    facts = {"id": "many", "month": "2025-03", "time": [{"zz": 1} for _ in range(1_200)]}  # (no YAML aliases)
    for fmt, text in (("jsonl", json.dumps(facts) + "\n"), ("yaml", yaml.safe_dump(facts))):
        [record] = list(iter_records(io.BytesIO(text.encode()), fmt, name="many"))
        assert isinstance(record, BundleError)
        paths = [d.fact_path for d in record.diagnostics]
        assert paths == [f"$.time[{i}].zz" for i in range(100)] + ["$"]
        last = record.diagnostics[-1]
        assert (last.code, last.bundle) == ("facts/limit", "many")
        assert last.message == (
            "more problems in this bundle are not listed: an error record lists at most 100 for one bundle, "
            "and reading it stops at problem 101, so the others are not counted"
        )
    few = {"id": "few", "month": "2025-03", "time": [{"zz": 1}] * 12}
    [record] = list(iter_records(io.BytesIO((json.dumps(few) + "\n").encode()), "jsonl", name="few"))
    assert isinstance(record, BundleError)
    assert [d.fact_path for d in record.diagnostics] == [f"$.time[{i}].zz" for i in range(12)]


def test_a_number_too_long_to_read_is_pointed_at_where_it_starts(tmp_path: Path) -> None:
    """An integer of 4,301 digits (or an exponent no Decimal holds) was reported at column 1 of its
    JSON line, and with no place at all in a JSON document or a table's JSON cell: the parser's
    ValueError carries no position. The error now points at the number itself."""
    prefix = '{"month": "2025-03", "id": "x:1", "time": [{"minutes": '
    path = tmp_path / "f.jsonl"
    path.write_text(GOOD + "\n" + prefix + "9" * 4301 + "}]}\n" + prefix + "1e99999999999999999999}]}\n",
                    encoding="utf-8")
    _good, digits, exponent = iter_records(path)
    for record in (digits, exponent):
        assert isinstance(record, BundleError)
        [diag] = record.diagnostics
        assert diag.code == "facts/limit"
        assert diag.span is not None
        assert (diag.span.column, diag.span.line) == (len(prefix) + 1, record.index + 1)
    document = tmp_path / "f.json"
    document.write_text("[\n" + GOOD + ",\n" + prefix + "-" + "9" * 4301 + "}]}\n]\n", encoding="utf-8")
    with pytest.raises(FactError) as raised:
        list(iter_records(document))
    [diag] = raised.value.diagnostics
    assert diag.span is not None
    assert (diag.span.line, diag.span.column) == (3, len(prefix) + 1)
    assert diag.message.startswith("a number with 4301 digits; fact files allow at most 15 digits")


@pytest.mark.parametrize("fmt", ["yaml", "jsonl"])
def test_a_long_practitioner_id_is_shortened_in_the_notes_and_in_the_error(fmt: str) -> None:
    """A note per entry dated outside the month, up to 100: each repeated a 2,000-character
    practitioner id whole (200 kB of notes in one decision). It is shortened as values are in
    messages (60 characters), in the notes and in the error of minutes no month can have."""
    who = "P" * 2_000
    entry = {"practitioner": who, "by": "clinical_staff", "minutes": 30, "service": "ccm", "date": "2025-02-03"}
    facts = {"id": "long", "month": "2025-03", "time": [entry]}
    text = json.dumps(facts) + "\n" if fmt == "jsonl" else yaml.safe_dump(facts, width=10_000)
    [note] = bundle(text, fmt).notes
    assert note.startswith(f"time[0] (30 minutes of ccm by `{'P' * 57}...`) is dated 2025-02-03")
    entry["minutes"] = 40_381  # February 2025 can have 40,380
    text = json.dumps(facts) + "\n" if fmt == "jsonl" else yaml.safe_dump(facts, width=10_000)
    assert only_error(text, fmt).message.startswith(f"practitioner `{'P' * 57}...` has 40,381 minutes in 2025-02")
