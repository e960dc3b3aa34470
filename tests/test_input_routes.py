"""One patient-month, every way in: the same bundle gives the same decision line however it arrives.

Bundles at the edges of the contract (tests/bundle_variants.py: unicode ids and names, money with
many decimals or an exponent, 0 minutes, leap days, empty lists, keys in any order) are written as
a JSON Lines file, a JSON array, a YAML stream, a YAML list, one JSON and one YAML file each, and
given on standard input with and without --input-format, to `evaluate` and to `batch`, and to the
Python API as mappings and as text. Every full-trace line must be the Python API's bytes; the
compact and none forms the same decision without the trace; `explain` of the compact lines the
full ones byte for byte; `batch --jobs 2` and a Parquet `bundle` column the bytes of `--jobs 1`.
An invalid bundle's error record says the same problems (code, JSON path, message, help) in
every format. Bounded for CI; CAREPOLICY_FUZZ_EXAMPLES=N raises the number of examples.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli import common
from carepolicy.cli.main import cli
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import carepolicy
from tests.bundle_variants import Written, api_value, bundle_lists, json_text, yaml_text

EXAMPLES = int(os.environ.get("CAREPOLICY_FUZZ_EXAMPLES", "0"))
_FAST = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]


@pytest.fixture(scope="module", autouse=True)
def _one_policy_load() -> Iterator[None]:
    """Every command of this module loads the shipped policies once (a load is ~1 s; a command
    then takes ms), so that a CI run can afford many routes for many examples."""
    loader = common.load_policy_set
    common.load_policy_set = functools.cache(loader)
    yield
    common.load_policy_set = loader


@functools.cache
def _evaluator() -> carepolicy.Evaluator:
    return carepolicy.load()


def run(*args: str, stdin: bytes | None = None, status: int = 0) -> bytes:
    result = CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)
    assert result.exit_code == status, (args, result.stderr)
    return result.stdout_bytes


def batch(tmp: Path, source: str, *options: str, status: int = 0) -> bytes:
    out = tmp / "out.jsonl"
    run("batch", source, "-o", str(out), *options, status=status)
    return out.read_bytes()


def without_trace(data: bytes) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in data.splitlines()]
    for record in records:
        record.pop("trace", None)
    return records


def texts(bundles: list[dict[str, Any]], draw: st.DrawFn) -> dict[str, str]:
    """The bundles written as each format's file, each in a way hypothesis draws."""
    ascii_only = draw(st.booleans())
    indent = draw(st.sampled_from([None, "  ", "\t"]))
    return {
        "jsonl": "".join(json_text(b, ascii_only=ascii_only) + draw(st.sampled_from(["\n", "\r\n"]))
                         for b in bundles),
        "json": json_text(bundles, ascii_only=ascii_only, indent=indent),
        "yaml": "".join("---\n" + yaml_text(b) for b in bundles),  # a stream, a document each
        "yml": yaml_text(bundles),  # one document, a list
    }


@settings(max_examples=EXAMPLES or 12, deadline=None, suppress_health_check=_FAST)
@given(bundle_lists(), st.data())
def test_every_way_in_gives_the_same_decision(bundles: list[dict[str, Any]], data: st.DataObject) -> None:
    expected = b"".join(_evaluator().evaluate(api_value(b)).jsonl for b in bundles)
    written = texts(bundles, data.draw)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        for ext, text in written.items():
            (tmp / f"in.{ext}").write_bytes(text.encode())
            assert run("evaluate", "--format", "jsonl", str(tmp / f"in.{ext}")) == expected, ext
            fmt = "yaml" if ext == "yml" else ext
            for options in ((), ("--input-format", fmt)):
                piped = run("evaluate", "--format", "jsonl", *options, "-", stdin=text.encode())
                assert piped == expected, (ext, options)
            results = _evaluator().evaluate_text(text, fmt=data.draw(st.sampled_from([fmt, None])))
            assert b"".join(r.jsonl for r in results) == expected, ext
        singles = []
        for number, bundle in enumerate(bundles):
            ext = data.draw(st.sampled_from(["json", "yaml"]))
            path = tmp / f"one-{number}.{ext}"
            path.write_text(json_text(bundle) if ext == "json" else yaml_text(bundle), encoding="utf-8")
            singles.append(str(path))
        assert run("evaluate", "--format", "jsonl", *singles) == expected
        source = str(tmp / f"in.{data.draw(st.sampled_from(sorted(written)))}")
        assert batch(tmp, source, "--trace", "full", "--jobs", "1") == expected
        compact = batch(tmp, source, "--trace", "compact", "--jobs", "1")
        none = batch(tmp, source, "--trace", "none", "--jobs", "1")
        assert without_trace(compact) == without_trace(none) == without_trace(expected)
        assert run("evaluate", "--format", "jsonl", "--trace", "compact", source) == compact
        assert run("evaluate", "--format", "jsonl", "--trace", "none", source) == none
        (tmp / "compact.jsonl").write_bytes(compact)
        assert run("explain", str(tmp / "compact.jsonl"), source) == expected


