"""`carepolicy explain` given the Parquet output of `batch` (`-o OUT.parquet`) as DECISION.

It read DECISION as JSON text only: a Parquet output, the table a pipeline keeps, was refused as
`cannot read `OUT.parquet`: not UTF-8 text (byte 8)`, with no way forward. Each row is now rebuilt
as the line batch writes for it (`carepolicy.arrow.decision_json_line`) and expanded as that line
is: byte for byte what `batch --trace full` writes, error rows included, an edit named by its row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from carepolicy.cli.exit_codes import ExitCode

from tests.test_batch import write_jsonl
from tests.test_explain_edits import run


def claims_with_errors(folder: Path, seed: int, *, not_json: bool = False) -> Path:
    """Six bundles, the third made invalid (an error record, in every output); with `not_json`, a
    line that is not JSON after it too (a second)."""
    path = write_jsonl(folder / "claims.jsonl", 6, seed=seed)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = json.dumps({**json.loads(lines[2]), "month": "2025-13"})
    if not_json:
        lines.insert(4, "not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def batch_with_errors(claims: Path, out: Path, *options: str) -> Path:
    """`batch` of `claims` to `out`, one job: exit 2, for its error records."""
    result = run("batch", str(claims), "--jobs", "1", *options, "-o", str(out))
    assert result.exit_code == ExitCode.BAD_INPUT, result.stderr
    return out


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return claims_with_errors(tmp_path_factory.mktemp("claims"), 11)


_batch = batch_with_errors


def test_a_parquet_output_is_expanded_row_by_row_as_its_json_lines_would_be(claims: Path, tmp_path: Path) -> None:
    decisions = _batch(claims, tmp_path / "decisions.parquet")
    full = _batch(claims, tmp_path / "full.jsonl", "--trace", "full").read_text(encoding="utf-8").splitlines(True)
    result = run("explain", str(decisions), str(claims))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert result.stdout == "".join(full)  # the error row written through, in its place
    assert len(full) == 6
    assert "note: 1 error record written through" in result.stderr


def test_an_edited_row_is_named_by_its_row(claims: Path, tmp_path: Path) -> None:
    table = pq.read_table(_batch(claims, tmp_path / "decisions.parquet"))
    ids = table.column("decision_id").to_pylist()
    ids[3] = "0" * 32
    edited = tmp_path / "edited.parquet"
    pq.write_table(table.set_column(table.schema.get_field_index("decision_id"), "decision_id", pa.array(ids)), edited)
    result = run("explain", str(edited), str(claims))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith(f"{edited}:row 4: bundle `")
    assert "$.decision_id: error[explain/mismatch]" in result.stderr
    assert result.stdout.count("\n") == 3  # rows 1 and 2, and row 3, the error row, written through


def test_a_parquet_file_that_is_not_a_decision_table_is_named_so(claims: Path, tmp_path: Path) -> None:
    bundles = tmp_path / "bundles.parquet"
    pq.write_table(pa.table({"bundle": claims.read_text(encoding="utf-8").splitlines()}), bundles)
    result = run("explain", str(bundles), str(claims))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"`{bundles}` is not a decision table `batch` wrote: it has no column `status`" in result.stderr
    text = tmp_path / "text.parquet"
    text.write_text('{"bundle_id": "a"}\n', encoding="utf-8")
    result = run("explain", str(text), str(claims))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "it holds JSON text, not Parquet: name it `.jsonl` or `.json`" in result.stderr
    result = run("explain", str(tmp_path / "missing.parquet"), str(claims))
    assert f"cannot read `{tmp_path / 'missing.parquet'}`: no such file or directory" in result.stderr


@pytest.mark.parametrize("damage", ["cut short", "footer"])
def test_a_damaged_parquet_decision_table_says_how_it_is_damaged(claims: Path, tmp_path: Path, damage: str) -> None:
    """A decision table cut short (a copy that did not finish) or with a damaged footer got Arrow's
    `Parquet magic bytes not found in footer` and the help to give batch's decision table, which
    it was: the help now says what is wrong with the file, as `batch` says it of a bundles file."""
    data = _batch(claims, tmp_path / "decisions.parquet").read_bytes()
    damaged = tmp_path / "damaged.parquet"
    if damage == "cut short":
        damaged.write_bytes(data[: len(data) // 2])
        said = "the file was cut short"
    else:  # the footer's length, the 4 bytes before the closing PAR1, made larger than the file
        damaged.write_bytes(data[:-8] + (len(data) * 2).to_bytes(4, "little") + b"PAR1")
        said = "the index of its rows that Parquet keeps at its end (the footer) cannot be read"
    result = run("explain", str(damaged), str(claims))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"cannot read `{damaged}`" in result.stderr
    assert said in result.stderr
    assert "give the decisions `batch -o OUT.parquet" not in result.stderr


def test_the_lines_table_or_the_bundles_given_as_decision_say_what_to_give(claims: Path, tmp_path: Path) -> None:
    """The two Parquet files beside the decisions: the lines table (OUT.lines.parquet) and the
    bundles. Each got the help to give batch's decision table, not which file that is."""
    out = batch_with_errors(claims, tmp_path / "out.parquet")
    result = run("explain", str(tmp_path / "out.lines.parquet"), str(claims))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "it is the table of billable lines `batch` writes beside its decisions" in result.stderr
    assert f"give the decisions, `{out}`" in result.stderr
    bundles = tmp_path / "bundles.parquet"
    pq.write_table(pa.table({"bundle": claims.read_text(encoding="utf-8").splitlines()}), bundles)
    result = run("explain", str(bundles), str(out))  # the arguments the wrong way round
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "it holds fact bundles: give it as BUNDLE, after the decisions" in result.stderr
