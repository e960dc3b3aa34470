"""Output that cannot be written: every command ends with `usage/output` and exit 2, never a traceback.

Run as real processes, because the failure happens in the operating system (a full disk, a missing
folder), which an in-process runner's captured stdout cannot show. A full disk is made with a file
size limit of 0 bytes (RLIMIT_FSIZE, with SIGXFSZ ignored): every write to a file then fails with
EFBIG, as a write to `/dev/full` fails with ENOSPC, without depending on that device.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"


def _no_room() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _carepolicy(*args: str, stdout: int | None = None, full: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "carepolicy.cli", *args],
        cwd=FIXTURES,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        preexec_fn=_no_room if full else None,  # only sets a limit in the child
    )


def _assert_clear_error(result: subprocess.CompletedProcess[str], target: str) -> None:
    assert result.returncode == 2, result.stderr
    assert f"error[usage/output]: cannot write {target}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("evaluate", "--policies", "policies", "facts/two.yaml"),
        ("evaluate", "--policies", "policies", "--format", "json", "facts/two.yaml"),
        ("evaluate", "--policies", "policies", "--format", "csv", "facts/two.yaml"),
        ("batch", "--policies", "policies", "facts/two.yaml"),
    ],
    ids=["evaluate-text", "evaluate-json", "evaluate-csv", "batch"],
)
def test_output_file_on_a_full_disk(args: tuple[str, ...], tmp_path: Path) -> None:
    target = tmp_path / "out"
    result = _carepolicy(*args, "-o", str(target), full=True)
    assert result.returncode == 2, result.stderr
    assert "error[usage/output]: cannot write" in result.stderr
    assert "file too large" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("evaluate", "--policies", "policies", "facts/two.yaml"),
        ("schema",),
        ("check", "policies"),
        ("codes", "--policies", "policies"),
    ],
    ids=["evaluate", "schema", "check", "codes"],
)
def test_stdout_on_a_full_disk(args: tuple[str, ...], tmp_path: Path) -> None:
    with (tmp_path / "stdout").open("w") as file:
        result = _carepolicy(*args, stdout=file.fileno(), full=True)
    _assert_clear_error(result, "standard output: file too large")


@pytest.mark.parametrize("args", [("--help",), ("--version",)], ids=["help", "version"])
def test_the_groups_own_help_and_version_on_a_full_disk(args: tuple[str, ...], tmp_path: Path) -> None:
    """They are written while the arguments are parsed, before any command's guard: a traceback,
    exit 1 (s33 CLI sweep; `carepolicy schema --help` was already a clear error)."""
    with (tmp_path / "stdout").open("w") as file:
        result = _carepolicy(*args, stdout=file.fileno(), full=True)
    _assert_clear_error(result, "standard output: file too large")


def _stdout_closed() -> None:
    os.close(1)


@pytest.mark.parametrize(
    "args",
    [
        ("evaluate", "--policies", "policies", "facts/two.yaml"),
        ("schema",),
        ("fmt", "-"),
        ("--help",),
    ],
    ids=["evaluate", "schema", "fmt-stdin", "help"],
)
def test_a_stdout_closed_at_the_start_is_an_output_that_cannot_be_written(args: tuple[str, ...]) -> None:
    """`cmd >&-` (a daemon's, cron's): standard output became /dev/null, so that no output file
    takes its descriptor, and the results went there with exit status 0: `fmt - < draft.policy >&-`
    said `1 file reformatted` and the text was gone (s33 CLI sweep)."""
    with (FIXTURES / "policies" / "smoke.policy").open("rb") as policy:
        result = subprocess.run([sys.executable, "-m", "carepolicy.cli", *args], cwd=FIXTURES, stdin=policy,
                                stderr=subprocess.PIPE, text=True, check=False, preexec_fn=_stdout_closed)
    _assert_clear_error(result, "standard output: it was closed when the command started")


def test_a_stdout_closed_at_the_start_is_no_matter_to_a_command_that_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    result = subprocess.run(
        [sys.executable, "-m", "carepolicy.cli", "evaluate", "--policies", "policies", "facts/two.yaml",
         "-o", str(target)],
        cwd=FIXTURES, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False,
        preexec_fn=_stdout_closed)
    assert (result.returncode, result.stderr) == (0, "")
    assert target.read_text(encoding="utf-8")


def test_output_in_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "out.jsonl"
    result = _carepolicy("evaluate", "--policies", "policies", "facts/two.yaml", "-o", str(target))
    _assert_clear_error(result, f"`{target}`: no such file or directory")
    result = _carepolicy("batch", "--policies", "policies", "facts/two.yaml", "-o", str(target))
    _assert_clear_error(result, f"`{target}`: no folder")


@pytest.mark.parametrize("command", ["evaluate", "explain", "report"])
def test_an_output_that_is_an_input_is_refused_and_the_input_kept(command: str, tmp_path: Path) -> None:
    facts = tmp_path / "two.yaml"
    facts.write_bytes((FIXTURES / "facts" / "two.yaml").read_bytes())
    decisions = tmp_path / "decisions.jsonl"
    compact = ("--format", "jsonl", "--trace", "compact")
    made = _carepolicy("evaluate", "--policies", "policies", *compact, str(facts), "-o", str(decisions))
    assert made.returncode == 0, made.stderr
    args = {
        "evaluate": ("evaluate", "--policies", "policies", str(facts)),
        "explain": ("explain", "--policies", "policies", str(decisions), str(facts)),
        "report": ("report", str(decisions)),
    }[command]
    target = facts if command == "evaluate" else decisions
    before = target.read_bytes()
    other_spelling = f"{tmp_path}/./{target.name}"  # the same file by another path
    result = _carepolicy(*args, "-o", other_spelling)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"{other_spelling}: error[usage/output]: the output `{other_spelling}` is the input `{target}`;"
        " writing it would destroy the input\n  help: write the results to another file\n"
    )
    assert target.read_bytes() == before


def test_an_output_that_is_the_fee_schedule_or_the_policy_file_is_refused(tmp_path: Path) -> None:
    fees = tmp_path / "fees.csv"
    fees.write_bytes((FIXTURES / "fees.csv").read_bytes())
    policy = tmp_path / "smoke.policy"
    policy.write_bytes((FIXTURES / "policies" / "smoke.policy").read_bytes())
    for flag, target in (("--fee-schedule", fees), ("--policies", policy)):
        before = target.read_bytes()
        result = _carepolicy("evaluate", flag, str(target), "facts/two.yaml", "-o", str(target))
        assert result.returncode == 2, result.stderr
        assert f"error[usage/output]: the output `{target}` is the input `{target}`" in result.stderr
        assert target.read_bytes() == before


def _stderr_nobody_reads() -> int:
    """The write end of a pipe whose read end is closed: every write to it fails (EPIPE)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    return write_end


