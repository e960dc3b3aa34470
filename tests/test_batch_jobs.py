"""`batch --jobs N`: the workers' hand-over (cli/batch_pool.py) gives the bytes of one process.

The workers decide chunks of records and write their blocks of lines to the output themselves,
one at a time and in input order; these tests hold that to the output of `--jobs 1` for every
trace form, with error records among the decisions, for any mix of lines and chunk size
(hypothesis), and through the ways a run ends early: SIGTERM, a full disk met by a worker, a
worker that dies. Each leaves only complete lines, counted as the message says, and `--resume`
then gives the bytes of an uninterrupted run.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli import batch_run
from carepolicy.cli.batch_input import RawRecord, Work, records_of
from carepolicy.cli.batch_output import LineWriter
from carepolicy.cli.batch_run import Decider
from carepolicy.cli.common import Setup, prepare
from carepolicy.cli.exit_codes import ExitCode
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_batch import COMMAND, SMOKE, _number, _wait_for_lines, lines, run
from tests.test_trace_forms import _bench_module

HERE = Path(__file__).resolve().parent
BAD_LINES = [
    b"{not json\n",  # a decoding error
    b'{"id": "no-month"}\n',  # a validation error
    b"   \n",  # blank: skipped, no output line
    b'{"id": "lone-\\ud800-surrogate", "month": "2025-01"}\n',  # an id that is not Unicode text
]


def _good_lines(count: int, seed: int = 5) -> list[bytes]:
    bundles = _bench_module().make_bundles(count, seed)
    return [(json.dumps(b, default=_number) + "\n").encode() for b in bundles]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """200 bundles with a bad line after every 23rd: error records fall inside the chunks."""
    out: list[bytes] = []
    for number, line in enumerate(_good_lines(200)):
        out.append(line)
        if number % 23 == 7:
            out.append(BAD_LINES[number % len(BAD_LINES)])
    path = tmp_path_factory.mktemp("mixed") / "mixed.jsonl"
    path.write_bytes(b"".join(out))
    return path


@pytest.mark.parametrize("form", ["compact", "full", "none"])
def test_any_jobs_write_the_bytes_of_one_job_with_error_records_among_them(mixed: Path, tmp_path: Path,
                                                                           form: str) -> None:
    outputs, summaries = [], []
    for jobs in ("1", "2", "3"):
        target = tmp_path / f"out-{jobs}.jsonl"
        result = run("batch", str(mixed), *SMOKE, "--trace", form, "--jobs", jobs, "-o", str(target))
        assert result.exit_code == ExitCode.BAD_INPUT, result.stderr  # the bad lines are error records
        outputs.append(target.read_bytes())
        summaries.append(result.stderr.strip().splitlines()[-1].split(" in ")[0])
        assert not list(tmp_path.glob("*.partial"))
    assert outputs[1] == outputs[0]
    assert outputs[2] == outputs[0]
    assert summaries == [summaries[0]] * 3
    records = lines(outputs[0])
    errors = [r for r in records if "error" in r]
    assert len(records) == 200 + 7  # 9 bad lines, of which 2 are blank (no output line)
    assert len(errors) == 7
    assert summaries[0] == "207 records: 200 decisions, 7 error records"


# --------------------------------------------------------------------------------------------- the hand-over


@pytest.fixture(scope="module")
def setup() -> Setup:
    return prepare(str(HERE / "fixtures" / "policies"), (), None, trace=True)


@pytest.fixture(scope="module")
def pool_of_lines() -> list[bytes]:
    return _good_lines(6, seed=9) + BAD_LINES


def _works(picks: list[int], pool: list[bytes]) -> Iterator[Work]:
    index = 0
    for number, pick in enumerate(picks, start=1):
        line = pool[pick]
        if line.strip():
            yield RawRecord("<mix>", index, number, line)
            index += 1


@settings(max_examples=12, deadline=None)
@given(picks=st.lists(st.integers(min_value=0, max_value=9), min_size=16, max_size=48),  # > jobs x chunk: the pool runs
       chunk=st.integers(min_value=1, max_value=5), jobs=st.integers(min_value=2, max_value=3))
def test_the_hand_over_keeps_every_line_in_order(setup: Setup, pool_of_lines: list[bytes], tmp_path_factory:
                                                 pytest.TempPathFactory, picks: list[int], chunk: int,
                                                 jobs: int) -> None:
    """Workers writing the file, workers sending the lines back (Parquet), and one process agree."""
    expected = b"".join(done.line for done in Decider(setup, "compact", 1).run(_works(picks, pool_of_lines)))
    original = batch_run.CHUNK
    batch_run.CHUNK = chunk  # small chunks: many hand-overs, and the pool starts on a few records
    try:
        back = Decider(setup, "compact", jobs)
        returned = b"".join(done.line for done in back.run(_works(picks, pool_of_lines)))
        back.close()
        path = tmp_path_factory.mktemp("handover") / "out.jsonl"
        writer = LineWriter(str(path))
        writer.begin(0, 0)
        direct = Decider(setup, "compact", jobs, writer)
        counted = 0
        for done in direct.run(_works(picks, pool_of_lines)):
            counted += done.count
            if done.line:
                writer.add(done.line, done.count)
        direct.close()
        writer.flush()
        writer.close()
    finally:
        batch_run.CHUNK = original
    assert returned == expected
    assert path.read_bytes() == expected
    assert counted == writer.written == expected.count(b"\n")


# --------------------------------------------------------------------------------------------- early ends


def _reference(claims: Path, tmp_path: Path) -> bytes:
    target = tmp_path / "reference.jsonl"
    assert run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(target)).exit_code == ExitCode.OK
    return target.read_bytes()


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("claims") / "claims.jsonl"
    path.write_bytes(b"".join(_good_lines(1500, seed=11)))
    return path


@pytest.fixture(scope="module")
def reference(claims: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return _reference(claims, tmp_path_factory.mktemp("reference"))


def _resumes_to(reference: bytes, claims: Path, target: Path) -> None:
    resumed = run("batch", str(claims), *SMOKE, "--jobs", "2", "-o", str(target), "--resume")
    assert resumed.exit_code == ExitCode.OK, resumed.stderr
    assert target.read_bytes() == reference


def _stopped_by(message: str, claims: Path, reference: bytes, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> tuple[Any, bytes]:
    """Run `batch --jobs 2` with the failure `monkeypatch` set up; it must stop with `message` and
    no traceback, keeping only complete lines of the reference. (The run and the lines kept.)"""
    target, partial = tmp_path / "out.jsonl", tmp_path / "out.jsonl.partial"
    result = run("batch", str(claims), *SMOKE, "--jobs", "2", "-o", str(target))
    monkeypatch.undo()
    assert result.exit_code == ExitCode.BAD_INPUT
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    kept = partial.read_bytes()
    assert kept.endswith(b"\n") or kept == b""
    assert reference.startswith(kept)
    return result, kept


def test_sigterm_with_two_jobs_keeps_complete_lines_and_resumes(claims: Path, reference: bytes,
                                                                tmp_path: Path) -> None:
    target, partial = tmp_path / "out.jsonl", tmp_path / "out.jsonl.partial"
    process = subprocess.Popen([*COMMAND, "batch", str(claims), *SMOKE, "--jobs", "2", "-o", str(target)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _wait_for_lines(process, partial)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=120)
    assert process.returncode == ExitCode.INTERRUPTED, err.decode()
    kept = partial.read_bytes()
    assert kept.endswith(b"\n")
    assert reference.startswith(kept)
    written = kept.count(b"\n")
    assert f"interrupted by SIGTERM: {written} records of an unknown number" in err.decode()
    _resumes_to(reference, claims, target)


def test_a_full_disk_met_by_a_worker_keeps_complete_lines_and_resumes(claims: Path, reference: bytes,
                                                                      tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    limit = len(reference) // 2
    real = os.pwrite

    def pwrite(fd: int, data: Any, offset: int) -> int:  # forked workers inherit it: a disk that fills up
        room = limit - offset
        if room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, bytes(data[:room]), offset)

    def pwritev(fd: int, buffers: Any, offset: int) -> int:  # the workers write a block's lines with it
        return pwrite(fd, b"".join(buffers), offset)  # what fits, then ENOSPC

    monkeypatch.setattr(os, "pwrite", pwrite)
    monkeypatch.setattr(os, "pwritev", pwritev)
    result, kept = _stopped_by("no space left on device", claims, reference, tmp_path, monkeypatch)
    assert 0 < len(kept) <= limit
    written = kept.count(b"\n")
    assert f"{written} records of an unknown number" in result.stderr
    _resumes_to(reference, claims, tmp_path / "out.jsonl")


def test_a_worker_that_dies_is_a_clear_error_and_the_run_resumes(claims: Path, reference: bytes, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real = batch_run.decide_chunk

    def dies_on_the_fifth_chunk(chunk: list[Work]) -> tuple[list[bytes], int, tuple[Any, ...]]:
        if any(isinstance(record, RawRecord) and record.index == 4 * batch_run.CHUNK
               for work in chunk for record in records_of(work)):
            os._exit(9)  # as if killed: no message, no clean-up
        return real(chunk)

    monkeypatch.setattr(batch_run, "decide_chunk", dies_on_the_fifth_chunk)
    message = "a worker process ended unexpectedly (exit status 9)"
    result, kept = _stopped_by(message, claims, reference, tmp_path, monkeypatch)
    assert "--resume" in result.stderr
    assert kept.count(b"\n") <= 4 * batch_run.CHUNK
    _resumes_to(reference, claims, tmp_path / "out.jsonl")


def test_workers_that_cannot_be_started_are_a_clear_error_and_the_run_resumes(
        claims: Path, reference: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fork refused (a limit on processes: EAGAIN; no memory) was an OSError traceback, exit 1,
    and the worker already started was left to notice its parent had gone."""
    real_fork = os.fork
    forks = 0

    def second_refused() -> int:
        nonlocal forks
        forks += 1
        if forks == 2:
            raise BlockingIOError(errno.EAGAIN, os.strerror(errno.EAGAIN))
        return real_fork()

    monkeypatch.setattr(os, "fork", second_refused)
    message = "cannot start 2 worker processes: resource temporarily unavailable"
    result, kept = _stopped_by(message, claims, reference, tmp_path, monkeypatch)
    assert "--resume" in result.stderr
    assert kept.count(b"\n") == batch_run.CHUNK  # the first chunk, decided before the workers start
    assert f"{batch_run.CHUNK} records of an unknown number" in result.stderr
    _resumes_to(reference, claims, tmp_path / "out.jsonl")


