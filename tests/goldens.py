"""Golden-file comparison, shared by the test modules.

A golden file holds the exact expected output of something (rendered diagnostics, a decision, a
CLI run). `assert_golden(path, actual)` compares `actual` with the file byte for byte (UTF-8,
`\\n` line ends) and fails with a unified diff when they differ.

Refreshing after an intended change: run the tests with the environment variable
`CAREPOLICY_UPDATE_GOLDENS=1`, e.g.

    CAREPOLICY_UPDATE_GOLDENS=1 .venv/bin/python -m pytest tests/test_cli.py

Every golden file the run reaches is then (re)written from the actual output and the assertion
passes; review the diff of the golden files (`git diff tests/`) before committing. A golden file
that does not exist yet fails the test (so a typo in a path cannot pass silently) unless the
variable is set.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

UPDATE_VARIABLE = "CAREPOLICY_UPDATE_GOLDENS"


def updating() -> bool:
    """True when this run rewrites golden files instead of comparing with them."""
    return os.environ.get(UPDATE_VARIABLE, "") not in ("", "0")


def assert_golden(path: Path, actual: str) -> None:
    """Fail unless `actual` equals the golden file at `path` byte for byte (or rewrite it when updating)."""
    data = actual.encode("utf-8")
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        return
    if not path.exists():
        pytest.fail(f"golden file {path} does not exist; create it with {UPDATE_VARIABLE}=1", pytrace=False)
    expected = path.read_bytes()
    if expected == data:
        return
    diff = "".join(difflib.unified_diff(
        expected.decode("utf-8", errors="replace").splitlines(keepends=True),
        actual.splitlines(keepends=True),
        fromfile=f"{path} (golden)", tofile="actual",
    ))
    advice = f"(if the change is intended, rerun with {UPDATE_VARIABLE}=1 and review the diff)"
    pytest.fail(f"output differs from golden file {path}\n{diff}\n{advice}", pytrace=False)