@pytest.mark.parametrize(("facts", "status"), [("facts/two.yaml", 0), ("facts/mixed.yaml", 2)])
def test_batch_whose_stderr_cannot_be_written_keeps_its_results_and_its_exit_status(
    facts: str, status: int, tmp_path: Path
) -> None:
    """Standard error carries only the summary and the progress: when it cannot be written, the
    output is still complete and the exit status still the run's own (0: every record decided, 2:
    error records). It was "cannot write standard output" (on standard error, failing again) and
    exit 1 with the interpreter's dump of the error, though every line had been written."""
    expected = tmp_path / "expected.jsonl"
    normal = _carepolicy("batch", "--policies", "policies", facts, "-o", str(expected))
    assert normal.returncode == status, normal.stderr
    target = tmp_path / "out.jsonl"
    stderr = _stderr_nobody_reads()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "carepolicy.cli", "batch", "--policies", "policies", facts, "-o", str(target)],
            cwd=FIXTURES, stdout=subprocess.PIPE, stderr=stderr, text=True, check=False,
        )
    finally:
        os.close(stderr)
    assert result.returncode == status
    assert target.read_bytes() == expected.read_bytes()
    assert not target.with_name(target.name + ".partial").exists()


def test_an_error_whose_stderr_cannot_be_written_still_exits_2(tmp_path: Path) -> None:
    stderr = _stderr_nobody_reads()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "carepolicy.cli", "evaluate", "--policies", "policies", str(tmp_path / "none.yaml")],
            cwd=FIXTURES, stdout=subprocess.PIPE, stderr=stderr, text=True, check=False,
        )
    finally:
        os.close(stderr)
    assert result.returncode == 2


def test_a_line_a_full_disk_cut_short_is_dropped(tmp_path: Path) -> None:
    """`evaluate -o` writes as it goes (no file renamed at the end, as `batch`'s): a full disk in the
    middle of the second of two lines leaves only the first, whole, not part of the second."""
    def room_for_9000_bytes() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (9000, 9000))

    target = tmp_path / "out.jsonl"
    args = ("evaluate", "--policies", "policies", "--format", "jsonl", "facts/two.yaml")
    whole = _carepolicy(*args)
    lines = whole.stdout.encode("utf-8").splitlines(keepends=True)
    assert len(lines) == 2
    assert len(lines[0]) < 9000 < len(lines[0]) + len(lines[1])  # the limit cuts line 2
    result = subprocess.run(
        [sys.executable, "-m", "carepolicy.cli", *args, "-o", str(target)], cwd=FIXTURES, capture_output=True,
        text=True, check=False, preexec_fn=room_for_9000_bytes)
    _assert_clear_error(result, f"`{target}`: file too large")
    assert target.read_bytes() == lines[0]


def test_the_output_guard_names_the_registry_file_the_engine_reads() -> None:
    """cli/output.py keeps its own copy of the registry's file name (importing the engine there
    would cost every command its start-up): the copy must be the name the policies are read from."""
    from carepolicy.cli import output
    from carepolicy.engine.language.registry import REGISTRY_FILE

    assert output._REGISTRY_FILE == REGISTRY_FILE  # (the private copy is what is checked)
