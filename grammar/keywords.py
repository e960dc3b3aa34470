"""The rule language's keywords, read from the grammar itself (so a new keyword needs no second edit).

Used by the editor support (completion, the TextMate grammar of the VS Code extension) and by
anything else that highlights or completes rule files. A keyword is a quoted word in a grammar
rule (`"requires"`, `"add-on"`) or one alternative of a keyword terminal such as
`AGGREGATE.6: /(count|sum|any)\\b/`.
"""

from __future__ import annotations

import functools
import re
from importlib.resources import files

_QUOTED = re.compile(r'"([a-z][a-z-]*)"')
_WORD_TERMINAL = re.compile(r"^([A-Z_]+)(?:\.\d+)?:\s*/\(([a-z|]+)\)\\b/", re.MULTILINE)
# Terminals whose alternatives are value words or units, not keywords.
_NOT_KEYWORDS = frozenset({"MINUTES", "CALENDAR_SPAN"})


def grammar_text() -> str:
    return files("carepolicy.grammar").joinpath("policy.lark").read_text(encoding="utf-8")


@functools.cache
def keywords() -> tuple[str, ...]:
    """Every keyword of the language, sorted."""
    text = "\n".join(line.split("//", 1)[0] for line in grammar_text().splitlines())
    found = set(_QUOTED.findall(text))
    for name, alternatives in _WORD_TERMINAL.findall(text):
        if name not in _NOT_KEYWORDS:
            found.update(alternatives.split("|"))
    return tuple(sorted(found))


@functools.cache
def declaration_keywords() -> tuple[str, ...]:
    """The words a declaration can start with (`rule`, `code`, `add-on`, `cost`, ...)."""
    text = grammar_text()
    heads = re.findall(r'^[a-z_]+_decl:\s*"([a-z][a-z-]*)"', text, re.MULTILINE)
    return tuple(sorted(set(heads) | {"policy", "source"}))


@functools.cache
def unit_words() -> tuple[str, ...]:
    """Unit words written after a number (`20 min`, `12 months`)."""
    units: set[str] = set()
    for name in _NOT_KEYWORDS:
        match = re.search(rf"^{name}(?:\.\d+)?:.*?\(([a-z|]+)\)", grammar_text(), re.MULTILINE)
        if match:
            units.update(match.group(1).split("|"))
    return tuple(sorted(units))
