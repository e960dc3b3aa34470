"""The VS Code extension in editors/vscode: its grammar is generated, tokenises every shipped policy
as VS Code does (vscode-textmate + Oniguruma), and the `.vsix` builds with the npm registry's vsce.

The extension's node packages are installed with `npm ci` from its package-lock.json into
editors/vscode/node_modules (the repository's own folder, never a shared one) once per lock file:
a stamp holding the lock file's digest says whether the installed tree is current.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from carepolicy.grammar.textmate import render

ROOT = Path(__file__).resolve().parent.parent
EXTENSION = ROOT / "editors" / "vscode"
GRAMMAR = EXTENSION / "syntaxes" / "carepolicy.tmLanguage.json"
STAMP = EXTENSION / "node_modules" / ".carepolicy-lock-sha256"


def _run(args: list[str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, timeout=timeout)


@pytest.fixture(scope="module")
def node_modules() -> Path:
    assert shutil.which("npm"), "npm is needed to build the VS Code extension (it comes with Node.js)"
    digest = hashlib.sha256((EXTENSION / "package-lock.json").read_bytes()).hexdigest()
    if not STAMP.is_file() or STAMP.read_text(encoding="utf-8") != digest:
        result = _run(["npm", "ci", "--no-audit", "--no-fund"], EXTENSION)
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
        STAMP.write_text(digest, encoding="utf-8")
    return EXTENSION / "node_modules"


def test_the_textmate_grammar_is_the_generated_one() -> None:
    assert GRAMMAR.read_text(encoding="utf-8") == render(), (
        "editors/vscode/syntaxes/carepolicy.tmLanguage.json is stale: regenerate it with "
        "`python -m carepolicy.grammar.textmate > editors/vscode/syntaxes/carepolicy.tmLanguage.json`"
    )


def test_every_shipped_policy_tokenises_without_invalid_tokens_or_open_regions(node_modules: Path) -> None:
    policies = sorted(str(p) for p in (ROOT / "policies").rglob("*.policy"))
    assert policies
    result = _run(["node", "scripts/check-grammar.js", *policies], EXTENSION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(policies)} files" in result.stdout
    assert ", 0 problems" in result.stdout


def test_the_grammar_check_finds_an_unterminated_string(node_modules: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.policy"
    broken.write_text('policy x "A policy"\nrule a.b "no closing quote\n', encoding="utf-8")
    result = _run(["node", "scripts/check-grammar.js", str(broken)], EXTENSION)
    assert result.returncode == 1
    assert "broken.policy:2:" in result.stdout
    assert "invalid token" in result.stdout


def test_the_vsix_builds_with_the_client_and_the_grammar(node_modules: Path, tmp_path: Path) -> None:
    out = tmp_path / "carepolicy.vsix"
    result = _run(["npx", "--no-install", "vsce", "package", "--allow-missing-repository", "--skip-license",
                   "--out", str(out)], EXTENSION)
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(out) as vsix:
        names = set(vsix.namelist())
    for required in ("extension/package.json", "extension/extension.js", "extension/language-configuration.json",
                     "extension/syntaxes/carepolicy.tmLanguage.json",
                     "extension/node_modules/vscode-languageclient/package.json"):
        assert required in names, f"{required} is not in the .vsix"
    assert not any(n.startswith("extension/node_modules/vscode-textmate/") for n in names), "dev tools shipped"
