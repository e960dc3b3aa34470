"""Lark tree -> AST, the expressions and literals: each literal's value is typed here, once."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lark import Token, v_args
from lark.tree import Meta

from . import syntax as s
from .clauses import CodeRef
from .to_ast_base import AstBuilder, unquote
from .valuetypes import BOOL, CALENDAR_SPAN, CODE, DATE, MINUTES, MONEY, MONTH, NUMBER, PERCENT, TEXT


@v_args(meta=True, inline=True)
class ExpressionBuilder(AstBuilder):
    """The expressions (`and`, `in`, `is missing`, arithmetic, calls, sets) and literals."""

    def aggregate(self, meta: Meta, kind: Token, path: str, where: s.Expr | None) -> s.Aggregate:
        span = self._span(meta)
        return s.Aggregate(str(kind), s.Name(tuple(path.split(".")), span), where, span)

    def distinct_aggregate(self, meta: Meta, kind: Token, path: s.Name, where: s.Expr | None) -> s.Aggregate:
        # `count distinct LIST.FIELD`: one kind of its own, so every stage that passes an aggregate
        # on (selections, templates) keeps the word without a field to forget
        return s.Aggregate(f"{kind} distinct", path, where, self._span(meta))

    def counted_field(self, meta: Meta, *parts: Token) -> s.Name:
        return s.Name(tuple(str(p) for p in parts), self._span(meta))

    def conditional(self, meta: Meta, condition: s.Expr, then: s.Expr, otherwise: s.Expr) -> s.Conditional:
        return s.Conditional(condition, then, otherwise, self._span(meta))

    def otherwise(self, meta: Meta, left: s.Expr, right: s.Expr) -> s.Otherwise:
        return s.Otherwise(left, right, self._span(meta))

    def _logical(self, op: str, meta: Meta, left: s.Expr, right: s.Expr) -> s.Logical:
        # Flatten `a and b and c` into one node: shorter traces, one short-circuit loop.
        operands: list[s.Expr] = []
        for side in (left, right):
            if isinstance(side, s.Logical) and side.op == op:
                operands.extend(side.operands)
            else:
                operands.append(side)
        return s.Logical(op, tuple(operands), self._span(meta))

    def or_(self, meta: Meta, left: s.Expr, right: s.Expr) -> s.Logical:
        return self._logical("or", meta, left, right)

    def and_(self, meta: Meta, left: s.Expr, right: s.Expr) -> s.Logical:
        return self._logical("and", meta, left, right)

    def not_(self, meta: Meta, operand: s.Expr) -> s.Not:
        return s.Not(operand, self._span(meta))

    def compare(self, meta: Meta, left: s.Expr, op: Token, right: s.Expr) -> s.Compare:
        return s.Compare(str(op), left, right, self._span(meta))

    def in_(self, meta: Meta, item: s.Expr, collection: s.Expr) -> s.Member:
        return s.Member(item, collection, False, self._span(meta))

    def not_in(self, meta: Meta, item: s.Expr, collection: s.Expr) -> s.Member:
        return s.Member(item, collection, True, self._span(meta))

    def is_missing(self, meta: Meta, operand: s.Expr) -> s.Presence:
        return s.Presence(operand, False, self._span(meta))

    def is_present(self, meta: Meta, operand: s.Expr) -> s.Presence:
        return s.Presence(operand, True, self._span(meta))

    def binop(self, meta: Meta, left: s.Expr, op: Token, right: s.Expr) -> s.Binary:
        return s.Binary(str(op), left, right, self._span(meta))

    def neg(self, meta: Meta, operand: s.Expr) -> s.Negate:
        return s.Negate(operand, self._span(meta))

    def name(self, meta: Meta, dotted: str) -> s.Name:
        return s.Name(tuple(dotted.split(".")), self._span(meta))

    def call(self, meta: Meta, function: Token, *args: s.Expr) -> s.Call:
        return s.Call(str(function), args, self._span(meta))

    def boundary(self, meta: Meta, which: Token, operand: s.Expr) -> s.Boundary:
        return s.Boundary(str(which), operand, self._span(meta))

    def set_lit(self, meta: Meta, *items: s.Expr | CodeRef) -> s.SetLiteral:
        converted: list[s.Expr | s.CodeRange] = []
        for item in items:
            if isinstance(item, CodeRef):
                converted.append(s.CodeRange(item.low, item.high, item.span))
            else:
                converted.append(item)
        return s.SetLiteral(tuple(converted), self._span(meta))

    # literals: the token text is kept for messages; the value is typed here, once.
    def _literal(self, token: Token, value: object, vtype: Any) -> s.Literal:
        return s.Literal(value, vtype, str(token), self._span(token))

    def date(self, meta: Meta, token: Token) -> s.Literal:
        return self._literal(token, self._date(token), DATE)

    def month(self, meta: Meta, token: Token) -> s.Literal:
        return self._literal(token, self._date(token), MONTH)

    def minutes(self, meta: Meta, token: Token) -> s.Literal:
        return self._literal(token, int("".join(ch for ch in str(token) if ch.isdigit())), MINUTES)

    def calendar_span(self, meta: Meta, token: Token) -> s.Literal:
        number = int("".join(ch for ch in str(token) if ch.isdigit()))
        months = number * 12 if "year" in str(token) else number
        return self._literal(token, months, CALENDAR_SPAN)

    def money(self, meta: Meta, token: Token) -> s.Literal:
        return self._literal(token, Decimal(str(token)[1:]), MONEY)

    def percent(self, meta: Meta, token: Token) -> s.Literal:
        return self._literal(token, Decimal(str(token)[:-1]) / 100, PERCENT)

    def code(self, meta: Meta, token: Token) -> s.Literal:
        return self._literal(token, str(token), CODE)

    def number(self, meta: Meta, token: Token) -> s.Literal:
        text = str(token)
        return self._literal(token, Decimal(text) if "." in text else int(text), NUMBER)

    def string(self, meta: Meta, token: Token) -> s.Literal:
        return self._literal(token, unquote(token), TEXT)

    def true(self, meta: Meta) -> s.Literal:
        return s.Literal(True, BOOL, "true", self._span(meta))

    def false(self, meta: Meta) -> s.Literal:
        return s.Literal(False, BOOL, "false", self._span(meta))
