"""The Python API (`import carepolicy`): the CLI's bytes, errors as values, and many threads at once."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.main import cli
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import carepolicy
from carepolicy.evaluator import Evaluator
from tests.pipeline_data import INVALID, as_read, jsonl, mixed_bundles

BUNDLES = as_read(mixed_bundles(60))


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return carepolicy.load()


@pytest.fixture(scope="module")
def cli_output(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """`carepolicy evaluate --format jsonl` of the bundles: the bytes every layer must give."""
    path = tmp_path_factory.mktemp("api") / "bundles.jsonl"
    path.write_text(jsonl(BUNDLES), encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluate", "--format", "jsonl", str(path)], catch_exceptions=False)
    assert result.exit_code == 2, result.stderr  # the invalid bundles make it 2
    return path, result.stdout_bytes


def test_mappings_give_the_cli_bytes(evaluator: Evaluator, cli_output: tuple[Path, bytes]) -> None:
    path, expected = cli_output
    results = list(evaluator.evaluate_many(BUNDLES, source=str(path)))
    assert b"".join(r.jsonl for r in results) == expected
    assert sum(not r.ok for r in results) == len(INVALID)


def test_text_gives_the_cli_bytes(evaluator: Evaluator, cli_output: tuple[Path, bytes]) -> None:
    path, expected = cli_output
    results = evaluator.evaluate_text(path.read_text(encoding="utf-8"), fmt="jsonl", source=str(path))
    assert b"".join(r.jsonl for r in results) == expected


def test_a_result_is_a_value(evaluator: Evaluator) -> None:
    good, bad = evaluator.evaluate(BUNDLES[0]), evaluator.evaluate({"id": "x", "month": "2025-13"})
    assert good.ok
    assert good.decision is not None
    assert good.diagnostics == ()
    assert good.bundle_id == BUNDLES[0]["id"]
    assert good.to_json_obj() == json.loads(good.jsonl)
    assert not bad.ok
    assert bad.decision is None
    assert [d.code for d in bad.diagnostics] == ["facts/schema"]
    assert bad.diagnostics[0].fact_path == "$.month"
    assert json.loads(bad.jsonl)["error"][0]["message"] == "`2025-13` is not a month `YYYY-MM`"


class _Float64(float):
    """A float as numpy's float64 is one: a float subclass whose repr is not its number (`np.float64(66.13)`)."""

    def __repr__(self) -> str:
        return f"np.float64({float.__repr__(self)})"


def test_a_float_subclass_is_read_as_its_number(evaluator: Evaluator) -> None:
    """A float from a DataFrame is a numpy float64: money given so is the decimal of its shortest
    text, as for a float (before: InvalidOperation from `Decimal("np.float64(66.13)")`)."""
    as_float = evaluator.evaluate({**BUNDLES[0], "fee_schedule_override": {"99490": 66.13}})
    as_float64 = evaluator.evaluate({**BUNDLES[0], "fee_schedule_override": {"99490": _Float64(66.13)}})
    assert as_float64.jsonl == as_float.jsonl
    late = evaluator.evaluate({**BUNDLES[0], "fee_schedule_override": {"99490": _Float64(66.133)}})
    assert [d.message for d in late.diagnostics] == ["`66.133` has more than two decimal places"]


def test_numpy_integers_are_read_as_their_numbers(evaluator: Evaluator) -> None:
    """A mapping from a DataFrame holds numpy ints (`numbers.Integral`, not `int`): each is read as
    its exact int, as a float64 is read as its number; a numpy bool is no bool, and is named by its
    type (its repr, `np.True_`, is no value of a fact file)."""
    import numpy  # a test dependency (pandas, in the test extra): missing, this fails, never skips
    plain = evaluator.evaluate(BUNDLES[0])
    beneficiary = BUNDLES[0]["beneficiary"]
    given = evaluator.evaluate({**BUNDLES[0], "beneficiary": {**beneficiary, "deductible_remaining": numpy.int64(0)}})
    assert given.jsonl == plain.jsonl
    flag = evaluator.evaluate({**BUNDLES[0], "beneficiary": {**beneficiary, "part_b": numpy.bool_(True)}})
    assert [d.message for d in flag.diagnostics] == ["expected true or false, found a `numpy.bool` value"]


