"""Hover, definition, completion and outline over an `Analysis`: plain values, no protocol types.

Positions here are 0-based (line, column in code points); `server.py` converts from the
protocol's UTF-16 columns. Spans from the engine are 1-based with an exclusive end column.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..engine.facts.schema import fact_types
from ..engine.language import syntax as s
from ..engine.language.clauses import Cite, Interval
from ..engine.source import Span
from ..grammar.keywords import keywords, unit_words
from .analysis import Analysis, lines_of

_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
# What the lexer reads as a quoted string (a title, locator or message) or a comment: the words in
# them name nothing. grammar/policy.lark's STRING and COMMENT, neither of which crosses a line end;
# a `#` inside a string starts no comment, and a `"` inside a comment no string.
_NOT_CODE = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    line: int
    start: int
    end: int


def word_at(text: str, line: int, column: int) -> Word | None:
    """The name, code or tag under (line, column), dots included (`eligibility.part_b`); None in
    a comment or a quoted string (a rule named in a comment is not a use of it)."""
    lines = lines_of(text)
    if not 0 <= line < len(lines):
        return None
    prose = [(found.start(), found.end()) for found in _NOT_CODE.finditer(lines[line])]
    for match in _WORD.finditer(lines[line]):
        if any(start <= match.start() < end for start, end in prose):
            continue
        if match.start() <= column <= match.end():
            word = match.group().rstrip(".-")
            return Word(word, line, match.start(), match.start() + len(word)) if word else None
    return None


def declarations_named(analysis: Analysis, name: str) -> list[s.Declaration]:
    return list(analysis.index.by_id.get(name, ()))


def _interval(interval: Interval | None) -> str:
    if interval is None:
        return "always"
    return f"{interval.start or ''}..{interval.end or ''}"


def _cite_lines(analysis: Analysis, cites: tuple[Cite, ...]) -> Iterator[str]:
    for cite in cites:
        title = analysis.source_title(cite.source) or "source not declared"
        yield f"- `{cite.source}`: {title}  \n  {cite.locator}"


def hover(analysis: Analysis, word: str) -> str | None:
    """Markdown about a declared name, a source tag or a fact path; None for anything else."""
    found = declarations_named(analysis, word)
    if found:
        return "\n\n---\n\n".join(_declaration_hover(analysis, decl) for decl in found)
    title = analysis.source_title(word)
    if title is not None:
        return f"**source** `{word}`\n\n{title}"
    fact = fact_types().get(word)
    if fact is not None:
        return f"**fact** `{word}`: {fact}"
    return None


def _declaration_hover(analysis: Analysis, decl: s.Declaration) -> str:
    parts = [f"**{decl.kind}** `{decl.id}`: {decl.title}", f"effective: {_interval(decl.effective)}"]
    if isinstance(decl, s.Parameter):
        values = [f"- {_expr_text(analysis, v.value)} (effective {_interval(v.effective)})" for v in decl.values]
        parts.append("values:\n" + "\n".join(values))
    if isinstance(decl, s.Switch):
        options = ", ".join(f"`{o}`" for o in decl.options)
        parts.append(f"options: {options}; default `{decl.default}`")
    cites = list(_cite_lines(analysis, decl.cites))
    if cites:
        parts.append("cites:\n" + "\n".join(cites))
    # what the reference does not state: the declaration's, then its units and `at most` clauses'
    assumed = [f"- {a.reason}" for a in decl.assumptions]
    if isinstance(decl, s.Code):
        assumed += [f"- {a.reason} (its clause at line {a.span.line})" for a in decl.unit_assumptions]
    if assumed:
        parts.append("assumptions, not CMS rules:\n" + "\n".join(assumed))
    parts.append(f"declared at {decl.span.location}")
    return "\n\n".join(parts)


def _expr_text(analysis: Analysis, expr: s.Expr) -> str:
    """An expression as written, read back from the source text by its span."""
    span = expr.span
    text = analysis.texts.get(span.source)
    if text is None:
        return "(value)"
    lines = lines_of(text)
    if span.line != span.end_line or not 0 < span.line <= len(lines):
        return "(value)"
    return lines[span.line - 1][span.column - 1 : span.end_column - 1]


def definition(analysis: Analysis, word: str) -> Span | None:
    """Where a rule, code, define, parameter, switch or source is declared."""
    found = declarations_named(analysis, word)
    if found:
        return found[0].span
    source = analysis.index.sources.get(word)
    if source is not None:
        return source.span
    entry = analysis.registry.entries.get(word) if analysis.registry else None
    return entry.span if entry else None


@dataclass(frozen=True, slots=True)
class Completion:
    label: str
    kind: str  # keyword | declaration | source | fact | option | unit
    detail: str


def in_prose(line_text: str) -> bool:
    """Whether the end of `line_text` (the line up to the cursor) is inside a comment or a quoted
    string still open: what is typed there is prose, where a name offered would only be in the way."""
    if any(found.group().startswith("#") for found in _NOT_CODE.finditer(line_text)):
        return True  # a comment runs to the line's end, so the cursor is in it
    return '"' in _NOT_CODE.sub("", line_text)  # a quote left over opens a string not yet closed


def completions(analysis: Analysis, line_text: str) -> list[Completion]:
    """What may be typed at the end of `line_text` (the line up to the cursor); nothing in a
    comment or a quoted string."""
    if in_prose(line_text):
        return []
    if re.search(r"\bcite\s+\S*$", line_text):
        return _sources(analysis)
    if re.search(r"\bdefault\s+\S*$", line_text):
        return _options(analysis)
    items = [Completion(k, "keyword", "keyword") for k in keywords()]
    items += [Completion(u, "unit", "unit") for u in unit_words() if u not in keywords()]
    for name, decls in sorted(analysis.index.by_id.items()):
        items.append(Completion(name, "declaration", f"{decls[0].kind}: {decls[0].title}"))
    items += [Completion(path, "fact", f"fact: {kind}") for path, kind in sorted(fact_types().items())]
    items += _options(analysis)
    return items


def _sources(analysis: Analysis) -> list[Completion]:
    tags = {tag: src.title for tag, src in analysis.index.sources.items()}
    return [Completion(tag, "source", title) for tag, title in sorted(tags.items())]


def _options(analysis: Analysis) -> list[Completion]:
    return [
        Completion(option, "option", f"option of switch {name}")
        for name, switch in sorted(analysis.index.switches.items())
        for option in switch.options
    ]


@dataclass(frozen=True, slots=True)
class Symbol:
    name: str
    kind: str
    detail: str
    span: Span


def symbols(analysis: Analysis, file: str) -> list[Symbol]:
    """The outline of one file: its declarations in order."""
    policy = next((p for p in analysis.index.files if p.source == file), None)
    if policy is None:
        return []
    return [Symbol(d.id, d.kind, d.title, d.span) for d in policy.declarations]
