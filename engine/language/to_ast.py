"""Lark parse tree -> frozen AST (engine/language/syntax.py), in one Transformer.

`ToAst` is assembled from one builder per part of the grammar: clauses (to_ast_clauses.py),
declarations (to_ast_declarations.py) and expressions (to_ast_expressions.py), on the shared state
and helpers of to_ast_base.py; this module adds the file and its header. Spans are stamped in one
place (`AstBuilder._span`), so no node exists without one. Clause lists are sorted into
declaration fields; a clause given twice where once is allowed becomes a diagnostic, collected
rather than raised, so a file reports all its problems at once.
"""

from __future__ import annotations

from lark import Token, Tree, v_args
from lark.tree import Meta

from ..diagnostics import Diagnostic
from ..source import Span
from . import syntax as s
from .to_ast_base import unquote
from .to_ast_clauses import ClauseBuilder
from .to_ast_declarations import DeclarationBuilder
from .to_ast_expressions import ExpressionBuilder


@v_args(meta=True, inline=True)
class ToAst(DeclarationBuilder, ClauseBuilder, ExpressionBuilder):
    """Builds `syntax.PolicyFile` from the tree of one file."""

    # ------------------------------------------------------------ file
    def start(
        self, meta: Meta, header: tuple[str, str, tuple[s.Source, ...], Span], *decls: s.Declaration
    ) -> s.PolicyFile:
        ident, title, sources, span = header
        return s.PolicyFile(self.source, ident, title, sources, tuple(decls), span)

    def policy_header(
        self, meta: Meta, ident: str, title: Token, *sources: s.Source
    ) -> tuple[str, str, tuple[s.Source, ...], Span]:
        return ident, unquote(title), sources, self._span(meta)

    def source_decl(self, meta: Meta, tag: Token, title: Token) -> s.Source:
        return s.Source(str(tag), unquote(title), self._span(meta))

    def dotted(self, meta: Meta, *parts: Token) -> str:
        return ".".join(str(p) for p in parts)


def to_ast(tree: Tree[Token], source: str) -> tuple[s.PolicyFile, list[Diagnostic]]:
    """Convert one file's parse tree; returns the AST and any structural diagnostics."""
    builder = ToAst(source)
    result = builder.transform(tree)
    assert isinstance(result, s.PolicyFile)
    return result, builder.diagnostics