@settings(max_examples=60, deadline=None)
@given(
    block=st.lists(st.binary(max_size=40), max_size=12),
    cuts=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=40),
    offset=st.integers(min_value=0, max_value=30),
)
def test_a_block_written_in_pieces_lands_whole_at_its_offset(block: list[bytes], cuts: list[int], offset: int) -> None:
    """A worker writes a block's lines with `pwritev`, which may write less than asked (a signal,
    a pipe, a nearly full disk): what it did not write is written next, from where it stopped."""
    import tempfile

    from carepolicy.cli import batch_worker

    sizes = itertools.cycle(cuts)  # (`iter(cuts * 100)` ran out: cuts=[1] and a block over 100 bytes)
    real = os.pwrite

    def short_pwritev(fd: int, buffers: Any, at: int) -> int:
        return real(fd, b"".join(bytes(b) for b in buffers)[: next(sizes)], at)

    notes: list[tuple[Any, ...]] = []
    serve = object.__new__(batch_worker.Serve)  # only what _write reads: the file and the reply
    with tempfile.TemporaryFile() as file:
        file.write(b"#" * offset)
        file.flush()
        serve.output = file.fileno()
        serve._send = lambda note, lines=b"": notes.append(note)  # type: ignore[method-assign]
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(os, "pwritev", short_pwritev)
            serve._write(block, offset)
        file.seek(0)
        assert file.read() == b"#" * offset + b"".join(block)
    assert notes == [("written",)]


