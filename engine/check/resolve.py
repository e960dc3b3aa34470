"""Check stages `resolve_names` and `check_types`: what every name means, what every expression is.

A bare or dotted name is, in this order: an entry of the list being aggregated (`time.minutes`
inside `sum time.minutes where ...`), a definition, a parameter, a switch, `service_month`, a
fact path of the fact-bundle schema, a rule id (only directly after `requires`), or an
enumeration value whose type comes from the other side of `=` / `in`. Anything else is an
unknown name, reported with the closest known one.

The results (`Resolution.refs`, `Resolution.types`) are keyed by node identity and handed to the
compiler, which therefore never guesses what a name means.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic, did_you_mean
from ..language import syntax as s
from ..language.limits import MAX_DEPTH
from ..language.valuetypes import (
    ANY,
    BOOL,
    CALENDAR_SPAN,
    CODE,
    COUNT,
    DATE,
    MINUTES,
    MONEY,
    MONTH,
    NUMBER,
    ORDERED,
    PERCENT,
    RECORD,
    EnumType,
    ListType,
    RecordType,
    SetType,
    Type,
    ValueType,
    comparable,
)
from .index import PolicyIndex

BUILTINS: dict[str, Type] = {"service_month": MONTH}
FUNCTIONS = ("min", "max")


@dataclass(frozen=True, slots=True)
class Ref:
    """What a name resolved to. `path` is the fact path or the field path inside a list entry."""

    kind: str  # define | parameter | switch | builtin | fact | item | enum | rule
    target: str
    path: tuple[str, ...] = ()


@dataclass
class Resolution:
    refs: dict[int, Ref] = field(default_factory=dict)
    types: dict[int, Type] = field(default_factory=dict)
    uses: set[str] = field(default_factory=set)  # ids of defines/parameters/switches/rules used
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def ref(self, node: s.Name) -> Ref:
        return self.refs[id(node)]

    def type_of(self, node: s.Expr) -> Type:
        return self.types.get(id(node), ANY)


_PENDING_ENUM = ValueType("enumeration value")


# Claim lists a bundle may still give, which are read into the one list `claims` (the fact
# schema's `x-carepolicy-read-as`): rules read `claims`, so the hint says how to say the same.
READ_INTO_CLAIMS = {
    "other_claims_this_month": "claims are one list: read `claims where claims.month = service_month`"
    " (a bundle's `other_claims_this_month` is read into it)",
    "prior_claims": "claims are one list: read `claims where claims.month < service_month`"
    " (a bundle's `prior_claims` is read into it)",
}


class Resolver:
    """Types expressions; one instance per policy set."""

    def __init__(self, index: PolicyIndex, fact_types: Mapping[str, Type]) -> None:
        self.index = index
        self.facts = fact_types
        self.result = Resolution()
        self._define_types: dict[str, Type] = {}
        self._in_progress: set[str] = set()
        self._names: dict[int, s.Name] = {}
        self._depth = 0  # nesting of `infer`, through definitions too; bounded (see `infer`)

    # ------------------------------------------------------------ diagnostics
    def _error(self, code: str, message: str, node: s.Expr | s.Name, help: str | None = None) -> Type:
        self.result.diagnostics.append(Diagnostic(code, message, span=node.span, help=help))
        return ANY

    def _known_names(self) -> Iterator[str]:
        yield from self.index.defines
        yield from self.index.parameters
        yield from self.index.switches
        yield from BUILTINS
        yield from self.facts

    # ------------------------------------------------------------ names
    def _resolve_name(self, node: s.Name, scope: tuple[tuple[str, RecordType], ...], allow_rule: bool) -> Type:
        dotted = node.dotted
        for list_name, record in reversed(scope):
            if node.parts[0] == list_name:
                return self._item_field(node, list_name, record)
        if allow_rule and dotted in self.index.rules:
            return self._bind(node, Ref("rule", dotted), BOOL)
        if dotted in self.index.defines:
            return self._bind(node, Ref("define", dotted), self.define_type(dotted))
        if dotted in self.index.parameters:
            return self._bind(node, Ref("parameter", dotted), self.parameter_type(dotted))
        if dotted in self.index.switches:
            switch = self.index.switches[dotted]
            return self._bind(node, Ref("switch", dotted), EnumType(dotted, switch.options))
        if dotted in BUILTINS:
            return self._bind(node, Ref("builtin", dotted), BUILTINS[dotted])
        fact_type = self.facts.get(dotted)
        if fact_type is not None:
            if isinstance(fact_type, ListType):
                return self._error(
                    "check/type",
                    f"`{dotted}` is a list; use `count {dotted}`, `sum {dotted}.FIELD` or `any {dotted}`",
                    node,
                )
            return self._bind(node, Ref("fact", dotted, node.parts), fact_type)
        if any(key.startswith(dotted + ".") for key in self.facts):
            return self._bind(node, Ref("fact", dotted, node.parts), RECORD)
        if len(node.parts) == 1:
            self._names[id(node)] = node
            self.result.refs[id(node)] = Ref("enum", dotted)
            self.result.types[id(node)] = _PENDING_ENUM
            return _PENDING_ENUM
        return self._unknown(node)

    def _unknown(self, node: s.Name) -> Type:
        dotted = node.dotted
        root = node.parts[0]
        is_fact = root in {k.split(".")[0] for k in self.facts}
        code = "check/unknown-fact" if is_fact else "check/unknown-name"
        what = "fact" if is_fact else "name"
        hint = READ_INTO_CLAIMS.get(root) or did_you_mean(dotted, [*self._known_names(), *self.index.rules])
        if hint is None:
            hint = "fact paths are listed by `carepolicy schema`" if is_fact else "declare it with `define` or `rule`"
        return self._error(code, f"unknown {what} `{dotted}`", node, hint)

    def _item_field(self, node: s.Name, list_name: str, record: RecordType) -> Type:
        rest = node.parts[1:]
        if len(rest) != 1 or record.field(rest[0]) is None:
            names = [f"{list_name}.{f}" for f, _ in record.fields]
            return self._error(
                "check/unknown-fact",
                f"`{node.dotted}` is not a field of a `{list_name}` entry",
                node,
                did_you_mean(node.dotted, names),
            )
        field_type = record.field(rest[0])
        assert field_type is not None
        return self._bind(node, Ref("item", list_name, rest), field_type)

    def _bind(self, node: s.Expr, ref: Ref, vtype: Type) -> Type:
        self.result.refs[id(node)] = ref
        self.result.types[id(node)] = vtype
        if ref.kind in ("define", "parameter", "switch", "rule"):
            self.result.uses.add(ref.target)
        return vtype

    def define_type(self, name: str) -> Type:
        if name in self._define_types:
            return self._define_types[name]
        if name in self._in_progress:
            return ANY  # a cycle; check_cycles names it
        self._in_progress.add(name)
        vtype = self.infer(self.index.defines[name].expr)
        self._in_progress.discard(name)
        self._define_types[name] = vtype
        return vtype

    def parameter_type(self, name: str) -> Type:
        values = self.index.parameters[name].values
        for value in values:
            if isinstance(value.value, s.Literal):
                return value.value.type
        return ANY

    # ------------------------------------------------------------ expressions
    def infer(self, expr: s.Expr, scope: tuple[tuple[str, RecordType], ...] = (), allow_rule: bool = False) -> Type:
        """The type of `expr`, recording name resolutions and reporting type errors.

        Past `MAX_DEPTH` levels (through definitions: one expression is bounded by the parser) the
        type is `any`, without a word: stage `check_depth` reports the chain, once, where it goes
        past the limit. The resolver recurses; this keeps it within Python's stack."""
        if self._depth > MAX_DEPTH:
            return ANY
        self._depth += 1
        try:
            vtype = self._infer(expr, scope, allow_rule)
        finally:
            self._depth -= 1
        self.result.types[id(expr)] = vtype
        return vtype

    def _infer(self, expr: s.Expr, scope: tuple[tuple[str, RecordType], ...], allow_rule: bool) -> Type:
        if isinstance(expr, s.Literal):
            return COUNT if expr.type is NUMBER and isinstance(expr.value, int) else expr.type
        if isinstance(expr, s.Name):
            return self._resolve_name(expr, scope, allow_rule)
        if isinstance(expr, s.Logical | s.Not):
            operands = expr.operands if isinstance(expr, s.Logical) else (expr.operand,)
            for operand in operands:
                self._expect_bool(operand, scope, f"`{getattr(expr, 'op', 'not')}`")
            return BOOL
        if isinstance(expr, s.Compare):
            return self._compare(expr, scope)
        if isinstance(expr, s.Member):
            return self._member(expr, scope)
        if isinstance(expr, s.Presence):
            self.infer(expr.operand, scope)
            return BOOL
        if isinstance(expr, s.Otherwise):
            left, right = self.infer(expr.left, scope), self.infer(expr.right, scope)
            if not comparable(left, right):
                return self._error(
                    "check/type", f"`otherwise` joins {left} and {right}; both sides need one type", expr
                )
            return left
        if isinstance(expr, s.Conditional):
            self._expect_bool(expr.condition, scope, "`if`")
            then, otherwise = self.infer(expr.then, scope), self.infer(expr.otherwise, scope)
            if not comparable(then, otherwise):
                return self._error("check/type", f"`if` gives {then} on one branch and {otherwise} on the other", expr)
            return then if then is not ANY else otherwise
        if isinstance(expr, s.Binary):
            return self._binary(expr, scope)
        if isinstance(expr, s.Negate):
            return self.infer(expr.operand, scope)
        if isinstance(expr, s.Aggregate):
            return self._aggregate(expr, scope)
        if isinstance(expr, s.Boundary):
            operand_type = self.infer(expr.operand, scope)
            if operand_type not in (MONTH, ANY):
                return self._error("check/type", f"`{expr.which} of` takes a month, not {operand_type}", expr)
            return DATE
        if isinstance(expr, s.Call):
            return self._call(expr, scope)
        if isinstance(expr, s.SetLiteral):
            return self._set(expr, scope, None)
        raise AssertionError(f"unhandled expression {type(expr).__name__}")

    def _expect_bool(self, expr: s.Expr, scope: tuple[tuple[str, RecordType], ...], where: str) -> None:
        vtype = self.infer(expr, scope)
        if vtype not in (BOOL, ANY, _PENDING_ENUM):
            self._error("check/type", f"{where} needs a true/false condition, but this is {vtype}", expr)

    def _settle_enum(self, expr: s.Expr, context: Type) -> Type:
        """Give a bare word its enumeration type from the other side, or report it."""
        if not isinstance(expr, s.Name):
            return self.result.types.get(id(expr), ANY)
        if isinstance(context, EnumType) and expr.dotted in context.values:
            self.result.types[id(expr)] = context
            return context
        self.result.types[id(expr)] = ANY  # settled here, one way or another: never reported twice
        if isinstance(context, EnumType):
            hint = did_you_mean(expr.dotted, context.values) or f"the values are: {', '.join(context.values)}"
            return self._error("check/type", f"`{expr.dotted}` is not a value of `{context.name}`", expr, hint)
        if context is ANY:
            return ANY
        return self._unknown(expr)

    def report_unsettled(self) -> None:
        """A bare word never given an enumeration type by its context is simply an unknown name."""
        for node_id, ref in list(self.result.refs.items()):
            if ref.kind == "enum" and self.result.types.get(node_id) is _PENDING_ENUM:
                node = self._names.get(node_id)
                if node is not None:
                    self.result.types[node_id] = ANY
                    self._unknown(node)

    def _record_as_enum(self, expr: s.Expr, vtype: Type, context: Type) -> Type:
        """`cocm` is both a group of facts and a service: beside a service, it is the service."""
        if (
            vtype is RECORD
            and isinstance(expr, s.Name)
            and len(expr.parts) == 1
            and isinstance(context, EnumType)
            and expr.dotted in context.values
        ):
            self.result.refs[id(expr)] = Ref("enum", expr.dotted)
            self.result.types[id(expr)] = context
            return context
        return vtype

    def _compare(self, expr: s.Compare, scope: tuple[tuple[str, RecordType], ...]) -> Type:
        left, right = self.infer(expr.left, scope), self.infer(expr.right, scope)
        left = self._record_as_enum(expr.left, left, right)
        right = self._record_as_enum(expr.right, right, left)
        if left is _PENDING_ENUM:
            left = self._settle_enum(expr.left, right)
        if right is _PENDING_ENUM:
            right = self._settle_enum(expr.right, left)
        if not comparable(left, right):
            return self._error("check/type", f"cannot compare {left} with {right}", expr, _unit_hint(left, right))
        if expr.op not in ("=", "!=") and left not in ORDERED and left is not ANY:
            return self._error(
                "check/type", f"`{expr.op}` needs an ordered value (number, minutes, money, date), not {left}", expr
            )
        return BOOL

    def _member(self, expr: s.Member, scope: tuple[tuple[str, RecordType], ...]) -> Type:
        item = self.infer(expr.item, scope)
        if isinstance(expr.collection, s.SetLiteral):
            collection = self._set(expr.collection, scope, item if item is not _PENDING_ENUM else None)
        else:
            collection = self.infer(expr.collection, scope)
        if collection is ANY:
            return BOOL
        if not isinstance(collection, SetType):
            return self._error("check/type", f"`in` needs a set on its right, not {collection}", expr.collection)
        item = self._record_as_enum(expr.item, item, collection.element)
        if item is _PENDING_ENUM:
            item = self._settle_enum(expr.item, collection.element)
        if not comparable(item, collection.element):
            return self._error("check/type", f"{item} can never be in a {collection}", expr)
        return BOOL

    def _set(self, expr: s.SetLiteral, scope: tuple[tuple[str, RecordType], ...], element: Type | None) -> Type:
        found: Type | None = element
        for item in expr.items:
            if isinstance(item, s.CodeRange):
                vtype: Type = CODE
            else:
                vtype = self.infer(item, scope)
                if isinstance(found, EnumType):
                    vtype = self._record_as_enum(item, vtype, found)
                if vtype is _PENDING_ENUM:
                    vtype = self._settle_enum(item, found) if isinstance(found, EnumType) else vtype
            if found is None or found is _PENDING_ENUM:
                found = vtype
            elif vtype is not _PENDING_ENUM and not comparable(found, vtype):
                self._error(
                    "check/type",
                    f"a set mixes {found} and {vtype}",
                    item if not isinstance(item, s.CodeRange) else expr,
                )
        if found is _PENDING_ENUM:
            for item in expr.items:
                if isinstance(item, s.Name):
                    self._unknown(item)
            found = ANY
        result = SetType(found or ANY)
        self.result.types[id(expr)] = result
        return result

    def _binary(self, expr: s.Binary, scope: tuple[tuple[str, RecordType], ...]) -> Type:
        left, right = self.infer(expr.left, scope), self.infer(expr.right, scope)
        if ANY in (left, right):
            return ANY
        result = _ARITHMETIC.get((left, expr.op, right))
        if result is None:
            return self._error("check/type", f"cannot compute {left} {expr.op} {right}", expr, _unit_hint(left, right))
        return result

    def _aggregate(self, expr: s.Aggregate, scope: tuple[tuple[str, RecordType], ...]) -> Type:
        list_name = expr.path.parts[0]
        list_type = self.facts.get(list_name)
        if not isinstance(list_type, ListType):
            hint = READ_INTO_CLAIMS.get(list_name) or did_you_mean(
                list_name, [k for k, v in self.facts.items() if isinstance(v, ListType)]
            )
            return self._error("check/unknown-fact", f"`{list_name}` is not a list of the fact bundle", expr.path, hint)
        inner = (*scope, (list_name, list_type.item))
        if expr.where is not None:
            self._expect_bool(expr.where, inner, "`where`")
        if expr.kind == "sum":
            if len(expr.path.parts) != 2:
                return self._error(
                    "check/type", f"`sum` needs a field to add up, e.g. `sum {list_name}.minutes`", expr.path
                )
            field_type = self._item_field(expr.path, list_name, list_type.item)
            if field_type not in (MINUTES, COUNT, NUMBER, MONEY, ANY):
                return self._error("check/type", f"cannot add up {field_type}", expr.path)
            return field_type
        self.result.refs[id(expr.path)] = Ref("fact", list_name, (list_name,))
        if len(expr.path.parts) != 1:
            return self._error(
                "check/type", f"`{expr.kind}` counts entries: write `{expr.kind} {list_name} where ...`", expr.path
            )
        return COUNT if expr.kind == "count" else BOOL

    def _call(self, expr: s.Call, scope: tuple[tuple[str, RecordType], ...]) -> Type:
        if expr.function not in FUNCTIONS:
            return self._error(
                "check/unknown-name",
                f"unknown function `{expr.function}`",
                expr,
                did_you_mean(expr.function, FUNCTIONS),
            )
        types = [self.infer(arg, scope) for arg in expr.args]
        first = types[0]
        for other, arg in zip(types[1:], expr.args[1:], strict=True):
            if not comparable(first, other):
                return self._error(
                    "check/type", f"`{expr.function}` of {first} and {other}", arg, _unit_hint(first, other)
                )
        return first