@settings(max_examples=EXAMPLES // 4 or 2, deadline=None, suppress_health_check=_FAST)
@given(bundle_lists(max_size=40))
def test_jobs_and_parquet_give_the_bytes_of_one_job(bundles: list[dict[str, Any]]) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        lines = [json_text(b) for b in bundles]
        (tmp / "in.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        one = batch(tmp, str(tmp / "in.jsonl"), "--trace", "full", "--jobs", "1")
        assert batch(tmp, str(tmp / "in.jsonl"), "--trace", "full", "--jobs", "2") == one
        pq.write_table(pa.table({"bundle": lines}), tmp / "in.parquet")
        assert batch(tmp, str(tmp / "in.parquet"), "--trace", "full", "--jobs", "1") == one
        assert run("evaluate", "--format", "jsonl", str(tmp / "in.parquet")) == one
        # the bundle's own columns: a table cannot tell null from missing (docs/reference/arrow-schema.md),
        # so the bundles without their nulls; a decimal column writes every amount at one scale (`0.00`),
        # which keeps the decision but not the facts hash "as read", nor the trace's text of the amount
        plain = [without_nulls(api_value(b)) for b in bundles]
        pq.write_table(pa.Table.from_struct_array(pa.array(plain)), tmp / "typed.parquet")
        (tmp / "plain.jsonl").write_text("".join(json_text(as_written(b)) + "\n" for b in plain), encoding="utf-8")
        typed = without_trace(batch(tmp, str(tmp / "typed.parquet"), "--trace", "none"))
        expected = without_trace(batch(tmp, str(tmp / "plain.jsonl"), "--trace", "none"))
        for record in (*typed, *expected):
            del record["facts_hash"], record["decision_id"]
        assert typed == expected


def without_nulls(value: Any) -> Any:
    """`value` without its nulls, and a consent's one service as a list of it (a column has one type)."""
    if isinstance(value, dict):
        if isinstance(value.get("service"), str) and "documented" in value:
            value = {**value, "service": [value["service"]]}
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def as_written(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: as_written(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_written(item) for item in value]
    return Written(str(value)) if isinstance(value, Decimal) else value


@pytest.mark.parametrize("amount", ["0", "10", "257"])
def test_a_whole_decimal_is_the_whole_number_a_file_writes(amount: str, tmp_path: Path) -> None:
    """`Decimal(0)` given to the Python API, `0` in a file and `0e0` (an exponent that makes a whole
    number) are one amount: one facts hash and decision id, through the reader of JSON documents
    and YAML and through batch's fast reader of JSON lines (typed_intake). The API's gave another."""
    api = {"id": "d", "month": "2025-03", "beneficiary": {"part_b": True, "deductible_remaining": Decimal(amount)},
           "fee_schedule_override": {"99490": Decimal(amount)}}
    expected = _evaluator().evaluate(api).jsonl
    for spelling in (amount, f"{amount}e0", f"{amount}E+0"):
        text = json_text(api_written(api, spelling))
        for fmt in ("json", "jsonl", "yaml"):
            assert _evaluator().evaluate_text(text, fmt=fmt)[0].jsonl == expected, (spelling, fmt)
        (tmp_path / "in.jsonl").write_text(text + "\n", encoding="utf-8")
        assert batch(tmp_path, str(tmp_path / "in.jsonl"), "--trace", "full", "--jobs", "1") == expected, spelling


def api_written(bundle: dict[str, Any], spelling: str) -> dict[str, Any]:
    return json.loads(json.dumps(bundle, default=lambda _: "@"), object_hook=lambda o: {
        k: Written(spelling) if v == "@" else v for k, v in o.items()})


BAD = {"id": "bad-ü", "month": "2025-02",
       "beneficiary": {"part_b": "yes", "deductible_remaining": Written("10.005"), "dual_stat": "none"},
       "practitioner": {"id": "P1", "kind": "doctor"},
       "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": Written("2e1"), "service": "ccm",
                 "date": "2025-02-30"}, {"minutes": -5, "service": "ccm"}],
       "fee_schedule_override": {"99490": Written("12.345")}}


def problems(line: bytes) -> list[tuple[str, str, str, str | None]]:
    return [(d["code"], d["fact_path"], d["message"], d.get("help")) for d in json.loads(line)["error"]]


def test_an_invalid_bundle_is_said_alike_in_every_format(tmp_path: Path) -> None:
    """Its error record lists the same problems (code, JSON path, message, help) whichever format
    carries it; only the file named differs. A good bundle before it keeps positions honest."""
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    bundles = [{"id": "good", "month": "2025-03"}, BAD]
    written = {"jsonl": "".join(json_text(b) + "\n" for b in bundles), "json": json_text(bundles, indent=" "),
               "yaml": "".join("---\n" + yaml_text(b) for b in bundles), "yml": yaml_text(bundles)}
    found = {}
    for ext, text in written.items():
        (tmp_path / f"in.{ext}").write_text(text, encoding="utf-8")
        found[ext] = problems(batch(tmp_path, str(tmp_path / f"in.{ext}"), "--trace", "none", status=2).splitlines()[1])
        found[f"api {ext}"] = problems(_evaluator().evaluate_text(text, fmt=None)[1].jsonl)
    pq.write_table(pa.table({"bundle": [json_text(b) for b in bundles]}), tmp_path / "in.parquet")
    parquet = batch(tmp_path, str(tmp_path / "in.parquet"), "--trace", "none", status=2)
    found["parquet"] = problems(parquet.splitlines()[1])
    piped = run("evaluate", "--format", "jsonl", "-", stdin=written["yaml"].encode(), status=2)
    found["stdin"] = problems(piped.splitlines()[1])
    expected = found.pop("jsonl")
    assert {path for _, path, _, _ in expected} >= {"$.beneficiary.part_b", "$.time[0].date", "$.time[1].minutes"}
    assert all(problems_of == expected for problems_of in found.values()), found


PRICED = {"id": "priced", "month": "2025-03",
          "beneficiary": {"part_b": True, "dual_status": "none", "medigap_plan": None},
          "practitioner": {"id": "P1", "kind": "physician", "new_patient": False, "last_visit": "2025-01-10"},
          "practice": dict.fromkeys(("certified_ehr", "access_24_7", "continuity_designated_member",
                                     "electronic_care_plan_shared"), True),
          "chronic_conditions": [{"name": n, "icd10": c, "expected_months": 12, "significant_risk": True}
                                 for n, c in (("diabetes", "E11.9"), ("hypertension", "I10"))],
          "consent": {"documented": True, "practitioner": "P1", "date": "2025-01-10", "method": "verbal",
                      "service": "ccm"},
          "care_plan": {"comprehensive": True, "established_or_substantially_revised_this_month": False},
          "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": 25, "service": "ccm"}]}


