"""`carepolicy explain` finds each decision's bundle without holding the bundle file.

It held every valid bundle of BUNDLE (about 6 kB each: some 11 GB for a 2,000,000-record batch
output). A JSON Lines file is now read in step with the decisions, which a batch writes in the
order of its bundles, and an index of where each bundle's line is (not the bundle) is built only
when a decision's bundle is not ahead: decisions out of order or given twice, an id the file does
not hold, facts that changed. Each case below gives what reading the whole file gave.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.explain_bundles import Held, InStep, open_bundles
from carepolicy.engine import Bundle, load_fact_file

from tests.test_batch import write_jsonl
from tests.test_explain_edits import run


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("claims") / "claims.jsonl", 8, seed=7)


def _batch(claims: Path, folder: Path, trace: str) -> list[str]:
    """The lines `batch --trace TRACE` writes for `claims` (line ends kept)."""
    out = folder / f"{trace}.jsonl"
    result = run("batch", str(claims), "--jobs", "1", "--trace", trace, "-o", str(out))
    assert result.exit_code in (ExitCode.OK, ExitCode.BAD_INPUT), result.stderr  # (2: a record was an error)
    return out.read_text(encoding="utf-8").splitlines(keepends=True)


@pytest.fixture(scope="module")
def outputs(claims: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], list[str]]:
    folder = tmp_path_factory.mktemp("out")
    return _batch(claims, folder, "compact"), _batch(claims, folder, "full")


def _explain(tmp_path: Path, decisions: list[str], bundles: Path) -> tuple[int, str, str]:
    path = tmp_path / "decisions.jsonl"
    path.write_text("".join(decisions), encoding="utf-8")
    result = run("explain", str(path), str(bundles))
    return result.exit_code, result.stdout, result.stderr


def test_decisions_out_of_order_given_twice_or_a_few_are_each_expanded(
    claims: Path, outputs: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    compact, full = outputs
    for order in ([*range(8)], [7, 6, 5, 4, 3, 2, 1, 0], [0, 1, 2, 3, 4, 5, 6, 7, 0, 1], [2, 5], [5, 2, 3], [7]):
        code, stdout, stderr = _explain(tmp_path, [compact[i] for i in order], claims)
        assert code == ExitCode.OK, (order, stderr)
        assert stdout == "".join(full[i] for i in order), order


def test_a_bundle_file_read_whole_gives_the_same_output(
    claims: Path, outputs: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    """A JSON document, standard input and a JSON Lines file without an extension (detected) each
    give what the `.jsonl` file gives; only the last is read in step."""
    compact, full = outputs
    order = [3, 0, 7]
    listed = tmp_path / "claims.json"
    listed.write_text("[" + ",".join(claims.read_text(encoding="utf-8").splitlines()) + "]", encoding="utf-8")
    bare = tmp_path / "claims"
    bare.write_bytes(claims.read_bytes())
    decisions = tmp_path / "decisions.jsonl"
    decisions.write_text("".join(compact[i] for i in order), encoding="utf-8")
    for bundles, stdin in ((str(listed), None), (str(bare), None), ("-", claims.read_text(encoding="utf-8"))):
        result = run("explain", str(decisions), bundles, stdin=stdin)
        assert result.exit_code == ExitCode.OK, (bundles, result.stderr)
        assert result.stdout == "".join(full[i] for i in order), bundles
    assert isinstance(open_bundles(str(listed)), Held)
    for path in (bare, claims):
        found = open_bundles(str(path))
        assert isinstance(found, InStep)
        found.close()


def test_an_id_not_in_the_bundle_file_is_refused_after_the_decisions_before_it(
    claims: Path, outputs: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    compact, full = outputs
    lines = claims.read_text(encoding="utf-8").splitlines(keepends=True)
    fewer = tmp_path / "fewer.jsonl"
    fewer.write_text("".join(lines[:3] + lines[4:]), encoding="utf-8")  # the fourth bundle left out
    missing = json.loads(compact[3])["bundle_id"]
    code, stdout, stderr = _explain(tmp_path, compact[:5], fewer)
    assert code == ExitCode.BAD_INPUT
    assert stdout == "".join(full[:3])
    assert stderr == (
        f"{tmp_path / 'decisions.jsonl'}:4: bundle `{missing}`: $.bundle_id: error[explain/mismatch]: "
        f"no bundle in `{fewer}` has the id `{missing}` that the decision names\n  help: give the bundle file the "
        "decision was made from; if it is that file, the decision's `bundle_id` was edited\n")


def test_an_id_not_found_where_a_line_could_not_be_read_says_so(
    claims: Path, outputs: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    """The fourth bundle's line saved as Latin-1: its id cannot be read, and the help blamed the
    decision (`if it is that file, the decision's bundle_id was edited`), not the file (s33 CLI sweep)."""
    compact, _full = outputs
    lines = claims.read_bytes().splitlines(keepends=True)
    spoilt = tmp_path / "spoilt.jsonl"
    spoilt.write_bytes(b"".join([*lines[:3], lines[3].replace(b'"', b'"\xe9', 1), *lines[4:]]))
    missing = json.loads(compact[3])["bundle_id"]
    code, _stdout, stderr = _explain(tmp_path, compact[:5], spoilt)
    assert code == ExitCode.BAD_INPUT
    assert stderr == (
        f"{tmp_path / 'decisions.jsonl'}:4: bundle `{missing}`: $.bundle_id: error[explain/mismatch]: "
        f"no bundle in `{spoilt}` has the id `{missing}` that the decision names; 1 record of it could not be "
        f"read, and it may be one\n  help: see why with `carepolicy evaluate {spoilt}`; if the bundle is not one "
        "of them, give the bundle file the decision was made from; if it is that file, the decision's `bundle_id` "
        "was edited\n")


@pytest.mark.parametrize("suffix", [".jsonl", ".json"], ids=["in-step", "held"])
def test_a_bundle_that_is_no_longer_valid_is_named_so_with_its_file(
    claims: Path, outputs: tuple[list[str], list[str]], tmp_path: Path, suffix: str
) -> None:
    """A bundle edited since into one that is not valid was "no valid bundle `b` in the bundle
    file", help "give the file the decision was made from": the file given was that file."""
    compact, _full = outputs
    bundles = [json.loads(line) for line in claims.read_text(encoding="utf-8").splitlines()]
    bundles[3]["month"] = "2025-13"
    spoilt = tmp_path / f"spoilt{suffix}"
    text = "".join(json.dumps(b) + "\n" for b in bundles) if suffix == ".jsonl" else json.dumps(bundles)
    spoilt.write_text(text, encoding="utf-8")
    code, _stdout, stderr = _explain(tmp_path, compact[:5], spoilt)
    assert code == ExitCode.BAD_INPUT
    assert stderr.endswith(
        f"$.bundle_id: error[explain/mismatch]: bundle `{bundles[3]['id']}` of `{spoilt}` is not valid, so it is "
        f"not the bundle decided\n  help: see its errors with `carepolicy evaluate {spoilt}`\n")


