"""What `batch -o OUT.parquet` leaves on disk when it cannot finish: a Parquet file cannot be resumed,
and one whose footer was never written cannot even be read."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from click.testing import CliRunner, Result

from tests.test_batch import write_jsonl

HERE = Path(__file__).resolve().parent
SMOKE = ("--policies", str(HERE / "fixtures" / "policies"))
FULL = OSError(28, "Error writing bytes to file. Detail: [errno 28] No space left on device")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("fails", ["write_batch", "close"])
def test_a_full_disk_removes_the_partial_files_it_made_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  fails: str) -> None:
    """A full disk left OUT.parquet.partial and OUT.lines.parquet.partial behind: no footer, so no
    reader can open them, `--resume` is refused for Parquet, and they held the very room the help
    asked to make ("make room, then run the same command again"; 1 MB on a 1 MB disk). They are
    removed now, and stderr says so instead of counting records "written" to a file that is gone."""
    source = write_jsonl(tmp_path / "in.jsonl", 5, seed=4)
    real = getattr(pq.ParquetWriter, fails)

    def full(writer: pq.ParquetWriter, *args: object, **kwargs: object) -> None:
        real(writer, *args, **kwargs)
        raise FULL

    monkeypatch.setattr(pq.ParquetWriter, fails, full)
    out = tmp_path / "out.parquet"
    result = run("batch", str(source), *SMOKE, "-o", str(out))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "Traceback" not in result.stderr
    assert f"error[usage/output]: cannot write `{out}.partial`: no space left on device" in result.stderr
    assert "written to" not in result.stderr
    assert (f"{out}.partial and {tmp_path / 'out.lines.parquet.partial'} are removed: a Parquet file cut short "
            "cannot be read, nor resumed") in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.jsonl"]


def test_a_usage_error_leaves_an_earlier_runs_partial_files_as_they_were(tmp_path: Path) -> None:
    """The page says a usage error found while the policies load (an unknown `--switch`) leaves an
    earlier run's partial output as it was. A Parquet run emptied OUT.parquet.partial and its lines
    file when it opened them, and then removed them: the rows an interrupted run had written (a
    signal leaves them closed and readable) were lost to a typo. They are opened for writing only
    when the run begins now; files the run made itself are still removed."""
    source = write_jsonl(tmp_path / "in.jsonl", 5, seed=4)
    out = tmp_path / "out.parquet"
    partial, lines = tmp_path / "out.parquet.partial", tmp_path / "out.lines.parquet.partial"
    for path, text in ((partial, b"rows an interrupted run wrote"), (lines, b"and their lines")):
        path.write_bytes(text)
    result = run("batch", str(source), *SMOKE, "-o", str(out), "--switch", "no_such_switch=on")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "error[usage/switch]" in result.stderr
    assert (partial.read_bytes(), lines.read_bytes()) == (b"rows an interrupted run wrote", b"and their lines")
    partial.unlink()
    lines.unlink()
    assert run("batch", str(source), *SMOKE, "-o", str(out), "--switch", "no_such_switch=on").exit_code == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.jsonl"]
    assert run("batch", str(source), *SMOKE, "-o", str(out)).exit_code == ExitCode.OK
    assert pq.read_table(out).num_rows == 5
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.jsonl", "out.lines.parquet", "out.parquet"]


def test_a_full_disk_after_a_row_group_was_written_is_no_traceback(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A real full disk (a 300 kB tmpfs) met while the second row group was written: the files were
    removed and their writers closed, then the run's cleanup closed the output again, which wrote
    the billable lines of the first group to a closed writer: pyarrow's `assert self.is_open`, a
    traceback and exit 1. A test that fails the very first write never wrote a group before it."""
    import carepolicy.parquet as parquet_module

    # a group is cut by its bytes (16 MB, ~960 decisions with the trace) before its rows (2,048),
    # so the billable lines of the groups written wait for the 2,048th row: here, after 2 rows
    monkeypatch.setattr(parquet_module, "BYTES_PER_GROUP", 1)
    monkeypatch.setattr(parquet_module, "ROWS_PER_BATCH", 2)
    source = write_jsonl(tmp_path / "in.jsonl", 12, seed=4)
    real = pq.ParquetWriter.write_batch
    calls: list[int] = []

    def second_fails(writer: pq.ParquetWriter, *args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise FULL
        real(writer, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_batch", second_fails)
    out = tmp_path / "out.parquet"
    result = CliRunner().invoke(cli, ["batch", str(source), *SMOKE, "-o", str(out), "--jobs", "1"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"error[usage/output]: cannot write `{out}.partial`: no space left on device" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["in.jsonl"]
