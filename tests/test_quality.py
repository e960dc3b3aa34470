"""Code quality gates that run with the tests: `ruff check` and `mypy --strict` must both pass.

mypy cannot follow setuptools' editable-install finder (it maps `carepolicy.engine` to `engine/`
through an import hook, which static analysers do not run), and the repo folders are not named
`carepolicy/...`. So the test builds a throw-away tree `TMP/carepolicy/{engine,cli,grammar,policies}`
of symlinks to the repo folders (and to the modules of the repo's `carepolicy/` folder) and runs
mypy there, with the project's own [tool.mypy] settings.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = ("engine", "cli", "grammar", "policies", "lsp")
RUFF_TARGETS = ("carepolicy", "engine", "cli", "tests", "benchmarks", "lsp", "grammar")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["NO_COLOR"] = "1"
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env=env, timeout=600)


def test_ruff_is_clean() -> None:
    targets = [t for t in RUFF_TARGETS if (ROOT / t).exists()]
    result = _run(["ruff", "check", "--no-fix", "--output-format", "concise", *targets], ROOT)
    if result.returncode != 0:
        command = f"ruff check {' '.join(targets)}"
        pytest.fail(f"`{command}` found problems:\n{result.stdout}{result.stderr}", pytrace=False)


def test_mypy_strict_is_clean(tmp_path: Path) -> None:
    tree = tmp_path / "carepolicy"
    tree.mkdir()
    for entry in (ROOT / "carepolicy").iterdir():  # the top-level package's own modules (the pipeline API)
        if entry.name != "__pycache__":
            (tree / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    for folder in PACKAGE_FOLDERS:
        (tree / folder).symlink_to(ROOT / folder, target_is_directory=True)
    args = ["mypy", "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache"),
            "--strict", "--explicit-package-bases", "--no-color-output", "--no-error-summary",
            "-p", "carepolicy"]
    result = _run(args, tmp_path)
    # show paths as in the repo: `carepolicy/engine/api.py:12` -> `engine/api.py:12`
    output = re.sub(r"^carepolicy/", "", result.stdout + result.stderr, flags=re.MULTILINE)
    if result.returncode != 0:
        pytest.fail(f"`mypy --strict` found problems:\n{output}", pytrace=False)
