"""Lark parse tree -> frozen AST (engine/syntax.py), in one Transformer.

Spans are stamped in one place (`_span`), so no node exists without one. Clause lists are sorted
into declaration fields here; a clause given twice where once is allowed becomes a diagnostic,
collected rather than raised, so a file reports all its problems at once.
"""

from __future__ import annotations

import calendar
from decimal import Decimal
from typing import Any

from lark import Token, Transformer, Tree, v_args
from lark.tree import Meta

from ..diagnostics import Diagnostic
from ..source import Span
from . import syntax as s
from .templates import DefineTemplate, Param, RuleTemplate
from .valuetypes import BOOL, CALENDAR_SPAN, CODE, COUNT, DATE, MINUTES, MONEY, MONTH, NUMBER, PERCENT, TEXT

_DEFAULT_INTERVAL = None


def _unquote(token: Token) -> str:
    return str(token)[1:-1].replace('\\"', '"').replace("\\\\", "\\")


class _Clause:
    """A clause on its way into a declaration: its grammar name, payload and span."""

    __slots__ = ("name", "span", "value")

    def __init__(self, name: str, value: Any, span: Span) -> None:
        self.name = name
        self.value = value
        self.span = span


@v_args(meta=True, inline=True)
class ToAst(Transformer[Token, Any]):
    """Builds `syntax.PolicyFile` from the tree of one file."""

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

    def _once(self, clauses: list[_Clause], name: str, owner: str) -> _Clause | None:
        found = [c for c in clauses if c.name == name]
        for extra in found[1:]:
            self.diagnostics.append(
                Diagnostic(
                    "parse/repeated-clause",
                    f"`{name}` is given twice in {owner}",
                    span=extra.span,
                    help="keep one; for values that change over time use dated `value ... effective` lines",
                )
            )
        return found[0] if found else None

    def _header(self, meta: Meta, ident: str, title: Token, clauses: list[_Clause], owner: str) -> dict[str, Any]:
        effective = self._once(clauses, "effective", owner)
        return {
            "id": ident,
            "title": _unquote(title),
            "cites": tuple(c.value for c in clauses if c.name == "cite"),
            "assumptions": tuple(c.value for c in clauses if c.name == "assumption"),
            "effective": effective.value if effective else _DEFAULT_INTERVAL,
            "span": self._span(meta),
        }

    def _all(self, clauses: list[_Clause], name: str) -> tuple[Any, ...]:
        return tuple(c.value for c in clauses if c.name == name)

    # ------------------------------------------------------------ file
    def start(
        self, meta: Meta, header: tuple[str, str, tuple[s.Source, ...], Span], *decls: s.Declaration
    ) -> s.PolicyFile:
        ident, title, sources, span = header
        return s.PolicyFile(self.source, ident, title, sources, tuple(decls), span)

    def policy_header(
        self, meta: Meta, ident: str, title: Token, *sources: s.Source
    ) -> tuple[str, str, tuple[s.Source, ...], Span]:
        return ident, _unquote(title), sources, self._span(meta)

    def source_decl(self, meta: Meta, tag: Token, title: Token) -> s.Source:
        return s.Source(str(tag), _unquote(title), self._span(meta))

    def dotted(self, meta: Meta, *parts: Token) -> str:
        return ".".join(str(p) for p in parts)

    # ------------------------------------------------------------ clauses
    def cite(self, meta: Meta, tag: Token, locator: Token) -> _Clause:
        span = self._span(meta)
        return _Clause("cite", s.Cite(str(tag), _unquote(locator), span), span)

    def assumption(self, meta: Meta, reason: Token) -> _Clause:
        span = self._span(meta)
        return _Clause("assumption", s.Assumption(_unquote(reason), span), span)

    def effective(self, meta: Meta, interval: s.Interval) -> _Clause:
        return _Clause("effective", interval, self._span(meta))

    def interval_from(self, meta: Meta, start: Token, _range: Token, end: Token | None = None) -> s.Interval:
        return s.Interval(self._date(start), self._date(end) if end else None, self._span(meta))

    def interval_until(self, meta: Meta, _range: Token, end: Token) -> s.Interval:
        return s.Interval(None, self._date(end), self._span(meta))

    def _date(self, token: Token) -> str:
        """The token's date or month. One that is not on the calendar (`2025-02-30`) was reported
        by limits.check_tree; the nearest real one stands in so the rest can still be checked."""
        text = str(token)
        year, month, *day = (int(part) for part in text.split("-"))
        month = min(max(month, 1), 12)
        if not day:
            return f"{year:04d}-{month:02d}"
        return f"{year:04d}-{month:02d}-{min(max(day[0], 1), calendar.monthrange(year, month)[1]):02d}"

    def requires(self, meta: Meta, *items: Any) -> _Clause:
        *conditions, message = items
        span = self._span(meta)
        text = _unquote(message) if message is not None else None
        return _Clause("requires", s.Requirement(tuple(conditions), text, span), span)

    def program(self, meta: Meta, name: Token) -> _Clause:
        return _Clause("program", str(name), self._span(meta))

    def when(self, meta: Meta, expr: s.Expr) -> _Clause:
        return _Clause("when", expr, self._span(meta))

    def units(self, meta: Meta, increment: s.Expr, measure: s.Expr, beyond: s.Expr) -> _Clause:
        span = self._span(meta)
        return _Clause("units", s.Units(increment=increment, measure=measure, beyond=beyond, span=span), span)

    def units_once(self, meta: Meta, condition: s.Expr) -> _Clause:
        span = self._span(meta)
        one, zero = s.Literal(1, COUNT, "1", span), s.Literal(0, COUNT, "0", span)
        measure = s.Conditional(condition, one, zero, condition.span)
        units = s.Units(increment=one, measure=measure, beyond=zero, span=span, once=condition)
        return _Clause("units", units, span)

    def unit_cap(self, meta: Meta, cap: s.Expr, when: s.Expr | None = None) -> _Clause:
        return _Clause("at most", (cap, when), self._span(meta))

    def _unit_cap(self, clauses: list[_Clause], owner: str) -> s.Expr | None:
        """One cap expression from the `at most` clauses: conditional caps become an `if` chain
        whose last `else` is the unconditional cap, or no cap (a `None` literal) when there is none."""
        caps = [c for c in clauses if c.name == "at most"]
        if not caps:
            return None
        if len(caps) == 1 and caps[0].value[1] is None:
            cap: s.Expr = caps[0].value[0]
            return cap
        plain = [c for c in caps if c.value[1] is None]
        for extra in plain[1:] + ([plain[0]] if plain and plain[0] is not caps[-1] else []):
            self.diagnostics.append(
                Diagnostic(
                    "parse/repeated-clause",
                    f"{owner} has an `at most` without `when` that is not its last cap",
                    span=extra.span,
                    help="give every cap but the last a `when` condition; the first cap whose condition holds applies",
                )
            )
        last = caps[-1]
        result: s.Expr = last.value[0] if last.value[1] is None else s.Literal(None, COUNT, "no cap", last.span)
        for clause in reversed(caps if last.value[1] is not None else caps[:-1]):
            cap_expr, when = clause.value
            if when is not None:
                result = s.Conditional(when, cap_expr, result, clause.span)
        return result

    def unit_count(self, meta: Meta, count: s.Expr) -> _Clause:
        return _Clause("units =", count, self._span(meta))

    def one_of(self, meta: Meta, codes: tuple[s.CodeRef, ...], scope: Token) -> _Clause:
        span = self._span(meta)
        return _Clause("one of", s.OneOf(codes=codes, scope=str(scope), span=span), span)

    def excludes(
        self,
        meta: Meta,
        subject: tuple[s.CodeRef, ...],
        excluded: tuple[s.CodeRef, ...],
        who: Token,
        any_month: bool | None = None,
    ) -> _Clause:
        span = self._span(meta)
        clause = s.Excludes(subject=subject, excluded=excluded, who=str(who), span=span, any_month=bool(any_month))
        return _Clause("excludes", clause, span)

    def any_month(self, meta: Meta) -> bool:
        return True

    def value(
        self, meta: Meta, expr: s.Expr, interval: s.Interval, tag: Token | None, locator: Token | None
    ) -> _Clause:
        span = self._span(meta)
        cite = s.Cite(str(tag), _unquote(locator), self._span(tag)) if tag is not None and locator is not None else None
        return _Clause("value", s.ParameterValue(value=expr, effective=interval, cite=cite, span=span), span)

    def options(self, meta: Meta, *names: Token) -> _Clause:
        return _Clause("options", tuple(str(n) for n in names), self._span(meta))

    def default(self, meta: Meta, name: Token) -> _Clause:
        return _Clause("default", str(name), self._span(meta))

    def during(self, meta: Meta, interval: s.Interval) -> s.Interval:
        return interval

    def deductible(self, meta: Meta, expr: s.Expr, during: s.Interval | None) -> _Clause:
        return _Clause("deductible", (expr, during), self._span(meta))

    def coinsurance(self, meta: Meta, expr: s.Expr, during: s.Interval | None) -> _Clause:
        return _Clause("coinsurance", (expr, during), self._span(meta))

    def pays(
        self,
        meta: Meta,
        payer: Token,
        share: Token,
        fraction: s.Expr | None,
        when: s.Expr,
        priority: Token | None,
        during: s.Interval | None,
    ) -> _Clause:
        span = self._span(meta)
        prio = int(priority) if priority is not None else None
        pays = s.Pays(
            payer=str(payer), share=str(share), fraction=fraction, when=when, priority=prio, span=span, during=during
        )
        return _Clause("pays", pays, span)

    def indeterminate(self, meta: Meta, when: s.Expr, reason: Token, during: s.Interval | None) -> _Clause:
        span = self._span(meta)
        clause = s.Indeterminate(when=when, reason=_unquote(reason), span=span, during=during)
        return _Clause("indeterminate", clause, span)

    def preference(self, meta: Meta, codes: tuple[s.CodeRef, ...]) -> _Clause:
        return _Clause("preference", codes, self._span(meta))

    def highest_total(self, meta: Meta) -> _Clause:
        return _Clause("highest total", True, self._span(meta))

    def conversion(self, meta: Meta, name: Token) -> _Clause:
        return _Clause("conversion", (str(name), self._span(name)), self._span(meta))

    def not_priced(self, meta: Meta, when: s.Expr, reason: Token) -> _Clause:
        span = self._span(meta)
        return _Clause("not priced", s.NotPriced(when=when, reason=_unquote(reason), span=span), span)

    def rvu_row(self, meta: Meta, code: Token, work: Token, pe: Token, mp: Token) -> _Clause:
        span = self._span(meta)
        row = s.RvuRow(code=str(code), work=Decimal(str(work)), pe=Decimal(str(pe)), mp=Decimal(str(mp)), span=span)
        return _Clause("rvu", row, span)

    def code_list(self, meta: Meta, *items: s.CodeRef) -> tuple[s.CodeRef, ...]:
        return items

    def code_one(self, meta: Meta, code: Token) -> s.CodeRef:
        return s.CodeRef("one", str(code), str(code), self._span(meta))

    def code_range(self, meta: Meta, low: Token, _range: Token, high: Token) -> s.CodeRef | s.CodeRange:
        return s.CodeRef("range", str(low), str(high), self._span(meta))

    def code_program(self, meta: Meta, name: Token) -> s.CodeRef:
        return s.CodeRef("program", str(name), str(name), self._span(meta))

    # ------------------------------------------------------------ declarations
    def define_decl(self, meta: Meta, name: Token, title: Token, *rest: Any) -> s.Define:
        *clauses, expr = rest
        return s.Define(**self._header(meta, str(name), title, list(clauses), f"define `{name}`"), expr=expr)

    def define_template_decl(
        self, meta: Meta, name: Token, params: tuple[Param, ...], title: Token, *rest: Any
    ) -> DefineTemplate:
        *clauses, expr = rest
        head = self._header(meta, str(name), title, list(clauses), f"define `{name}`")
        return DefineTemplate(**head, params=params, expr=expr)

    def rule_template_decl(
        self, meta: Meta, name: Token, params: tuple[Param, ...], title: Token, *clauses: _Clause
    ) -> RuleTemplate:
        head = self._header(meta, str(name), title, list(clauses), f"rule `{name}`")
        return RuleTemplate(**head, params=params, requirements=self._all(list(clauses), "requires"))

    def template_params(self, meta: Meta, *params: Param) -> tuple[Param, ...]:
        return params

    def template_param(self, meta: Meta, name: Token, kind: Token) -> Param:
        return Param(str(name), str(kind), self._span(meta))

    def selection_decl(self, meta: Meta, name: Token, title: Token, *rest: Any) -> s.Selection:
        *clauses, list_path, where = rest
        head = self._header(meta, str(name), title, list(clauses), f"selection `{name}`")
        return s.Selection(**head, list=s.Name(tuple(list_path.split(".")), self._span(meta)), where=where)

    def rule_decl(self, meta: Meta, ident: str, title: Token, *clauses: _Clause) -> s.Rule:
        head = self._header(meta, ident, title, list(clauses), f"rule `{ident}`")
        return s.Rule(**head, requirements=self._all(list(clauses), "requires"))

    def code_decl(self, meta: Meta, code: Token, title: Token, *clauses: _Clause) -> s.Code:
        owner = f"code `{code}`"
        head = self._header(meta, str(code), title, list(clauses), owner)
        program = self._once(list(clauses), "program", owner)
        count = self._once(list(clauses), "units =", owner)
        cap = self._unit_cap(list(clauses), owner)
        return s.Code(
            **head,
            program=program.value if program else None,
            requirements=self._all(list(clauses), "requires"),
            unit_count=count.value if count else None,
            unit_cap=cap,
        )

    def addon_decl(
        self, meta: Meta, code: Token, bases: tuple[s.CodeRef, ...], title: Token, *clauses: _Clause
    ) -> s.Code:
        owner = f"add-on `{code}`"
        items = list(clauses)
        head = self._header(meta, str(code), title, items, owner)
        program = self._once(items, "program", owner)
        units = self._once(items, "units", owner)
        cap = self._unit_cap(items, owner)
        if cap is None and units is not None and units.value.once is not None:
            cap = s.Literal(1, COUNT, "1", units.span)  # billed once: never a second unit
        count = self._once(items, "units =", owner)
        return s.Code(
            **head,
            program=program.value if program else None,
            requirements=self._all(items, "requires"),
            bases=bases,
            units=units.value if units else None,
            unit_cap=cap,
            unit_count=count.value if count else None,
        )

    def precondition_decl(self, meta: Meta, ident: str, title: Token, *clauses: _Clause) -> s.Precondition:
        owner = f"precondition `{ident}`"
        items = list(clauses)
        program = self._once(items, "program", owner)
        return s.Precondition(
            **self._header(meta, ident, title, items, owner),
            program=program.value if program else None,
            requirements=self._all(items, "requires"),
        )

    def exclusive_decl(self, meta: Meta, ident: str, title: Token, *clauses: _Clause) -> s.Exclusive:
        head = self._header(meta, ident, title, list(clauses), f"exclusive `{ident}`")
        return s.Exclusive(**head, groups=self._all(list(clauses), "one of"))

    def exclusion_decl(self, meta: Meta, ident: str, title: Token, *clauses: _Clause) -> s.Exclusion:
        head = self._header(meta, ident, title, list(clauses), f"exclusion `{ident}`")
        return s.Exclusion(**head, clauses=self._all(list(clauses), "excludes"))

    def exception_decl(self, meta: Meta, ident: str, target: str, title: Token, *clauses: _Clause) -> s.Exception_:
        owner = f"exception `{ident}`"
        items = list(clauses)
        when = self._once(items, "when", owner)
        target_span = self._span(meta)
        return s.Exception_(
            **self._header(meta, ident, title, items, owner),
            target=target,
            target_span=target_span,
            when=when.value if when else None,
        )

    def parameter_decl(self, meta: Meta, name: Token, title: Token, *clauses: _Clause) -> s.Parameter:
        head = self._header(meta, str(name), title, list(clauses), f"parameter `{name}`")
        return s.Parameter(**head, values=self._all(list(clauses), "value"))

    def switch_decl(self, meta: Meta, name: Token, title: Token, *clauses: _Clause) -> s.Switch:
        owner = f"switch `{name}`"
        items = list(clauses)
        options = self._once(items, "options", owner)
        default = self._once(items, "default", owner)
        return s.Switch(
            **self._header(meta, str(name), title, items, owner),
            options=options.value if options else (),
            default=default.value if default else None,
            default_span=default.span if default else None,
        )

    def cost_sharing_decl(self, meta: Meta, ident: str, title: Token, *clauses: _Clause) -> s.CostSharing:
        owner = f"cost sharing `{ident}`"
        items = list(clauses)
        deductible = self._once(items, "deductible", owner)
        coinsurance = self._once(items, "coinsurance", owner)
        return s.CostSharing(
            **self._header(meta, ident, title, items, owner),
            deductible=deductible.value[0] if deductible else None,
            coinsurance=coinsurance.value[0] if coinsurance else None,
            pays=self._all(items, "pays"),
            indeterminate=self._all(items, "indeterminate"),
            deductible_during=deductible.value[1] if deductible else None,
            coinsurance_during=coinsurance.value[1] if coinsurance else None,
        )

    def choose_decl(self, meta: Meta, ident: str, title: Token, *clauses: _Clause) -> s.Choose:
        owner = f"choose coding `{ident}`"
        items = list(clauses)
        preference = self._once(items, "preference", owner)
        return s.Choose(
            **self._header(meta, ident, title, items, owner),
            preference=preference.value if preference else (),
            then_highest_total=any(c.name == "highest total" for c in items),
        )

    def pricing_decl(self, meta: Meta, ident: str, title: Token, *clauses: _Clause) -> s.Pricing:
        owner = f"pricing `{ident}`"
        items = list(clauses)
        conversion = self._once(items, "conversion", owner)
        return s.Pricing(
            **self._header(meta, ident, title, items, owner),
            conversion_factor=conversion.value[0] if conversion else None,
            conversion_span=conversion.value[1] if conversion else None,
            not_priced=self._all(items, "not priced"),
        )

    def rvu_table_decl(self, meta: Meta, ident: str, title: Token, *clauses: _Clause) -> s.RvuTable:
        head = self._header(meta, ident, title, list(clauses), f"rvu table `{ident}`")
        return s.RvuTable(**head, rows=self._all(list(clauses), "rvu"))

    # ------------------------------------------------------------ expressions
    def aggregate(self, meta: Meta, kind: Token, path: str, where: s.Expr | None) -> s.Aggregate:
        span = self._span(meta)
        return s.Aggregate(str(kind), s.Name(tuple(path.split(".")), span), where, span)

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

    def set_lit(self, meta: Meta, *items: s.Expr | s.CodeRef) -> s.SetLiteral:
        converted: list[s.Expr | s.CodeRange] = []
        for item in items:
            if isinstance(item, s.CodeRef):
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
        return self._literal(token, _unquote(token), TEXT)

    def true(self, meta: Meta) -> s.Literal:
        return s.Literal(True, BOOL, "true", self._span(meta))

    def false(self, meta: Meta) -> s.Literal:
        return s.Literal(False, BOOL, "false", self._span(meta))


def to_ast(tree: Tree[Token], source: str) -> tuple[s.PolicyFile, list[Diagnostic]]:
    """Convert one file's parse tree; returns the AST and any structural diagnostics."""
    builder = ToAst(source)
    result = builder.transform(tree)
    assert isinstance(result, s.PolicyFile)
    return result, builder.diagnostics
