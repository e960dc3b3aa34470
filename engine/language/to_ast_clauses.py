"""Lark tree -> AST, the clauses: each clause of a declaration becomes a `Clause` (its grammar name,
payload and span) for the declaration builder (to_ast_declarations) to sort into fields.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lark import Token, v_args
from lark.tree import Meta

from . import syntax as s
from .clauses import (
    Assumption,
    Bundles,
    Cite,
    CodeRef,
    Excludes,
    Indeterminate,
    Interval,
    NotPriced,
    OneOf,
    ParameterValue,
    Pays,
    PreferenceOf,
    Requirement,
    RvuRow,
    Sequestration,
    Units,
    WithinProgram,
)
from .to_ast_base import AstBuilder, Clause, unquote
from .valuetypes import COUNT


@v_args(meta=True, inline=True)
class ClauseBuilder(AstBuilder):
    """The clauses (`cite`, `effective`, `requires`, `units`, `pays`, ...), dates' intervals and code lists."""

    # ------------------------------------------------------------ clauses
    def cite(self, meta: Meta, tag: Token, locator: Token) -> Clause:
        span = self._span(meta)
        return Clause("cite", Cite(str(tag), unquote(locator), span), span)

    def assumption(self, meta: Meta, reason: Token) -> Clause:
        span = self._span(meta)
        return Clause("assumption", Assumption(unquote(reason), span), span)

    def effective(self, meta: Meta, interval: Interval) -> Clause:
        return Clause("effective", interval, self._span(meta))

    def interval_from(self, meta: Meta, start: Token, _range: Token, end: Token | None = None) -> Interval:
        return Interval(self._date(start), self._date(end) if end else None, self._span(meta))

    def interval_until(self, meta: Meta, _range: Token, end: Token) -> Interval:
        return Interval(None, self._date(end), self._span(meta))

    def requires(self, meta: Meta, *items: Any) -> Clause:
        *conditions, message = items
        span = self._span(meta)
        text = unquote(message) if message is not None else None
        return Clause("requires", Requirement(tuple(conditions), text, span), span)

    def program(self, meta: Meta, name: Token) -> Clause:
        return Clause("program", str(name), self._span(meta))

    def when(self, meta: Meta, expr: s.Expr) -> Clause:
        return Clause("when", expr, self._span(meta))

    def billing(self, meta: Meta, codes: tuple[CodeRef, ...]) -> Clause:
        return Clause("billing", codes, self._span(meta))

    def clause_assumption(self, meta: Meta, reason: Token) -> Assumption:
        return Assumption(unquote(reason), self._span(meta))

    def units(self, meta: Meta, increment: s.Expr, measure: s.Expr, beyond: s.Expr, *assumed: Assumption) -> Clause:
        span = self._span(meta)
        units = Units(increment=increment, measure=measure, beyond=beyond, span=span, assumptions=assumed)
        return Clause("units", units, span)

    def units_once(self, meta: Meta, condition: s.Expr, *assumed: Assumption) -> Clause:
        span = self._span(meta)
        one, zero = s.Literal(1, COUNT, "1", span), s.Literal(0, COUNT, "0", span)
        measure = s.Conditional(condition, one, zero, condition.span)
        units = Units(increment=one, measure=measure, beyond=zero, span=span, once=condition, assumptions=assumed)
        return Clause("units", units, span)

    def unit_cap(self, meta: Meta, cap: s.Expr, when: s.Expr | None, *assumed: Assumption) -> Clause:
        return Clause("at most", (cap, when, assumed), self._span(meta))

    def unit_count(self, meta: Meta, count: s.Expr, *assumed: Assumption) -> Clause:
        return Clause("units =", (count, assumed), self._span(meta))

    def one_of(self, meta: Meta, codes: tuple[CodeRef, ...], scope: Token) -> Clause:
        span = self._span(meta)
        return Clause("one of", OneOf(codes=codes, scope=str(scope), span=span), span)

    def excludes(
        self,
        meta: Meta,
        subject: tuple[CodeRef, ...],
        excluded: tuple[CodeRef, ...],
        who: Token,
        any_month: bool | None = None,
    ) -> Clause:
        span = self._span(meta)
        clause = Excludes(subject=subject, excluded=excluded, who=str(who), span=span, any_month=bool(any_month))
        return Clause("excludes", clause, span)

    def bundles(self, meta: Meta, subject: tuple[CodeRef, ...], bundled: tuple[CodeRef, ...], who: Token) -> Clause:
        span = self._span(meta)
        return Clause("bundles", Bundles(subject=subject, bundled=bundled, who=str(who), span=span), span)

    def any_month(self, meta: Meta) -> bool:
        return True

    def value(self, meta: Meta, expr: s.Expr, interval: Interval, tag: Token | None, locator: Token | None) -> Clause:
        span = self._span(meta)
        cite = Cite(str(tag), unquote(locator), self._span(tag)) if tag is not None and locator is not None else None
        return Clause("value", ParameterValue(value=expr, effective=interval, cite=cite, span=span), span)

    def unknown_otherwise(self, meta: Meta, reason: Token) -> Clause:
        return Clause("otherwise unknown", unquote(reason), self._span(meta))

    def options(self, meta: Meta, *names: Token) -> Clause:
        return Clause("options", tuple(str(n) for n in names), self._span(meta))

    def default(self, meta: Meta, name: Token) -> Clause:
        return Clause("default", str(name), self._span(meta))

    def during(self, meta: Meta, interval: Interval) -> Interval:
        return interval

    def sequestration(self, meta: Meta, rate: s.Expr, when: s.Expr, during: Interval | None) -> Clause:
        span = self._span(meta)
        return Clause("sequestration", Sequestration(rate=rate, when=when, span=span, during=during), span)

    def deductible(self, meta: Meta, expr: s.Expr, during: Interval | None) -> Clause:
        return Clause("deductible", (expr, during), self._span(meta))

    def coinsurance(self, meta: Meta, expr: s.Expr, during: Interval | None) -> Clause:
        return Clause("coinsurance", (expr, during), self._span(meta))

    def pays(
        self,
        meta: Meta,
        payer: Token,
        share: Token,
        fraction: s.Expr | None,
        when: s.Expr,
        priority: Token | None,
        during: Interval | None,
    ) -> Clause:
        span = self._span(meta)
        prio = int(priority) if priority is not None else None
        pays = Pays(
            payer=str(payer), share=str(share), fraction=fraction, when=when, priority=prio, span=span, during=during
        )
        return Clause("pays", pays, span)

    def indeterminate(self, meta: Meta, when: s.Expr, reason: Token, during: Interval | None) -> Clause:
        span = self._span(meta)
        clause = Indeterminate(when=when, reason=unquote(reason), span=span, during=during)
        return Clause("indeterminate", clause, span)

    def preference(self, meta: Meta, codes: tuple[CodeRef, ...]) -> Clause:
        return Clause("preference", codes, self._span(meta))

    def within_program(self, meta: Meta, program: Token, codes: tuple[CodeRef, ...]) -> Clause:
        span = self._span(meta)
        return Clause("within", WithinProgram(program=str(program), codes=codes, span=span), span)

    def highest_first(self, meta: Meta) -> Clause:
        return Clause("highest first", True, self._span(meta))

    def preference_then(self, meta: Meta, codes: tuple[CodeRef, ...]) -> Clause:
        return Clause("then preference", codes, self._span(meta))

    def preference_of(self, meta: Meta, strategy: str) -> Clause:
        span = self._span(meta)
        return Clause("then preference of", PreferenceOf(strategy=strategy, span=span), span)

    def highest_total(self, meta: Meta) -> Clause:
        return Clause("highest total", True, self._span(meta))

    def conversion(self, meta: Meta, name: Token) -> Clause:
        return Clause("conversion", (str(name), self._span(name)), self._span(meta))

    def not_priced(self, meta: Meta, when: s.Expr, reason: Token) -> Clause:
        span = self._span(meta)
        return Clause("not priced", NotPriced(when=when, reason=unquote(reason), span=span), span)

    def rvu_row(self, meta: Meta, code: Token, work: Token, pe: Token, mp: Token) -> Clause:
        span = self._span(meta)
        row = RvuRow(code=str(code), work=Decimal(str(work)), pe=Decimal(str(pe)), mp=Decimal(str(mp)), span=span)
        return Clause("rvu", row, span)

    def rvu_setting(self, meta: Meta, name: Token) -> Clause:
        return Clause("setting", str(name), self._span(meta))

    def code_list(self, meta: Meta, *items: CodeRef) -> tuple[CodeRef, ...]:
        return items

    def code_one(self, meta: Meta, code: Token) -> CodeRef:
        return CodeRef("one", str(code), str(code), self._span(meta))

    def code_range(self, meta: Meta, low: Token, _range: Token, high: Token) -> CodeRef | s.CodeRange:
        return CodeRef("range", str(low), str(high), self._span(meta))

    def code_program(self, meta: Meta, name: Token) -> CodeRef:
        return CodeRef("program", str(name), str(name), self._span(meta))
