"""Syntax-error recovery: every syntax error of a file in one run, and the declarations that parsed.

Lark's LALR parser stops at the first error. Declarations are independent units that each start
with a keyword at the start of a line, so after an error the declaration that holds it (from its
keyword line to the next declaration's keyword line) is blanked out, newlines kept so every other
position stays where it was, and the file is parsed again. Each round reports one new error; the
declarations that never held one parse and are checked as usual. Blanking a declaration may make
names it declared unknown elsewhere: `blanked_names` lists them so the caller can drop the
follow-on "unknown name" errors, which would only repeat the syntax error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from lark import Token, Tree, UnexpectedInput

from ..diagnostics import Diagnostic
from ..source import SourceFile, Span

MAX_SYNTAX_ERRORS = 25  # a file that is not a policy at all should not print thousands of lines

# A line that starts a declaration: its keyword, then (group 2) the id it declares.
_DECLARATION_LINE = re.compile(
    r"^[ \t]*(define|rule|code|add-on|exclusive|exclusion|bundling|exception|parameter|switch|cost[ \t]+sharing"
    r"|choose[ \t]+coding|pricing|rvu[ \t]+table|precondition)[ \t]+([A-Za-z0-9_.\-]+)",
    re.MULTILINE,
)
# An unindented line of a word and then an id, where a declaration would start (its keyword misspelt).
_UNKNOWN_DECLARATION_LINE = re.compile(r"[A-Za-z][A-Za-z\-]*[ \t]+(?:[A-Za-z]+[ \t]+)?([A-Za-z0-9_.\-]+)")
_SOURCE_LINE = re.compile(r"^[ \t]*source[ \t]+([A-Za-z0-9_]+)", re.MULTILINE)
_PROGRAM_LINE = re.compile(r"^[ \t]*program[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)  # a code's program


@dataclass(frozen=True, slots=True)
class Recovered:
    """What a file gave: its tree (None when even its header did not parse) and every syntax error."""

    tree: Tree[Token] | None
    errors: tuple[Diagnostic, ...]
    blanked_names: frozenset[str]  # ids and source tags declared in the parts that were skipped


def _blank(text: str, start: int, end: int) -> str:
    """Spaces for everything in [start, end) but line ends, so lines and columns do not move."""
    return text[:start] + re.sub(r"[^\r\n]", " ", text[start:end]) + text[end:]


def _error_offset(error: UnexpectedInput, text: str) -> int:
    token = getattr(error, "token", None)
    if isinstance(token, Token) and token.type != "$END" and token.start_pos is not None:
        return token.start_pos
    position = getattr(error, "pos_in_stream", None)
    return len(text) if position is None else int(position)


def _unfinished_above(error: Diagnostic, text: str, start: int, source: SourceFile) -> Diagnostic:
    keyword_at = start + len(text[start:]) - len(text[start:].lstrip())
    keyword = text[keyword_at:].split()[0]
    line = text.count("\n", 0, keyword_at) + 1
    column = keyword_at - (text.rfind("\n", 0, keyword_at) + 1) + 1
    return replace(
        error,
        message=f"`{keyword}` starts a declaration, but the declaration above it is not finished",
        span=Span(source.name, line, column, line, column + len(keyword)),
        help="the last clause of the declaration above ends too early (e.g. after `and`, `,` or an operator)",
    )


def declared_names(text: str) -> frozenset[str]:
    """The ids, source tags and programs a piece of policy text declares (read loosely: it may not
    parse)."""
    return (
        frozenset(m[2] for m in _DECLARATION_LINE.finditer(text))
        | frozenset(m[1] for m in _SOURCE_LINE.finditer(text))
        | frozenset(m[1] for m in _PROGRAM_LINE.finditer(text))
    )


def parse_recovering(
    parse: Callable[[str], Tree[Token]],
    describe: Callable[[UnexpectedInput, SourceFile], Diagnostic],
    source: SourceFile,
) -> Recovered:
    """Parse, blanking the declaration of each error and parsing again, until the rest parses."""
    text = source.text
    errors: list[Diagnostic] = []
    blanked: set[str] = set()
    # declaration start -> (the text, blanked names and error as they were before the declaration
    # above it was blanked for an error on its first line): see below
    blamed_above: dict[int, tuple[str, frozenset[str], Diagnostic]] = {}
    while len(errors) < MAX_SYNTAX_ERRORS:
        try:
            tree = parse(text)
        except UnexpectedInput as error:
            offset = _error_offset(error, text)
            starts = [m.start() for m in _DECLARATION_LINE.finditer(text)]
            holder = [s for s in starts if s < offset]
            if holder and holder[-1] in blamed_above and "\n" not in text[holder[-1]:offset]:
                # Its first line fails with the declaration above gone too: the one above was
                # finished, the error is this declaration's own (`rule broken` at the end of a file).
                # Blaming the one above again reported the same error once per declaration above,
                # each one blanked in turn (15 times for a line added to ccm.policy). Take back the
                # blanking and the message, and skip this declaration instead.
                text, names, first = blamed_above.pop(holder[-1])
                blanked = set(names)
                errors[-1] = first
                start = holder[-1]
                end = next((m.start() for m in _DECLARATION_LINE.finditer(text) if m.start() > start), len(text))
                blanked |= declared_names(text[start:end])
                text = _blank(text, start, end)
                continue
            errors.append(describe(error, source))
            if not holder:  # the header itself is broken: skip its bad `source` line, or give up
                line_start = text.rfind("\n", 0, offset) + 1
                line_end = text.find("\n", offset)
                line_end = len(text) if line_end < 0 else line_end
                if not _SOURCE_LINE.match(text, line_start):
                    return Recovered(None, tuple(errors), declared_names(source.text))
                blanked |= declared_names(text[line_start:line_end])
                text = _blank(text, line_start, line_end)
                continue
            line_start = text.rfind("\n", 0, offset) + 1
            bogus = _UNKNOWN_DECLARATION_LINE.match(text, line_start) if offset == line_start else None
            if bogus is not None and offset not in starts:
                # A word at the start of a line that is no declaration keyword (`cdoe 99490 "..."`,
                # `addon 99439 to 99490`): a misspelt keyword starts a declaration of its own. Skip
                # it alone, naming what it declares: skipping from the declaration above took a
                # finished one with it, and every use of 99490 then said "code `99490` is not
                # declared" (8 follow-on errors for one misspelt word, each guessing `99494`).
                end = next((s for s in starts if s > offset), len(text))
                blanked |= declared_names(text[line_start:end]) | {bogus[1]}
                text = _blank(text, line_start, end)
                continue
            start = holder[-1]
            if len(holder) > 1 and "\n" not in text[start:offset]:
                # The error is on a declaration's own first line, after its keyword: the keyword was
                # read as a name of the declaration above, which therefore did not end. Say so, and
                # skip that one instead.
                blamed_above[start] = (text, frozenset(blanked), errors[-1])
                errors[-1] = _unfinished_above(errors[-1], text, start, source)
                start, end = holder[-2], start
                blanked |= declared_names(text[start:end])
                text = _blank(text, start, end)
                continue
            end = next((s for s in starts if s >= offset and s > start), len(text))
            blanked |= declared_names(text[start:end])
            text = _blank(text, start, end)
            continue
        return Recovered(tree, tuple(errors), frozenset(blanked))
    return Recovered(None, tuple(errors), declared_names(source.text))
