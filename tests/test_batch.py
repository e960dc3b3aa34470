"""`carepolicy batch` at pipeline volume: streaming output, the same bytes with any --jobs, refusals
before any input is read, interruptions (SIGTERM, SIGKILL, a full disk) resumed to the same bytes
as an uninterrupted run, serialisation errors as error records, and `--resume` refusing a partial
output that does not continue the inputs."""

from __future__ import annotations

import errno
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli import batch_output
from carepolicy.cli.batch_input import RawRecord, decode
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from carepolicy.engine import Bundle, BundleError
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_trace_forms import _bench_module

HERE = Path(__file__).resolve().parent
SMOKE = ("--policies", str(HERE / "fixtures" / "policies"))
COMMAND = [sys.executable, "-c", "from carepolicy.cli.main import main; main()"]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _number(value: object) -> float:
    assert isinstance(value, Decimal)
    return float(value)  # money to the cent: the float's shortest text is the same digits


def write_jsonl(path: Path, count: int, seed: int = 11) -> Path:
    bundles = _bench_module().make_bundles(count, seed)
    path.write_text("".join(json.dumps(b, default=_number) + "\n" for b in bundles), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("claims") / "claims.jsonl", 1500)


def uninterrupted_output(claims: Path, folder: Path) -> bytes:
    """What `batch CLAIMS --jobs 1` writes, uninterrupted (to FOLDER/out.jsonl)."""
    target = folder / "out.jsonl"
    result = run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(target))
    assert result.exit_code == ExitCode.OK, result.stderr
    return target.read_bytes()


