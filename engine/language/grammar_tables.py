"""The LALR parser, loaded from parse tables that ship inside the package, never from a cache.

Building the parser from `policy.lark` takes about a second (Lark computes the LALR tables).
Lark's own cache (`cache=True`) saves that, but it reads a pickle from the shared temp directory
under a predictable name: a file another user plants there runs code when `carepolicy check`
starts. So the tables are computed once, when the grammar changes, and shipped as JSON next to
the grammar (`grammar/policy.tables.json`, package data): data, not code, and written by whoever
installed the package, like the code itself. Nothing is read from or written to a temp directory.

The file records the SHA-256 of the grammar text and the Lark version it was made with. When
either differs (someone edited the grammar and has not refreshed the tables yet, or another Lark
is installed) the parser is built from the grammar instead: slower to start, never wrong.
tests/test_parse_safety.py fails while the shipped tables are stale; refresh them as golden files
are refreshed (docs/contributing/testing.md):

    CAREPOLICY_UPDATE_GOLDENS=1 .venv/bin/python -m pytest tests/test_parse_safety.py

Loading the tables takes about as long as Lark's pickle cache did (~0.2 s; building: ~1.2 s;
docs/explanation/performance.md).
"""

from __future__ import annotations

import hashlib
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import lark
from lark import Lark
from lark.grammar import Rule
from lark.lexer import TerminalDef

GRAMMAR = "policy.lark"
TABLES = "policy.tables.json"
OPTIONS: dict[str, Any] = {"parser": "lalr", "propagate_positions": True, "maybe_placeholders": True}
_INT_KEYS = "int-keys"  # JSON object keys are strings; Lark's tables use int keys


def grammar_text() -> str:
    return files("carepolicy.grammar").joinpath(GRAMMAR).read_text(encoding="utf-8")


def fingerprint(grammar: str) -> dict[str, str]:
    """What the tables were made from: they are used only for exactly this grammar and Lark."""
    return {"grammar_sha256": hashlib.sha256(grammar.encode("utf-8")).hexdigest(), "lark": lark.__version__}


def _encode(value: Any) -> Any:
    if isinstance(value, dict):
        if all(isinstance(key, str) for key in value):
            return {key: _encode(item) for key, item in value.items()}
        if not all(isinstance(key, int) for key in value):
            raise TypeError("parse tables with keys that are neither all str nor all int")
        return {_INT_KEYS: [[key, _encode(item)] for key, item in value.items()]}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    raise TypeError(f"unexpected {type(value).__name__} in the parse tables")


def _decode_object(found: dict[str, Any]) -> Any:
    """The inverse of `_encode` for one JSON object (a `json.loads` hook, so the walk runs in C)."""
    if len(found) == 1 and _INT_KEYS in found:
        return {int(key): item for key, item in found[_INT_KEYS]}
    return found


def build(grammar: str) -> Lark:
    """The parser, computed from the grammar (no cache of any kind)."""
    return Lark(grammar, cache=False, **OPTIONS)


def tables(grammar: str) -> dict[str, Any]:
    """The JSON-ready tables of the parser built from `grammar`, with its fingerprint."""
    data, memo = build(grammar).memo_serialize([TerminalDef, Rule])
    return {**fingerprint(grammar), "data": _encode(data), "memo": _encode(memo)}


def load(grammar: str, shipped: str | None) -> Lark:
    """The parser for `grammar`: from the shipped tables (JSON text) when they were made from this
    grammar with this Lark, else built from the grammar."""
    if shipped is not None:
        found = json.loads(shipped, object_hook=_decode_object)
        if isinstance(found, dict) and all(found.get(k) == v for k, v in fingerprint(grammar).items()):
            return Lark.load({"data": found["data"], "memo": found["memo"]})
    return build(grammar)


def shipped_tables() -> str | None:
    resource = files("carepolicy.grammar").joinpath(TABLES)
    return resource.read_text(encoding="utf-8") if resource.is_file() else None


def parser() -> Lark:
    """The policy parser of this installation."""
    return load(grammar_text(), shipped_tables())


def refresh(folder: Path) -> Path:
    """Write the tables of `folder`'s grammar next to it; returns the file written."""
    target = folder / TABLES
    made = tables((folder / GRAMMAR).read_text(encoding="utf-8"))
    target.write_text(json.dumps(made, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8")
    return target
