"""The compact trace and `carepolicy explain`: a compact decision plus its bundle and the same policy
set give back the full trace byte for byte; anything that does not match is a clear error. Also:
the orjson path of the canonical JSON writes the bytes of the stdlib path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from carepolicy.engine import PolicySet, evaluate, load_fact_file, load_policies
from carepolicy.engine.compile.policy_set import CompiledPolicySet
from carepolicy.engine.decision.json_form import to_json_obj
from carepolicy.engine.evaluation.compact import (
    COMPACT_VERSION,
    DIGITS,
    _marks,
    read_names,
    read_values,
    results_by_position,
)
from carepolicy.engine.facts.reader import Bundle, validate_bundle
from carepolicy.engine.jsontext import canonical_bytes, stdlib_bytes
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.goldens import assert_golden
from tests.test_batch import write_jsonl
from tests.test_trace_forms import _bench_module

HERE = Path(__file__).resolve().parent
SMOKE = ("--policies", str(HERE / "fixtures" / "policies"))


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


@pytest.fixture(scope="module")
def shipped() -> PolicySet:
    return load_policies(None)


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("claims") / "claims.jsonl", 80, seed=5)


@pytest.fixture(scope="module")
def outputs(claims: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("out")
    made = {}
    for form in ("full", "compact"):
        made[form] = folder / f"{form}.jsonl"
        result = run("batch", str(claims), "--trace", form, "--jobs", "1", "-o", str(made[form]))
        assert result.exit_code == ExitCode.OK, result.stderr
    return made


def test_explain_gives_back_the_full_trace_byte_for_byte(claims: Path, outputs: dict[str, Path],
                                                         tmp_path: Path) -> None:
    expanded = tmp_path / "expanded.jsonl"
    result = run("explain", str(outputs["compact"]), str(claims), "-o", str(expanded))
    assert result.exit_code == ExitCode.OK, result.stderr
    full = outputs["full"].read_bytes()
    assert expanded.read_bytes() == full
    assert full.count(b"\n") == 80


def test_the_compact_trace_names_the_policy_set_and_what_was_evaluated(outputs: dict[str, Path],
                                                                        shipped: PolicySet) -> None:
    compiled = shipped.compiled
    compact = [json.loads(line) for line in outputs["compact"].read_text(encoding="utf-8").splitlines()]
    full = [json.loads(line) for line in outputs["full"].read_text(encoding="utf-8").splitlines()]
    for small, big in zip(compact, full, strict=True):
        trace = small.pop("trace")
        nodes = big.pop("trace")
        assert small == big  # the decision itself does not depend on the trace form
        _same_content(trace, nodes, compiled)


def _same_content(trace: dict[str, Any], nodes: list[dict[str, Any]], compiled: CompiledPolicySet) -> None:
    """Everything the compact trace holds, read back by position, is what the full trace shows."""
    assert trace["form"] == "compact"
    assert trace["version"] == COMPACT_VERSION
    assert trace["policy_set_hash"] == compiled.policy_hash
    flat = _flatten(nodes)
    named = {(node["kind"], node["id"]): node["result"] for node in flat if node["kind"] in ("rule", "code")}
    assert results_by_position(trace, compiled) == named
    sharing = [node for node in flat if node["kind"] in ("cost sharing", "clause")]
    listed = [trace["results"][DIGITS.index(mark)] for mark in trace.get("cost_sharing", "")]
    assert listed == [node["result"] for node in sharing]
    letters = "".join({"met": "m", "not met": "n", "unknown": "u"}[n["result"]] for n in flat
                      if n["kind"] == "requirement")
    assert trace["requirements"] == letters
    reads = {read["name"]: read["value"] for node in flat for read in node.get("reads", ())}
    assert read_values(trace, compiled) == reads
    assert len(trace["read"]) + len(trace.get("inside", ())) == len(reads)  # each name read once
    assert "reads" not in trace  # the shipped policies' names are all in read_names
    assert set(reads) <= set(read_names(compiled))


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_the_compact_trace_reads_back_for_generated_bundles(shipped: PolicySet, seed: int) -> None:
    for index, item in enumerate(_bench_module().make_bundles(4, seed)):
        bundle = validate_bundle(item, source="<generated>", index=index)
        assert isinstance(bundle, Bundle)
        decision = evaluate(shipped, bundle, trace=True)
        trace = to_json_obj(decision, trace="compact")["trace"]
        _same_content(json.loads(canonical_bytes(trace)), to_json_obj(decision, trace="full")["trace"],
                      shipped.compiled)


@pytest.mark.parametrize("bundle", ["complex-60-min-moderate-mdm", "missing-consent"])
def test_compact_trace_matches_golden(bundle: str) -> None:
    """The form itself, for review: a change to it shows here (and must bump COMPACT_VERSION)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(HERE / "fixtures")
        policies = load_policies("policies")
        found = [b for b in load_fact_file("facts/explain.yaml") if isinstance(b, Bundle) and b.id == bundle]
        trace = to_json_obj(evaluate(policies, found[0], trace=True), trace="compact")["trace"]
    assert_golden(HERE / "golden" / "compact" / f"{bundle}.json", json.dumps(trace, indent=1, sort_keys=True) + "\n")


