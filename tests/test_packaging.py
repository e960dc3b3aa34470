"""Packaging: the repo-root folders ship as `carepolicy.*`, with their data, and nothing else.

See docs/explanation/architecture.md and the setuptools `package-dir` mapping in pyproject.toml:
an explicit `packages` list silently drops a new sub-package from the wheel, so (a) guards it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from fnmatch import fnmatch
from importlib.resources import files
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# What a wheel build needs from the repo (copied, so that the build never writes build/ or *.egg-info here)
BUILD_INPUTS = ("pyproject.toml", "README.md", "carepolicy", "engine", "cli", "grammar", "policies", "lsp")


def _setuptools_config() -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return dict(config["tool"]["setuptools"])


def _packages_on_disk(package_dir: dict[str, str]) -> set[str]:
    found: set[str] = set()
    for name, folder in package_dir.items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            if any(part.startswith((".", "__pycache__")) for part in init.relative_to(base).parts):
                continue
            found.add(".".join((name, *init.parent.relative_to(base).parts)))
    return found


def test_every_subpackage_on_disk_is_declared() -> None:
    config = _setuptools_config()
    declared = set(config["packages"])
    missing = sorted(_packages_on_disk(config["package-dir"]) - declared)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_every_declared_package_exists() -> None:
    config = _setuptools_config()
    package_dir: dict[str, str] = config["package-dir"]
    absent = []
    for package in config["packages"]:
        owners = [p for p in package_dir if package == p or package.startswith(p + ".")]
        prefix = max(owners, key=len, default=None)
        assert prefix is not None, f"`{package}` has no entry in [tool.setuptools] package-dir"
        folder = ROOT / package_dir[prefix] / Path(*package[len(prefix):].split(".")[1:])
        if not (folder / "__init__.py").is_file():
            absent.append(f"{package} ({folder.relative_to(ROOT)}/__init__.py)")
    assert not absent, f"declared in [tool.setuptools] packages but not on disk: {absent}"


def test_grammar_and_policies_load_through_importlib_resources() -> None:
    grammar = files("carepolicy.grammar") / "policy.lark"
    assert "start" in grammar.read_text(encoding="utf-8")
    policies = [e.name for e in files("carepolicy.policies").iterdir() if e.name.endswith(".policy")]
    assert policies, "no .policy file found through files('carepolicy.policies')"
    registry = files("carepolicy.policies") / "sources.registry"
    assert "S1\t" in registry.read_text(encoding="utf-8"), "the reference registry is not readable as package data"


def test_fact_schema_loads_through_importlib_resources() -> None:
    schema_file = files("carepolicy.engine.facts") / "schemas" / "fact-bundle-v1.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["type"] == "object"
    assert "month" in schema["required"]


def test_import_does_not_expose_top_level_engine_or_cli() -> None:
    # cwd=/tmp-like folder: the repo root must not be on sys.path, as for any installed user
    script = (
        "import sys\n"
        "import carepolicy.engine, carepolicy.engine.check\n"
        "bad = sorted(n for n in ('engine', 'cli', 'grammar', 'policies') if n in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=Path("/tmp"), capture_output=True, text=True,
                            check=False, env=_clean_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"top-level modules imported: {result.stdout.strip()}"


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # pytest's `pythonpath = ["."]` must not leak the repo root into the child
    return env


def _wheel_names(tmp_path: Path) -> list[str]:
    source = tmp_path / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    for name in BUILD_INPUTS:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        elif path.is_file():
            shutil.copy2(path, source / name)
    out = tmp_path / "wheel"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        cwd=tmp_path, capture_output=True, text=True, check=False, env=_clean_env(), timeout=600,
    )
    assert result.returncode == 0, f"pip wheel failed:\n{result.stdout}\n{result.stderr}"
    wheels = list(out.glob("carepolicy-*.whl"))
    assert len(wheels) == 1, f"expected one wheel, found {wheels}"
    with zipfile.ZipFile(wheels[0]) as wheel:
        return wheel.namelist()


def test_wheel_contents(tmp_path: Path) -> None:
    """Build the wheel (about 3 s with pip's cached setuptools) and check what it ships."""
    names = _wheel_names(tmp_path)

    def expect_like(folder: Path, pattern: str, *, recursive: bool = False) -> None:
        on_disk = (folder.rglob if recursive else folder.glob)(pattern)
        wanted = {f"carepolicy/{p.relative_to(ROOT).as_posix()}" for p in on_disk
                  if "__pycache__" not in p.parts}
        assert wanted, f"nothing matches {pattern} in {folder}"
        missing = sorted(wanted - set(names))
        assert not missing, f"missing from the wheel: {missing}"

    expect_like(ROOT / "engine", "*.py")
    expect_like(ROOT / "engine" / "check", "*.py")
    expect_like(ROOT / "cli", "*.py")
    if (ROOT / "cli" / "commands").is_dir():
        expect_like(ROOT / "cli" / "commands", "*.py")
    expect_like(ROOT / "policies", "*.policy", recursive=True)
    for required in ("carepolicy/grammar/policy.lark", "carepolicy/engine/facts/schemas/fact-bundle-v1.json",
                     "carepolicy/engine/facts/schemas/fact-bundle-v2.json",
                     "carepolicy/engine/py.typed", "carepolicy/policies/sources.registry"):
        assert required in names, f"missing from the wheel: {required}"
    top_level = sorted({name.split("/", 1)[0] for name in names})
    stray = [t for t in top_level if t != "carepolicy" and not fnmatch(t, "carepolicy-*.dist-info")]
    assert not stray, f"the wheel has top-level entries other than carepolicy/: {stray}"