@pytest.fixture(scope="module")
def reference(claims: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The uninterrupted output, one process."""
    return uninterrupted_output(claims, tmp_path_factory.mktemp("reference"))


def lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


# --------------------------------------------------------------------------------------------- output


def test_one_line_per_record_in_order_and_no_partial_left(claims: Path, reference: bytes, tmp_path: Path) -> None:
    records = lines(reference)
    assert len(records) == 1500
    ids = [json.loads(line)["id"] for line in claims.read_text(encoding="utf-8").splitlines()]
    assert [r["bundle_id"] for r in records] == ids
    assert all(r["trace"]["form"] == "compact" for r in records)  # the default trace of batch
    assert not list(tmp_path.glob("*.partial"))


def test_jobs_two_writes_the_bytes_of_jobs_one(claims: Path, reference: bytes, tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    result = run("batch", str(claims), *SMOKE, "--jobs", "2", "-o", str(target))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert target.read_bytes() == reference
    assert "1500 records: 1500 decisions, 0 error records" in result.stderr


@pytest.mark.parametrize("form", ["full", "none"])
def test_trace_forms_and_their_old_spellings(claims: Path, tmp_path: Path, form: str) -> None:
    small = tmp_path / "small.jsonl"
    small.write_text("".join(claims.read_text(encoding="utf-8").splitlines(keepends=True)[:5]), encoding="utf-8")
    outputs = []
    for flag in (("--trace", form), ("--explain",) if form == "full" else ("--no-explain",)):
        target = tmp_path / f"{flag[0]}.jsonl"
        assert run("batch", str(small), *SMOKE, *flag, "-o", str(target)).exit_code == ExitCode.OK
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    traces = [r.get("trace") for r in lines(outputs[0])]
    assert all(isinstance(t, list) for t in traces) if form == "full" else all(t is None for t in traces)


def test_trace_and_explain_that_disagree_are_a_usage_error(claims: Path, tmp_path: Path) -> None:
    result = run("batch", str(claims), *SMOKE, "--trace", "compact", "--no-explain", "-o", str(tmp_path / "o"))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "`--trace compact` contradicts `--no-explain`" in result.stderr


# --------------------------------------------------------------------------------------------- refusals


def test_output_equal_to_an_input_is_refused_and_the_input_untouched(claims: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    before = claims.read_bytes()
    link = tmp_path / "link.jsonl"
    link.symlink_to(claims)
    monkeypatch.chdir(claims.parent)
    for output in (str(claims), "./claims.jsonl", str(link)):
        result = run("batch", "claims.jsonl", *SMOKE, "-o", output)
        assert result.exit_code == ExitCode.BAD_INPUT
        assert "error[usage/output]" in result.stderr
        assert "is the input `claims.jsonl`; writing it would destroy the input" in result.stderr
    assert claims.read_bytes() == before
    assert not list(claims.parent.glob("*.partial"))


def test_output_equal_to_the_fee_schedule_is_refused_and_the_schedule_untouched(claims: Path, tmp_path: Path) -> None:
    fees = tmp_path / "fees.csv"
    fees.write_text("code,allowed\n99490,60.49\n", encoding="utf-8")
    before = fees.read_bytes()
    result = run("batch", str(claims), *SMOKE, "--fee-schedule", str(fees), "-o", str(fees))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"the output `{fees}` is the input `{fees}`; writing it would destroy the input" in result.stderr
    assert fees.read_bytes() == before


def test_more_than_four_jobs_a_core_is_refused_before_anything_is_read(claims: Path, tmp_path: Path) -> None:
    cores = len(os.sched_getaffinity(0))
    target = tmp_path / "out.jsonl"
    too_many = run("batch", str(claims), *SMOKE, "-o", str(target), "--jobs", str(4 * cores + 1))
    assert too_many.exit_code == ExitCode.BAD_INPUT
    assert f"error[usage/jobs]: --jobs {4 * cores + 1} would start {4 * cores + 1} processes on {cores} core" in (
        too_many.stderr
    )
    assert f"help: use at most {4 * cores}:" in too_many.stderr
    assert not list(tmp_path.iterdir())  # no output, not even a partial one
    at_the_bound = run("batch", str(claims), *SMOKE, "-o", str(target), "--jobs", str(4 * cores))
    assert at_the_bound.exit_code == ExitCode.OK, at_the_bound.stderr


def test_a_device_or_pipe_as_output_is_refused_and_left_as_it_is(claims: Path, tmp_path: Path) -> None:
    # the finished output is renamed over the target: on /dev/full that replaced the device
    pipe = tmp_path / "decisions.fifo"
    os.mkfifo(pipe)
    result = run("batch", str(claims), *SMOKE, "-o", str(pipe))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "is not a regular file (a device or a pipe)" in result.stderr
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize("kind", ["a link to /dev/null", "a pipe"])
def test_a_partial_output_that_is_a_device_or_pipe_is_refused(claims: Path, tmp_path: Path, kind: str) -> None:
    target = tmp_path / "decisions.jsonl"
    partial = tmp_path / "decisions.jsonl.partial"
    if kind == "a pipe":
        os.mkfifo(partial)  # opened to write, it would wait for a reader forever
    else:
        partial.symlink_to("/dev/null")  # it cannot be truncated: this was a traceback
    result = run("batch", str(claims), *SMOKE, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"cannot write `{partial}`: it is not a regular file (a device or a pipe)" in result.stderr
    assert "remove it" in result.stderr
    assert partial.is_symlink() or stat.S_ISFIFO(partial.stat().st_mode)
    assert not target.exists()


def test_an_output_that_cannot_be_moved_into_place_says_where_the_lines_are(
    claims: Path, reference: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(_source: object, _target: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr("carepolicy.cli.commands.batch.os.replace", refuse)
    target = tmp_path / "decisions.jsonl"
    result = run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    partial = f"{target}.partial"
    assert f"cannot move the finished output `{partial}` to `{target}`: invalid cross-device link" in result.stderr
    assert f"records are in `{partial}`" in result.stderr
    assert Path(partial).read_bytes() == reference  # every line kept, nothing lost


def test_standard_output_is_refused_with_a_hint(claims: Path) -> None:
    result = run("batch", str(claims), *SMOKE, "-o", "-")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "cannot write to standard output" in result.stderr
    assert "evaluate --format jsonl" in result.stderr
    assert result.stdout == ""


@pytest.mark.skipif(not Path("/proc/self/fd/1").exists(), reason="needs /proc/self/fd")
def test_standard_output_under_another_name_is_refused_and_left_as_it_is(claims: Path, tmp_path: Path) -> None:
    """`batch x -o /dev/stdout > file` (/dev/stdout: a symlink to /proc/self/fd/1): with standard
    output a regular file, the target passed every check, and the finished output was renamed over
    the symlink: the file stayed empty and, as root, /dev/stdout itself became a regular file. (A
    symlink of the test's own stands for /dev/stdout.)"""
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    redirected = tmp_path / "redirected.txt"
    with redirected.open("wb") as stdout:
        done = subprocess.run([*COMMAND, "batch", str(claims), *SMOKE, "-o", str(link)], stdout=stdout,
                              stderr=subprocess.PIPE, check=False)
    assert done.returncode == ExitCode.BAD_INPUT, done.stderr.decode()
    assert "cannot write to standard output" in done.stderr.decode()
    assert link.is_symlink()
    assert redirected.read_bytes() == b""
    assert not (tmp_path / "stdout.partial").exists()


def test_unwritable_output_is_reported_before_any_input_is_read(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def never(_paths: object, *_args: object, **_options: object) -> Iterator[object]:
        raise AssertionError("an input was read")

    monkeypatch.setattr("carepolicy.cli.commands.batch.read_work", never)
    for target in (tmp_path / "missing" / "out.jsonl", tmp_path):
        result = run("batch", "nope.jsonl", *SMOKE, "-o", str(target))
        assert result.exit_code == ExitCode.BAD_INPUT
        assert "error[usage/output]: cannot write" in result.stderr
        assert "nope.jsonl" not in result.stderr


@pytest.mark.parametrize("length", [255, 300])  # the partial file's name too long; the output's own too
def test_an_output_name_too_long_is_a_usage_error_not_a_traceback(claims: Path, tmp_path: Path, length: int) -> None:
    """`-o` with a name of 249 to 255 bytes: `OUT.partial` is longer than a file name may be, and
    probing it raised "OSError: [Errno 36] File name too long" out of the command (exit 1)."""
    target = tmp_path / ("a" * (length - len(".jsonl")) + ".jsonl")
    result = run("batch", str(claims), *SMOKE, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "error[usage/output]: cannot write" in result.stderr
    assert "file name too long" in result.stderr
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------------------------- errors


def test_a_record_that_cannot_be_serialised_becomes_its_error_record(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from carepolicy.engine.decision import json_form

    source = tmp_path / "in.jsonl"
    good = _bench_module().make_bundles(3, 3)
    source.write_text("".join(json.dumps(b, default=_number) + "\n" for b in good), encoding="utf-8")
    real = json_form.to_json_bytes

    def refuse_second(decision: Any, **options: Any) -> bytes:
        if decision.bundle_id == good[1]["id"]:
            raise TypeError("Type is not JSON serializable: Fraction")
        return real(decision, **options)

    monkeypatch.setattr(json_form, "to_json_bytes", refuse_second)
    target = tmp_path / "out.jsonl"
    result = run("batch", str(source), *SMOKE, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    first, broken, third = lines(target.read_bytes())
    assert [first["bundle_id"], third["bundle_id"]] == [good[0]["id"], good[2]["id"]]
    assert broken["bundle_id"] == good[1]["id"]
    assert broken["error"][0]["code"] == "output/serialise"
    assert broken["error"][0]["message"] == (
        "the decision cannot be written as JSON: TypeError: Type is not JSON serializable: Fraction")
    assert "3 records: 2 decisions, 1 error record" in result.stderr


def test_a_record_that_breaks_the_reader_is_only_its_own_error_record(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    good = _bench_module().make_bundles(2, 3)
    bad = dict(good[0], id="lone-\ud800-surrogate")  # valid JSON (`\ud800`), but not Unicode text
    source.write_text("".join(json.dumps(b, default=_number) + "\n" for b in (good[1], bad, good[1])),
                      encoding="utf-8")
    target = tmp_path / "out.jsonl"
    result = run("batch", str(source), *SMOKE, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    first, broken, third = lines(target.read_bytes())
    assert first == third
    assert first["bundle_id"] == good[1]["id"]
    assert broken["bundle_id"] == "#2"
    assert broken["error"]


class _FailingReader(io.BufferedReader):
    """A file whose bytes from `fail_at` on cannot be read (a bad sector): a read there is EIO."""

    fail_at = 0

    def _room(self, size: int | None) -> int:
        left = self.fail_at - self.tell()
        if left <= 0:
            raise OSError(errno.EIO, "Input/output error")
        return left if size is None or size < 0 else min(size, left)

    def read(self, size: int | None = -1) -> bytes:
        return super().read(self._room(size))

    def readline(self, size: int | None = -1) -> bytes:
        return super().readline(self._room(size))


@pytest.mark.parametrize("jobs", ["1", "2"])  # read line by line; in blocks for the workers
def test_a_read_error_half_way_keeps_the_records_before_it_and_says_it_is_not_a_bug(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: str) -> None:
    from carepolicy.cli import batch_input

    source = write_jsonl(tmp_path / "in.jsonl", 3)
    _FailingReader.fail_at = sum(map(len, source.read_bytes().splitlines(keepends=True)[:2]))

    class FailingPath:
        def __init__(self, path: str) -> None:
            self.path = path

        def open(self, _mode: str) -> io.BufferedReader:
            return _FailingReader(io.FileIO(self.path, "rb"))

    monkeypatch.setattr(batch_input, "Path", FailingPath)
    target = tmp_path / "out.jsonl"
    result = run("batch", str(source), *SMOKE, "--jobs", jobs, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    *decided, error = lines(target.read_bytes())
    assert [d["bundle_id"] for d in decided] == [b["id"] for b in map(json.loads, source.read_text().splitlines()[:2])]
    assert error["bundle_id"] is None
    assert error["error"] == [{
        "code": "facts/io", "file": str(source), "severity": "error",
        "message": f"cannot read `{source}` after record 2: input/output error",
        "help": ("the records before it are decided, the rest of the file is not: "
                 "run the batch again once the file reads"),
    }]
    assert "how many records it holds is unknown" in result.stderr


@pytest.mark.parametrize(("name", "text"), [
    ("bad.json", '[{"id": "a", "month": "2025-01"},\n {"id": "b",, }]\n'),
    ("bad.yaml", "- id: a\n  month: 2025-01\n- id: b\n  month: [\n"),
])
def test_an_unparsable_document_is_not_counted_as_one_record(tmp_path: Path, name: str, text: str) -> None:
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    good = write_jsonl(tmp_path / "good.jsonl", 2)
    target = tmp_path / "out.jsonl"
    result = run("batch", str(good), str(source), *SMOKE, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    *decided, unreadable = lines(target.read_bytes())
    assert len(decided) == 2
    assert all("error" not in d for d in decided)
    assert unreadable["bundle_id"] is None
    assert "no record of the file was read (how many it holds is unknown)" in unreadable["error"][0]["message"]
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("3 output records: 2 decisions, 1 error record (1 input file could not be read, "
                              "how many records it holds is unknown) in "), summary
    assert "3 records:" not in result.stderr


@pytest.mark.parametrize(("name", "content"), [
    ("stream.yaml", b"id: a\nmonth: 2025-01\n---\n- id: b\n  month: 2025-01\n- id: c\n  month: [\n"),
    ("utf16.jsonl", '{"id": "a", "month": "2025-01"}\n{"id": "b", "month": "2025-01"}\n'.encode("utf-16")),
], ids=["yaml-stream-list", "jsonl-utf16"])
def test_an_error_record_whose_record_count_is_unknown_is_not_counted_as_one_record(
        tmp_path: Path, name: str, content: bytes) -> None:
    """A YAML stream's document that is a list and cannot be parsed, and JSON Lines saved as UTF-16,
    are each one error record whose message says how many records it stands for is unknown; the
    summary still counted each as one record (`3 records: 2 decisions, 1 error record`)."""
    source = tmp_path / name
    source.write_bytes(content)
    good = write_jsonl(tmp_path / "good.jsonl", 2)
    target = tmp_path / "out.jsonl"
    result = run("batch", str(good), str(source), *SMOKE, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    written = lines(target.read_bytes())
    errors = [line for line in written if "error" in line]
    assert len(errors) == 1
    summary = result.stderr.strip().splitlines()[-1]
    total = len(written)
    assert summary.startswith(f"{total} output records: {total - 1} decisions, 1 error record (1 error record "
                              "stands for records that could not be told apart, how many is unknown) in "), summary
    assert f"{total} records:" not in result.stderr


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.binary(max_size=80), st.text(max_size=80).map(lambda s: s.encode("utf-8", "surrogatepass"))))
def test_any_line_decodes_to_a_bundle_or_its_error(raw: bytes) -> None:
    line = raw.replace(b"\n", b" ") + b"\n"
    item = decode(RawRecord("<line>", 4, 5, line))
    assert isinstance(item, Bundle | BundleError)
    assert item.index == 4
    if isinstance(item, BundleError):
        assert item.diagnostics


# --------------------------------------------------------------------------------------------- interruptions


def _start(claims: Path, target: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*COMMAND, "batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(target), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_lines(process: subprocess.Popen[bytes], partial: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if partial.exists() and partial.stat().st_size > 0:
            return
        time.sleep(0.01)
    raise AssertionError("the batch wrote nothing before it ended")


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_batch_resumes_to_the_bytes_of_an_uninterrupted_run(claims: Path, reference: bytes,
                                                                       tmp_path: Path, how: signal.Signals) -> None:
    target = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    process = _start(claims, target)
    _wait_for_lines(process, partial)
    process.send_signal(how)
    _out, err = process.communicate(timeout=120)
    assert not target.exists()
    kept = partial.read_bytes()
    assert 0 < len(kept) < len(reference)
    if how == signal.SIGTERM:
        assert process.returncode == ExitCode.INTERRUPTED
        assert kept.endswith(b"\n")  # complete lines only
        written = kept.count(b"\n")
        assert f"interrupted by SIGTERM: {written} records of an unknown number" in err.decode()
        assert "--resume" in err.decode()
    else:
        assert process.returncode == -signal.SIGKILL
    assert reference.startswith(kept[: kept.rfind(b"\n") + 1])
    resumed = subprocess.run([*COMMAND, "batch", str(claims), *SMOKE, "-o", str(target), "--resume"],
                             capture_output=True, check=False)
    assert resumed.returncode == ExitCode.OK, resumed.stderr.decode()
    assert target.read_bytes() == reference
    assert not partial.exists()
    # the summary tells the lines kept from those decided now (and its rate is of the latter)
    lines_kept, total = kept.count(b"\n"), reference.count(b"\n")
    assert f"({lines_kept} kept from the partial output, {total - lines_kept} decided now)" in resumed.stderr.decode()


def _enospc_after(limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.writev in the writer fails like a full disk once `limit` bytes are written (after writing part)."""
    real = os.write
    written = 0

    def writev(fd: int, buffers: Sequence[bytes | memoryview]) -> int:
        nonlocal written
        room = limit - written
        if room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        done = real(fd, b"".join(buffers)[:room])
        written += done
        return done

    monkeypatch.setattr(batch_output.os, "writev", writev)


@pytest.mark.parametrize("most", [None, 1, 7, 4_000])
def test_the_writer_writes_every_byte_once_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    most: int | None) -> None:
    """More lines than one writev call takes (`_PIECES`), and writes that stop short after `most`
    bytes, within a line or after several: the file is the lines, each once, in order."""
    real = os.writev
    calls = 0

    def short(fd: int, buffers: Sequence[bytes | memoryview]) -> int:
        nonlocal calls
        calls += 1
        assert len(buffers) <= batch_output._PIECES
        return real(fd, buffers) if most is None else os.write(fd, b"".join(buffers)[:most])

    monkeypatch.setattr(batch_output.os, "writev", short)
    path = tmp_path / "out.jsonl"
    writer = batch_output.LineWriter(str(path))
    writer.begin(0, 0)
    lines = [b"%d %s\n" % (i, b"x" * (i % 37)) for i in range(2 * batch_output._PIECES + 5)]
    for line in lines:
        writer.add(line)
    writer.flush()
    writer.close()
    assert path.read_bytes() == b"".join(lines)
    assert writer.written == len(lines)
    assert calls >= (3 if most is None else len(b"".join(lines)) // most)


def test_a_full_disk_keeps_complete_lines_and_resumes(claims: Path, reference: bytes, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    _enospc_after(len(reference) // 2, monkeypatch)  # simulated: a monkeypatched os.writev (see the tmpfs test)
    result = run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "error[usage/output]: cannot write" in result.stderr
    assert "no space left on device" in result.stderr
    assert "Traceback" not in result.stderr
    kept = partial.read_bytes()
    assert kept.endswith(b"\n")
    assert reference.startswith(kept)
    written = kept.count(b"\n")
    assert f"{written} records of an unknown number (the input was not read to the end) written" in result.stderr
    monkeypatch.undo()
    resumed = run("batch", str(claims), *SMOKE, "-o", str(target), "--resume")
    assert resumed.exit_code == ExitCode.OK, resumed.stderr
    assert target.read_bytes() == reference


def _mount_tiny_tmpfs(where: Path) -> bool:
    where.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)],
                              capture_output=True, check=False)
    except OSError:
        return False
    return done.returncode == 0


def test_a_real_full_disk_on_a_tiny_tmpfs(claims: Path, reference: bytes, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    if not _mount_tiny_tmpfs(disk):
        pytest.skip("mounting a tmpfs is not permitted here; the simulated full disk above still ran")
    try:
        target = disk / "out.jsonl"
        result = run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(target))
        assert result.exit_code == ExitCode.BAD_INPUT
        assert "no space left on device" in result.stderr
        kept = (disk / "out.jsonl.partial").read_bytes()
        assert kept.endswith(b"\n") or kept == b""
        assert reference.startswith(kept)
    finally:
        subprocess.run(["umount", str(disk)], check=False)


# --------------------------------------------------------------------------------------------- resume


def test_resume_refuses_a_partial_output_of_other_inputs(claims: Path, reference: bytes, tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    first = reference.split(b"\n", 3)
    partial.write_bytes(first[0] + b"\n" + first[2] + b"\n")  # line 2 is the third record
    result = run("batch", str(claims), *SMOKE, "-o", str(target), "--resume")
    assert result.exit_code == ExitCode.BAD_INPUT
    second_id = lines(first[2])[0]["bundle_id"]
    assert f"cannot resume: line 2 of `{partial}` is bundle `{second_id}`, but input record 2 is" in result.stderr
    assert partial.read_bytes() == first[0] + b"\n" + first[2] + b"\n"  # left as it was
    assert not target.exists()


def test_resume_refuses_another_trace_form(claims: Path, reference: bytes, tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    (tmp_path / "out.jsonl.partial").write_bytes(reference.split(b"\n", 1)[0] + b"\n")
    result = run("batch", str(claims), *SMOKE, "-o", str(target), "--resume", "--trace", "full")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "trace compact; this run uses" in result.stderr


def test_resume_without_a_partial_output_starts_from_the_beginning(claims: Path, reference: bytes,
                                                                   tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    result = run("batch", str(claims), *SMOKE, "-o", str(target), "--resume", "--jobs", "1")
    assert result.exit_code == ExitCode.OK
    assert target.read_bytes() == reference
    note = f"note: no complete line in `{target}.partial` to resume from; every record is decided"
    assert note in result.stderr
    again = run("batch", str(claims), *SMOKE, "-o", str(target), "--resume", "--jobs", "1")  # finished: again
    assert again.exit_code == ExitCode.OK
    assert note in again.stderr
    assert target.read_bytes() == reference
