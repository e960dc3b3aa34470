"""Output that cannot be written: every command ends with `usage/output` and exit 2, never a traceback.

Run as real processes, because the failure happens in the operating system (a full disk, a missing
folder), which an in-process runner's captured stdout cannot show.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
DEV_FULL = Path("/dev/full")  # Linux: every write fails with ENOSPC


def _carepolicy(*args: str, stdout: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "carepolicy.cli", *args],
        cwd=FIXTURES,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )


def _assert_clear_error(result: subprocess.CompletedProcess[str], target: str) -> None:
    assert result.returncode == 2, result.stderr
    assert f"error[usage/output]: cannot write {target}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("evaluate", "--policies", "policies", "facts/two.yaml", "-o", "/dev/full"),
        ("evaluate", "--policies", "policies", "--format", "json", "facts/two.yaml", "-o", "/dev/full"),
        ("batch", "--policies", "policies", "facts/two.yaml", "-o", "/dev/full"),
    ],
    ids=["evaluate-text", "evaluate-json", "batch"],
)
def test_output_file_on_a_full_disk(args: tuple[str, ...]) -> None:
    _assert_clear_error(_carepolicy(*args), "`/dev/full`: no space left on device")


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
def test_stdout_on_a_full_disk(args: tuple[str, ...]) -> None:
    with DEV_FULL.open("w") as full:
        result = _carepolicy(*args, stdout=full.fileno())
    _assert_clear_error(result, "standard output: no space left on device")


def test_output_in_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "out.jsonl"
    result = _carepolicy("batch", "--policies", "policies", "facts/two.yaml", "-o", str(target))
    _assert_clear_error(result, f"`{target}`: no such file or directory")
