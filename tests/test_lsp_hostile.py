"""The language server's folder analysis under conditions an editor meets and a check run does
not: a folder changing while it is read, large hidden folders beside the policies.

In process (carepolicy.lsp.analysis), where the file system can be made to misbehave on cue;
tests/test_lsp.py drives the server over stdio.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from carepolicy.lsp.analysis import FolderState, analyse


def test_listing_skips_hidden_folders_and_passes_over_one_that_vanishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every check lists the folder again. A folder that is deleted while it is listed (a build's
    temporary folder, a draft folder the analyst removes) must not fail the check: the listing
    raised FileNotFoundError and the editor got no diagnostics, only an error. Folders that check
    skips (`.git`, `.venv`, `_build`) are not entered at all: they were walked on every keystroke
    and their files dropped afterwards."""
    (tmp_path / "p.policy").write_text('policy p "P"\n', encoding="utf-8")
    for name in ("drafts", ".git", "_build"):
        (tmp_path / name).mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "q.policy").write_text('policy q "Q"\n', encoding="utf-8")
    (tmp_path / ".git" / "old.policy").write_text('policy old "Old"\n', encoding="utf-8")
    real = os.scandir
    entered: list[str] = []

    def scandir(path: Any = ".") -> Any:
        entered.append(Path(path).name)
        if Path(path).name == "drafts":
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    analysis = analyse(tmp_path, {}, FolderState())
    assert [p.relative_to(tmp_path).as_posix() for p in analysis.files] == ["p.policy", "sub/q.policy"]
    assert "drafts" in entered
    assert not {".git", "_build"} & set(entered)
