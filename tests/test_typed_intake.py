"""The typed path of a JSON line (engine/facts/typed_intake.py) gives exactly what the untyped path gives.

`typed_record` decodes a line against msgspec types built from the schema (typed_model.py) and
never words an error: for every line it returns either None (the untyped path then decides) or the
very `Bundle` the untyped path (`JSON_DECODER` + `checked`) and the precise path give, compared by
value and by type (a tuple is not a list, `Decimal("60")` is not `60`). Keys of a fixed record
may come in the schema's order instead of the line's, so the comparison sorts keys; the last test
shows that no output form depends on that order. It must also really be taken for valid lines, or
the comparisons would prove nothing.
"""

from __future__ import annotations

import datetime
import json
import random
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from carepolicy.engine import Bundle, BundleError, PolicySet, evaluate
from carepolicy.engine.facts import fast_check
from carepolicy.engine.facts.bundle import validate_precisely
from carepolicy.engine.facts.json_records import JSON_DECODER, json_record
from carepolicy.engine.facts.record_errors import checked
from carepolicy.engine.facts.schema import _schema_text, shared_schema
from carepolicy.engine.facts.typed_intake import typed_record
from carepolicy.engine.facts.typed_model import bundle_type
from carepolicy.engine.facts.upgrade import bundle_version, upgrade_v1
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.bench_evaluate import make_bundles
from benchmarks.bench_facts import as_json
from cli.commands.evaluate import render_record
from tests.test_fact_properties import mutate
from tests.test_fast_intake import HOSTILE as FAST_HOSTILE

HOSTILE: list[object] = [
    *FAST_HOSTILE,
    "5",  # text where money belongs: msgspec's Decimal type would take it
    "ccm\n",  # Python's `$` matches before a final newline
    "1900-02-29",
    "2000-02-29",
    "0000-01-01",
    "٢٠٢٥-01-01",  # digits `\\d` takes and `[0-9]` does not
    Decimal("1E+2"),
    Decimal("-0.0"),
    Decimal("0.001"),
    Decimal("99999.99"),
    -1,
    {"unknown": 1},
    ["ccm", "pcm"],
    "99490",
]


def canonical(value: object) -> object:
    """`value` with every type kept and dict keys sorted: equal when equal as data, whatever the key order."""
    if type(value) is dict:
        return ("dict", sorted((key, canonical(item)) for key, item in value.items()))
    if type(value) in (tuple, list):
        return (type(value).__name__, [canonical(item) for item in value])  # type: ignore[union-attr]
    return (type(value).__name__, repr(value))


def _same(typed: Bundle, other: object) -> None:
    assert isinstance(other, Bundle), other
    assert typed == other
    assert canonical(typed.data) == canonical(other.data)
    assert (typed.id, typed.month, typed.facts_hash) == (other.id, other.month, other.facts_hash)
    assert typed.notes == other.notes


def _line(bundle: dict[str, Any]) -> bytes:
    return json.dumps(as_json(bundle)).encode()


def _version_2(bundle: dict[str, Any]) -> dict[str, Any]:
    upgraded = json.loads(json.dumps(as_json(upgrade_v1(bundle))), parse_float=Decimal)
    upgraded.pop("consent", None)
    upgraded.pop("ccm_start", None)
    return upgraded


def _shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


def test_the_shipped_schemas_build_into_types() -> None:
    for version in (1, 2):
        assert bundle_type(version) is not None  # raises Unsupported when a keyword is not translated


def test_the_typed_path_is_taken_for_valid_lines_and_agrees_with_the_untyped_one() -> None:
    rng = random.Random(3)
    for index, bundle in enumerate(make_bundles(300, 17)):
        for form in (bundle, _version_2(bundle), _shuffled(_version_2(bundle), rng)):
            line = _line(form)
            typed = typed_record(line, "s", index)
            assert typed is not None, (index, form)
            _same(typed, checked(JSON_DECODER.decode(line), "s", index))
            _same(typed, validate_precisely(JSON_DECODER.decode(line), source="s", index=index))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_hostile_line_is_refused_or_read_exactly_as_the_untyped_path_reads_it(data: st.DataObject) -> None:
    [bundle] = make_bundles(1, data.draw(st.integers(0, 10_000), label="seed"))
    if data.draw(st.booleans(), label="version 2"):
        bundle = _version_2(bundle)
    mutate(data, bundle, HOSTILE)
    if data.draw(st.integers(0, 9), label="lone surrogate in the id") == 5:
        # 1 line in 200 failed to decode before this (measured): about 1 in 10 now, so the
        # not-JSON-text branch below is reached on every run
        bundle["id"] = f"\ud800{bundle.get('id')}"
    try:
        line = json.dumps(as_json(bundle)).encode("utf-8", "surrogatepass")
    except ValueError:  # an integer json cannot write: nothing to read
        return
    untyped = checked(JSON_DECODER.decode(line), "s", 3) if _decodes(line) else None
    typed = typed_record(line, "s", 3)
    if typed is not None:
        _same(typed, untyped)
        raw = JSON_DECODER.decode(line)  # jsonschema-rs, which the typed path does without, agrees
        assert fast_check.compiled_valid(_schema_text(bundle_version(raw)), raw)
    whole = json_record(line, "s", 1, 3)  # the reader: typed first, else exactly the old path
    if untyped is None:  # not JSON text (a lone surrogate): an error record, never a bundle
        assert isinstance(whole, BundleError), whole  # (this was `whole == whole`)
    else:
        assert whole == untyped
    if isinstance(whole, BundleError):  # refused for what the line holds, never for a bug of the reader
        assert all(d.code != "facts/internal" for d in whole.diagnostics), whole


