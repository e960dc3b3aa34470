"""`carepolicy explain` given decisions edited by hand: each refusal names the file and line, the
bundle and the JSON path of what does not match, with what the decision holds there and what
deciding the bundle again gives.

Before, every edit of the compact trace (a `rules` string cut short, a mark outside the alphabet, a
`read` position of `-1`, a value dropped) said only "deciding bundle `X` again does not give the
decision recorded", so an analyst had to diff two 20 kB lines by eye; a field of the wrong type was
worded in Python (`policy set None`, `version 3; this carepolicy reads version 3` for the text
`"3"`, `no valid bundle `None``); and a key set twice in one object was read with the last value
kept, so a line another reader takes differently was expanded without a word.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.engine.decision.json_diff import MISSING, Difference, difference_text, first_difference
from click.testing import Result

from tests.test_batch import write_jsonl
from tests.test_explain_edits import compact_decisions, run

EDITED = "  help: the decision was changed after it was written\n"


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("claims") / "claims.jsonl", 4, seed=5)


@pytest.fixture(scope="module")
def decision(claims: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return compact_decisions(claims, tmp_path_factory.mktemp("out"))[0]


def _explain_line(claims: Path, tmp_path: Path, line: str, decision: dict[str, Any]) -> Result:
    """`explain` of JSON Lines whose first line is `line`, followed by the unedited `decision`."""
    path = tmp_path / "decisions.jsonl"
    path.write_text(line + "\n" + json.dumps(decision) + "\n", encoding="utf-8")
    return run("explain", str(path), str(claims))


def _edited(decision: dict[str, Any], change: Any) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(decision))
    change(copy)
    return copy


TRACE_EDITS = [  # (what is done to the trace, its JSON path, the phrase that follows "recorded: ")
    (
        "rules cut short",
        lambda t: t.update(rules=t["rules"][:-1]),
        "$.trace.rules",
        lambda t: f"the decision holds text `{t['rules'][:-1]}` where deciding again gives `{t['rules']}`",
    ),
    (
        "a mark outside the alphabet",
        lambda t: t.update(codes="!" + t["codes"][1:]),
        "$.trace.codes",
        lambda t: f"the decision holds text `!{t['codes'][1:]}` where deciding again gives `{t['codes']}`",
    ),
    (
        "a read position of -1",
        lambda t: t["read"].__setitem__(0, -1),
        "$.trace.read[0]",
        lambda t: f"the decision holds `-1` where deciding again gives `{t['read'][0]}`",
    ),
    (
        "a read position as text",
        lambda t: t["read"].__setitem__(0, "7"),
        "$.trace.read[0]",
        lambda t: f"the decision holds text `7` where deciding again gives `{t['read'][0]}`",
    ),
    (
        "a value dropped",
        lambda t: t["values"].pop(),
        "$.trace.values",
        lambda t: (
            f"the decision holds {len(t['values']) - 1} items where deciding again gives {len(t['values'])} items"
        ),
    ),
    (
        "rules missing",
        lambda t: t.pop("rules"),
        "$.trace.rules",
        lambda t: f"the decision has no `rules`, where deciding again gives text `{t['rules']}`",
    ),
    (
        "a key added",
        lambda t: t.update(extra=1),
        "$.trace.extra",
        lambda t: "the decision has `extra`, which deciding again does not give",
    ),
]


@pytest.mark.parametrize(("edit", "path", "phrase"), [e[1:] for e in TRACE_EDITS], ids=[e[0] for e in TRACE_EDITS])
def test_an_edited_compact_trace_is_refused_at_its_json_path(
    claims: Path, decision: dict[str, Any], tmp_path: Path, edit: Any, path: str, phrase: Any
) -> None:
    line = json.dumps(_edited(decision, lambda d: edit(d["trace"])))
    result = _explain_line(claims, tmp_path, line, decision)
    assert result.exit_code == ExitCode.BAD_INPUT
    bundle = decision["bundle_id"]
    assert result.stderr == (
        f"{tmp_path / 'decisions.jsonl'}:1: bundle `{bundle}`: {path}: error[explain/mismatch]: deciding bundle "
        f"`{bundle}` again does not give the decision recorded: {phrase(decision['trace'])}\n" + EDITED
    )
    assert result.stdout == ""


FIELD_EDITS = [  # (what is done to the decision, the JSON path, the message)
    (
        "trace version as text",
        lambda d: d["trace"].update(version="3"),
        "$.trace.version",
        "expected the version of the compact trace (a whole number), found text `3`",
    ),
    (
        "policy set hash null",
        lambda d: d["trace"].update(policy_set_hash=None),
        "$.trace.policy_set_hash",
        "expected the hash of a policy set (text), found `null`",
    ),
    (
        "facts hash missing",
        lambda d: d.pop("facts_hash"),
        "$.facts_hash",
        "expected the hash of the facts decided (text), found nothing",
    ),
    (
        "decision id a number",
        lambda d: d.update(decision_id=7),
        "$.decision_id",
        "expected the decision's id (text), found `7`",
    ),
    (
        "trace as text",
        lambda d: d.update(trace="compact"),
        "$.trace",
        "expected a compact trace (an object with `form` `compact`), found text `compact`",
    ),
]


@pytest.mark.parametrize(("edit", "path", "message"), [e[1:] for e in FIELD_EDITS], ids=[e[0] for e in FIELD_EDITS])
def test_a_field_of_another_type_is_named_in_json_words(
    claims: Path, decision: dict[str, Any], tmp_path: Path, edit: Any, path: str, message: str
) -> None:
    result = _explain_line(claims, tmp_path, json.dumps(_edited(decision, edit)), decision)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith(
        f"{tmp_path / 'decisions.jsonl'}:1: bundle `{decision['bundle_id']}`: {path}: error[explain/mismatch]: "
        f"{message}\n"
    )
    assert "None" not in result.stderr


@pytest.mark.parametrize("bundle_id", [None, 5], ids=["null", "a-number"])
def test_a_bundle_id_that_is_not_text_is_named_so(
    claims: Path, decision: dict[str, Any], tmp_path: Path, bundle_id: object
) -> None:
    result = _explain_line(claims, tmp_path, json.dumps(dict(decision, bundle_id=bundle_id)), decision)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith(
        f"{tmp_path / 'decisions.jsonl'}:1: $.bundle_id: error[explain/mismatch]: expected the id of the bundle "
        f"decided (text), found `{json.dumps(bundle_id)}`\n"
    )


def test_a_key_set_twice_is_refused_even_when_the_last_value_is_the_one_decided(
    claims: Path, decision: dict[str, Any], tmp_path: Path
) -> None:
    """`"billable": [{"code": "G9999", ...}], ..., "billable": [the real lines]`: a reader that keeps
    the first value bills G9999; explain kept the last, found it equal, and expanded the line."""
    real = json.dumps(decision, sort_keys=True)
    forged = '{"month": "1999-01", ' + real[1:]  # the real month follows, and wins in a JSON reader
    result = _explain_line(claims, tmp_path, forged, decision)
    assert result.exit_code == ExitCode.BAD_INPUT, result.stdout
    assert result.stderr == (
        f"{tmp_path / 'decisions.jsonl'}:1: bundle `{decision['bundle_id']}`: $.month: error[explain/mismatch]: "
        "key `month` appears twice in one object\n"
        "  help: keep the one value that is meant: a JSON reader would keep the last without a word\n"
    )
    assert result.stdout == ""
    listed = run("explain", "-", str(claims), stdin="[" + real + ", " + forged + "]")
    assert listed.exit_code == ExitCode.BAD_INPUT
    assert listed.stderr.startswith(f"-: bundle `{decision['bundle_id']}`: $[1].month: error[explain/mismatch]: key")


def test_a_last_line_cut_short_says_it_may_be_an_unfinished_output(claims: Path, decision: dict[str, Any]) -> None:
    line = json.dumps(decision)
    result = run("explain", "-", str(claims), stdin=line + "\n" + line[:300])  # as a running batch's .partial
    assert result.exit_code == ExitCode.BAD_INPUT
    # the column of that line: orjson's `line 1 column 301` named another line
    assert result.stderr.startswith("-: error[usage/input]: line 2 of `-` is not JSON: unexpected end of data at "
                                    "column 301\n")
    assert "  help: the last line has no line end: it may be cut short (a batch still running" in result.stderr
    edited = run("explain", "-", str(claims), stdin=line + "\n" + "{nope}\n")  # not cut: a line that is not JSON
    assert "cut short" not in edited.stderr


def test_an_indented_json_list_cut_short_is_named_where_it_ends(claims: Path, decision: dict[str, Any],
                                                                 tmp_path: Path) -> None:
    """An indented list (as `evaluate --format json` writes several) cut short was read line by line
    once not JSON as a whole, and refused as `line 1 is not JSON: unexpected end of data at column
    2`, of its `[`: the document is refused where it ends, and said to be perhaps cut short."""
    text = json.dumps([decision, decision], indent=2)
    cut = text[: len(text) - 40]
    path = tmp_path / "decisions.json"
    path.write_text(cut, encoding="utf-8")
    result = run("explain", str(path), str(claims))
    assert result.exit_code == ExitCode.BAD_INPUT
    last = cut.rsplit("\n", 1)[1]
    assert result.stderr == (
        f"{path}: error[usage/input]: `{path}` is not JSON: unexpected end of data at line {cut.count(chr(10)) + 1}, "
        f"column {len(last) + 1}\n"
        "  help: the file ends before its JSON does: it may be cut short; give the whole file\n")
    assert result.stdout == ""


def test_first_difference_compares_json_not_python_values() -> None:
    assert first_difference({"a": [1, 2]}, {"a": [1, 2]}) is None
    assert first_difference({"a": [1, True]}, {"a": [1, 1]}) == Difference(("a", 1), True, 1)
    assert first_difference({"b": 1.0, "a": 1}, {"a": 1, "b": 1}) == Difference(("b",), 1.0, 1)
    assert first_difference({"a": 1}, {"a": 1, "b": None}) == Difference(("b",), MISSING, None)
    deep: object = []
    for _ in range(5_000):  # deeper than the recursion limit: compared only as far as the expected value goes
        deep = [deep]
    assert first_difference({"a": deep}, {"a": "x"}) == Difference(("a",), deep, "x")
    long_a, long_b = "m" * 70 + "n", "m" * 70 + "o"
    assert difference_text(Difference(("r",), long_a, long_b)) == (
        "the decision holds text that differs at character 71: `n` where deciding again gives `o`"
    )


def test_a_decisions_header_is_checked_apart_from_its_bundle(decision: dict[str, Any]) -> None:
    """`expand` reads the recorded decision's header (its compact trace's form, version and policy
    set, the bundle id and facts hash) in one helper, before any bundle is looked up: the ids it
    gives are the decision's own, and a trace of another policy set is refused at its hash."""
    from carepolicy.cli.commands.explain import _Mismatch, _recorded
    from carepolicy.cli.common import prepare

    setup = prepare(None, (), None, trace=True)
    assert _recorded(decision, setup) == (decision["bundle_id"], decision["facts_hash"])
    other = {**decision, "trace": {**decision["trace"], "policy_set_hash": "0" * 64}}
    with pytest.raises(_Mismatch) as refused:
        _recorded(other, setup)
    assert refused.value.parts == ("trace", "policy_set_hash")
    with pytest.raises(_Mismatch) as refused:
        _recorded({**decision, "trace": None}, setup)
    assert refused.value.parts == ("trace",)
