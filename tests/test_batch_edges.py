"""`carepolicy batch` probed as a hostile claim pipeline would: the holes the first round left.

An input given as the partial output (or reached through it), standard input redirected from the
output file, `--resume` over a partial output whose lines were decided from other facts, switches
or fee schedule, and a signal before the first record: each is refused or reported with its exact
outcome, and no input is ever overwritten.
"""

from __future__ import annotations

import errno
import gc
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from click.testing import CliRunner, Result

from tests.test_batch import write_jsonl

HERE = Path(__file__).resolve().parent
SMOKE = ("--policies", str(HERE / "fixtures" / "policies"))
COMMAND = [sys.executable, "-c", "from carepolicy.cli.main import main; main()"]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("claims") / "claims.jsonl", 40)


# --------------------------------------------------------------------------------------------- inputs kept


def test_an_input_that_is_the_partial_output_is_refused_and_kept(claims: Path, tmp_path: Path) -> None:
    """`batch out.jsonl.partial -o out.jsonl` emptied its input (the partial is truncated before any
    line is written), then wrote one "holds no fact bundles" record and renamed it over out.jsonl."""
    partial = tmp_path / "out.jsonl.partial"
    partial.write_bytes(claims.read_bytes())
    result = run("batch", str(partial), *SMOKE, "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"the partial output `{partial}` is the input `{partial}`" in result.stderr
    assert partial.read_bytes() == claims.read_bytes()
    assert not (tmp_path / "out.jsonl").exists()


def test_a_partial_output_linked_to_an_input_is_refused_and_the_input_kept(claims: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(claims.read_bytes())
    (tmp_path / "out.jsonl.partial").symlink_to(source)
    result = run("batch", str(source), *SMOKE, "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"the partial output `{tmp_path / 'out.jsonl.partial'}` is the input `{source}`" in result.stderr
    assert source.read_bytes() == claims.read_bytes()


def test_an_input_that_is_the_parquet_lines_output_is_refused_and_kept(claims: Path, tmp_path: Path) -> None:
    """`batch -o out.parquet` also writes out.lines.parquet: given as an input (a glob over a folder
    of earlier runs), it was replaced by the new lines table at the end of the run."""
    target = tmp_path / "out.parquet"
    assert run("batch", str(claims), *SMOKE, "-o", str(target)).exit_code == ExitCode.OK
    earlier = (tmp_path / "out.lines.parquet").read_bytes()
    result = run("batch", str(tmp_path / "out.lines.parquet"), str(claims), *SMOKE, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"the billable-lines output `{tmp_path / 'out.lines.parquet'}` is the input" in result.stderr
    assert (tmp_path / "out.lines.parquet").read_bytes() == earlier


@pytest.mark.parametrize("command", [["batch", "-"], ["evaluate", "--format", "jsonl", "-"]])
def test_standard_input_read_from_the_output_file_is_refused(claims: Path, tmp_path: Path,
                                                             command: list[str]) -> None:
    """`batch - -o x.jsonl < x.jsonl` replaced its input with the decisions (exit 0); `evaluate`
    the same. Only a real file on stdin can be compared: that is what the subprocess gives."""
    target = tmp_path / "x.jsonl"
    target.write_bytes(claims.read_bytes())
    with target.open("rb") as stdin:
        done = subprocess.run([*COMMAND, *command, *SMOKE, "-o", str(target)], stdin=stdin,
                              capture_output=True, check=False)
    assert done.returncode == ExitCode.BAD_INPUT, done.stderr.decode()
    assert f"the output `{target}` is the file standard input reads (`-`)" in done.stderr.decode()
    assert target.read_bytes() == claims.read_bytes()


def test_standard_input_from_another_file_is_read(claims: Path, tmp_path: Path) -> None:
    with claims.open("rb") as stdin:
        done = subprocess.run([*COMMAND, "batch", "-", *SMOKE, "-o", str(tmp_path / "x.jsonl")], stdin=stdin,
                              capture_output=True, check=False)
    assert done.returncode == ExitCode.OK, done.stderr.decode()
    written = [json.loads(line)["bundle_id"] for line in (tmp_path / "x.jsonl").read_text().splitlines()]
    assert written == [json.loads(line)["id"] for line in claims.read_text().splitlines()]


def _stdin_closed() -> None:
    os.close(0)


def _stdin_write_only() -> None:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 0)


@pytest.mark.parametrize("stdin", [_stdin_closed, _stdin_write_only], ids=["closed", "write-only"])
def test_standard_input_that_cannot_be_read_is_its_error_record_not_a_bug(tmp_path: Path,
                                                                           stdin: Callable[[], None]) -> None:
    """`batch - -o x <&-` (and a standard input open only for writing) wrote an eval/internal error
    record, "internal error: AttributeError: 'NoneType' object has no attribute 'readline'" (or
    "OSError: [Errno 9] Bad file descriptor") with "this is a bug in carepolicy", for an input that
    cannot be read: a facts/io error, as for a file that cannot be read."""
    target = tmp_path / "x.jsonl"
    done = subprocess.run([*COMMAND, "batch", "-", *SMOKE, "-o", str(target)], preexec_fn=stdin,
                          capture_output=True, check=False)
    assert done.returncode == ExitCode.BAD_INPUT, done.stderr.decode()
    [record] = [json.loads(line) for line in target.read_text().splitlines()]
    assert record["bundle_id"] is None
    assert [e["code"] for e in record["error"]] == ["facts/io"]
    assert record["error"][0]["message"].startswith("cannot read `<stdin>`: ")
    assert "bug" not in done.stderr.decode()


def _stdout_closed() -> None:
    os.close(1)


def _stderr_closed() -> None:
    os.close(2)


@pytest.mark.parametrize("closing", [_stdout_closed, _stderr_closed], ids=["stdout", "stderr"])
def test_a_closed_standard_stream_is_not_taken_by_the_output(claims: Path, tmp_path: Path,
                                                             closing: Callable[[], None]) -> None:
    """`batch ... 2>&-` (a daemon's, cron's): the partial output was opened as descriptor 2, and the
    run ended at once with exit 1, nothing decided (Python's `sys.stderr` is None, and what is
    written to descriptor 2 would have gone into the output). `1>&-`: the output was written, then
    "AttributeError: 'NoneType' object has no attribute 'flush'", exit 1. A closed stream is now
    /dev/null."""
    reference = tmp_path / "reference.jsonl"
    assert run("batch", str(claims), *SMOKE, "-o", str(reference)).exit_code == ExitCode.OK
    target = tmp_path / "out.jsonl"
    done = subprocess.run([*COMMAND, "batch", str(claims), *SMOKE, "-o", str(target)], preexec_fn=closing,
                          stdin=subprocess.DEVNULL, capture_output=closing is _stdout_closed, check=False)
    assert done.returncode == ExitCode.OK, done.stderr
    assert target.read_bytes() == reference.read_bytes()
    assert not done.stderr or b"Traceback" not in done.stderr


# --------------------------------------------------------------------------------------------- resume


def _partial_of(inputs: Path, tmp_path: Path, *options: str, lines: int = 10) -> Path:
    """A partial output holding the first `lines` lines of a batch over `inputs` with `options`."""
    done = tmp_path / "done.jsonl"
    result = run("batch", str(inputs), *options, "--jobs", "1", "-o", str(done))
    assert result.exit_code in (ExitCode.OK, ExitCode.BAD_INPUT), result.stderr
    partial = tmp_path / "out.jsonl.partial"
    partial.write_bytes(b"".join(done.read_bytes().splitlines(keepends=True)[:lines]))
    return partial


def _changed(claims: Path, tmp_path: Path, position: int, change: dict[str, object]) -> Path:
    """`claims` with record `position` (from 1) changed, its id kept."""
    rows = [json.loads(line) for line in claims.read_text().splitlines()]
    rows[position - 1].update(change)
    path = tmp_path / "changed.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_resume_refuses_lines_decided_from_other_facts_under_the_same_ids(claims: Path, tmp_path: Path) -> None:
    """A corrected export of the same month keeps its ids: its stale decisions were kept, exit 0."""
    partial = _partial_of(claims, tmp_path, *SMOKE)
    before = partial.read_bytes()
    first = json.loads(claims.read_text().splitlines()[3])
    corrected = _changed(claims, tmp_path, 4, {"beneficiary": {**first["beneficiary"], "part_b": False}})
    result = run("batch", str(corrected), *SMOKE, "-o", str(tmp_path / "out.jsonl"), "--resume")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert (f"cannot resume: line 4 of `{partial}` was decided from other facts than input record 4 "
            f"(`{first['id']}`) holds") in result.stderr
    assert partial.read_bytes() == before  # left as it was
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize(
    ("written_with", "resumed_with"),
    [
        (("--switch", "apcm_communication_technology=separately_billable"), ()),
        ((), ("--switch", "apcm_communication_technology=separately_billable")),
        (("--fee-schedule", str(HERE / "fixtures" / "fees.csv")), ()),
    ],
)
def test_resume_refuses_lines_decided_with_other_switches_or_fees(claims: Path, tmp_path: Path,
                                                                  written_with: tuple[str, ...],
                                                                  resumed_with: tuple[str, ...]) -> None:
    """The policy set and trace form were checked, not the switches or the fee schedule: the file
    mixed two settings without a word (`decision_id` covers both, and the engine version)."""
    partial = _partial_of(claims, tmp_path, *written_with, lines=3)
    result = run("batch", str(claims), *resumed_with, "-o", str(tmp_path / "out.jsonl"), "--resume")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert (f"cannot resume: line 1 of `{partial}` was decided with other switches, another fee schedule or "
            "another engine version than this run's") in result.stderr


def test_resume_refuses_an_error_record_of_a_record_now_valid(claims: Path, tmp_path: Path) -> None:
    broken = _changed(claims, tmp_path, 2, {"month": "2025-13"})
    partial = _partial_of(broken, tmp_path, *SMOKE, lines=5)
    assert b'"code":"facts/schema"' in partial.read_bytes().splitlines()[1]
    result = run("batch", str(claims), *SMOKE, "-o", str(tmp_path / "out.jsonl"), "--resume")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"cannot resume: line 2 of `{partial}` is the error record of an input that was not a valid bundle" \
        in result.stderr


def test_resume_keeps_error_records_of_records_still_invalid(claims: Path, tmp_path: Path) -> None:
    broken = _changed(claims, tmp_path, 2, {"month": "2025-13"})
    reference = tmp_path / "reference.jsonl"
    assert run("batch", str(broken), *SMOKE, "--jobs", "1", "-o", str(reference)).exit_code == ExitCode.BAD_INPUT
    _partial_of(broken, tmp_path, *SMOKE, lines=5)
    result = run("batch", str(broken), *SMOKE, "--jobs", "1", "-o", str(tmp_path / "out.jsonl"), "--resume")
    assert result.exit_code == ExitCode.BAD_INPUT  # (one error record)
    assert "(5 kept from the partial output, 35 decided now)" in result.stderr
    assert (tmp_path / "out.jsonl").read_bytes() == reference.read_bytes()


def test_resume_refuses_an_error_record_of_a_record_now_invalid_in_another_way(claims: Path, tmp_path: Path) -> None:
    """A corrected export whose record is still not a valid bundle, for another reason: its stale
    error record was kept, and the finished file was not what a run over the corrected export writes."""
    partial = _partial_of(_changed(claims, tmp_path, 2, {"month": "2025-13"}), tmp_path, *SMOKE, lines=5)
    before = partial.read_bytes()
    corrected = _changed(claims, tmp_path, 2, {"month": "March 2025"})  # (the same file name: the same source)
    result = run("batch", str(corrected), *SMOKE, "-o", str(tmp_path / "out.jsonl"), "--resume")
    assert result.exit_code == ExitCode.BAD_INPUT
    first = json.loads(claims.read_text().splitlines()[1])["id"]
    assert (f"cannot resume: line 2 of `{partial}` is not the error record of input record 2 (`{first}`) as it "
            "is now: its diagnostics differ") in result.stderr.replace("\n", " ")
    assert partial.read_bytes() == before  # left as it was
    assert not (tmp_path / "out.jsonl").exists()


def test_the_lines_of_an_input_whose_name_is_not_utf8_are_read_back(claims: Path, tmp_path: Path) -> None:
    """An error record names its file; a name that is not UTF-8 (`in\\xff.jsonl`) is written as the JSON
    escape of a lone surrogate (`in\\udcff.jsonl`), which JSON allows and orjson and msgspec refuse.
    `--resume` then refused batch's own partial output ("line 2 ... is not a decision or an error
    record"), `explain` its output ("is not JSON") and `report` the same."""
    broken = _changed(claims, tmp_path, 2, {"month": "2025-13"})
    source = tmp_path / os.fsdecode(b"in\xff.jsonl")
    broken.rename(source)
    reference = tmp_path / "reference.jsonl"
    assert run("batch", str(source), *SMOKE, "--jobs", "1", "-o", str(reference)).exit_code == ExitCode.BAD_INPUT
    assert b"in\\udcff.jsonl" in reference.read_bytes().splitlines()[1]
    _partial_of(source, tmp_path, *SMOKE, lines=5)
    result = run("batch", str(source), *SMOKE, "--jobs", "1", "-o", str(tmp_path / "out.jsonl"), "--resume")
    assert result.exit_code == ExitCode.BAD_INPUT, result.stderr  # (one error record)
    assert "(5 kept from the partial output, 35 decided now)" in result.stderr
    assert (tmp_path / "out.jsonl").read_bytes() == reference.read_bytes()
    explained = run("explain", str(reference), str(source), *SMOKE, "-o", str(tmp_path / "full.jsonl"))
    assert explained.exit_code == ExitCode.OK, explained.stderr
    expanded = (tmp_path / "full.jsonl").read_bytes().splitlines()
    assert len(expanded) == 40  # one per record: the error record written through, escape and all, in its place
    assert expanded[1] == reference.read_bytes().splitlines()[1]
    reported = run("report", str(reference), "--format", "json")
    assert reported.exit_code == ExitCode.OK, reported.stderr
    assert json.loads(reported.stdout)["error_records"] == 1


# --------------------------------------------------------------------------------------------- the summary


def test_quoting_an_error_line_reads_that_line_not_the_whole_input(tmp_path: Path) -> None:
    """The summary quoted an error record's line by reading its whole input file: one bad line at the
    end of a 163 MB input took the batch's peak from 64 MB to 368 MB (a 2,000,000-record input would
    need gigabytes at the very end of the run). Now only the lines quoted are kept, each in part."""
    from carepolicy.cli.reporting import fact_sources
    from carepolicy.engine import Diagnostic
    from carepolicy.engine.source import Span

    path = tmp_path / "in.jsonl"
    line = '{"id": "x", "month": "2025-03", "pad": "' + "p" * 1_500 + '"}\n'
    with path.open("w") as out:
        out.writelines(line for _ in range(20_000))
        out.write('{"id": "last", bad\n')
    assert path.stat().st_size > 30_000_000
    diag = Diagnostic("facts/syntax", "invalid JSON", span=Span(str(path), 20_001, 13, 20_001, 14), file=str(path))
    tracemalloc.start()
    try:
        sources = fact_sources([diag])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sources[str(path)].line(20_001) == '{"id": "last", bad'
    assert sources[str(path)].line(20_000) == ""  # not asked for, not kept
    assert peak < 1_000_000


def test_a_long_line_is_quoted_as_a_window_around_the_span() -> None:
    from carepolicy.engine import Diagnostic, render_text
    from carepolicy.engine.source import SourceFile, Span

    text = "".join(f"{n:07d}," for n in range(200_000))  # 1.6 MB on one line
    column = 1_234_567
    diag = Diagnostic("facts/syntax", "here", span=Span("t.jsonl", 1, column, 1, column + 1))
    header, quoted, caret = render_text([diag], {"t.jsonl": SourceFile("t.jsonl", text)}).splitlines()
    assert header == "t.jsonl:1:1234567: error[facts/syntax]: here"
    assert len(quoted) < 200
    assert quoted.startswith("   1 | …")
    assert quoted.endswith("…")
    assert caret.strip() == "^"
    assert quoted[caret.index("^")] == text[column - 1]


# --------------------------------------------------------------------------------------------- signals


def _writer_once_read(pipe: Path, process: subprocess.Popen[bytes]) -> int:
    """The write end of `pipe`, once `process` has opened it to read (ENXIO until then)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            return os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno != errno.ENXIO:
                raise
            time.sleep(0.01)
    raise AssertionError("the batch never opened the fee schedule")


def interrupted_in_setup(claims: Path, out: Path, how: signal.Signals, *options: str) -> tuple[int, str]:
    """(exit status, stderr) of `batch CLAIMS -o OUT` sent `how` while it is set up: its fee schedule
    is a pipe that no one writes, so the setup waits there until the signal."""
    fees = out.parent / "fees.csv"
    os.mkfifo(fees)
    process = subprocess.Popen([*COMMAND, "batch", str(claims), *SMOKE, "--fee-schedule", str(fees),
                                "-o", str(out), *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    writer = _writer_once_read(fees, process)
    try:
        process.send_signal(how)
        _out, err = process.communicate(timeout=120)
    finally:
        os.close(writer)
    return process.returncode, err.decode()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_the_run_is_set_up_exits_130_and_keeps_the_partial_output(claims: Path, tmp_path: Path,
                                                                                 how: signal.Signals) -> None:
    """Loading the policies takes about a second. A signal then ended the run with click's "Aborted!"
    and exit 1 (SIGINT) or with no word at all, killed (SIGTERM, exit -15), not as documented. The
    fee schedule here is a pipe that no one writes, so the setup waits there until the signal."""
    partial = tmp_path / "out.jsonl.partial"
    partial.write_bytes(b'{"bundle_id":"earlier","error":[],"source":"x"}\n')  # an earlier run's lines
    status, err = interrupted_in_setup(claims, tmp_path / "out.jsonl", how)
    assert status == ExitCode.INTERRUPTED, err
    # the earlier run's line, which this run had not started anew yet (it said "0 records")
    assert err.startswith(f"\ninterrupted by {how.name}: 1 record of an unknown number")
    assert "--resume" in err
    assert "Traceback" not in err
    assert partial.read_bytes() == b'{"bundle_id":"earlier","error":[],"source":"x"}\n'  # not emptied


def test_a_second_signal_while_the_interruption_is_reported_changes_nothing(
        claims: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """^C twice while the policies load: the first stopped the run at once, and the second, while
    the note of the first was written (it counts the lines of the earlier partial output, which can
    take seconds for gigabytes), stopped it again: a `_Interrupted` traceback, exit 1, no hint."""
    from carepolicy.cli import batch_notes

    partial = tmp_path / "out.jsonl.partial"
    partial.write_bytes(b'{"bundle_id":"earlier","error":[],"source":"x"}\n')  # an earlier run's line
    real_count = batch_notes.complete_lines

    def counted_under_a_second_signal(path: str) -> int | None:
        os.kill(os.getpid(), signal.SIGINT)
        return real_count(path)

    def interrupted_while_set_up(*_args: object, **_options: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        raise AssertionError("the signal did not stop the setup")

    monkeypatch.setattr(batch_notes, "complete_lines", counted_under_a_second_signal)
    monkeypatch.setattr("carepolicy.cli.commands.batch.prepare", interrupted_while_set_up)
    result = run("batch", str(claims), *SMOKE, "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == ExitCode.INTERRUPTED, result.stderr
    assert result.stderr.startswith("\ninterrupted by SIGINT: 1 record of an unknown number")
    assert "hint: run the same command with --resume" in result.stderr
    assert partial.read_bytes() == b'{"bundle_id":"earlier","error":[],"source":"x"}\n'


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_signal_while_the_input_is_awaited_stops_the_run(claims: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch, jobs: str) -> None:
    """`producer | batch - -o out`: with the producer idle, batch waits in a read of its input, and
    a signal only set a flag that the next record would see: ^C or SIGTERM did not stop the run
    until the producer wrote again or ended (and then said the whole input was read). Here the input
    is 3 records, then a SIGINT, then a wait for a record that does not come. The 3 records read are
    written with any --jobs (--jobs 2, which gathers 2 x 64 records before the workers start, wrote
    none), and the note says the end of the input was not seen."""
    from carepolicy.cli.batch_input import RawRecord

    lines = claims.read_bytes().splitlines(keepends=True)[:3]

    def idle_producer(_paths: object, _format: object = None, **_options: object) -> Iterator[RawRecord]:
        for index, line in enumerate(lines):
            yield RawRecord(str(claims), index, index + 1, line)
        os.kill(os.getpid(), signal.SIGINT)
        threading.Event().wait(60)  # (the producer, idle; without the fix, the run ends after this)

    monkeypatch.setattr("carepolicy.cli.commands.batch.read_work", idle_producer)
    target = tmp_path / "out.jsonl"
    result = run("batch", "-", *SMOKE, "--jobs", jobs, "-o", str(target))
    assert result.exit_code == ExitCode.INTERRUPTED, result.stderr
    unknown = "of an unknown number (the end of the input was not seen: the signal came while the next record was " \
        "awaited)"
    assert f"interrupted by SIGINT: 3 records {unknown}" in result.stderr
    assert "given the whole input again" in result.stderr
    monkeypatch.undo()
    (tmp_path / "three.jsonl").write_bytes(b"".join(lines))
    assert run("batch", str(tmp_path / "three.jsonl"), *SMOKE, "-o", str(tmp_path / "ref.jsonl")).exit_code == 0
    assert (tmp_path / "out.jsonl.partial").read_bytes() == (tmp_path / "ref.jsonl").read_bytes()


def test_a_parquet_output_is_not_offered_to_resume_and_resume_leaves_it_as_it_is(claims: Path,
                                                                                   tmp_path: Path) -> None:
    """A Parquet output cannot be resumed (a Parquet file cannot be appended to), but an interrupted
    Parquet run said "run the same command with --resume to continue", and `--resume` then emptied
    the partial file, said "no complete line in `out.parquet.partial` to resume from" of a file
    holding every row written so far, and decided every record again."""
    fees = tmp_path / "fees.csv"
    os.mkfifo(fees)
    target, partial = tmp_path / "out.parquet", tmp_path / "out.parquet.partial"
    process = subprocess.Popen([*COMMAND, "batch", str(claims), *SMOKE, "--fee-schedule", str(fees),
                                "-o", str(target)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    writer = _writer_once_read(fees, process)
    try:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=120)
    finally:
        os.close(writer)
    assert process.returncode == ExitCode.INTERRUPTED, err.decode()
    assert "--resume" not in err.decode()
    assert "a Parquet output cannot be resumed" in err.decode()
    kept = b"rows an interrupted run wrote"
    partial.write_bytes(kept)
    result = run("batch", str(claims), *SMOKE, "-o", str(target), "--resume")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "error[usage/output]: a Parquet output cannot be resumed" in result.stderr
    assert partial.read_bytes() == kept
    assert not target.exists()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_the_parquet_writer_is_imported_exits_130(claims: Path, tmp_path: Path,
                                                                 how: signal.Signals) -> None:
    """batch's handlers were put in place only after the output was opened, and opening a Parquet
    output imports pyarrow (half a second): a signal then ended the run with click's "Aborted!"
    (SIGINT, exit 1) or with no word at all (SIGTERM, killed, exit -15). (Sent here as the writer's
    module is imported.)"""
    target, partial = tmp_path / "out.parquet", tmp_path / "out.parquet.partial"
    during_the_import = (
        "import os, sys\n"
        "class Importing:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == 'carepolicy.parquet':\n            os.kill(os.getpid(), {int(how)})\n"
        "        return None\n"
        "sys.meta_path.insert(0, Importing())\n"
        "from carepolicy.cli.main import main; main()"
    )
    done = subprocess.run([sys.executable, "-c", during_the_import, "batch", str(claims), *SMOKE, "-o", str(target)],
                          capture_output=True, check=False, timeout=120)
    err = done.stderr.decode()
    assert done.returncode == ExitCode.INTERRUPTED, err
    assert err.startswith(f"\ninterrupted by {how.name}: 0 records of an unknown number"), err
    assert f"written to {partial}" in err
    assert "a Parquet output cannot be resumed" in err
    assert "Aborted!" not in err
    assert "Traceback" not in err
    assert not target.exists()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_after_the_last_line_still_moves_the_output_into_place(claims: Path, tmp_path: Path,
                                                                         how: signal.Signals) -> None:
    """The handlers were put back as soon as the last record was written, before the partial file
    was renamed: a signal then killed the finished run without a word (SIGTERM, exit -15) or ended
    it with click's "Aborted!" (SIGINT, exit 1), every line written and the output never moved into
    place. (The signal is sent here just before the rename.)"""
    reference = tmp_path / "reference.jsonl"
    assert run("batch", str(claims), *SMOKE, "-o", str(reference)).exit_code == ExitCode.OK
    target = tmp_path / "out.jsonl"
    late = (f"import os; real = os.replace\n"
            f"def replace(a, b, **k):\n    os.kill(os.getpid(), {int(how)}); return real(a, b, **k)\n"
            f"os.replace = replace\n"
            f"from carepolicy.cli.main import main; main()")
    done = subprocess.run([sys.executable, "-c", late, "batch", str(claims), *SMOKE, "-o", str(target)],
                          capture_output=True, check=False)
    assert done.returncode == ExitCode.OK, done.stderr.decode()
    assert target.read_bytes() == reference.read_bytes()
    assert not (tmp_path / "out.jsonl.partial").exists()
    assert "40 records: 40 decisions, 0 error records" in done.stderr.decode()


def _parquet_writer_fails_once(monkeypatch: pytest.MonkeyPatch, step: str, error: OSError) -> None:
    """Arrow's ParquetWriter.STEP raises ERROR once (as Arrow raises a failed write); the other
    file's close and the clean-up then go on as they would."""
    import pyarrow.parquet as pq  # a test dependency: missing, this fails, never skips
    gc.collect()  # an earlier test's writer, collected later, would close through the fake first
    real = getattr(pq.ParquetWriter, step)
    failed: list[bool] = []

    def fail_once(self: object, *args: object) -> object:
        if not failed:
            failed.append(True)
            raise error
        return real(self, *args)

    monkeypatch.setattr(pq.ParquetWriter, step, fail_once)


@pytest.mark.parametrize("step", ["write_batch", "close"])
def test_a_full_disk_under_a_parquet_output_is_worded_as_under_a_jsonl_one(claims: Path, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         step: str) -> None:
    """Arrow raises a full disk as OSError(ENOSPC, "Error writing bytes to file. Detail: [errno 28] No
    space left on device") (as writing to /dev/full does). The message repeated Arrow's text after
    `[Errno 28]`, and a full disk met while rows were written had no "make room" in its help; both
    now say `no space left on device`, with the help a full disk gets at the footers."""
    _parquet_writer_fails_once(monkeypatch, step, OSError(
        errno.ENOSPC, "Error writing bytes to file. Detail: [errno 28] No space left on device"))
    result = run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(tmp_path / "out.parquet"))
    assert result.exit_code == ExitCode.BAD_INPUT
    partial = tmp_path / "out.parquet.partial"
    assert result.stderr.startswith(
        f"{partial}: error[usage/output]: cannot write `{partial}`: no space left on device\n"
        "  help: make room, then run the same command again; a Parquet output cannot be resumed "
        "(a Parquet file cannot be appended to)\n"), result.stderr
    assert "Errno" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_parquet_close_failing_for_another_reason_does_not_say_make_room(claims: Path, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The footers failing with an I/O error (not a full disk) got the full disk's "make room"."""
    _parquet_writer_fails_once(monkeypatch, "close", OSError(
        errno.EIO, "Error writing bytes to file. Detail: [errno 5] Input/output error"))
    result = run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(tmp_path / "out.parquet"))
    assert result.exit_code == ExitCode.BAD_INPUT
    partial = tmp_path / "out.parquet.partial"
    assert result.stderr.startswith(
        f"{partial}: error[usage/output]: cannot write `{partial}`: input/output error\n"
        "  help: a Parquet output cannot be resumed (a Parquet file cannot be appended to): run the same "
        "command again\n"), result.stderr


@pytest.mark.parametrize("which", [0, 1])  # the decisions file, then the lines file
def test_a_parquet_output_that_cannot_be_opened_is_worded_as_the_system_words_it(
        claims: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, which: int) -> None:
    """Arrow's own text ("Failed to open local file ... Detail: [errno 13] Permission denied") was
    the message, and it named the decisions file when the lines file could not be opened."""
    import pyarrow.parquet as pq  # a test dependency: missing, this fails, never skips
    real = pq.ParquetWriter.__init__
    opened: list[object] = []

    def refuse(self: object, where: object, *args: object, **kwargs: object) -> None:
        opened.append(where)
        if len(opened) == which + 1:
            raise OSError(errno.EACCES, f"Failed to open local file '{where}'. Detail: [errno 13] Permission denied")
        real(self, where, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "__init__", refuse)
    result = run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(tmp_path / "out.parquet"))
    assert result.exit_code == ExitCode.BAD_INPUT
    refused = [tmp_path / "out.parquet.partial", tmp_path / "out.lines.parquet.partial"][which]
    assert f"cannot write `{refused}`: permission denied\n" in result.stderr, result.stderr
    assert "Detail" not in result.stderr
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------------------------- one line each


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_any_exception_while_writing_a_decision_is_that_records_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                      jobs: str) -> None:
    """Only TypeError, ValueError, OverflowError and RecursionError were caught: a KeyError from a
    trace writer ended the batch with a traceback (exit 1) and a partial output. (Record 150 of 200:
    with --jobs 2, a worker's; the first 64 are decided before the workers start.)"""
    from carepolicy.engine.decision import json_form

    source = write_jsonl(tmp_path / "in.jsonl", 200)
    real = json_form.to_json_bytes
    failing = json.loads(source.read_text().splitlines()[149])["id"]

    def broken(decision: object, **options: object) -> bytes:
        if getattr(decision, "bundle_id", None) == failing:
            raise KeyError("a trace node")
        return real(decision, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(json_form, "to_json_bytes", broken)
    target = tmp_path / "out.jsonl"
    result = run("batch", str(source), *SMOKE, "--jobs", jobs, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    written = [json.loads(line) for line in target.read_text().splitlines()]
    ids = [json.loads(line)["id"] for line in source.read_text().splitlines()]
    assert [line["bundle_id"] for line in written] == ids
    assert written[149]["error"][0]["code"] == "output/serialise"
    assert written[149]["error"][0]["message"] == "the decision cannot be written as JSON: KeyError: 'a trace node'"
    assert [n for n, line in enumerate(written) if "error" in line] == [149]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_json_lines_saved_as_utf_16_are_one_error_record_in_batch_too(tmp_path: Path, encoding: str) -> None:
    """batch splits JSON Lines itself: 20 records saved as UTF-16 were 21 error lines (the NUL byte
    left of each line break started the next line, and was a line of its own at the end)."""
    source = write_jsonl(tmp_path / "in.jsonl", 20)
    source.write_bytes(source.read_text(encoding="utf-8").encode(encoding))
    target = tmp_path / "out.jsonl"
    result = run("batch", str(source), *SMOKE, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    [line] = [json.loads(line) for line in target.read_text().splitlines()]
    [error] = line["error"]
    assert error["message"].endswith("save it as UTF-8")
    assert "how many it holds is unknown" in error["help"]


@pytest.mark.parametrize("name", ["in.jsonl", "in.jsonl.gz"])
def test_json_lines_compressed_with_gzip_are_one_error_record_that_says_so(tmp_path: Path, name: str) -> None:
    """A gzip-compressed export (named `.jsonl`, or `.jsonl.gz`, whose format is then detected) was
    read as text: as JSON Lines each LF byte of the compressed data ended a "line", and 300 records
    were some hundred error records of `not UTF-8 text`, none saying why. The file is one error
    record that says it is gzip-compressed, and the summary does not count it as one record."""
    plain = write_jsonl(tmp_path / "plain.jsonl", 300)
    source = tmp_path / name
    source.write_bytes(gzip.compress(plain.read_bytes()))
    assert source.read_bytes().count(b"\n") > 1  # (the compressed bytes hold several "lines")
    target = tmp_path / "out.jsonl"
    result = run("batch", str(source), *SMOKE, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    [line] = [json.loads(line) for line in target.read_text().splitlines()]
    [error] = line["error"]
    assert error["message"].startswith("not UTF-8 text (byte 2): it is gzip-compressed; decompress it")
    assert "how many it holds is unknown until it is decompressed" in error["help"]
    assert "1 output record: 0 decisions, 1 error record (1 error record stands for records" in result.stderr


def test_a_signal_to_the_process_group_during_jobs_2_is_an_interruption(tmp_path: Path) -> None:
    """Ctrl-C in a shell, `docker stop` or systemd signal the whole process group. SIGTERM then ended
    the workers too, and the run reported "a worker process ended unexpectedly (exit status -15)",
    exit 2 (bad input), instead of an interruption (exit 130) with the count written."""
    source = write_jsonl(tmp_path / "in.jsonl", 1_500)
    reference = tmp_path / "reference.jsonl"
    assert run("batch", str(source), *SMOKE, "--jobs", "1", "-o", str(reference)).exit_code == ExitCode.OK
    target, partial = tmp_path / "out.jsonl", tmp_path / "out.jsonl.partial"
    process = subprocess.Popen([*COMMAND, "batch", str(source), *SMOKE, "--jobs", "2", "-o", str(target)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while (not partial.exists() or partial.read_bytes().count(b"\n") <= 64) and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)  # past the first chunk, decided before the workers start: they are writing
    os.killpg(process.pid, signal.SIGTERM)
    _out, err = process.communicate(timeout=120)
    kept = partial.read_bytes()
    written = kept.count(b"\n")
    assert process.returncode == ExitCode.INTERRUPTED, err.decode()
    assert f"interrupted by SIGTERM: {written} records" in err.decode()
    assert reference.read_bytes().startswith(kept)
    resumed = run("batch", str(source), *SMOKE, "--jobs", "2", "-o", str(target), "--resume")
    assert resumed.exit_code == ExitCode.OK
    assert target.read_bytes() == reference.read_bytes()


# --------------------------------------------------------------------------------------------- usage errors


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_a_usage_error_after_the_output_is_opened_leaves_no_partial_file(
    claims: Path, tmp_path: Path, suffix: str
) -> None:
    """The output is opened first (an unwritable one is reported before anything is read); an
    unknown switch is found after, when the policies load: the empty partial file went unremoved."""
    result = run("batch", str(claims), *SMOKE, "--switch", "no_such_switch=on", "-o", str(tmp_path / f"out{suffix}"))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "unknown switch `no_such_switch`" in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_a_usage_error_keeps_an_earlier_runs_partial_file(claims: Path, tmp_path: Path) -> None:
    partial = tmp_path / "out.jsonl.partial"
    for kept in (b"", b'{"bundle_id": "a"}\n'):  # an earlier run's, empty or not: `--resume` may want it
        partial.write_bytes(kept)
        result = run("batch", str(claims), *SMOKE, "--switch", "no_such_switch=on", "-o", str(tmp_path / "out.jsonl"))
        assert result.exit_code == ExitCode.BAD_INPUT
        assert partial.read_bytes() == kept


def test_an_output_that_is_a_symlink_is_replaced_and_its_target_left(claims: Path, tmp_path: Path) -> None:
    """As docs/reference/cli.md says: the finished file is renamed over `-o`, the link itself."""
    target, link = tmp_path / "target.jsonl", tmp_path / "link.jsonl"
    target.write_bytes(b"kept\n")
    link.symlink_to(target)
    result = run("batch", str(claims), *SMOKE, "-o", str(link))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert not link.is_symlink()
    assert len(link.read_bytes().splitlines()) == 40
    assert target.read_bytes() == b"kept\n"


@pytest.mark.parametrize("command", ["batch", "evaluate"])
@pytest.mark.parametrize("target", ["smoke.policy", "deeper/new.policy", "sources.registry"])
def test_an_output_in_the_policy_folder_that_would_be_a_policy_file_is_refused(tmp_path: Path, command: str,
                                                                             target: str) -> None:
    """`evaluate --policies pol -o pol/ccm.policy` and `batch` alike overwrote a policy file with
    decisions (exit 0), and the next run found a policy set with errors: an output equal to an
    input file was refused, but one inside the `--policies` folder was not. A `.policy` file or the
    registry there, existing or new, is now a usage error before anything is written."""
    import shutil

    folder = tmp_path / "pol"
    shutil.copytree(HERE / "fixtures" / "policies", folder)
    (folder / "deeper").mkdir()
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    source = write_jsonl(tmp_path / "in.jsonl", 2, seed=4)
    out = folder / target
    extra = ["--format", "jsonl"] if command == "evaluate" else []
    result = CliRunner().invoke(cli, [command, str(source), "--policies", str(folder), *extra, "-o", str(out)])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "error[usage/output]" in result.stderr
    assert f"is a file of the policy folder `{folder}`" in result.stderr
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before
    assert CliRunner().invoke(cli, [command, str(source), "--policies", str(folder), *extra,
                                    "-o", str(folder / "decisions.jsonl")]).exit_code == ExitCode.OK


def test_the_registry_name_refused_as_an_output_is_the_one_the_policies_are_read_with() -> None:
    from carepolicy.cli import output
    from carepolicy.engine.language.registry import REGISTRY_FILE

    assert output._REGISTRY_FILE == REGISTRY_FILE
