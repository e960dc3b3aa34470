"""The source writer of the generated backend: one checked expression -> the text of one function.

Used by codegen.py, which compiles and checks what this writes. The rules that keep policy text
out of the code are enforced where the text is made: names only as `repr()` strings (`text`) and
invented identifiers only (`identifier`, both in codegen_names.py), literals through `literal`
(codegen_statements.py). Each method mirrors the `ExprCompiler` method of the same name in
expr.py, whose semantics it reproduces statement by statement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..check.resolution import Resolution
from ..language import syntax as s
from ..language.valuetypes import CALENDAR_SPAN
from .codegen_aggregates import AggregateWriter
from .codegen_names import HOISTED, text
from .codegen_statements import Atom
from .compile_time import constant_of, partition_set
from .runtime import CodeSet

_COMPARE = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_ARITHMETIC = {"+": "+", "-": "-", "*": "*"}  # any other operator divides, as in expr.py
_MAX_DEPTH = 24  # deeper blocks go to a function of their own (Python allows 100 levels)


class Writer(AggregateWriter):
    """What each kind of expression writes, into the body of one generated function.

    The aggregates (`count`, `any`, `sum` over a fact list) are written by AggregateWriter
    (codegen_aggregates.py). `subfunction` compiles an expression too deeply nested to write
    inline into a function of its own (the generated code then calls it). Fact reads already made
    on every path to the current block are reused (`scopes`): facts do not change while a bundle
    is evaluated.
    """

    def __init__(
        self,
        resolution: Resolution,
        subfunction: Callable[[s.Expr], Any],
        selections: frozenset[int] = frozenset(),
        selection: Callable[[s.Expr, str], Any] | None = None,
    ) -> None:
        super().__init__()
        self.resolution = resolution
        self.subfunction = subfunction
        # conditions tested once per bundle (codegen_selections.py): their ids, and what gives the
        # generated function that tests one on a list's entries
        self.selections = selections
        self.selection = selection
        # list name -> the local holding the entry its loop's `where` is looking at, while nothing
        # that could replace or remove `env.items[list]` has been written since (see `item`)
        self.entries: dict[str, str] = {}

    def constant(self, expr: s.Expr) -> tuple[Any] | None:
        return constant_of(self.resolution, expr)

    # ------------------------------------------------------------ the function
    def function(self, expr: s.Expr) -> str:
        result = self.expr(expr)
        body = self.lines
        if body and result.text.startswith("_v") and body[-1].startswith(f"    {result.text} = "):
            body[-1] = f"    return {body[-1].split(' = ', 1)[1]}"  # `_v3 = x; return _v3` -> `return x`
        else:
            body.append(f"    return {result.text}")
        head = [f"    _{a} = env.{a}" for a in HOISTED if a in self.hoisted]
        return "\n".join(["def _carepolicy_expr(env):", *head, *body, ""])

    # ------------------------------------------------------------ expressions
    def expr(self, expr: s.Expr) -> Atom:
        if self.depth > _MAX_DEPTH:  # too deep to nest further: call a generated function of its own
            self.entries.clear()  # (it may hold a loop over the same list: see `item`)
            return self.assign(f"{self.const(self.subfunction(expr)).text}(env)")
        method = getattr(self, "_" + type(expr).__name__.lower())
        atom: Atom = method(expr)
        return atom

    def _literal(self, expr: s.Literal) -> Atom:
        return self.literal(expr.value)

    def _name(self, expr: s.Name) -> Atom:
        ref = self.resolution.ref(expr)
        key = text(ref.target)
        if ref.kind == "define":
            self.entries.clear()  # a definition may hold a loop over the same list (see `item`)
            # read once per block, as facts are (`read`): once in `env.memo`, a value stays there
            seen = self.scopes[-1].get(("\0define", ref.target))  # (no path can be this key)
            if seen is not None:
                return seen
            value = self.assign(f"{self.env('memo')}.get({key}, _MISSING)")
            self.line(f"if {value.text} is _MISSING:")  # as env.compute, without its call
            self.line(f"    {value.text} = {self.env('memo')}[{key}] = {self.env('defines')}[{key}](env)")
            self.scopes[-1][("\0define", ref.target)] = value
            return value
        if ref.kind == "parameter":
            return self.assign(f"{self.env('params')}.get({key}, _UNKNOWN)")
        if ref.kind == "switch":
            return self.assign(f"{self.env('switches')}[{key}]")
        if ref.kind == "builtin":
            return Atom(self.env("month"))
        if ref.kind == "fact":
            return self.read(ref.path)
        if ref.kind == "item":
            return self.item(ref.target, ref.path[0])
        if ref.kind == "enum":
            return self.literal(ref.target)
        raise AssertionError(f"a rule reference is compiled by the rule compiler, not here: {ref.target}")

    def read(self, path: tuple[str, ...]) -> Atom:
        """A fact path, as expr.py's `_read_path` reads it (a missing or None value is UNKNOWN).

        The facts of a validated bundle are a dict, so, as read1 / read2 do, `facts` itself is not
        tested. The dicts on the way are read once per block (`container`): `consent.date` after
        `consent.documented` reads only `date`.
        """
        seen = self.scopes[-1].get(path)
        if seen is not None:
            return seen
        parent = self.env("facts") if len(path) == 1 else self.container(path[:-1]).text
        value = self.assign(f"{parent}.get({text(path[-1])})")
        self.scopes[-1][path] = value
        return self.none_is_unknown(value)

    def item(self, list_name: str, field: str) -> Atom:
        """A field of the entry a `where` is looking at (a missing or None value is UNKNOWN).

        Read from the loop's own local, once per block, until something is written that could run
        another loop over the same list (a nested one, a definition, a function of its own): that
        loop removes `env.items[list]` when it ends, and from there on the field is read from
        `env.items` as before (so that the generated code does exactly what expr.py does)."""
        entry = self.entries.get(list_name)
        if entry is None:
            return self.none_is_unknown(self.assign(f"{self.env('items')}[{text(list_name)}].get({text(field)})"))
        key = ("\0item", entry, field)  # a key no path can be: path parts are identifiers
        seen = self.scopes[-1].get(key)
        if seen is not None:
            return seen
        value = self.assign(f"{entry}.get({text(field)})")
        self.scopes[-1][key] = value
        return self.none_is_unknown(value)

    def container(self, prefix: tuple[str, ...]) -> Atom:
        """The dict at `prefix` in the facts, or an empty mapping when the value there is missing
        or not a dict (so that everything below it reads as missing, as `.get ... if isinstance`
        did at each step)."""
        key = ("\0dict", *prefix)  # a key no path can be: path parts are identifiers
        seen = self.scopes[-1].get(key)
        if seen is not None:
            return seen
        read = self.scopes[-1].get(prefix)  # the value there, read already (UNKNOWN for None: not a dict either)
        if read is not None:
            value = self.assign(read.text)
        else:
            parent = self.env("facts") if len(prefix) == 1 else self.container(prefix[:-1]).text
            value = self.assign(f"{parent}.get({text(prefix[-1])})")
        self.line(f"if not _isinstance({value.text}, _dict):")
        self.line(f"    {value.text} = _EMPTY")
        self.scopes[-1][key] = value
        return value

    def _compare(self, expr: s.Compare) -> Atom:
        left, op = self.expr(expr.left), _COMPARE[expr.op]
        constant = self.constant(expr.right)
        if constant is not None:  # expr.py does not test a constant right side for UNKNOWN
            right = self.literal(constant[0])
            right.known = True
        else:
            right = self.expr(expr.right)
        return self.guarded(f"{left.text} {op} {right.text}", left, right, boolean=True)

    def _logical(self, expr: s.Logical) -> Atom:
        """`and`: False at the first False (later operands not evaluated), else UNKNOWN if any was."""
        stop, keep = ("False", "True") if expr.op == "and" else ("True", "False")
        if not expr.operands:  # (the parser never makes one) as expr.py: `and` of nothing holds
            result = self.assign(keep, known=True)
            result.boolean = True
            return result
        first, *rest = expr.operands
        value = self.expr(first)
        if value.boolean:  # True, False or UNKNOWN: the result after the first operand is its value
            parts = self.inline(value)  # (a comparison just written: assigned to the result itself)
            result = self.assign(value.rhs() if parts is not None else value.text)
            known = value.known
        else:
            result = self.assign(keep)
            known = self._test(value, result, stop)
        for operand in rest:  # flat, not nested: each later operand runs only while the result is open
            with self.block(f"if {result.text} is not {stop}:"):
                known = self._operand(operand, result, stop) and known
        result.known, result.boolean = known, True
        return result

    def _operand(self, operand: s.Expr, result: Atom, stop: str) -> bool:
        return self._test(self.expr(operand), result, stop)

    def _test(self, value: Atom, result: Atom, stop: str) -> bool:
        """`result` set to `stop` if the operand's `value` is `stop`, to UNKNOWN if it is UNKNOWN."""
        parts = self.inline(value)
        if parts is not None:  # a comparison just written: tested as it is, without a local
            guard, code, fallback = parts
            if guard is not None and fallback == "_UNKNOWN":  # UNKNOWN exactly when the guard holds
                self.line(f"if {guard}:")
                self.line(f"    {result.text} = _UNKNOWN")
                self.line(f"elif {self.holds((None, code, fallback), stop)}:")
            else:
                self.line(f"if {self.holds(parts, stop)}:")
            self.line(f"    {result.text} = {stop}")
            return value.known
        name = self.var(value)
        self.line(f"if {name} is {stop}:")
        self.line(f"    {result.text} = {stop}")
        if not value.known:
            self.line(f"elif {name} is _UNKNOWN:")
            self.line(f"    {result.text} = _UNKNOWN")
        return value.known

    def _not(self, expr: s.Not) -> Atom:
        value = self.expr(expr.operand)
        return self.guarded(f"not {value.text}", value, boolean=True)

    def _member(self, expr: s.Member) -> Atom:
        item, collection = self.expr(expr.item), self.expr(expr.collection)
        op = "not in" if expr.negated else "in"
        return self.guarded(f"{item.text} {op} {collection.text}", item, collection, boolean=True)

    def _presence(self, expr: s.Presence) -> Atom:
        value = self.expr(expr.operand)
        if value.known:
            return self.literal(expr.present)
        return self.guarded(f"{value.text} is {'not ' if expr.present else ''}_UNKNOWN", boolean=True)

    def _otherwise(self, expr: s.Otherwise) -> Atom:
        left = self.expr(expr.left)
        if left.known:  # never missing: the right side is never evaluated
            return left
        constant = self.constant(expr.right)
        if constant is not None and type(constant[0]) is bool and left.guard is not None and left.boolean:
            parts = self.inline(left)  # `x >= y otherwise true`: one conditional expression
            if parts is not None:
                guard, code, _ = parts
                result = self.assign(f"{constant[0]!r} if {guard} else {code}", known=True)
                result.guard, result.value, result.fallback, result.boolean = guard, code, repr(constant[0]), True
                self.last = result
                return result
        result = self.assign(left.text)
        with self.block(f"if {result.text} is _UNKNOWN:"):
            right = self.expr(expr.right)
            self.line(f"{result.text} = {right.text}")
        result.known = right.known
        return result

    def _conditional(self, expr: s.Conditional) -> Atom:
        condition = self.expr(expr.condition)
        result = Atom(self.fresh("_v"))
        header = f"if {condition.text}:"
        if not condition.known:
            self.line(f"if {condition.text} is _UNKNOWN:")
            self.line(f"    {result.text} = _UNKNOWN")
            header = "el" + header
        known = condition.known
        for line, branch in ((header, expr.then), ("else:", expr.otherwise)):
            with self.block(line):
                value = self.expr(branch)
                self.line(f"{result.text} = {value.text}")
            known = known and value.known
        result.known = known
        return result

    def _setliteral(self, expr: s.SetLiteral) -> Atom:
        exact, ranges, dynamic = partition_set(self.resolution, expr)
        if not dynamic:
            return self.const(CodeSet(exact, ranges) if ranges else exact)
        values = [self.expr(item).text for item in dynamic]  # as expr.py: ranges are dropped here
        return self.assign(f"{self.const(exact).text} | {{{', '.join(values)}}}", known=True)

    def _binary(self, expr: s.Binary) -> Atom:
        left_type = self.resolution.type_of(expr.left)
        right_type = self.resolution.type_of(expr.right)
        if right_type is CALENDAR_SPAN or left_type is CALENDAR_SPAN:
            sign = -1 if expr.op == "-" else 1
            day_expr, span_expr = (expr.left, expr.right) if right_type is CALENDAR_SPAN else (expr.right, expr.left)
            day, months = self.expr(day_expr), self.expr(span_expr)  # in this order, as expr.py
            return self.guarded(f"_shift_months({day.text}, {sign} * {months.text})", day)
        left, right = self.expr(expr.left), self.expr(expr.right)
        op = _ARITHMETIC.get(expr.op)
        code = f"{left.text} {op} {right.text}" if op else f"_divide({left.text}, {right.text})"
        return self.guarded(code, left, right, known=op is not None)

    def _negate(self, expr: s.Negate) -> Atom:
        value = self.expr(expr.operand)
        return self.guarded(f"-{value.text}", value)

    def _boundary(self, expr: s.Boundary) -> Atom:
        operand = expr.operand
        if isinstance(operand, s.Name) and self.resolution.ref(operand).kind == "builtin":
            # `start of service_month` and `end of service_month`: worked out once per bundle (Env)
            return Atom(self.env("month_first" if expr.which == "start" else "month_last"))
        value = self.expr(operand)
        helper = "_month_start" if expr.which == "start" else "_month_end"
        return self.guarded(f"{helper}({value.text})", value)

    def _call(self, expr: s.Call) -> Atom:
        args = [self.expr(a) for a in expr.args]
        helper = "_min" if expr.function == "min" else "_max"
        return self.guarded(f"{helper}([{', '.join(a.text for a in args)}])", *args)