def test_of_two_bundles_with_one_id_the_decided_one_is_found_and_else_the_first_is_named(
    claims: Path, tmp_path: Path
) -> None:
    """A bundle and its correction under one id (batch decides both): each decision, in either
    order, is expanded from the bundle with its facts; a decision of facts the file does not hold
    names the facts hash of the first bundle with its id, as reading the whole file did."""
    first = json.loads(claims.read_text(encoding="utf-8").splitlines()[0])
    part_b = first["beneficiary"]["part_b"]
    corrected = {**first, "beneficiary": {**first["beneficiary"], "part_b": not part_b}}
    twice = tmp_path / "twice.jsonl"
    twice.write_text(json.dumps(first) + "\n" + json.dumps(corrected) + "\n", encoding="utf-8")
    compact, full = _batch(twice, tmp_path, "compact"), _batch(twice, tmp_path, "full")
    for order in ([0, 1], [1, 0], [1, 1, 0]):
        code, stdout, stderr = _explain(tmp_path, [compact[i] for i in order], twice)
        assert code == ExitCode.OK, stderr
        assert stdout == "".join(full[i] for i in order)
    only_corrected = tmp_path / "corrected.jsonl"
    only_corrected.write_text(json.dumps(corrected) + "\n" + json.dumps(corrected) + "\n", encoding="utf-8")
    hashes = [b.facts_hash for b in load_fact_file(only_corrected) if isinstance(b, Bundle)]
    for order in ([0], [1, 0]):  # in step (the first bundle is ahead), and from the index
        code, stdout, stderr = _explain(tmp_path, [compact[i] for i in order], only_corrected)
        assert code == ExitCode.BAD_INPUT
        assert f"bundle `{first['id']}` is not the one decided: its facts hash, computed now from the bundle, is " \
            f"{hashes[0]}; " in stderr