def test_past_62_distinct_results_positions_are_numbers() -> None:
    # _marks takes each result's index + 1, 0 for not evaluated (so that the numbers are bytes)
    assert _marks([4, 0, 71], 71) == [3, -1, 70]
    assert _marks([4, 0, 62], 62) == "3.Z"
    assert _marks([1, 0, 2], 2) == "0.1"


def _flatten(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for node in nodes:
        out.append(node)
        out.extend(_flatten(node.get("children", [])))
    return out


def test_explain_one_decision_from_stdin_as_text(claims: Path, outputs: dict[str, Path]) -> None:
    line = outputs["compact"].read_text(encoding="utf-8").splitlines()[0]
    result = run("explain", "-", str(claims), "--format", "text", stdin=line)
    assert result.exit_code == ExitCode.OK, result.stderr
    assert result.stdout.startswith(f"Bundle {json.loads(line)['bundle_id']} · service month")
    assert "\nWhy\n" in result.stdout


def test_explain_refuses_another_policy_set(claims: Path, outputs: dict[str, Path]) -> None:
    result = run("explain", str(outputs["compact"]), str(claims), *SMOKE)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "error[explain/mismatch]" in result.stderr
    assert "was made with policy set" in result.stderr
    assert result.stdout == ""


def test_explain_refuses_a_compact_trace_of_another_version(claims: Path, outputs: dict[str, Path]) -> None:
    old = json.loads(outputs["compact"].read_text(encoding="utf-8").splitlines()[0])
    del old["trace"]["version"]  # version 1 had none
    result = run("explain", "-", str(claims), stdin=json.dumps(old))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"has a compact trace of version 1; this carepolicy reads version {COMPACT_VERSION}" in result.stderr
    assert result.stdout == ""


def test_explain_refuses_changed_facts_and_edited_decisions(claims: Path, outputs: dict[str, Path],
                                                            tmp_path: Path) -> None:
    first = json.loads(claims.read_text(encoding="utf-8").splitlines()[0])
    first["beneficiary"]["part_b"] = not first["beneficiary"]["part_b"]
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps(first) + "\n", encoding="utf-8")
    line = outputs["compact"].read_text(encoding="utf-8").splitlines()[0]
    result = run("explain", "-", str(changed), stdin=line)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "is not the one decided: its facts hash, computed now from the bundle, is" in result.stderr

    edited = json.loads(line)
    edited["trace"]["requirements"] = "n" + edited["trace"]["requirements"][1:]
    if edited["trace"]["requirements"] == json.loads(line)["trace"]["requirements"]:
        edited["trace"]["requirements"] = "m" + edited["trace"]["requirements"][1:]
    result = run("explain", "-", str(claims), stdin=json.dumps(edited))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "does not give the decision recorded" in result.stderr


