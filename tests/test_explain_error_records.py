"""`carepolicy explain` writes one record for each record of DECISION, error records included.

It skipped the error records batch writes for input records with no decision, so its output had a
line fewer for each, and a pipeline matching output lines to input lines by position drifted after
the first. Each error record is now written through in its place (the bytes read when they are
the canonical line batch writes, else that line written again from the values read, and said so),
so `explain` of a batch's compact output is byte for byte its `--trace full` output. Also: a
decision whose facts hash is not its bundle's was told "the facts changed", though the line itself
may have been edited; the help now says the hashes cannot tell which, and an id no bundle has is
named as such. And a Parquet DECISION is read in small slices of the columns the line needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from carepolicy.cli import explain_parquet
from carepolicy.cli.exit_codes import ExitCode

from tests.test_explain_edits import run
from tests.test_explain_parquet import batch_with_errors, claims_with_errors


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six bundles, the third made invalid and a line that is not JSON after it: two error records."""
    return claims_with_errors(tmp_path_factory.mktemp("claims"), 13, not_json=True)


_batch = batch_with_errors


@pytest.fixture(scope="module")
def outputs(claims: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("out")
    return {"compact": _batch(claims, folder / "compact.jsonl"), "full": _batch(claims, folder / "full.jsonl",
            "--trace", "full"), "parquet": _batch(claims, folder / "compact.parquet")}


NOTE = "note: 2 error records written through (no decision to explain)\n"


@pytest.mark.parametrize("form", ["compact", "parquet"])
def test_each_error_record_is_written_in_its_place(outputs: dict[str, Path], claims: Path, form: str) -> None:
    result = run("explain", str(outputs[form]), str(claims))
    assert result.exit_code == ExitCode.OK, result.stderr
    full = outputs["full"].read_text(encoding="utf-8")
    assert result.stdout == full  # one line per record, error records included: byte for byte
    assert len(result.stdout.splitlines()) == 7
    assert [i for i, line in enumerate(result.stdout.splitlines()) if '"error":' in line] == [2, 4]
    assert result.stderr == NOTE


def test_an_error_record_rewritten_by_another_tool_is_written_as_batch_writes_it(
    outputs: dict[str, Path], claims: Path, tmp_path: Path
) -> None:
    lines = outputs["compact"].read_text(encoding="utf-8").splitlines()
    lines[2] = json.dumps(json.loads(lines[2]), indent=None)  # spaces after `:` and `,`
    spaced = tmp_path / "spaced.jsonl"
    spaced.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run("explain", str(spaced), str(claims))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert result.stdout == outputs["full"].read_text(encoding="utf-8")
    assert result.stderr == ("note: 2 error records written through (no decision to explain; 1 written again as "
                             "batch writes JSON, not as read)\n")


def test_an_error_record_naming_a_file_that_is_not_utf8_is_written_byte_for_byte(claims: Path) -> None:
    record = {"bundle_id": None, "source": "in\udcff.jsonl",
              "error": [{"code": "facts/io", "message": "cannot read", "severity": "error", "file": "in\udcff.jsonl"}]}
    line = json.dumps(record, sort_keys=True, separators=(",", ":"))  # as batch writes it: escaped
    result = run("explain", "-", str(claims), stdin=line + "\n")
    assert result.stdout == line + "\n"
    assert result.exit_code == ExitCode.BAD_INPUT  # (no decision in it: see below)
    as_text = run("explain", "-", str(claims), "--format", "text", stdin=line + "\n")
    assert as_text.stdout == "File · not evaluated: 1 problem in in\\udcff.jsonl\n  error[facts/io]: cannot read\n"


def test_only_error_records_are_written_through_and_still_exit_2(outputs: dict[str, Path], claims: Path) -> None:
    errors = [line for line in outputs["compact"].read_text(encoding="utf-8").splitlines(True) if '"error":' in line]
    result = run("explain", "-", str(claims), stdin="".join(errors))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stdout == "".join(errors)
    assert result.stderr == NOTE + (
        "-: error[usage/input]: `-` holds no decisions, only 2 error records (written through)\n"
        "  help: give the decisions `evaluate --trace compact` or `batch --trace compact` wrote\n")


def test_the_text_form_shows_each_error_record_in_its_place(outputs: dict[str, Path], claims: Path) -> None:
    result = run("explain", str(outputs["compact"]), str(claims), "--format", "text")
    assert result.exit_code == ExitCode.OK, result.stderr
    blocks = result.stdout.split("\n\nBundle ")
    assert len(blocks) == 7
    assert blocks[2].startswith("b000002 · not evaluated: 1 problem in ")
    assert "\n  error[facts/schema]: `2025-13` is not a month `YYYY-MM`" in blocks[2]
    assert blocks[4].startswith("#5 · not evaluated: 1 problem in ")


@pytest.mark.parametrize(("change", "path", "message"), [
    (lambda r: r.update(month="2025-03"), "$.month", "found key `month` too"),
    (lambda r: r.update(source=3), "$.source", "expected the file of an error record (text), found `3`"),
    (lambda r: r.update(error="bad"), "$.error", "expected the problems of an error record (a list), found text"),
    (lambda r: r["error"][0].pop("message"), "$.error[0].message", "expected the diagnostic's `message` (text), "
     "found nothing"),
])
def test_a_record_with_error_that_is_not_an_error_record_is_refused(
    outputs: dict[str, Path], claims: Path, change: Any, path: str, message: str
) -> None:
    record = json.loads(outputs["compact"].read_text(encoding="utf-8").splitlines()[2])
    change(record)
    result = run("explain", "-", str(claims), stdin=json.dumps(record) + "\n")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stdout == ""
    assert f": {path}: error[explain/mismatch]: " in result.stderr
    assert message in result.stderr
    assert "help: the error record was changed after batch wrote it" in result.stderr


def _decision(outputs: dict[str, Path], number: int) -> dict[str, Any]:
    decision: dict[str, Any] = json.loads(outputs["compact"].read_text(encoding="utf-8").splitlines()[number])
    return decision


BOTH_HELP = ("  help: either the bundle was changed after the decision was made, or the decision's `facts_hash` or "
             "`bundle_id` was edited: the two hashes cannot tell which; give the bundle file the decision was made "
             "from, or decide the bundle again\n")


def test_an_edited_facts_hash_names_both_hashes_and_does_not_blame_the_facts(
    outputs: dict[str, Path], claims: Path
) -> None:
    decision = _decision(outputs, 1)
    bundle_hash, decision["facts_hash"] = decision["facts_hash"], "0" * 64
    result = run("explain", "-", str(claims), stdin=json.dumps(decision) + "\n")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (
        f"-: bundle `{decision['bundle_id']}`: $.facts_hash: error[explain/mismatch]: bundle `{decision['bundle_id']}`"
        f" is not the one decided: its facts hash, computed now from the bundle, is {bundle_hash}; the decision "
        f"records {'0' * 64}\n" + BOTH_HELP)


def test_a_bundle_id_edited_to_another_bundles_gets_the_same_help(outputs: dict[str, Path], claims: Path) -> None:
    decision, other = _decision(outputs, 1), _decision(outputs, 3)
    decision["bundle_id"] = other["bundle_id"]
    result = run("explain", "-", str(claims), stdin=json.dumps(decision) + "\n")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"is {other['facts_hash']}; the decision records {_decision(outputs, 1)['facts_hash']}\n" in result.stderr
    assert result.stderr.endswith(BOTH_HELP)


def test_a_bundle_id_no_bundle_has_is_named(outputs: dict[str, Path], claims: Path) -> None:
    decision = _decision(outputs, 1)
    decision["bundle_id"] = "pt-nobody"
    result = run("explain", "-", str(claims), stdin=json.dumps(decision) + "\n")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr == (  # (the file holds a line that is not JSON: the bundle may be that one, s33)
        f"-: bundle `pt-nobody`: $.bundle_id: error[explain/mismatch]: no bundle in `{claims}` has the id "
        "`pt-nobody` that the decision names; 1 record of it could not be read, and it may be one\n"
        f"  help: see why with `carepolicy evaluate {claims}`; if the bundle is not one of them, give the bundle "
        "file the decision was made from; if it is that file, the decision's `bundle_id` was edited\n")


def test_a_parquet_decision_is_read_in_small_slices_of_the_columns_needed(
    outputs: dict[str, Path], claims: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Arrow's defaults read each column chunk whole (a row group's worth), 256 rows decoded at
    once on a thread per column, and the `record` column the line does not hold: `explain` of a
    20,000-row output peaked at 242 MB, and more as row groups grow (measured in cli.md)."""
    opened: list[dict[str, Any]] = []
    read: list[dict[str, Any]] = []
    real_init, real_iter = pq.ParquetFile.__init__, pq.ParquetFile.iter_batches

    def init(self: pq.ParquetFile, source: Any, **options: Any) -> None:
        opened.append(options)
        real_init(self, source, **options)

    def iter_batches(self: pq.ParquetFile, **options: Any) -> Any:
        read.append(options)
        return real_iter(self, **options)

    monkeypatch.setattr(pq.ParquetFile, "__init__", init)
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", iter_batches)
    result = run("explain", str(outputs["parquet"]), str(claims))
    assert result.stdout == outputs["full"].read_text(encoding="utf-8")
    assert opened == [{"buffer_size": explain_parquet.READ_BUFFER, "pre_buffer": False}]
    assert 0 < explain_parquet.READ_BUFFER <= 1 << 20
    assert len(read) == 1
    assert read[0]["batch_size"] <= 64
    assert read[0]["use_threads"] is False
    assert "record" not in read[0]["columns"]
    assert set(read[0]["columns"]) == set(pq.ParquetFile(outputs["parquet"]).schema_arrow.names) - {"record"}