def reads_of(node: Any, name: str) -> Iterator[Any]:
    if isinstance(node, dict):
        yield from (r["value"] for r in node.get("reads", ()) if r["name"] == name)
        node = list(node.values())
    if isinstance(node, list):
        for child in node:
            yield from reads_of(child, name)


@pytest.mark.parametrize(("written", "read"), [("0.000000000", "0.000000000"), ("2.5e2", "250"), ("1E+1", "10"),
                                               ("66.13", "66.13"), ("0", "0")])
def test_an_amount_read_is_shown_as_positional_decimal_text(written: str, read: str, tmp_path: Path) -> None:
    """The trace's value of an amount is its decimal text without an exponent, in JSON and in the
    why-tree: `0.000000000` was shown as `0E-9` and `1e1` as `1E+1` (str() of the Decimal)."""
    bundle = {**PRICED, "beneficiary": {**PRICED["beneficiary"], "deductible_remaining": Written(written)}}
    path = tmp_path / "in.json"
    path.write_text(json_text(bundle), encoding="utf-8")
    full = run("evaluate", "--format", "jsonl", str(path))
    assert set(reads_of(json.loads(full)["trace"], "beneficiary.deductible_remaining")) == {read}
    assert f"beneficiary.deductible_remaining = {read}\n" in run("evaluate", "--explain", str(path)).decode()
    (tmp_path / "compact.jsonl").write_bytes(run("evaluate", "--format", "jsonl", "--trace", "compact", str(path)))
    assert run("explain", str(tmp_path / "compact.jsonl"), str(path)) == full


