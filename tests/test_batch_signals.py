"""`carepolicy batch` stopped by a signal at the edges of a run, with one process and with workers.

Two windows lost lines or a finished run. With `--jobs N`, the chunks the workers had decided while
this process waited for more input (a slow producer) were dropped on a signal, though every record
before them was written. And a signal that came once the last record was decided, or while the end
of the input was read, exited 130 with every line in `OUT.jsonl.partial`, never moved into place.
Each run here is a subprocess that marks (in a file the test polls) the points it passes, so the
signal lands where the test means it to, whatever the machine's speed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.exit_codes import ExitCode

from tests.test_batch import SMOKE, write_jsonl

RECORDS = 320  # with --jobs 2: 2 x 64 gathered, the first 64 decided here, then 4 chunks to the workers
FED = 320  # what the slow producer writes before it falls idle
SOURCE_RECORDS = 400

# Marks, one line a point passed, in $CAREPOLICY_TEST_MARKS: "decided N" when N records are decided
# and handed on (added to the writer here, or a worker's note of a decided chunk sent); and the
# signal ($CAREPOLICY_TEST_SIGNAL) is sent to the batch process at $CAREPOLICY_TEST_AT.
PRELUDE = """
import os, signal, sys
from carepolicy.cli import batch_output, batch_pool, batch_run, batch_worker
from carepolicy.cli.commands import batch as command
MAIN, MARKS = os.getpid(), os.environ["CAREPOLICY_TEST_MARKS"]
AT, HOW = os.environ.get("CAREPOLICY_TEST_AT", ""), int(os.environ.get("CAREPOLICY_TEST_SIGNAL", "2"))
LAST = int(os.environ.get("CAREPOLICY_TEST_LAST", "-1"))

def mark(text):
    with open(MARKS, "a") as marks:
        marks.write(text + "\\n")

real_send = batch_worker.Serve._send
def send(self, note, lines=b""):
    real_send(self, note, lines)
    if note[0] == "decided":
        mark(f"decided {note[1]}")
batch_worker.Serve._send = send

real_add = batch_output.LineWriter.add
def add(self, lines, count=1):
    real_add(self, lines, count)
    mark(f"decided {count}")
batch_output.LineWriter.add = add

if AT == "last decision":  # the last record is being decided (this process: --jobs 1)
    real_decide = batch_run.decide_one
    def decide_one(work, setup, form):
        done = real_decide(work, setup, form)
        if work.index == LAST:
            os.kill(MAIN, HOW)
        return done
    batch_run.decide_one = decide_one
elif AT == "end of input":  # the read that finds the input's end
    real_read = command.read_work
    def read_work(paths, input_format=None, **options):
        yield from real_read(paths, input_format, **options)
        os.kill(MAIN, HOW)
    command.read_work = read_work
elif AT == "read":  # no hook for the signal: the test sends it once enough records are read
    from carepolicy.cli.batch_input import records_in
    real_read = command.read_work
    def read_work(paths, input_format=None, **options):
        for work in real_read(paths, input_format, **options):
            yield work
            mark(f"read {records_in(work)}")  # (once the records are handed on and the next asked for)
    command.read_work = read_work
elif AT == "after the last record":  # every record decided and handed on; the run not yet ended
    real_run = batch_run.Decider.run
    def run(self, works):
        yield from real_run(self, works)
        os.kill(MAIN, HOW)
    batch_run.Decider.run = run

ROOM = int(os.environ.get("CAREPOLICY_TEST_ROOM", "-1"))
if ROOM >= 0:  # a disk that fills up once ROOM bytes are in the output (the workers inherit it)
    import errno
    real_pwritev, real_writev = os.pwritev, os.writev
    def pwritev(fd, buffers, offset):
        data = b"".join(buffers)
        if offset + len(data) <= ROOM:
            return real_pwritev(fd, [data], offset)
        if offset >= ROOM:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_pwritev(fd, [data[:ROOM - offset]], offset)  # what fits, then ENOSPC
    def writev(fd, buffers):  # (this process writes the first chunk, and with --jobs 1 every line)
        done = pwritev(fd, buffers, os.lseek(fd, 0, os.SEEK_CUR))
        os.lseek(fd, done, os.SEEK_CUR)
        return done
    os.pwritev, os.writev = pwritev, writev

