"""Checked expressions -> Python closures (no `eval`, no generated source): the reference backend.

Each expression becomes a function `f(env) -> value`. Closures were chosen over generated code
for the first version (docs/explanation/performance-history.md has the figures): they build in
milliseconds, give ordinary tracebacks, and leave no user text anywhere near `exec`; expression
evaluation is not where most of a decision's time goes today. The generated backend (codegen.py)
is the default now; this one stays as the oracle tests/test_codegen.py compares it against
(`backend="closures"`).

The values the closures compute with (`UNKNOWN`, `Env`, code sets, calendar arithmetic) are in
runtime.py, shared with the generated code; what both backends work out when compiling is in
compile_time.py. Missing facts evaluate to `UNKNOWN` (see runtime.py and docs/language.md).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from ..check.resolution import Resolution
from ..language import syntax as s
from ..language.valuetypes import CALENDAR_SPAN
from .compile_time import constant_of, partition_set
from .runtime import UNKNOWN, CodeSet, Env, Fn, _divide, distinct_count, month_end, month_start, shift_months

# ---------------------------------------------------------------- the compiler

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _read_path(path: tuple[str, ...]) -> Fn:
    if len(path) == 1:
        key = path[0]

        def read1(env: Env) -> Any:
            value = env.facts.get(key)
            return UNKNOWN if value is None else value

        return read1
    if len(path) == 2:
        first, second = path

        def read2(env: Env) -> Any:
            outer = env.facts.get(first)
            value = outer.get(second) if isinstance(outer, dict) else None
            return UNKNOWN if value is None else value

        return read2

    def read_n(env: Env) -> Any:
        value: Any = env.facts
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return UNKNOWN if value is None else value

    return read_n


class ExprCompiler:
    """Turns checked expressions into closures, using the checker's name resolutions."""

    def __init__(self, resolution: Resolution) -> None:
        self.resolution = resolution

    def compile(self, expr: s.Expr) -> Fn:
        method = getattr(self, "_" + type(expr).__name__.lower())
        fn: Fn = method(expr)
        return fn

    def _constant(self, expr: s.Expr) -> tuple[Any] | None:
        return constant_of(self.resolution, expr)

    # leaves
    def _literal(self, expr: s.Literal) -> Fn:
        value = expr.value
        return lambda env: value

    def _name(self, expr: s.Name) -> Fn:
        ref = self.resolution.ref(expr)
        target = ref.target
        if ref.kind == "define":

            def read_define(env: Env) -> Any:
                memo = env.memo
                return memo[target] if target in memo else env.compute(target)

            return read_define
        if ref.kind == "parameter":
            return lambda env: env.params.get(target, UNKNOWN)
        if ref.kind == "switch":
            return lambda env: env.switches[target]
        if ref.kind == "builtin":
            return lambda env: env.month
        if ref.kind == "fact":
            return _read_path(ref.path)
        if ref.kind == "item":
            field = ref.path[0]

            def read_item(env: Env) -> Any:
                value = env.items[target].get(field)
                return UNKNOWN if value is None else value

            return read_item
        if ref.kind == "enum":
            return lambda env: target
        raise AssertionError(f"a rule reference is compiled by the rule compiler, not here: {target}")

    # operators
    def _compare(self, expr: s.Compare) -> Fn:
        left, op = self.compile(expr.left), _COMPARE[expr.op]
        constant = self._constant(expr.right)
        if constant is not None:  # the common `x >= 20 min` / `kind = fqhc`: one call fewer
            bound = constant[0]

            def compare_constant(env: Env) -> Any:
                a = left(env)
                return UNKNOWN if a is UNKNOWN else op(a, bound)

            return compare_constant
        right = self.compile(expr.right)

        def compare(env: Env) -> Any:
            a, b = left(env), right(env)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            return op(a, b)

        return compare

    def _logical(self, expr: s.Logical) -> Fn:
        parts = tuple(self.compile(o) for o in expr.operands)
        if expr.op == "and":

            def all_of(env: Env) -> Any:
                result: Any = True
                for part in parts:
                    value = part(env)
                    if value is False:
                        return False
                    if value is UNKNOWN:
                        result = UNKNOWN
                return result

            return all_of

        def any_of(env: Env) -> Any:
            result: Any = False
            for part in parts:
                value = part(env)
                if value is True:
                    return True
                if value is UNKNOWN:
                    result = UNKNOWN
            return result

        return any_of

    def _not(self, expr: s.Not) -> Fn:
        inner = self.compile(expr.operand)

        def negate(env: Env) -> Any:
            value = inner(env)
            return UNKNOWN if value is UNKNOWN else not value

        return negate

    def _member(self, expr: s.Member) -> Fn:
        item, collection, negated = self.compile(expr.item), self.compile(expr.collection), expr.negated

        def member(env: Env) -> Any:
            a, b = item(env), collection(env)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            return (a in b) is not negated

        return member

    def _presence(self, expr: s.Presence) -> Fn:
        inner, present = self.compile(expr.operand), expr.present
        return lambda env: (inner(env) is not UNKNOWN) is present

    def _otherwise(self, expr: s.Otherwise) -> Fn:
        left, right = self.compile(expr.left), self.compile(expr.right)

        def otherwise(env: Env) -> Any:
            value = left(env)
            return right(env) if value is UNKNOWN else value

        return otherwise

    def _conditional(self, expr: s.Conditional) -> Fn:
        condition, then, otherwise = self.compile(expr.condition), self.compile(expr.then), self.compile(expr.otherwise)

        def conditional(env: Env) -> Any:
            chosen = condition(env)
            if chosen is UNKNOWN:
                return UNKNOWN
            return then(env) if chosen else otherwise(env)

        return conditional

    def _setliteral(self, expr: s.SetLiteral) -> Fn:
        exact, ranges, dynamic_items = partition_set(self.resolution, expr)
        dynamic = [self.compile(item) for item in dynamic_items]
        constant: Any = CodeSet(exact, ranges) if ranges else exact
        if not dynamic:
            return lambda env: constant
        return lambda env: frozenset(exact) | {f(env) for f in dynamic}

    def _binary(self, expr: s.Binary) -> Fn:
        left, right = self.compile(expr.left), self.compile(expr.right)
        left_type = self.resolution.type_of(expr.left)
        right_type = self.resolution.type_of(expr.right)
        if right_type is CALENDAR_SPAN or left_type is CALENDAR_SPAN:
            sign = -1 if expr.op == "-" else 1
            date_fn, span_fn = (left, right) if right_type is CALENDAR_SPAN else (right, left)

            def calendar_shift(env: Env) -> Any:
                day, months = date_fn(env), span_fn(env)
                return UNKNOWN if day is UNKNOWN else shift_months(day, sign * months)

            return calendar_shift
        op: Callable[[Any, Any], Any] = {"+": operator.add, "-": operator.sub, "*": operator.mul}.get(expr.op, _divide)

        def arithmetic(env: Env) -> Any:
            a, b = left(env), right(env)
            if a is UNKNOWN or b is UNKNOWN:
                return UNKNOWN
            return op(a, b)

        return arithmetic

    def _negate(self, expr: s.Negate) -> Fn:
        inner = self.compile(expr.operand)
        return lambda env: UNKNOWN if (v := inner(env)) is UNKNOWN else -v

    def _boundary(self, expr: s.Boundary) -> Fn:
        inner = self.compile(expr.operand)
        convert = month_start if expr.which == "start" else month_end
        return lambda env: UNKNOWN if (v := inner(env)) is UNKNOWN else convert(v)

    def _call(self, expr: s.Call) -> Fn:
        args = tuple(self.compile(a) for a in expr.args)
        pick = min if expr.function == "min" else max

        def call(env: Env) -> Any:
            values = [a(env) for a in args]
            return UNKNOWN if any(v is UNKNOWN for v in values) else pick(values)

        return call

    def _aggregate(self, expr: s.Aggregate) -> Fn:
        list_name = expr.path.parts[0]
        where = self.compile(expr.where) if expr.where is not None else (lambda env: True)
        field = expr.path.parts[1] if len(expr.path.parts) > 1 else None

        def entries(env: Env) -> list[Mapping[str, Any]]:
            chosen = []
            # An enclosing loop over the same list (in this `where`, or one whose `where` made a
            # definition run this loop) gets its entry back afterwards: `item` reads it from here.
            outer = env.items.get(list_name)
            for entry in env.facts.get(list_name) or ():
                env.items[list_name] = entry
                if where(env) is True:  # an entry whose condition is unknown is not counted
                    chosen.append(entry)
            if outer is None:
                env.items.pop(list_name, None)
            else:
                env.items[list_name] = outer
            return chosen

        if expr.kind == "count":
            return lambda env: len(entries(env))
        if expr.kind == "any":
            return lambda env: bool(entries(env))
        assert field is not None
        if expr.kind == "count distinct":
            return lambda env: distinct_count([e.get(field) for e in entries(env)])
        return lambda env: sum((e.get(field) or 0 for e in entries(env)), 0)

