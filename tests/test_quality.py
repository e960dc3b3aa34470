"""Code quality gates that run with the tests: `ruff check` and `mypy --strict` must both pass.

mypy cannot follow setuptools' editable-install finder (it maps `carepolicy.engine` to `engine/`
through an import hook, which static analysers do not run), and the repo folders are not named
`carepolicy/...`. So the test builds a throw-away tree `TMP/carepolicy/{engine,cli,grammar,policies}`
of symlinks to the repo folders (and to the modules of the repo's `carepolicy/` folder) and runs
mypy there, with the project's own [tool.mypy] settings. The same run checks what a user of the
Python API writes: the Python blocks of the pipeline pages (docs/guides/python-api.md,
docs/reference/arrow-schema.md, docs/guides/spark.md) and tests/typed_api_use.py, each as a module beside the package.
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
# pages whose ```python blocks are programs a user would copy: type-checked as such
EXAMPLE_PAGES = ("docs/guides/python-api.md", "docs/reference/arrow-schema.md", "docs/guides/spark.md")


def python_blocks(page: str) -> list[str]:
    """The ```python blocks of a page of the repo, in order."""
    text = (ROOT / page).read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)


def _user_programs(folder: Path) -> list[str]:
    """The pages' Python blocks and tests/typed_api_use.py, written into `folder` as modules of
    their own (`docs_python_api_1.py`, ...): what mypy checks as a user's code. Returns mypy's
    arguments for them (`-m NAME` each: mypy takes modules and packages, or files, not both)."""
    names = []
    for page in EXAMPLE_PAGES:
        blocks = python_blocks(page)
        assert blocks, f"{page} has no ```python block"
        for number, block in enumerate(blocks, start=1):
            name = f"docs_{Path(page).stem.replace('-', '_')}_{number}.py"
            (folder / name).write_text(block, encoding="utf-8")
            names.append(name)
    (folder / "typed_api_use.py").symlink_to(ROOT / "tests" / "typed_api_use.py")
    return [argument for name in [*names, "typed_api_use.py"] for argument in ("-m", name.removesuffix(".py"))]


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
            "-p", "carepolicy", *_user_programs(tmp_path)]
    result = _run(args, tmp_path)
    # show paths as in the repo: `carepolicy/engine/api.py:12` -> `engine/api.py:12`
    output = re.sub(r"^carepolicy/", "", result.stdout + result.stderr, flags=re.MULTILINE)
    if result.returncode != 0:
        pytest.fail(f"`mypy --strict` found problems:\n{output}", pytrace=False)