def test_bad_lines_of_the_bundle_file_are_skipped_and_a_bundle_without_an_id_keeps_its_number(
    claims: Path, tmp_path: Path
) -> None:
    """Lines that are not a valid bundle count as records (a bundle without an id is named by its
    number, `#3`), and read again from the index each bundle is still the one read in step."""
    lines = claims.read_text(encoding="utf-8").splitlines(keepends=True)
    anonymous = json.loads(lines[2])
    del anonymous["id"]
    spoilt = tmp_path / "spoilt.jsonl"
    spoilt.write_text("".join(["not json\n", "\n", '{"fact_bundle": 1}\n', json.dumps(anonymous) + "\n", *lines[3:6]]),
                      encoding="utf-8")
    compact, full = _batch(spoilt, tmp_path, "compact"), _batch(spoilt, tmp_path, "full")
    decided = [i for i, line in enumerate(compact) if "error" not in json.loads(line)]
    assert (len(compact), len(decided)) == (6, 4)  # (the two lines that are not a bundle: error records)
    assert json.loads(compact[decided[0]])["bundle_id"] == "#3"
    for order in (decided, decided[::-1]):
        path = tmp_path / "decisions.jsonl"
        path.write_text("".join(compact[i] for i in order), encoding="utf-8")
        result = run("explain", str(path), str(spoilt))
        assert result.exit_code == ExitCode.OK, result.stderr
        assert result.stdout == "".join(full[i] for i in order)
    everything = run("explain", str(tmp_path / "compact.jsonl"), str(spoilt))
    assert everything.exit_code == ExitCode.OK, everything.stderr
    assert everything.stdout == "".join(full)  # the two error records in their places
    assert everything.stderr == "note: 2 error records written through (no decision to explain)\n"


def test_a_byte_order_mark_and_crlf_line_ends_are_read_again_as_they_were_read(
    claims: Path, outputs: tuple[list[str], list[str]], tmp_path: Path
) -> None:
    """The place of the first line starts after the byte-order mark, and a line's CR is read again
    with it: the index gives the bundles reading in step gives."""
    compact, full = outputs
    windows = tmp_path / "windows.jsonl"
    windows.write_bytes(b"\xef\xbb\xbf" + claims.read_bytes().replace(b"\n", b"\r\n"))
    for order in ([*range(8)], [7, 6, 5, 4, 3, 2, 1, 0]):
        code, stdout, stderr = _explain(tmp_path, [compact[i] for i in order], windows)
        assert code == ExitCode.OK, stderr
        assert stdout == "".join(full[i] for i in order)