_ARITHMETIC: dict[tuple[Type, str, Type], Type] = {}
for _unit in (MINUTES, MONEY, COUNT, NUMBER, PERCENT):
    _ARITHMETIC[(_unit, "+", _unit)] = _unit
    _ARITHMETIC[(_unit, "-", _unit)] = _unit
for _scalar in (COUNT, NUMBER):
    for _unit in (MINUTES, MONEY, PERCENT, COUNT, NUMBER):
        _ARITHMETIC[(_unit, "*", _scalar)] = _unit
        _ARITHMETIC[(_scalar, "*", _unit)] = _unit
        _ARITHMETIC[(_unit, "/", _scalar)] = NUMBER if _unit in (COUNT, NUMBER) else _unit
_ARITHMETIC.update(
    {
        (MONEY, "*", PERCENT): MONEY,
        (PERCENT, "*", MONEY): MONEY,
        (MINUTES, "/", MINUTES): NUMBER,
        (MONEY, "/", MONEY): NUMBER,
        (DATE, "-", CALENDAR_SPAN): DATE,
        (DATE, "+", CALENDAR_SPAN): DATE,
        (MONTH, "-", CALENDAR_SPAN): MONTH,
        (MONTH, "+", CALENDAR_SPAN): MONTH,
        (COUNT, "+", NUMBER): NUMBER,
        (NUMBER, "+", COUNT): NUMBER,
    }
)


def _unit_hint(left: Type, right: Type) -> str | None:
    pair = {left, right}
    if MINUTES in pair and pair & {COUNT, NUMBER}:
        return "write minutes with their unit, e.g. `20 min`"
    if MONEY in pair and pair & {COUNT, NUMBER}:
        return "write money with a dollar sign, e.g. `$20.00`"
    if DATE in pair and MONTH in pair:
        return "turn a month into a date with `start of` or `end of`"
    return None
