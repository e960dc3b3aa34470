"""Hypothesis strategies for policy text: generated from the grammar, and mutations of the shipped
policies. Used by tests/test_fuzz.py (bounded) and tests/fuzz/campaign.py (long runs)."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from carepolicy.engine.language.grammar_tables import OPTIONS, grammar_text
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark

_ALPHABET = st.characters(min_codepoint=32, max_codepoint=126)


@cache
def _grammar() -> Lark:
    return Lark(grammar_text(), **OPTIONS)


def _terminal(pattern: re.Pattern[str]) -> st.SearchStrategy[str]:
    def lexes_entirely(text: str) -> bool:
        match = pattern.match(text)
        return match is not None and match.end() == len(text)

    # a space after every token, so that keywords and names do not run together
    return st.from_regex(pattern, fullmatch=True, alphabet=_ALPHABET).filter(lexes_entirely).map(lambda t: t + " ")


@cache
def grammar_policies() -> st.SearchStrategy[str]:
    """Whole policy files drawn from the grammar (hypothesis.extra.lark), tokens spaced."""
    grammar = _grammar()
    terminals, _rules, _ignore = grammar.grammar.compile(["start"], ())
    explicit = {t.name: _terminal(re.compile(t.pattern.to_regexp())) for t in terminals}
    explicit["COMMENT"] = st.just("\n# a comment\n")
    return from_lark(grammar, start="start", explicit=explicit)


@cache
def shipped_policies() -> dict[str, str]:
    """The shipped policy files by name, as `carepolicy check` reads them."""
    root = files("carepolicy.policies")
    return {
        f"policies/{entry.name}": entry.read_text(encoding="utf-8")
        for entry in sorted(root.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".policy")
    }


_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|\$?\d[\d.]*%?|[A-Za-z_][A-Za-z0-9_.]*|\S')
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}(?:-\d{2})?")


def _tokens(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _TOKEN.finditer(text)]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """`text` with one to three mutations: tokens or lines deleted, duplicated or swapped, random
    characters inserted, numbers and dates replaced by random (often impossible) ones."""
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["token", "line", "insert", "number", "date"]))
        if kind in ("token", "line"):
            units = _tokens(text) if kind == "token" else _lines(text)
            if len(units) < 2:
                continue
            i, j = draw(st.integers(0, len(units) - 1)), draw(st.integers(0, len(units) - 1))
            (a, b), (c, d) = sorted([units[i], units[j]])
            how = draw(st.sampled_from(["delete", "duplicate", "swap"]))
            if how == "delete":
                text = text[:a] + text[b:]
            elif how == "duplicate":
                text = text[:b] + " " + text[a:b] + text[b:]
            elif b <= c:
                text = text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]
        elif kind == "insert":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.text(_ALPHABET | st.sampled_from("\n\t"), min_size=1, max_size=8)) + text[at:]
        else:
            pattern = _NUMBER if kind == "number" else _DATE
            found = list(pattern.finditer(text))
            if not found:
                continue
            m = draw(st.sampled_from(found))
            if kind == "number":
                new = draw(st.one_of(st.integers(0, 10**30).map(str), st.decimals(0, 10**20, places=4).map(str)))
            else:
                y, mo, d = draw(st.integers(0, 9999)), draw(st.integers(0, 99)), draw(st.integers(0, 99))
                new = f"{y:04d}-{mo:02d}" + (f"-{d:02d}" if len(m.group()) == 10 else "")
            text = text[: m.start()] + new + text[m.end() :]
    return text


def _lines(text: str) -> list[tuple[int, int]]:
    out, start = [], 0
    for line in text.splitlines(keepends=True):
        out.append((start, start + len(line)))
        start += len(line)
    return out
