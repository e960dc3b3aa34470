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
from pathlib import Path

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
from carepolicy.cli import batch_output, batch_pool, batch_run
from carepolicy.cli.commands import batch as command
MAIN, MARKS = os.getpid(), os.environ["CAREPOLICY_TEST_MARKS"]
AT, HOW = os.environ.get("CAREPOLICY_TEST_AT", ""), int(os.environ.get("CAREPOLICY_TEST_SIGNAL", "2"))
LAST = int(os.environ.get("CAREPOLICY_TEST_LAST", "-1"))

def mark(text):
    with open(MARKS, "a") as marks:
        marks.write(text + "\\n")

real_send = batch_pool._Serve._send
def send(self, note, lines=b""):
    real_send(self, note, lines)
    if note[0] == "decided":
        mark(f"decided {note[1]}")
batch_pool._Serve._send = send

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
    def read_work(paths, input_format=None):
        yield from real_read(paths, input_format)
        os.kill(MAIN, HOW)
    command.read_work = read_work
elif AT == "after the last record":  # every record decided and handed on; the run not yet ended
    real_run = batch_run.Decider.run
    def run(self, works):
        yield from real_run(self, works)
        os.kill(MAIN, HOW)
    batch_run.Decider.run = run

from carepolicy.cli.main import main
main()
"""


def _batch(marks: Path, *args: str, at: str = "", how: int = signal.SIGINT, last: int = -1,
           stdin: int | None = None, stderr: int | None = None) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CAREPOLICY_TEST_MARKS": str(marks), "CAREPOLICY_TEST_AT": at,
           "CAREPOLICY_TEST_SIGNAL": str(int(how)), "CAREPOLICY_TEST_LAST": str(last)}
    return subprocess.Popen([sys.executable, "-c", PRELUDE, "batch", *args, *SMOKE], env=env, stdin=stdin,
                            stdout=subprocess.DEVNULL, stderr=stderr if stderr is not None else subprocess.PIPE)


def _decided(marks: Path) -> int:
    if not marks.exists():
        return 0
    return sum(int(line.split()[1]) for line in marks.read_text().splitlines() if line.startswith("decided "))


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
    fed = b"".join(source.read_bytes().splitlines(keepends=True)[:FED])
    with open(tmp_path / "err", "wb") as err:
        process = _batch(marks, "-", "--jobs", jobs, "-o", str(target), stdin=subprocess.PIPE, stderr=err.fileno())
    assert process.stdin is not None
    try:
        process.stdin.write(fed)
        process.stdin.flush()  # and the producer falls idle: the pipe stays open
        deadline = time.monotonic() + 120
        while _decided(marks) < FED:  # every record fed is decided (and its note sent, with workers)
            assert process.poll() is None, (tmp_path / "err").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.005)
        process.send_signal(signal.SIGINT)
        status = process.wait(timeout=120)
    finally:
        process.stdin.close()  # (only now: an end of the input before the signal would end the run)
    stderr = (tmp_path / "err").read_text()
    assert status == ExitCode.INTERRUPTED, stderr
    assert f"interrupted by SIGINT: {FED} records of an unknown number" in stderr
    assert partial.read_bytes() == b"".join(reference.splitlines(keepends=True)[:FED])
    assert not target.exists()  # an output that is not complete is never moved into place
    with open(source, "rb") as whole:
        resumed = subprocess.run([sys.executable, "-c", "from carepolicy.cli.main import main; main()", "batch",
                                  "-", *SMOKE, "--jobs", jobs, "-o", str(target), "--resume"],
                                 stdin=whole, capture_output=True, check=False)
    assert resumed.returncode == ExitCode.OK, resumed.stderr.decode()
    assert f"({FED} kept from the partial output, {SOURCE_RECORDS - FED} decided now)" in resumed.stderr.decode()
    assert target.read_bytes() == reference
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
    output is not moved into place: `--resume` finishes it."""
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
    assert f"interrupted by SIGINT: {SOURCE_RECORDS} records of an unknown number" in err.decode()
    assert partial.read_bytes() == reference
    assert not target.exists()
