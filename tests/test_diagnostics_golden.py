"""Golden diagnostics: each broken policy under tests/golden/diagnostics/ shows one kind of error.

The expected text (`NAME.diagnostics.txt`) and JSON (`NAME.diagnostics.json`) sit beside each
`NAME.policy`. A case that needs more than one file, such as a policy set with its own reference
registry (`sources.registry`), is a folder `NAME/` instead, checked as a whole. Refresh after an
intended change with `CAREPOLICY_UPDATE_GOLDENS=1 pytest`, then review the diff of every golden
file (docs/contributing/testing.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from carepolicy.engine import check_policies, render_json, render_text

from tests.goldens import assert_golden

HERE = Path(__file__).resolve().parent / "golden" / "diagnostics"
CASES = sorted([p.stem for p in HERE.glob("*.policy")] + [p.name for p in HERE.iterdir() if p.is_dir()])


@pytest.mark.parametrize("name", CASES)
def test_diagnostics_match_golden(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)  # relative file names in the output, wherever the repo lives
    target = name if (HERE / name).is_dir() else f"{name}.policy"
    _result, sources, diagnostics = check_policies(target)
    assert diagnostics, f"{target} was meant to produce diagnostics"
    assert_golden(HERE / f"{name}.diagnostics.txt", render_text(diagnostics, sources))
    assert_golden(HERE / f"{name}.diagnostics.json", render_json(diagnostics))


def test_every_fixture_fails_in_its_own_way() -> None:
    """One error kind per fixture: the first diagnostic codes differ between fixtures (mostly)."""
    codes = set()
    for name in CASES:
        text = (HERE / f"{name}.diagnostics.txt").read_text(encoding="utf-8")
        codes.add(text.split("[", 1)[1].split("]", 1)[0])
    assert len(codes) >= 12, sorted(codes)


def test_syntax_errors_name_file_line_column_and_expectation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    _result, _sources, diagnostics = check_policies("syntax-missing-title.policy")
    (diag,) = diagnostics
    assert diag.span is not None
    assert (diag.span.source, diag.span.line, diag.span.column) == ("syntax-missing-title.policy", 5, 3)
    assert "was expected" in diag.message
    assert "title" in diag.message