def test_explain_reads_the_json_list_evaluate_writes_for_several_bundles(claims: Path, tmp_path: Path) -> None:
    two = tmp_path / "two.jsonl"
    two.write_text("".join(claims.read_text(encoding="utf-8").splitlines(keepends=True)[:2]), encoding="utf-8")
    listed = run("evaluate", str(two), "--format", "json", "--trace", "compact")
    assert listed.exit_code == ExitCode.OK, listed.stderr
    assert isinstance(json.loads(listed.stdout), list)
    lines = run("evaluate", str(two), "--format", "jsonl", "--trace", "compact")
    from_list = run("explain", "-", str(two), stdin=listed.stdout)
    assert from_list.exit_code == ExitCode.OK, from_list.stderr
    assert from_list.stdout == run("explain", "-", str(two), stdin=lines.stdout).stdout
    assert from_list.stdout == run("evaluate", str(two), "--format", "jsonl", "--trace", "full").stdout
    as_text = run("explain", "-", str(two), "--format", "text", stdin=listed.stdout)
    assert as_text.stdout == run("evaluate", str(two), "--explain").stdout  # a blank line between the two
    edited = json.loads(listed.stdout)
    edited[1]["facts_hash"] = "0" * 64
    result = run("explain", "-", str(two), stdin=json.dumps(edited))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith(f"-: bundle `{edited[1]['bundle_id']}`: $[1].facts_hash: error[explain/mismatch]: "
                                    f"bundle `{edited[1]['bundle_id']}` is not the one decided")


def test_explain_says_when_the_bundle_file_cannot_be_read(outputs: dict[str, Path], tmp_path: Path) -> None:
    line = outputs["compact"].read_text(encoding="utf-8").splitlines()[0]
    missing = tmp_path / "no-such.jsonl"
    result = run("explain", "-", str(missing), stdin=line)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == f"{missing}: error[facts/io]: cannot read `{missing}`: no such file\n"
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    result = run("explain", "-", str(empty), stdin=line)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == f"{empty}: error[facts/empty]: `{empty}` holds no fact bundles\n"


def test_explain_drops_a_byte_order_mark_and_names_a_file_not_in_utf8(
    claims: Path, outputs: dict[str, Path], tmp_path: Path
) -> None:
    line = outputs["compact"].read_bytes().split(b"\n")[0] + b"\n"
    marked = tmp_path / "marked.jsonl"
    marked.write_bytes(b"\xef\xbb\xbf" + line)  # as a Windows editor saves it
    result = run("explain", str(marked), str(claims))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert result.stdout == run("explain", "-", str(claims), stdin=line.decode("utf-8")).stdout
    wide = tmp_path / "wide.jsonl"
    wide.write_bytes(line.decode("utf-8").encode("utf-16"))
    result = run("explain", str(wide), str(claims))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (f"{wide}: error[usage/input]: cannot read `{wide}`: not UTF-8 text (byte 1): it is UTF-16 "
                             "(it starts with a UTF-16 byte-order mark); save it as UTF-8\n")


def test_explain_of_no_decisions_is_an_error_not_an_empty_success(claims: Path) -> None:
    result = run("explain", "-", str(claims), stdin="")  # a grep that matched nothing
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stdout == ""
    assert result.stderr == (
        "-: error[usage/input]: `-` holds no decisions\n"
        "  help: give the decisions `evaluate --trace compact` or `batch --trace compact` wrote\n"
    )
    error_record = json.dumps({"bundle_id": "x", "source": "a.jsonl", "error": []})
    result = run("explain", "-", str(claims), stdin=error_record)
    assert result.exit_code == ExitCode.BAD_INPUT
    # written through, as batch writes it (keys sorted, no spaces): one record out for each in (still exit 2)
    assert result.stdout == '{"bundle_id":"x","error":[],"source":"a.jsonl"}\n'
    assert result.stderr.startswith("note: 1 error record written through (no decision to explain; 1 written again as "
                                    "batch writes JSON, not as read)\n-: error[usage/input]")