HOSTILE = [Written("1.005"), Written("-1"), Written("1e400"), Written("20.0"), Written("2e1"), Written("0.1e-20"),
           Written("123456789012345678"), "2025-02-30", "２０２５-03", "yes", "x" * 2001, "", None, True, [], {},
           {"unknown_kéy": 1}, Written("1e-400"), Written("-0"), Written("-0.0"), Written("0.000000000000000001"),
           "2025-02-29", "\u2028", "x" * 1500, [Written("1"), "a", None]]


def leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        yield (*path, key)
        yield from leaves(item, (*path, key))


@settings(max_examples=EXAMPLES or 25, deadline=None, suppress_health_check=_FAST)
@given(bundle_lists(max_size=3), st.data())
def test_a_spoilt_bundle_is_said_alike_in_every_format(bundles: list[dict[str, Any]], data: st.DataObject) -> None:
    """A generated bundle with a hostile value put at any place: its error record (or decision) is
    the same in every format, only the file named differs."""
    target = bundles[data.draw(st.integers(0, len(bundles) - 1))]
    path = data.draw(st.sampled_from(list(leaves(target))))
    parent = target
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = data.draw(st.sampled_from(HOSTILE))
    written = {"jsonl": "".join(json_text(b) + "\n" for b in bundles), "json": json_text(bundles, indent=" "),
               "yaml": "".join("---\n" + yaml_text(b) for b in bundles), "yml": yaml_text(bundles)}
    found = {fmt: [said(r.jsonl) for r in _evaluator().evaluate_text(text, fmt="yaml" if fmt == "yml" else fmt)]
             for fmt, text in written.items()}
    expected = found.pop("jsonl")
    assert all(records == expected for records in found.values()), (path, found, expected)


def said(line: bytes) -> Any:
    """A record without what names its file."""
    record = json.loads(line)
    record.pop("source", None)
    for problem in record.get("error", ()):
        problem.pop("file", None)
    return record


@pytest.mark.parametrize("number", ["1234567890123456", "-" + "9" * 40, "1" * 4300])
def test_a_whole_number_of_too_many_digits_is_said_alike_in_yaml_and_json(number: str) -> None:
    """YAML refused it at its line, the rest of the bundle unread, and JSON at its path with the
    other problems of the bundle: now both say JSON's record. An int key of many digits is a key
    named as written (it was `found a builtins.int value` from the API, and a limit from YAML)."""
    json_bundle = f'{{"id": "n", "month": "2025-03", "time": [{{"minutes": {number}}}], "fact_bundle": {number}}}'
    yaml_bundle = f"id: n\nmonth: '2025-03'\ntime:\n- minutes: {number}\nfact_bundle: {number}\n"
    said_json = said(_evaluator().evaluate_text(json_bundle, fmt="json")[0].jsonl)
    assert said(_evaluator().evaluate_text(yaml_bundle, fmt="yaml")[0].jsonl) == said_json
    assert {p["fact_path"] for p in said_json["error"]} == {"$.fact_bundle", "$.time[0].minutes"}
    if len(number) < 1024:  # a YAML key of more is not a key (the YAML syntax's own limit)
        key = said(_evaluator().evaluate_text(f"id: k\nmonth: '2025-03'\nfee_schedule_override: {{{number}: 1}}\n",
                                              fmt="yaml")[0].jsonl)
        assert [p["message"] for p in key["error"]] == [
            f"expected a billing code of five letters or digits such as `99490`, found `{int(number)}`"]


@pytest.mark.parametrize("amount", ["-0.0", "-0.00", "-0e0", "-0.0e1"])
def test_a_negative_zero_amount_is_read_alike_in_yaml_and_json(amount: str) -> None:
    """YAML read `-0.0` as 0.0 (it negated the Decimal of the text after the sign, an arithmetic
    operation that drops the sign of a zero) where JSON keeps -0.0: two traces and facts hashes."""
    bundle = {**PRICED, "beneficiary": {**PRICED["beneficiary"], "deductible_remaining": Written(amount)},
              "fee_schedule_override": {"99490": Written(amount)}}
    expected = _evaluator().evaluate_text(json_text(bundle), fmt="json")[0].jsonl
    assert _evaluator().evaluate_text(yaml_text(bundle), fmt="yaml")[0].jsonl == expected