def test_a_value_the_reader_trips_on_is_an_error_value(evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever reading one mapping raises (a bug) is that bundle's error value (facts/internal),
    and the bundles after it are still decided: `evaluate_many` must not stop at it."""
    from carepolicy.engine.facts import record_errors

    reader = record_errors.validate_bundle

    def tripping(obj: Any, **options: Any) -> Any:
        if obj.get("id") == "trips":
            raise TypeError("not JSON: a value the reader cannot take")
        return reader(obj, **options)

    monkeypatch.setattr(record_errors, "validate_bundle", tripping)
    results = list(evaluator.evaluate_many([BUNDLES[0], {**BUNDLES[0], "id": "trips"}, BUNDLES[0]]))
    assert [r.ok for r in results] == [True, False, True]
    assert [d.code for d in results[1].diagnostics] == ["facts/internal"]
    assert json.loads(results[1].jsonl)["bundle_id"] == "#2"


def test_unreadable_text_is_one_error_result(evaluator: Evaluator) -> None:
    (result,) = evaluator.evaluate_text('{"month": ', fmt="json", source="posted")
    assert not result.ok
    assert result.bundle_id is None
    assert result.diagnostics[0].code == "facts/syntax"


def test_a_key_that_is_not_text_is_named_and_written(evaluator: Evaluator) -> None:
    """A key that is half a UTF-16 pair (JSON can spell it `\\ud800`, UTF-8 cannot write it) is an
    error value whose line is UTF-8: the diagnostics spell the key as JSON does."""
    given = evaluator.evaluate({"month": "2025-03", "\ud800": 1})
    (read,) = evaluator.evaluate_text('{"month": "2025-03", "beneficiary": {"\\udfff": 1}}', fmt="json")
    (twice,) = evaluator.evaluate_text('{"month": "2025-03", "\\ud800": 1, "\\ud800": 2}\n', fmt="jsonl")
    assert [(d.code, d.fact_path) for d in given.diagnostics] == [("facts/limit", "$['\\\\ud800']")]
    assert [(d.code, d.fact_path) for d in read.diagnostics] == [("facts/limit", "$.beneficiary['\\\\udfff']")]
    assert [(d.code, d.fact_path) for d in twice.diagnostics] == [("facts/duplicate-key", "$['\\\\ud800']")]
    assert twice.diagnostics[0].message == "key `\\ud800` appears twice in one object (first at column 22)"
    for result in (given, read, twice):
        assert json.loads(result.jsonl.decode("utf-8"))["error"] == result.to_json_obj()["error"]


def test_a_source_that_is_not_text_is_escaped_as_batch_writes_it(evaluator: Evaluator) -> None:
    """A file name Python read from bytes that are not UTF-8 holds a lone surrogate (`\\udcff`):
    the error record's line escapes it, as `batch` writes it, instead of raising."""
    result = evaluator.evaluate({"month": "2025-13"}, source="claims-\udcff.json")
    line = result.jsonl
    assert line.isascii()
    assert b'"source":"claims-\\udcff.json"' in line
    assert json.loads(line) == result.to_json_obj()



def test_a_source_given_as_a_path_names_the_bundle_as_its_text(evaluator: Evaluator, tmp_path: Path) -> None:
    """A pipeline passes the file it read the mapping from: the error line names it, as `evaluate_text`
    and the CLI do. (It raised TypeError, and only when a bundle was bad: at `.jsonl`, after the good
    bundles were written.)"""
    path = tmp_path / "claims.json"
    given = evaluator.evaluate({"month": "2025-13"}, source=path)
    (read,) = evaluator.evaluate_text('{"month": "2025-13"}', fmt="json", source=path)
    assert given.jsonl == read.jsonl
    assert json.loads(given.jsonl)["source"] == str(path)
    assert [d.file for d in given.diagnostics] == [str(path)]


@pytest.mark.parametrize(("options", "message"), [
    ({"source": None}, "`source` names the bundles in diagnostics: text or a path, not `None`"),
    ({"source": 123}, "`source` names the bundles in diagnostics: text or a path, not `123`"),
    ({"source": b"claims.json"}, "`source` names the bundles in diagnostics: text or a path, not `b'claims.json'`"),
    ({"index": True}, "`index` is the bundle's position, a whole number from 0, not `True`"),
    ({"index": 1.5}, "`index` is the bundle's position, a whole number from 0, not `1.5`"),
    ({"index": "3"}, "`index` is the bundle's position, a whole number from 0, not `'3'`"),
    ({"index": -1}, "`index` is the bundle's position, a whole number from 0, not `-1`"),
])
def test_a_source_or_index_of_another_kind_is_refused_at_once(evaluator: Evaluator, options: dict[str, Any],
                                                              message: str) -> None:
    """Not a bundle's error (the bundle may be fine) but the caller's: refused on every call, good
    bundle or bad, rather than written as `"file": 123`, a bundle `#2.5`, or raised at `.jsonl`."""
    for bundle in ({"month": "2025-03"}, {"month": "2025-13"}):
        with pytest.raises(TypeError) as raised:
            evaluator.evaluate(bundle, **options)
        assert str(raised.value) == message
    if "source" in options:
        with pytest.raises(TypeError, match="`source` names the bundles"):
            evaluator.evaluate_many([{"month": "2025-03"}], source=options["source"])  # before the first bundle
        with pytest.raises(TypeError, match="`source` names the bundles"):
            evaluator.evaluate_text('{"month": "2025-03"}', fmt="json", source=options["source"])


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=JSON_VALUES)
def test_any_value_gives_a_result_never_an_exception(evaluator: Evaluator, value: Any) -> None:
    result = evaluator.evaluate(value)
    assert json.loads(result.jsonl)  # always one well-formed line
    assert result.ok == (result.decision is not None)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bundle=st.sampled_from(BUNDLES[:20]), key=st.sampled_from(["beneficiary", "practitioner", "time", "consent"]),
       junk=JSON_VALUES)