def _decodes(line: bytes) -> bool:
    try:
        JSON_DECODER.decode(line)
    except (msgspec.DecodeError, UnicodeError):
        return False
    return True


@pytest.mark.parametrize("written", ["0", "5", "0.0", "-0.0", "107.20", "1e2", "1.5E1", "99999.99", "100000"])
def test_an_amount_keeps_its_written_form_in_the_facts_hash(written: str) -> None:
    [bundle] = make_bundles(1, 5)
    bundle.pop("fee_schedule_override", None)  # (a second one would be a key set twice: refused)
    table = b'"fee_schedule_override": {"99490": ' + written.encode() + b"}, "
    line = _line(bundle).replace(b'"month"', table + b'"month"', 1)
    for _ in range(2):  # the second time from the amounts kept (typed_intake._AMOUNTS)
        typed = typed_record(line, "s", 0)
        assert typed is not None
        _same(typed, checked(JSON_DECODER.decode(line), "s", 0))
        assert typed.data["fee_schedule_override"]["99490"] == Decimal(written)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 1_999_999),
    st.one_of(st.none(), st.from_regex(r"[0-9]{1,3}", fullmatch=True)),
    st.sampled_from(["", "e0", "E-2", "e1", "E+1"]),
)
def test_any_written_amount_is_hashed_and_read_as_the_untyped_path_does(
    whole: int, fraction: str | None, exponent: str
) -> None:
    written = f"{whole}" + (f".{fraction}" if fraction is not None else "") + exponent
    [bundle] = make_bundles(1, 7)
    bundle.pop("fee_schedule_override", None)  # (a second one would be a key set twice: refused)
    table = b'"fee_schedule_override": {"99490": ' + written.encode() + b"}, "
    line = _line(bundle).replace(b'"month"', table + b'"month"', 1)
    untyped = checked(JSON_DECODER.decode(line), "s", 0)
    typed = typed_record(line, "s", 0)
    if typed is not None:
        _same(typed, untyped)
        again = typed_record(line, "s", 0)  # again, from the amounts kept
        assert again is not None
        _same(again, untyped)
    plain = not exponent and whole <= 100_000 and (fraction is None or len(fraction) <= 2)
    if plain and (whole < 100_000 or not (fraction or "").strip("0")):
        assert typed is not None, written  # an amount written plainly takes the typed path


def test_a_date_is_taken_exactly_when_the_schema_and_the_calendar_take_it_and_kept_as_written() -> None:
    import re

    pattern = re.compile(shared_schema(1)["properties"]["consent"]["properties"]["date"]["pattern"])
    dates = msgspec.json.Decoder(datetime.date)
    for year in ("0000", "0001", "0004", "1900", "1996", "2000", "2023", "2024", "2100", "2400", "9999"):
        for month in range(14):
            for day in range(33):
                text = f"{year}-{month:02d}-{day:02d}"
                try:
                    datetime.date.fromisoformat(text)
                    exists = bool(pattern.search(text))
                except ValueError:
                    exists = False
                try:
                    written = msgspec.to_builtins(dates.decode(json.dumps(text)))
                except msgspec.ValidationError:
                    written = None
                assert written == (text if exists else None), text


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=14), st.from_regex(r"[0-9٢+ -]{4}-[0-9]{1,2}-[0-9]{1,3}[T Z\n]?", fullmatch=True)))
def test_no_other_text_is_taken_as_a_date(text: str) -> None:
    import re

    pattern = re.compile(shared_schema(1)["properties"]["consent"]["properties"]["date"]["pattern"][:-1] + r"\Z")
    try:
        written = msgspec.to_builtins(msgspec.json.Decoder(datetime.date).decode(json.dumps(text)))
    except msgspec.ValidationError:
        return
    assert written == text
    assert pattern.search(text)
    datetime.date.fromisoformat(text)  # a real date


def test_a_pattern_of_plain_words_takes_exactly_those_words() -> None:
    [bundle] = make_bundles(1, 5)  # version 1: `consent.service` is one service or a list of them
    cases = (("ccm", True), ("rtm", True), ("ccm\n", False), ("CCM", False), ("cc", False), ("xccm", False))
    for written, taken in cases:
        bundle["consent"] = {"documented": True, "practitioner": "P1", "date": "2025-01-10", "service": written}
        typed = typed_record(_line(bundle), "s", 0)
        assert (typed is not None) is taken, written
        if taken:
            _same(typed, checked(JSON_DECODER.decode(_line(bundle)), "s", 0))


def test_no_output_form_depends_on_the_order_of_a_records_keys(policies: PolicySet) -> None:
    rng = random.Random(5)
    for index, bundle in enumerate(make_bundles(25, 23)):
        for form in (bundle, _version_2(bundle)):
            line = _line(_shuffled(form, rng))
            typed = typed_record(line, "s", index)
            assert typed is not None
            precise = validate_precisely(JSON_DECODER.decode(line), source="s", index=index)
            assert isinstance(precise, Bundle)
            for trace in ("full", "compact", "none"):
                decisions = [evaluate(policies, b, trace=trace != "none") for b in (typed, precise)]
                for fmt in ("jsonl", "csv", "summary", "claim-note", "text"):
                    typed_text, precise_text = (
                        render_record(d, fmt, index=index, trace=trace, facts=b.data)
                        for d, b in zip(decisions, (typed, precise), strict=True)
                    )
                    assert typed_text == precise_text, (fmt, trace)