HOLD = int(os.environ.get("CAREPOLICY_TEST_HOLD", "-1"))
if HOLD >= 0:  # the worker given the chunk from record HOLD on decides it once $MARKS.release exists
    import time
    real_chunk = batch_run.decide_chunk
    def decide_chunk(chunk):
        if chunk[0].index == HOLD:
            mark("held")
            while not os.path.exists(MARKS + ".release"):
                time.sleep(0.01)
        return real_chunk(chunk)
    batch_run.decide_chunk = decide_chunk
    real_salvage = batch_pool.WorkerPool.salvage
    def salvage(self, *args):
        mark("salvage")
        yield from real_salvage(self, *args)
    batch_pool.WorkerPool.salvage = salvage

from carepolicy.cli.main import main
main()
"""


def _batch(marks: Path, *args: str, at: str = "", how: int = signal.SIGINT, last: int = -1,
           stdin: int | None = None, stderr: int | None = None, group: bool = False,
           **more: int) -> subprocess.Popen[bytes]:
    """`more`: ROOM (bytes before the disk is full), HOLD (the record whose chunk a worker holds)."""
    env = {**os.environ, "CAREPOLICY_TEST_MARKS": str(marks), "CAREPOLICY_TEST_AT": at,
           "CAREPOLICY_TEST_SIGNAL": str(int(how)), "CAREPOLICY_TEST_LAST": str(last),
           **{f"CAREPOLICY_TEST_{name}": str(value) for name, value in more.items()}}
    return subprocess.Popen([sys.executable, "-c", PRELUDE, "batch", *args, *SMOKE], env=env, stdin=stdin,
                            stdout=subprocess.DEVNULL, stderr=stderr if stderr is not None else subprocess.PIPE,
                            start_new_session=group)  # (group: a process group of its own, to signal)


def _decided(marks: Path, what: str = "decided") -> int:
    """How many records the marks say are `what` ("decided", "read")."""
    if not marks.exists():
        return 0
    return sum(int(line.split()[1]) for line in marks.read_text().splitlines() if line.startswith(f"{what} "))


def _marked(marks: Path, text: str) -> bool:
    return marks.exists() and text in marks.read_text().splitlines()


def _wait_until(ready: Callable[[], bool], process: subprocess.Popen[bytes], err: Path) -> None:
    """Until `ready()` (a mark the run wrote); the run must not end meanwhile."""
    deadline = time.monotonic() + 120
    while not ready():
        assert process.poll() is None, err.read_text()
        assert time.monotonic() < deadline, err.read_text()
        time.sleep(0.005)


def _feed_then(source: Path, err: Path, marks: Path, args: Sequence[str], *, fed: int = FED,
               ready: Callable[[], bool], stop: Callable[[subprocess.Popen[bytes]], None],
               **options: Any) -> tuple[int, str]:
    """`producer | batch - ARGS`: the first `fed` records of `source` written to the run's stdin and
    the pipe left open (an idle producer); once `ready()`, `stop(process)` (a signal). The exit
    status and stderr. The pipe is closed only after the run ends: an end of the input before the
    signal would end the run."""
    with open(err, "wb") as errors:
        process = _batch(marks, "-", *args, stdin=subprocess.PIPE, stderr=errors.fileno(), **options)
    assert process.stdin is not None
    try:
        process.stdin.write(b"".join(source.read_bytes().splitlines(keepends=True)[:fed]))
        process.stdin.flush()
        _wait_until(ready, process, err)
        stop(process)
        status = process.wait(timeout=120)
    finally:
        process.stdin.close()
    return status, err.read_text()


def _resumed_from(source: Path, target: Path, jobs: str, kept: int) -> bytes:
    """`batch - --resume` from the whole input (a producer run again): the finished output."""
    with open(source, "rb") as whole:
        resumed = subprocess.run([sys.executable, "-c", "from carepolicy.cli.main import main; main()", "batch",
                                  "-", *SMOKE, "--jobs", jobs, "-o", str(target), "--resume"],
                                 stdin=whole, capture_output=True, check=False)
    assert resumed.returncode == ExitCode.OK, resumed.stderr.decode()
    assert f"({kept} kept from the partial output, {SOURCE_RECORDS - kept} decided now)" in resumed.stderr.decode()
    return target.read_bytes()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("signals") / "in.jsonl", SOURCE_RECORDS)


@pytest.fixture(scope="module")
def reference(source: Path) -> bytes:
    """The uninterrupted output of all of `source`, one process."""
    target = source.parent / "reference.jsonl"
    done = subprocess.run([sys.executable, "-c", "from carepolicy.cli.main import main; main()", "batch",
                           str(source), *SMOKE, "--jobs", "1", "-o", str(target)], capture_output=True, check=False)
    assert done.returncode == ExitCode.OK, done.stderr.decode()
    return target.read_bytes()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_signal_while_a_slow_producer_is_awaited_writes_every_record_decided(
        source: Path, reference: bytes, tmp_path: Path, jobs: str) -> None:
    """`producer | batch - --jobs 2`: the producer writes 320 records and falls idle; the workers
    decide every chunk sent them while this process waits in the read of the next record, and no
    one tells them to write. A SIGINT then wrote only the 64 records decided before the workers
    started (the 256 the workers held were dropped). Every one is written now, as with --jobs 1,
    and `--resume` goes on to the bytes of an uninterrupted run."""
    target, partial, marks = tmp_path / "out.jsonl", tmp_path / "out.jsonl.partial", tmp_path / "marks"
    # every record fed is decided (and its note sent, with workers), then the signal
    status, stderr = _feed_then(source, tmp_path / "err", marks, ["--jobs", jobs, "-o", str(target)],
                                ready=lambda: _decided(marks) >= FED,
                                stop=lambda process: process.send_signal(signal.SIGINT))
    assert status == ExitCode.INTERRUPTED, stderr
    assert f"interrupted by SIGINT: {FED} records of an unknown number" in stderr
    assert partial.read_bytes() == b"".join(reference.splitlines(keepends=True)[:FED])
    assert not target.exists()  # an output that is not complete is never moved into place
    assert _resumed_from(source, target, jobs, FED) == reference
    assert not partial.exists()


@pytest.mark.parametrize(("jobs", "at", "how"), [
    ("1", "after the last record", signal.SIGINT),
    ("2", "after the last record", signal.SIGTERM),
    ("1", "last decision", signal.SIGTERM),
    ("1", "end of input", signal.SIGINT),
])
def test_a_signal_once_every_record_is_written_finishes_the_run(source: Path, reference: bytes, tmp_path: Path,
                                                                jobs: str, at: str, how: signal.Signals) -> None:
    """A signal as the last record is decided, while the read finds the end of the input, or once
    every record is handed on (the workers not yet ended): every line was in `OUT.jsonl.partial`,
    and the run said "interrupted", exit 130, and left it there. The run is complete: it is moved
    into place, summed up and ends as an uninterrupted one, with a note of the signal."""
    target, partial, marks = tmp_path / "out.jsonl", tmp_path / "out.jsonl.partial", tmp_path / "marks"
    process = _batch(marks, str(source), "--jobs", jobs, "-o", str(target), at=at, how=how, last=SOURCE_RECORDS - 1)
    _out, err = process.communicate(timeout=120)
    stderr = err.decode()
    assert process.returncode == ExitCode.OK, stderr
    assert f"note: {how.name} came once every record was written: the run is complete" in stderr
    assert f"{SOURCE_RECORDS} records: {SOURCE_RECORDS} decisions, 0 error records" in stderr
    assert "interrupted" not in stderr
    assert target.read_bytes() == reference
    assert not partial.exists()


def test_a_signal_before_the_end_of_a_pipe_is_seen_is_an_interruption(source: Path, reference: bytes,
                                                                        tmp_path: Path) -> None:
    """From a pipe the end of the input is known only once a read finds it, and a read may wait for
    ever: a signal in that read stops the run (130), with every record read written, and the
    output is not moved into place: `--resume` finishes it. The note said only "the input was not
    read to the end" and "--resume to continue", as though records were left: it now says that the
    end was not seen, and that --resume, given the input again, finishes at once if there was no more."""
    target, partial, marks = tmp_path / "out.jsonl", tmp_path / "out.jsonl.partial", tmp_path / "marks"
    with open(source, "rb") as whole:
        process = _batch(marks, "-", "--jobs", "1", "-o", str(target), at="end of input", stdin=whole.fileno())
        _out, err = process.communicate(timeout=120)
    # (stdin here is the file itself, not a pipe: the end is seen, so the run is complete)
    assert process.returncode == ExitCode.OK, err.decode()
    producer = subprocess.Popen(["cat", str(source)], stdout=subprocess.PIPE)
    assert producer.stdout is not None
    target.unlink()
    process = _batch(marks, "-", "--jobs", "1", "-o", str(target), at="end of input", stdin=producer.stdout.fileno())
    producer.stdout.close()
    _out, err = process.communicate(timeout=120)
    producer.wait(timeout=60)
    assert process.returncode == ExitCode.INTERRUPTED, err.decode()
    # what is known, no more: every record read is written, the end was not seen (the producer may
    # have been ended by the same ^C, its output cut short: the end it then gives is not trusted)
    assert f"interrupted by SIGINT: {SOURCE_RECORDS} records of an unknown number {AWAITED} written" in err.decode()
    assert "given the whole input again" in err.decode()
    assert "is written when the input ends (at once, if there was no more)" in err.decode()
    assert partial.read_bytes() == reference
    assert not target.exists()
    assert _resumed_from(source, target, "1", SOURCE_RECORDS) == reference  # (nothing decided again)


AWAITED = "(the end of the input was not seen: the signal came while the next record was awaited)"


@pytest.mark.parametrize(("jobs", "fed"), [("1", 100), ("2", 100), ("1", 300), ("2", 300), ("4", 300)])
def test_every_record_read_from_an_idle_producer_is_written(source: Path, reference: bytes, tmp_path: Path,
                                                            jobs: str, fed: int) -> None:
    """`producer | batch - --jobs N`, the producer idle after `fed` records. With --jobs 1 every
    record read was written; with --jobs N the records read ahead and not yet handed to a worker
    were dropped: all 100 (fewer than the N x 64 gathered before the workers start) or the 44 of
    the chunk being gathered (300 = 4 x 64 + 44), and the chunks still being decided. Every record
    read is written now, whatever --jobs, and `--resume` goes on to the bytes of an uninterrupted run."""
    target, partial, marks, err = tmp_path / "out.jsonl", tmp_path / "out.jsonl.partial", tmp_path / "marks", \
        tmp_path / "err"
    status, stderr = _feed_then(source, err, marks, ["--jobs", jobs, "-o", str(target)], at="read", fed=fed,
                                ready=lambda: _decided(marks, "read") >= fed,  # it waits for the next one
                                stop=lambda process: process.send_signal(signal.SIGINT))
    assert status == ExitCode.INTERRUPTED, stderr
    assert f"interrupted by SIGINT: {fed} records of an unknown number {AWAITED} written" in stderr
    assert partial.read_bytes() == b"".join(reference.splitlines(keepends=True)[:fed])
    assert not target.exists()
    assert _resumed_from(source, target, jobs, fed) == reference


def test_a_full_disk_while_the_records_read_are_written_is_the_full_disk(source: Path, reference: bytes,
                                                                          tmp_path: Path) -> None:
    """The disk fills up as the chunks the workers decided are written after a SIGINT: that was
    reported as the interruption (exit 130), as though the lines had been written. It is the full
    disk, as without a signal: usage/output, exit 2, the file cut back to its complete lines."""
    target, partial, marks, err = tmp_path / "out.jsonl", tmp_path / "out.jsonl.partial", tmp_path / "marks", \
        tmp_path / "err"
    lines = reference.splitlines(keepends=True)
    room = len(b"".join(lines[:150]))  # the chunk of records 128-191 is cut short
    status, stderr = _feed_then(source, err, marks, ["--jobs", "2", "-o", str(target)], ROOM=room,
                                ready=lambda: _decided(marks) >= FED,
                                stop=lambda process: process.send_signal(signal.SIGINT))
    assert status == ExitCode.BAD_INPUT, stderr
    assert "error[usage/output]: cannot write" in stderr
    assert "no space left on device" in stderr
    assert "interrupted" not in stderr
    assert "128 records of an unknown number" in stderr
    assert partial.read_bytes() == b"".join(lines[:128])
    assert not target.exists()
    assert _resumed_from(source, target, "2", 128) == reference


@pytest.mark.parametrize("then", ["the chunk is decided", "a second signal"])
def test_a_signal_waits_for_the_chunks_being_decided_and_a_second_stops_at_once(
        source: Path, reference: bytes, tmp_path: Path, then: str) -> None:
    """After a SIGINT the chunks sent to the workers are decided and written (the wait is a few
    chunks' time); here a worker holds the chunk of records 192-255 until the test releases it.
    Released, every record read is written; a second SIGINT instead stops the run at once, with the
    lines of the chunks before it."""
    target, partial, marks, err = tmp_path / "out.jsonl", tmp_path / "out.jsonl.partial", tmp_path / "marks", \
        tmp_path / "err"

    def stop(process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGINT)
        _wait_until(lambda: _marked(marks, "salvage"), process, err)
        if then == "a second signal":
            process.send_signal(signal.SIGINT)
        else:
            Path(f"{marks}.release").touch()

    status, stderr = _feed_then(source, err, marks, ["--jobs", "2", "-o", str(target)], at="read", HOLD=192,
                                ready=lambda: _decided(marks, "read") >= FED and _marked(marks, "held"), stop=stop)
    assert status == ExitCode.INTERRUPTED, stderr
    # (released: every record read; at a second signal, the chunks before the one held, as far as
    # they were written by then: the decided chunks' writes are not waited for either)
    written = partial.read_bytes().count(b"\n")
    assert written == FED if then == "the chunk is decided" else written in (64, 128, 192)
    assert f"interrupted by SIGINT: {written} records of an unknown number {AWAITED} written" in stderr
    assert partial.read_bytes() == b"".join(reference.splitlines(keepends=True)[:written])
    assert _resumed_from(source, target, "2", written) == reference


def test_a_sigterm_to_the_process_group_writes_the_blocks_the_workers_hold(source: Path, reference: bytes,
                                                                           tmp_path: Path) -> None:
    """`systemctl stop`, `docker stop` of a shell, `kill -TERM -- -PGID` signal every process of the
    group. SIGTERM ended the workers, and with them the chunks they had decided and not yet been
    told to write: the run kept only the 64 records decided before the workers started. They leave
    SIGTERM to this process now, as ^C, which ends them once every record read is written."""
    target, partial, marks, err = tmp_path / "out.jsonl", tmp_path / "out.jsonl.partial", tmp_path / "marks", \
        tmp_path / "err"
    status, stderr = _feed_then(source, err, marks, ["--jobs", "2", "-o", str(target)], group=True,
                                ready=lambda: _decided(marks) >= FED,
                                stop=lambda process: os.killpg(process.pid, signal.SIGTERM))
    assert status == ExitCode.INTERRUPTED, stderr
    assert f"interrupted by SIGTERM: {FED} records of an unknown number {AWAITED} written" in stderr
    assert partial.read_bytes() == b"".join(reference.splitlines(keepends=True)[:FED])
    assert _resumed_from(source, target, "2", FED) == reference
