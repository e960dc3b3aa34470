"""The one diagnostic type, and the one place diagnostics are rendered.

A diagnostic points either at policy text (`span`) or at a place in a fact bundle (`fact_path`,
a JSON path such as `$.time[0].minutes`). Messages follow docs/contributing/style.md: lowercase,
no final period, user input in backticks, one line; advice goes in `help`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from itertools import cycle

from .printable import printable, shortened_id
from .source import LineSource, Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem found in policy text or in a fact bundle."""

    code: str  # stable, namespaced: "parse/unexpected-token", "check/unknown-name", "facts/schema"
    message: str
    span: Span | None = None
    fact_path: str | None = None  # JSON path into a fact bundle
    file: str | None = None  # the fact file, for fact diagnostics
    bundle: str | None = None  # the bundle id, for fact diagnostics
    help: str | None = None
    severity: Severity = Severity.ERROR
    related: tuple[tuple[str, Span], ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def sort_key(self) -> tuple[str, int, int, _Natural, _Natural, str]:
        span = self.span
        where = span.source if span else (self.file or "")
        return (
            where,
            span.line if span else 0,
            span.column if span else 0,
            _natural(self.bundle or ""),
            _natural(self.fact_path or ""),
            self.code + self.message,
        )


# A text's sort key with its runs of digits compared as numbers: `$.time[2]` before `$.time[10]`,
# bundle `#9` before `#10` (as text, `$.time[10000]` came second of 80,000). re.split with a group
# puts the digit runs at the odd places, so two keys always compare text with text, int with int;
# the text itself comes after them, so that `a07` and `a7` still have an order.
_Natural = tuple[tuple[str | int, ...], str]
_DIGITS = re.compile(r"([0-9]+)")


def _natural(text: str) -> _Natural:
    parts = _DIGITS.split(text)
    return tuple(int(part) if odd else part for odd, part in zip(cycle((False, True)), parts)), text


class PolicyError(Exception):
    """Raised when policy text cannot be loaded; carries every diagnostic found, sorted."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sort_diagnostics(diagnostics)
        super().__init__(render_text(self.diagnostics, {}, color=False))


class FactError(Exception):
    """Raised when a fact file cannot be read at all (not for one bad bundle in a good file)."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = sort_diagnostics(diagnostics)
        super().__init__(render_text(self.diagnostics, {}, color=False))


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> tuple[Diagnostic, ...]:
    return tuple(sorted(diagnostics, key=Diagnostic.sort_key))


def _header(diag: Diagnostic) -> str:
    if diag.span is not None:
        where = str(diag.span)
    else:
        # (an id of up to 2,000 characters shortened, as in the decision's text form; JSON keeps it whole)
        bundle = diag.bundle is not None and f"bundle `{shortened_id(diag.bundle)}`"
        parts = [p for p in (diag.file, bundle, diag.fact_path) if p]
        where = ": ".join(parts) if parts else "carepolicy"
    return f"{where}: {diag.severity.value}[{diag.code}]: {diag.message}"


_QUOTED = 160  # characters of a long line quoted around the span: a JSON line may be a megabyte


def _snippet(span: Span, source: LineSource | None) -> list[str]:
    if source is None:
        return []
    text = source.line(span.line)
    if not text:
        return []
    width = max(1, (span.end_column - span.column) if span.end_line == span.line else len(text) - span.column + 1)
    column = span.column
    if len(text) > _QUOTED:  # a window around the span, each cut end marked
        start = max(0, min(column - 1 - _QUOTED // 2, len(text) - _QUOTED))
        text = ("…" if start else "") + text[start : start + _QUOTED] + ("…" if start + _QUOTED < len(text) else "")
        column, width = column - start + (1 if start else 0), min(width, _QUOTED)
    gutter = f"{span.line:>4} | "
    # the line is shown with its control characters as escapes (`\x0d` for a CR in a JSON line)
    # and a tab as four spaces (a terminal would take it to its next tab stop, which the caret line
    # cannot follow): the caret goes under what the span's characters became, not their count
    before, under = _shown(text[: column - 1]), _shown(text[column - 1 : column - 1 + width])
    return [gutter + _shown(text), " " * len(gutter) + " " * len(before) + "^" * max(1, len(under))]


def _shown(text: str) -> str:
    return printable(text).replace("\t", "    ")


def render_text(diagnostics: Iterable[Diagnostic], sources: Mapping[str, LineSource], *, color: bool = False) -> str:
    """Human form: `file:line:col: error[CODE]: message`, the source line with a caret, then help."""
    out: list[str] = []
    for diag in diagnostics:
        header = printable(_header(diag))  # (a bundle id or a quoted value may hold any character)
        if color:
            tint = "\x1b[31m" if diag.is_error else "\x1b[33m"
            header = f"{tint}{header}\x1b[0m"
        out.append(header)
        if diag.span is not None:
            out.extend(printable(line) for line in _snippet(diag.span, sources.get(diag.span.source)))
        for label, span in diag.related:
            out.append(printable(f"  note: {label} at {span}"))
        if diag.help:
            out.append(printable(f"  help: {diag.help}"))
    return "\n".join(out) + ("\n" if out else "")


def to_json_obj(diag: Diagnostic) -> dict[str, object]:
    obj: dict[str, object] = {"code": diag.code, "severity": diag.severity.value, "message": diag.message}
    if diag.span is not None:
        obj["file"] = diag.span.source
        obj["line"] = diag.span.line
        obj["column"] = diag.span.column
        obj["end_line"] = diag.span.end_line
        obj["end_column"] = diag.span.end_column
    elif diag.file is not None:
        obj["file"] = diag.file
    if diag.bundle is not None:
        obj["bundle"] = diag.bundle
    if diag.fact_path is not None:
        obj["fact_path"] = diag.fact_path
    if diag.help is not None:
        obj["help"] = diag.help
    if diag.related:
        obj["related"] = [{"label": label, "at": str(span)} for label, span in diag.related]
    return obj


def render_json(diagnostics: Iterable[Diagnostic]) -> str:
    """Machine form: a JSON array, keys sorted, stable across runs."""
    return json.dumps([to_json_obj(d) for d in diagnostics], indent=2, sort_keys=True) + "\n"


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A `help` text naming the closest candidate, or None when nothing is close."""
    import difflib

    close = difflib.get_close_matches(name, sorted(set(candidates)), n=5, cutoff=0.6)
    if not close:
        return None
    # difflib's ratio ties `cmm` with `pcm` and `ccm` and took the first it listed (`pcm`); among the
    # close ones, the fewest letters to change decides, then difflib's order
    best = min(close, key=lambda candidate: (_edits(name, candidate), close.index(candidate)))
    return f"did you mean `{best}`?"


def _edits(a: str, b: str) -> int:
    """Letters to insert, delete or change to turn `a` into `b` (Levenshtein distance)."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]


def plural(count: int, noun: str) -> str:
    """`1 record`, `2 records`: the count with its noun, for every summary and message."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