def test_a_damaged_bundle_is_an_error_value(evaluator: Evaluator, bundle: dict[str, Any], key: str, junk: Any) -> None:
    damaged = {**bundle, key: junk}
    result = evaluator.evaluate(damaged)
    # A list or mapping drawn here may be a valid value (`time: []`, `consent: {}`); no scalar is
    # one (each of the four is a mapping or a list). Without this the property held for an
    # evaluator that called every bundle valid.
    if not isinstance(junk, list | dict):
        assert not result.ok, (key, junk)
    if not result.ok:
        assert all(d.code.startswith("facts/") for d in result.diagnostics)
        assert json.loads(result.jsonl)["error"]


def test_threads_share_one_evaluator() -> None:
    """Eight threads decide the same bundles on one fresh evaluator (so they also race to build each
    month's plan); every thread gets exactly the bytes of one thread alone."""
    shared = carepolicy.load()
    alone = [r.jsonl for r in carepolicy.load().evaluate_many(BUNDLES)]
    numbered = list(enumerate(BUNDLES))
    outputs: list[list[bytes]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(offset: int) -> None:
        try:
            start.wait()
            order = numbered[offset:] + numbered[:offset]  # each thread meets the months in another order
            got = {index: shared.evaluate(bundle, index=index).jsonl for index, bundle in order}
            outputs.append([got[index] for index in range(len(BUNDLES))])
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(7 * i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(outputs) == 8
    for got in outputs:
        assert got == alone


def test_the_months_an_evaluator_keeps_plans_for_are_bounded() -> None:
    """A client chooses the months: 1,200 distinct ones (a request of 24 kB to the service) kept a
    plan each, about 8 kB, for as long as the process lived; 120,000 (0001-01 to 9999-12) were a
    gigabyte. The plans kept are bounded like every other memo table, and a month decided again
    after its plan was let go is decided exactly as before."""
    evaluator = carepolicy.load(trace=False)
    first = evaluator.evaluate({"month": "3000-01"}).jsonl
    for year in range(3000, 3100):
        for month in range(1, 13):
            assert evaluator.evaluate({"month": f"{year}-{month:02d}"}).ok
    assert len(evaluator.policies.compiled._plans) <= 1_024
    assert len(evaluator._planned) <= 1_024
    assert evaluator.evaluate({"month": "3000-01"}).jsonl == first


def test_bad_configuration_raises_policy_error() -> None:
    with pytest.raises(carepolicy.PolicyError, match="unknown switch"):
        carepolicy.load(switches={"no_such_switch": "x"})



@pytest.mark.parametrize("data", [None, 5, {"month": "2025-03"}, ["{}"]])
def test_text_that_is_not_text_is_a_type_error(evaluator: Evaluator, data: Any) -> None:
    """`None` (a NULL column) was read as an empty document, a `facts/syntax` result as if the text
    were bad JSON; a mapping belongs in `evaluate`. Each is the caller's mistake, said as such."""
    with pytest.raises(TypeError, match=r"^`data` is the text of a document \(str or bytes\), not "):
        evaluator.evaluate_text(data, fmt="json")
    with pytest.raises(TypeError, match=r"^`data` is the text of a document"):
        evaluator.iter_text(data, fmt="jsonl")  # at the call, not at the first record


@pytest.mark.parametrize(("switches", "message"), [
    ({None: "relaxed"}, "a switch is named by text, not `None`"),
    ({1: "relaxed", "complex_ccm_care_plan": "relaxed"}, "a switch is named by text, not `1`"),
    ({"complex_ccm_care_plan": None}, "`None` is not an option of switch `complex_ccm_care_plan`"),
    ("complex_ccm_care_plan=relaxed", "`switches` maps switch names to options, not `'complex_ccm_care_plan=relaxed'`"),
])
def test_switches_that_are_not_text_are_a_policy_error(switches: Any, message: str) -> None:
    """A configuration mistake, reported as the others are: not a TypeError from sorting the names."""
    with pytest.raises(carepolicy.PolicyError) as raised:
        carepolicy.load(switches=switches)
    assert [(d.code, d.message) for d in raised.value.diagnostics] == [("usage/switch", message)]


@pytest.mark.parametrize("trace", ["none", "compact", None])
def test_a_trace_that_is_not_true_or_false_is_a_policy_error(trace: Any) -> None:
    """`trace="none"` (the CLI's word) would be true, and every decision would carry the full trace."""
    with pytest.raises(carepolicy.PolicyError, match=f"`trace` is True or False, not `{trace!r}`"):
        carepolicy.load(trace=trace)


def test_importing_the_package_does_not_load_the_engine() -> None:
    script = "import sys, carepolicy, carepolicy.cli.main; print('carepolicy.engine' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd="/tmp")
    assert result.stdout.strip() == "False"
    assert "load" in dir(carepolicy)


def test_the_peers_adapter_imports_resolve() -> None:
    """shared/peers' carepolicy adapter imports the reader's names from the facts package and the
    engine's from `carepolicy.engine`; they are the reader's own, and a misspelt name still fails."""
    import carepolicy.engine.facts as facts
    from carepolicy.engine import evaluate, load_policies, to_json
    from carepolicy.engine.facts import Bundle, BundleError, validate_bundle
    from carepolicy.engine.facts import bundle as bundle_module

    assert (Bundle, BundleError, validate_bundle) == (
        bundle_module.Bundle, bundle_module.BundleError, bundle_module.validate_bundle)
    assert all(callable(fn) for fn in (evaluate, load_policies, to_json))
    with pytest.raises(AttributeError, match="no attribute 'Bundles'"):
        facts.Bundles  # noqa: B018  (the lookup is the test)
