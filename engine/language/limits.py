"""The limits of the language, checked on the parse tree before anything else reads it.

Policy text is outside input: whatever it says, every later phase (the transformer, the checker,
both expression backends, the generated code, evaluation) must either handle it or never see it.
These limits make the second case explicit, with a diagnostic at the exact place
(docs/language.md, "Limits"):

- a date must exist (`2025-02-30` does not) and a month must be 01-12;
- a number (minutes, money, percentages, RVUs, counts) has at most 15 digits before its decimal
  point and 10 after; a calendar span is at most 100 years. Beyond these Python refuses to read
  the literal (over 4,300 digits) or money arithmetic leaves its exact range;
- expressions nest at most `MAX_NESTING` levels deep (`not not ... x`, `a + (b + (c ...))`, a
  chain of `and`). Every phase after the parser walks expressions recursively; the limit keeps
  them all, the closures interpreter and the generated code alike, far inside Python's stack.

Walking the tree here is iterative, so a text nested any depth gets a diagnostic, not a crash.
"""

from __future__ import annotations

import datetime as dt

from lark import Token, Tree

from ..diagnostics import Diagnostic
from ..source import Span

MAX_WHOLE_DIGITS = 15
MAX_FRACTION_DIGITS = 10
MAX_CALENDAR_MONTHS = 1200
MAX_NESTING = 100  # levels of the parse tree under one declaration (about one per operator)
# levels of evaluation through the definitions and rules an expression uses (check/depth.py)
MAX_DEPTH = 150
_NUMERIC = frozenset({"MINUTES", "CALENDAR_SPAN", "MONEY", "PERCENT", "NUMBER", "INT"})
_CLAUSE_LEVEL = 2  # start -> declaration -> clause (or a definition's body): not expression nesting


def _span(source: str, token: Token) -> Span:
    line, column = token.line or 1, token.column or 1
    return Span(source, line, column, token.end_line or line, token.end_column or column + 1)


def _digits_problem(token: Token) -> str | None:
    text = "".join(ch for ch in str(token) if ch.isdigit() or ch == ".")
    whole, _, fraction = text.partition(".")
    if len(whole.lstrip("0")) > MAX_WHOLE_DIGITS:
        return f"has {len(whole.lstrip('0'))} digits before the decimal point; the limit is {MAX_WHOLE_DIGITS}"
    if len(fraction) > MAX_FRACTION_DIGITS:
        return f"has {len(fraction)} digits after the decimal point; the limit is {MAX_FRACTION_DIGITS}"
    if token.type == "CALENDAR_SPAN":
        months = int(whole) * (12 if "year" in str(token) else 1)
        if months > MAX_CALENDAR_MONTHS:
            return f"is {months} months; a calendar span is at most {MAX_CALENDAR_MONTHS // 12} years"
    return None


def _date_help(text: str) -> str:
    """What is wrong with a YYYY-MM-DD that is no date: the month, or the day for that month."""
    import calendar

    year, month = int(text[:4]), int(text[5:7])
    if not 1 <= month <= 12:
        return f"there is no month {text[5:7]}: dates are YYYY-MM-DD, months run 01 to 12"
    if year >= 1:
        days = calendar.monthrange(year, month)[1]
        return f"{text[:7]} has {days} days: the last day of the month is {text[:8]}{days:02d}"
    return "dates are YYYY-MM-DD with a day that exists in that month, e.g. 2025-02-28"


def token_diagnostic(token: Token, source: str) -> Diagnostic | None:
    """A diagnostic for a literal the engine cannot represent, or None."""
    text = str(token)
    if token.type == "DATE":
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            return Diagnostic(
                "parse/invalid-date",
                f"`{text}` is not a date",
                span=_span(source, token),
                help=_date_help(text),
            )
    elif token.type == "MONTH" and not 1 <= int(text[5:7]) <= 12:
        return Diagnostic(
            "parse/invalid-date", f"`{text}` is not a month", span=_span(source, token), help="months run 01 to 12"
        )
    elif token.type in _NUMERIC:
        problem = _digits_problem(token)
        if problem is not None:
            shown = text if len(text) <= 24 else text[:20] + "…"
            return Diagnostic(
                "parse/number-too-long",
                f"`{shown}` {problem}",
                span=_span(source, token),
                help="see docs/language.md, Limits",
            )
    return None


def _tree_span(source: str, tree: Tree[Token]) -> Span:
    meta = tree.meta
    if not getattr(meta, "empty", True):
        return Span(source, meta.line, meta.column, meta.line, meta.column + 1)
    token = _first_token(tree)
    return _span(source, token) if token is not None else Span(source, 1, 1, 1, 2)


def _first_token(tree: Tree[Token]) -> Token | None:
    stack: list[Tree[Token] | Token] = [tree]  # children may be None (`maybe_placeholders`)
    while stack:
        node = stack.pop()
        if isinstance(node, Token):
            return node
        stack.extend(child for child in reversed(node.children) if child is not None)
    return None


def check_tree(tree: Tree[Token], source: str) -> list[Diagnostic]:
    """Every literal problem in the tree, and the first place nested deeper than `MAX_NESTING`."""
    found: list[Diagnostic] = []
    too_deep: Tree[Token] | None = None  # the clause (or definition body) holding the deep expression
    stack: list[tuple[Tree[Token] | Token, int, Tree[Token] | None]] = [(tree, 0, None)]
    while stack:
        node, depth, clause = stack.pop()
        if isinstance(node, Token):
            problem = token_diagnostic(node, source)
            if problem is not None:
                found.append(problem)
            continue
        if depth == _CLAUSE_LEVEL:
            clause = node
        if depth > MAX_NESTING + _CLAUSE_LEVEL:
            if too_deep is None:
                too_deep = clause or node
            continue  # nothing below is read: one diagnostic for the whole expression
        stack.extend((child, depth + 1, clause) for child in reversed(node.children) if child is not None)
    if too_deep is not None:
        span = _tree_span(source, too_deep)
        found.append(
            Diagnostic(
                "parse/too-deep",
                f"this expression is nested more than {MAX_NESTING} levels deep",
                span=span,
                help="name parts of it with `define` and use the names; see docs/language.md, Limits",
            )
        )
    return found