def test_placed_json_lines_reads_every_kind_of_line_as_iter_records_does(claims: Path, tmp_path: Path) -> None:
    """The same records, and each line read again from its place gives its record again."""
    from carepolicy.engine import FactError, iter_records
    from carepolicy.engine.facts.limits import MAX_RECORD_BYTES
    from carepolicy.engine.facts.records import json_line_at, placed_json_lines

    good = claims.read_bytes().splitlines(keepends=True)
    files = {
        "kinds": b"\xef\xbb\xbf" + good[0] + b"\n  \r\nnot json\r\n" + good[1].replace(b"\n", b"\r\n")
        + b'{"id": 7}\n' + b'{"a": ' + b"1" * MAX_RECORD_BYTES + b"}\n" + good[2].rstrip(b"\n"),
        "utf-16": good[0].decode("utf-8").encode("utf-16"),
        "blank": b"\n \n",
    }
    def either(records: Iterator[Any]) -> list[Any] | tuple[Any, ...]:  # the records, or the file's error
        try:
            return list(records)
        except FactError as error:
            return error.diagnostics

    for label, data in files.items():
        path = tmp_path / f"{label}.jsonl"
        path.write_bytes(data)
        placed = either(placed_json_lines(path))
        assert either(iter_records(path)) == ([r for r, _ in placed] if isinstance(placed, list) else placed), label
        with path.open("rb") as stream:
            for record, place in placed if isinstance(placed, list) else ():
                if place is not None:
                    assert json_line_at(stream, str(path), place, record.index) == record
    assert sum(isinstance(r, Bundle) for r in iter_records(tmp_path / "kinds.jsonl")) == 3


def _live_bundles() -> int:
    gc.collect()
    return sum(isinstance(item, Bundle) for item in gc.get_objects())


@pytest.mark.parametrize("count", [30, 300])
def test_bundles_held_do_not_grow_with_the_bundle_file(count: int, tmp_path: Path) -> None:
    """Counted, not timed: the bundles alive (every `Bundle` the garbage collector tracks) while
    the decisions of a file are found in order, or a few of them, stay at one, the bundle just
    found, for 30 bundles as for 300; reading the file whole holds them all. Out of order, the
    index holds the place of every bundle (four numbers and an id each), and no bundle."""
    path = write_jsonl(tmp_path / "claims.jsonl", count, seed=3)
    wanted = [(b.id, b.facts_hash) for b in load_fact_file(path) if isinstance(b, Bundle)]
    assert len(wanted) == count
    before = _live_bundles()
    checks = {count // 5 * k for k in range(5)} | {count - 1}
    for chosen in (wanted, wanted[::7]):  # every decision, and a grep's few
        found = InStep(str(path))
        seen = []
        for number, (bundle_id, facts_hash) in enumerate(chosen):
            bundle = found.find(bundle_id, facts_hash)
            assert bundle is not None
            assert (bundle.id, bundle.facts_hash) == (bundle_id, facts_hash)
            if number in checks:
                seen.append(_live_bundles() - before)
            del bundle
        assert found.index is None
        assert len(seen) == len(checks & set(range(len(chosen))))
        assert max(seen) <= 1, seen
        found.close()
    backwards = InStep(str(path))
    for bundle_id, facts_hash in wanted[::-1]:
        assert backwards.find(bundle_id, facts_hash) is not None
    assert backwards.index is not None
    assert len(backwards.index) == count
    assert _live_bundles() - before == 0
    backwards.close()
    held = Held(str(path))
    assert _live_bundles() - before == count
    del held


def test_a_bundle_file_changed_while_it_is_read_is_said_so(claims: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "changing.jsonl"
    lines = claims.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines), encoding="utf-8")
    wanted = [(b.id, b.facts_hash) for b in load_fact_file(path) if isinstance(b, Bundle)]
    found = InStep(str(path))
    assert found.find(*wanted[-1]) is not None  # read ahead to the last
    assert found.find(*wanted[0]) is not None  # then from the index
    assert found.index is not None
    path.write_text("".join(lines[1:] + lines[:1]), encoding="utf-8")  # as long, each line elsewhere
    with pytest.raises(click.exceptions.Exit):
        found.find(*wanted[0])
    found.close()
    said = capsys.readouterr().err
    assert said.startswith(f"{path}: error[usage/input]: `{path}` changed while it was read (line 1)\n")