def test_explain_finds_each_of_two_bundles_with_one_id_by_its_facts(claims: Path, tmp_path: Path) -> None:
    first = json.loads(claims.read_text(encoding="utf-8").splitlines()[0])
    corrected = {**first, "beneficiary": {**first["beneficiary"], "part_b": not first["beneficiary"]["part_b"]}}
    twice = tmp_path / "twice.jsonl"  # a bundle and its correction, one id (batch decides both)
    twice.write_text(json.dumps(first) + "\n" + json.dumps(corrected) + "\n", encoding="utf-8")
    compact = run("evaluate", str(twice), "--format", "jsonl", "--trace", "compact")
    assert compact.exit_code == ExitCode.OK, compact.stderr
    result = run("explain", "-", str(twice), stdin=compact.stdout)
    assert result.exit_code == ExitCode.OK, result.stderr
    assert result.stdout == run("evaluate", str(twice), "--format", "jsonl", "--trace", "full").stdout


@pytest.mark.parametrize(
    ("edit", "path", "message"),
    [
        ({"engine": None, "decision_id": "0" * 32}, "decision_id",
         "was made by carepolicy `null` or with another fee schedule"),
        ({"switches": {"no_such_switch": "on"}}, "switches", ": unknown switch `no_such_switch`"),
        ({"switches": {"complex_ccm_care_plan": 5}}, "switches",
         ": `5` is not an option of switch `complex_ccm_care_plan`"),
    ],
    ids=["engine-not-a-mapping", "unknown-switch", "switch-option-not-text"],
)
def test_explain_refuses_a_hand_edited_decision_without_a_traceback(
    claims: Path, outputs: dict[str, Path], edit: dict[str, Any], path: str, message: str
) -> None:
    edited = json.loads(outputs["compact"].read_text(encoding="utf-8").splitlines()[0])
    edited.update(edit)
    result = run("explain", "-", str(claims), stdin=json.dumps(edited))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith(f"-: bundle `{edited['bundle_id']}`: $.{path}: error[explain/mismatch]: decision "
                                    f"`{edited['bundle_id']}`")
    assert message in result.stderr
    assert result.stdout == ""


def test_explain_of_a_line_that_is_not_an_object_says_so(claims: Path) -> None:
    result = run("explain", "-", str(claims), stdin='["not", "a decision"]\n"text"\n')
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (
        "-:1: $: error[explain/mismatch]: expected a decision (a JSON object), found a list\n"
        "  help: give the decisions `evaluate --trace compact` or `batch --trace compact` wrote\n"
    )


def test_explain_refuses_a_decision_without_a_compact_trace(claims: Path, outputs: dict[str, Path]) -> None:
    line = outputs["full"].read_text(encoding="utf-8").splitlines()[0]
    result = run("explain", "-", str(claims), stdin=line)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "the decision has no compact trace (trace: full)" in result.stderr


def test_evaluate_text_has_no_compact_form(claims: Path) -> None:
    result = run("evaluate", str(claims), "--trace", "compact")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "error[usage/option]: the text form has no compact trace" in result.stderr


# --------------------------------------------------------------------------------------------- canonical JSON


def test_orjson_writes_the_bytes_of_json_dumps_for_generated_decisions(shipped: PolicySet) -> None:
    raw = _bench_module().make_bundles(150, 9)
    for index, item in enumerate(raw):
        bundle = validate_bundle(item, source="<generated>", index=index)
        assert isinstance(bundle, Bundle)
        decision = evaluate(shipped, bundle)
        for form in ("full", "compact", "none"):
            obj = to_json_obj(decision, trace=form)
            assert canonical_bytes(obj) == stdlib_bytes(obj)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES)
def test_canonical_bytes_equal_the_stdlib_for_any_json_value(value: object) -> None:
    try:
        expected = stdlib_bytes(value)
    except UnicodeEncodeError:  # a lone surrogate: not text, and neither path may write it
        with pytest.raises(UnicodeEncodeError):
            canonical_bytes(value)
        return
    assert canonical_bytes(value) == expected
