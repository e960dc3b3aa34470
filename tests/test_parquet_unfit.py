"""A decision the decisions table cannot hold: one record's error row, never the end of the run.

Money in the DECISIONS table is decimal(18, 2): at most 9,999,999,999,999,999.99. A decision is not
bounded so by its type: a `--fee-schedule` with an absurd `allowed` priced a line beyond it. Such
amounts are refused now (at most $100,000), so these tests lift that limit, as the only way left to
make such a decision: the table must still take one, should one come. The JSON Lines output holds
that decision; `batch -o OUT.parquet` ended with an Arrow traceback (exit 1) and left two partial
files, and `evaluate_arrow_batches` raised. Now, as a decision that cannot be written as JSON is,
the record's row is its error row (`output/serialise`), counted as an error record; every other
row is the decision JSON Lines has.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from click.testing import CliRunner, Result

import carepolicy
from carepolicy.arrow import decision_json_line, evaluate_arrow_batches, lines_table
from carepolicy.parquet import lines_path
from tests.test_batch import write_jsonl

HUGE = "99999999999999999999.00"  # 22 digits: beyond decimal(18, 2)
CODES = ("99490", "99439", "99487", "99489", "99491", "99437", "G0556", "G0557", "G0558", "99424", "99426")
RECORDS = 140  # more than 2 workers × 64: `--jobs 2` starts its workers


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("unfit")
    fees = folder / "fees.csv"
    fees.write_text("code,allowed\n" + "".join(f"{code},{HUGE}\n" for code in CODES), encoding="utf-8")
    return write_jsonl(folder / "claims.jsonl", RECORDS, seed=3), fees


@pytest.fixture(autouse=True)
def _fees_unlimited(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fee schedule's values beyond any fee are refused (fee_schedule._beyond): lifted here, as the
    only way to make a decision the table cannot hold. (--jobs workers are forked: they inherit it.)"""
    from carepolicy.engine.evaluation import fee_schedule

    monkeypatch.setattr(fee_schedule, "_beyond", lambda _column, _amount: None)


def _too_large(value: Any) -> bool:
    """Whether a decision's JSON holds an amount decimal(18, 2) cannot (money is text with two decimals)."""
    if isinstance(value, dict):
        return any(_too_large(item) for item in value.values())
    if isinstance(value, list):
        return any(_too_large(item) for item in value)
    return isinstance(value, str) and value.endswith(".00") and value[:-3].isdigit() and Decimal(value) >= 10**16


def test_batch_writes_an_error_row_for_a_decision_the_table_cannot_hold(inputs: tuple[Path, Path],
                                                                        tmp_path: Path) -> None:
    claims, fees = inputs
    as_jsonl = run("batch", str(claims), "--fee-schedule", str(fees), "--jobs", "1", "-o", str(tmp_path / "out.jsonl"))
    assert as_jsonl.exit_code == ExitCode.OK, as_jsonl.stderr
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    unfit = [i for i, line in enumerate(lines) if _too_large(json.loads(line))]
    assert 0 < len(unfit) < RECORDS  # both kinds of record are here

    out = tmp_path / "out.parquet"
    result = run("batch", str(claims), "--fee-schedule", str(fees), "--jobs", "1", "-o", str(out))
    assert result.exit_code == ExitCode.BAD_INPUT, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{RECORDS} records: {RECORDS - len(unfit)} decisions, {len(unfit)} error records in " in result.stderr
    assert "error[output/serialise]" in result.stderr
    rows = pq.read_table(out).to_pylist()
    assert len(rows) == RECORDS
    for index, (row, line) in enumerate(zip(rows, lines, strict=True)):
        assert row["record"] == index
        if index not in unfit:
            assert decision_json_line(row) == line
            continue
        assert (row["status"], row["bundle_id"], row["source"]) == ("error", json.loads(line)["bundle_id"], str(claims))
        (problem,) = json.loads(row["error"])
        assert problem["code"] == "output/serialise"
        assert "decimal(18, 2)" in problem["message"]
        assert HUGE in problem["message"]
    billed = sum(len(json.loads(lines[i])["billable"]) for i in range(RECORDS) if i not in unfit)
    assert pq.read_table(lines_path(out)).num_rows == billed


def test_jobs_two_writes_the_same_rows(inputs: tuple[Path, Path], tmp_path: Path) -> None:
    claims, fees = inputs
    outputs = {}
    for jobs in ("1", "2"):
        outputs[jobs] = tmp_path / f"out-{jobs}.parquet"
        result = run("batch", str(claims), "--fee-schedule", str(fees), "--jobs", jobs, "-o", str(outputs[jobs]))
        assert result.exit_code == ExitCode.BAD_INPUT, result.stderr
    assert outputs["2"].read_bytes() == outputs["1"].read_bytes()
    assert lines_path(outputs["2"]).read_bytes() == lines_path(outputs["1"]).read_bytes()


def test_evaluate_arrow_batches_gives_the_row_its_error(inputs: tuple[Path, Path]) -> None:
    claims, fees = inputs
    evaluator = carepolicy.load(fee_schedule=fees)
    cells = claims.read_text(encoding="utf-8").splitlines()[:20]
    (batch,) = evaluate_arrow_batches(evaluator, [pa.record_batch({"bundle": cells})])
    rows = batch.to_pylist()
    statuses = {row["status"] for row in rows}
    assert statuses == {"decided", "error"}
    for row in rows:
        if row["status"] == "error":
            assert json.loads(row["error"])[0]["code"] == "output/serialise"
            assert row["source"] == "<arrow>"
    assert lines_table(batch).num_rows == sum(len(row["billable"] or ()) for row in rows)


def test_a_decision_that_cannot_be_written_is_its_rows_error_not_the_end_of_the_batch(
        inputs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """`batch` makes a decision whose JSON form fails (a bug in a writer) its record's error record;
    `evaluate_arrow_batches` let the exception out, so one such decision failed the whole batch,
    and in Spark (`decide`) the task and then the job. Now the row is its `output/serialise` error row."""
    import carepolicy.engine

    claims, _fees = inputs
    cells = claims.read_text(encoding="utf-8").splitlines()[:5]
    failing = json.loads(cells[2])["id"]
    real = carepolicy.engine.to_json_obj

    def broken(decision: Any, **options: Any) -> dict[str, Any]:
        if decision.bundle_id == failing:
            raise KeyError("a trace node")
        return real(decision, **options)

    monkeypatch.setattr(carepolicy.engine, "to_json_obj", broken)
    (batch,) = evaluate_arrow_batches(carepolicy.load(), [pa.record_batch({"bundle": cells})])
    rows = batch.to_pylist()
    assert [row["bundle_id"] for row in rows] == [json.loads(cell)["id"] for cell in cells]
    assert [row["status"] for row in rows] == ["decided", "decided", "error", "decided", "decided"]
    (problem,) = json.loads(rows[2]["error"])
    assert (problem["code"], problem["file"], problem["bundle"]) == ("output/serialise", "<arrow>", failing)
    assert problem["message"] == "the decision cannot be written as JSON: KeyError: 'a trace node'"
