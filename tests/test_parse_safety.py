"""The parser is loaded without trusting anything another user can write.

Lark's `cache=True` (what the engine used before) reads a pickle from the shared temp directory
under a predictable name. The engine now loads its LALR tables from JSON shipped in the package
(engine/language/grammar_tables.py) and never reads the temp directory; these tests plant a
malicious pickle exactly where Lark's cache lives and show it is never loaded, and hold the
shipped tables to the grammar.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from carepolicy.engine.diagnostics import PolicyError
from carepolicy.engine.language import grammar_tables
from carepolicy.engine.language.parse import parse_text

from tests.goldens import updating

ROOT = Path(__file__).resolve().parent.parent
POLICIES = sorted((ROOT / "policies").rglob("*.policy"))


def test_the_shipped_tables_were_made_from_the_shipped_grammar() -> None:
    """Stale tables still parse correctly (the grammar is built instead) but start slowly.

    Refresh: CAREPOLICY_UPDATE_GOLDENS=1 .venv/bin/python -m pytest tests/test_parse_safety.py"""
    if updating():
        grammar_tables.refresh(ROOT / "grammar")
    shipped = json.loads((ROOT / "grammar" / grammar_tables.TABLES).read_text(encoding="utf-8"))
    grammar = (ROOT / "grammar" / grammar_tables.GRAMMAR).read_text(encoding="utf-8")
    expected = grammar_tables.fingerprint(grammar)
    found = {key: shipped[key] for key in expected}
    assert found == expected, "grammar/policy.tables.json is stale: " + str(grammar_tables.__doc__).split("\n\n")[3]


def test_tables_parse_exactly_as_the_grammar_does() -> None:
    grammar = grammar_tables.grammar_text()
    built = grammar_tables.build(grammar)
    loaded = grammar_tables.load(grammar, json.dumps(grammar_tables.tables(grammar)))
    assert POLICIES
    for path in POLICIES:
        text = path.read_text(encoding="utf-8")
        assert loaded.parse(text) == built.parse(text), path.name


def test_tables_made_from_another_grammar_are_not_used() -> None:
    grammar = grammar_tables.grammar_text()
    other = grammar.replace('"rule"', '"regel"', 1)
    assert other != grammar
    stale = json.dumps(grammar_tables.tables(other))
    parser = grammar_tables.load(grammar, stale)
    assert parser.parse(POLICIES[0].read_text(encoding="utf-8")) is not None  # `rule` still parses


PLANT = textwrap.dedent(
    """
    import glob, os, pickle, sys, tempfile
    from lark import Lark
    from carepolicy.engine.language.grammar_tables import OPTIONS, grammar_text

    marker = sys.argv[1]

    class Payload:
        def __reduce__(self):
            return (open, (marker, "w"))

    # Let Lark write its cache where it always does (the temp directory, a predictable name) ...
    Lark(grammar_text(), cache=True, **OPTIONS)
    planted = glob.glob(os.path.join(tempfile.gettempdir(), ".lark_cache_*.tmp"))
    assert planted, "Lark wrote no cache file"
    # ... and replace it with a pickle that creates `marker` when it is loaded (after the first
    # line, the grammar's hash, which anyone can compute from the installed grammar).
    for path in planted:
        with open(path, "rb") as f:
            first_line = f.readline()
        with open(path, "wb") as f:
            f.write(first_line)
            pickle.dump(Payload(), f)
    if sys.argv[2] == "control":  # what the engine did before: Lark reads the planted file
        try:
            Lark(grammar_text(), cache=True, **OPTIONS)
        except Exception:
            pass
    else:  # what the engine does now
        from carepolicy.engine import load_policies
        load_policies()
    """
)


def _run_with_planted_cache(tmp_path: Path, mode: str) -> Path:
    marker = tmp_path / f"pwned-{mode}"
    temp = tmp_path / f"tmp-{mode}"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "TEMP": str(temp), "TMP": str(temp)}
    result = subprocess.run(
        [sys.executable, "-c", PLANT, str(marker), mode], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return marker


def test_a_pickle_planted_where_larks_cache_lives_is_never_loaded(tmp_path: Path) -> None:
    # The control shows the plant works: loading through Lark's cache runs the planted code.
    assert _run_with_planted_cache(tmp_path, "control").exists()
    # The engine loads its parser, parses and checks the shipped policies: nothing runs.
    assert not _run_with_planted_cache(tmp_path, "engine").exists()


def test_parsing_still_reports_syntax_errors_with_a_location() -> None:
    with pytest.raises(PolicyError) as caught:
        parse_text('policy p "P"\nrule x "X"\n  requires 1 = = 2\n', "bad.policy")
    assert "bad.policy:3" in str(caught.value)