def test_the_workers_end_when_the_parent_is_killed_and_the_run_resumes(claims: Path, reference: bytes,
                                                                       tmp_path: Path) -> None:
    """SIGKILL (or the OOM killer) ends the parent without a word to its workers. Each worker had
    inherited the parent's end of its own pipe (and of the earlier workers'), so none ever read the
    end of its pipe: they waited forever, each with a policy set in memory, holding the parent's
    stderr open (`batch ... 2>&1 | tee log` never ended)."""
    target, partial = tmp_path / "out.jsonl", tmp_path / "out.jsonl.partial"
    process = subprocess.Popen([*COMMAND, "batch", str(claims), *SMOKE, "--jobs", "2", "-o", str(target)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while (not partial.exists() or partial.read_bytes().count(b"\n") <= 64) and process.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)  # past the first chunk, decided before the workers start: they are writing
        assert process.poll() is None, "the batch ended before it could be killed"
        process.kill()
        process.wait()
        while _group_alive(process.pid):  # the workers, if any is left
            assert time.monotonic() < deadline, "the workers outlived the parent"
            time.sleep(0.01)
    finally:
        if _group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)  # the workers left behind, not to outlive the test
    assert reference.startswith(partial.read_bytes()[: partial.read_bytes().rfind(b"\n") + 1])
    _resumes_to(reference, claims, target)


def test_a_worker_signalled_while_it_starts_serves_on_until_it_is_told_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker is forked with batch's handlers, which only note a signal, and sets its own once it
    runs. A SIGTERM in between (the pool is closed at once when ^C comes as the workers are forked)
    was noted and dropped; the worker then waited for chunks for ever, and the pool's `close()` in
    its join (batch hung). The workers now ignore SIGTERM (a signal to the process group leaves the
    parent to end them) and `close()` ends them with SIGKILL. Here the worker waits, before it runs,
    until its SIGTERM is sent; it then serves on, and ends when it is told to (`finish`)."""
    from carepolicy.cli import batch_pool
    from carepolicy.cli.batch_signals import Stop

    sent, told = os.pipe()
    real_serve = batch_pool.serve

    def once_terminated(*args: Any) -> None:  # in the worker, before it sets its handlers
        os.read(sent, 1)
        real_serve(*args)

    def decide(_chunk: list[Work]) -> tuple[list[bytes], int, tuple[Any, ...]]:
        raise AssertionError("no chunk is sent")

    monkeypatch.setattr(batch_pool, "serve", once_terminated)
    with Stop():  # as in batch: a signal is only noted
        pool = batch_pool.WorkerPool(1, decide, None)
    [worker] = pool._workers
    try:
        worker.process.terminate()  # (it waits, blocked, for the worker's handlers, which ignore it)
        os.write(told, b"x")
        pool.finish()
    finally:
        pool.close()
        os.close(sent)
        os.close(told)
    assert worker.process.exitcode == 0


def _group_alive(group: int) -> bool:
    """Whether a process of the process group `group` still runs (a zombie, ended and waiting for
    PID 1 to reap it, does not: some containers' PID 1 never does)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):  # ended meanwhile
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            return True
    return False
