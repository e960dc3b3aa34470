"""What every part of the Lark tree -> AST transformer shares: spans, dates, quoted text, clauses.

The transformer (`to_ast.ToAst`) is assembled from one builder per part of the grammar
(to_ast_clauses, to_ast_declarations, to_ast_expressions); each builds on `AstBuilder`, which
holds the file's name and the diagnostics collected so far, and stamps spans in one place
(`_span`), so no node exists without one.
"""

from __future__ import annotations

import calendar
from typing import Any

from lark import Token, Transformer
from lark.tree import Meta

from ..diagnostics import Diagnostic
from ..source import Span


def unquote(token: Token) -> str:
    return str(token)[1:-1].replace('\\"', '"').replace("\\\\", "\\")


class Clause:
    """A clause on its way into a declaration: its grammar name, payload and span."""

    __slots__ = ("name", "span", "value")

    def __init__(self, name: str, value: Any, span: Span) -> None:
        self.name = name
        self.value = value
        self.span = span


class AstBuilder(Transformer[Token, Any]):
    """The state and helpers the builders share; Lark calls the builders' public methods by rule name."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source
        self.diagnostics: list[Diagnostic] = []

    # ------------------------------------------------------------ helpers
    def _span(self, meta: Meta | Token) -> Span:
        if isinstance(meta, Token):
            line, column = meta.line or 0, meta.column or 0
            return Span(self.source, line, column, meta.end_line or line, meta.end_column or column)
        if getattr(meta, "empty", True):
            return Span(self.source, 0, 0, 0, 0)
        return Span(self.source, meta.line, meta.column, meta.end_line, meta.end_column)

    def _date(self, token: Token) -> str:
        """The token's date or month. One that is not on the calendar (`2025-02-30`) was reported
        by limits.check_tree; the nearest real one stands in so the rest can still be checked."""
        text = str(token)
        year, month, *day = (int(part) for part in text.split("-"))
        month = min(max(month, 1), 12)
        if not day:
            return f"{year:04d}-{month:02d}"
        return f"{year:04d}-{month:02d}-{min(max(day[0], 1), calendar.monthrange(year, month)[1]):02d}"
