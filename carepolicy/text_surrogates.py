"""Where a lone surrogate is in text handed to `Evaluator.evaluate_text` as a `str`.

The fact readers read bytes, so such text is encoded with "surrogatepass" first, and the reader
then says `not UTF-8 text (byte N)`: a count of bytes the caller never saw, in a text where the
problem is one character. This names that character instead, as the caller gave it: its escape,
its position in the string (counted in characters, from 1), its line and column, and the JSON path
of the text holding it when the record is JSON the standard library can read (it reads lone
surrogates; the fact readers, rightly, do not).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from carepolicy.engine import BundleError, Diagnostic
from carepolicy.engine.facts.schema_messages import json_path
from carepolicy.engine.source import Span

_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_UTF8 = re.compile(r"not UTF-8 text \(byte \d+\)")


@dataclass(frozen=True, slots=True)
class Surrogate:
    """One lone surrogate of the caller's text, and where it is."""

    char: str
    position: int  # in characters, from 1
    line: int
    column: int
    line_text: str  # the whole line holding it (a JSON line's record)

    def words(self) -> str:
        return (
            f"text holds `\\u{ord(self.char):04x}` at character {self.position:,} of the text given "
            f"(line {self.line}, column {self.column}), half of a UTF-16 pair and not a character"
        )


def surrogates(text: str) -> list[Surrogate]:
    """The lone surrogates of `text`, first to last (none for ASCII text, found without a search)."""
    if text.isascii():
        return []
    found: list[Surrogate] = []
    for match in _SURROGATE.finditer(text):
        start = match.start()
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", start)
        line_text = text[line_start : len(text) if line_end < 0 else line_end]
        line = text.count("\n", 0, start) + 1
        found.append(Surrogate(match.group(), start + 1, line, start - line_start + 1, line_text))
    return found


def named(diagnostics: tuple[Diagnostic, ...], found: list[Surrogate], text: str) -> tuple[Diagnostic, ...]:
    """`diagnostics` with each `not UTF-8 text (byte N)` said of the surrogate it stands for: the first
    on the diagnostic's line (a JSON line, a YAML document's), or the first of all (a whole document)."""
    return tuple(_named(diag, found, text) for diag in diagnostics)


def named_error(error: BundleError, found: list[Surrogate], text: str) -> BundleError:
    fixed = named(error.diagnostics, found, text)
    return error if fixed == error.diagnostics else replace(error, diagnostics=fixed)


def _named(diag: Diagnostic, found: list[Surrogate], text: str) -> Diagnostic:
    if not found or not _NOT_UTF8.search(diag.message):
        return diag
    line = diag.span.line if diag.span is not None else None
    surrogate = next((s for s in found if s.line == line), found[0])
    message = _NOT_UTF8.sub(lambda _match: surrogate.words(), diag.message, count=1)
    line, column = surrogate.line, surrogate.column
    where = Span(diag.span.source, line, column, line, column + 1) if diag.span is not None else None
    # a whole JSON document's path is in the text; a JSON line's in its line (the text of several
    # lines is no JSON). Both now carry a span, so the text itself tells them apart.
    path = _path_in(text, surrogate.char)
    if path is None and diag.span is not None:
        path = _path_in(surrogate.line_text, surrogate.char)
    return replace(diag, message=message, span=where, fact_path=path or diag.fact_path)


def _path_in(text: str, char: str) -> str | None:
    """The JSON path of the first key or text holding `char`, when `text` is JSON; else None."""
    try:
        root = json.loads(text)
    except (ValueError, RecursionError):  # not JSON (YAML, or broken): no path is known
        return None
    stack: list[tuple[object, list[object]]] = [(root, [])]
    while stack:  # depth first, in the order the text has them
        value, parts = stack.pop()
        if isinstance(value, str) and char in value:
            return json_path(parts, root)
        children: list[tuple[object, list[object]]] = []
        if isinstance(value, Mapping):
            for key, item in value.items():
                if char in key:
                    return json_path([*parts, key], root)
                children.append((item, [*parts, key]))
        elif isinstance(value, list):
            children = [(item, [*parts, i]) for i, item in enumerate(value)]
        stack.extend(reversed(children))
    return None
