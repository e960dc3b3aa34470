"""Check stage `check_types`: what every expression is.

`Resolver` extends `names.NameResolver` (what every name means) with `infer`, the type of every
expression, reporting type errors: units must agree (`20 min + $5` is rejected by the table of
arithmetic at the end), conditions are true/false, `in` takes a set, `sum` a field to add up.
One instance per policy set, driven per declaration by clauses.py; its `result` (resolution.py)
goes to the compiler.
"""

from __future__ import annotations

from ..diagnostics import did_you_mean
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
    EnumType,
    ListType,
    RecordType,
    SetType,
    Type,
    comparable,
)
from .names import PENDING_ENUM, READ_INTO_CLAIMS, NameResolver
from .resolution import Ref

FUNCTIONS = ("min", "max")


class Resolver(NameResolver):
    """Types expressions; one instance per policy set."""

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
            left, right = self._beside(expr.left, left, right), self._beside(expr.right, right, left)
            if not comparable(left, right):
                return self._error(
                    "check/type", f"`otherwise` joins {left} and {right}; both sides need one type", expr
                )
            return left
        if isinstance(expr, s.Conditional):
            self._expect_bool(expr.condition, scope, "`if`")
            then, otherwise = self.infer(expr.then, scope), self.infer(expr.otherwise, scope)
            then, otherwise = self._beside(expr.then, then, otherwise), self._beside(expr.otherwise, otherwise, then)
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

    def _beside(self, expr: s.Expr, vtype: Type, other: Type) -> Type:
        """A bare word (a pending enumeration value) beside a value of type `other` (the other branch
        of `if`, side of `otherwise`, operand, argument): a value of `other`'s enumeration, or else
        an unknown name with its did-you-mean, never a type error about an "enumeration value"."""
        if vtype is not PENDING_ENUM or other is PENDING_ENUM:
            return vtype
        return self._settle_enum(expr, other)

    def _expect_bool(self, expr: s.Expr, scope: tuple[tuple[str, RecordType], ...], where: str) -> None:
        vtype = self.infer(expr, scope)
        if vtype not in (BOOL, ANY, PENDING_ENUM):
            self._error("check/type", f"{where} needs a true/false condition, but this is {vtype}", expr)

    def _compare(self, expr: s.Compare, scope: tuple[tuple[str, RecordType], ...]) -> Type:
        left, right = self.infer(expr.left, scope), self.infer(expr.right, scope)
        left = self._record_as_enum(expr.left, left, right)
        right = self._record_as_enum(expr.right, right, left)
        if left is PENDING_ENUM:
            left = self._settle_enum(expr.left, right)
        if right is PENDING_ENUM:
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
            collection = self._set(expr.collection, scope, item if item is not PENDING_ENUM else None)
        else:
            collection = self.infer(expr.collection, scope)
        if collection is ANY:
            return BOOL
        if not isinstance(collection, SetType):
            return self._error("check/type", f"`in` needs a set on its right, not {collection}", expr.collection)
        item = self._record_as_enum(expr.item, item, collection.element)
        if item is PENDING_ENUM:
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
                if vtype is PENDING_ENUM:
                    vtype = self._settle_enum(item, found) if isinstance(found, EnumType) else vtype
            if found is None or found is PENDING_ENUM:
                found = vtype
            elif vtype is not PENDING_ENUM and not comparable(found, vtype):
                self._error(
                    "check/type",
                    f"a set mixes {found} and {vtype}",
                    item if not isinstance(item, s.CodeRange) else expr,
                )
        if found is PENDING_ENUM:
            for item in expr.items:
                if isinstance(item, s.Name):
                    self._unknown(item)
            found = ANY
        result = SetType(found or ANY)
        self.result.types[id(expr)] = result
        return result

    def _binary(self, expr: s.Binary, scope: tuple[tuple[str, RecordType], ...]) -> Type:
        left, right = self.infer(expr.left, scope), self.infer(expr.right, scope)
        # arithmetic takes no enumeration value: a bare word in it is an unknown name
        left = self._beside(expr.left, left, right if right is not PENDING_ENUM else NUMBER)
        right = self._beside(expr.right, right, left)
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
        if expr.kind.endswith(" distinct"):
            return self._distinct(expr, list_name, list_type.item)
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

    def _distinct(self, expr: s.Aggregate, list_name: str, item: RecordType) -> Type:
        """`count distinct LIST.FIELD where ...`: a count, of the different values of one field of
        the list's own entries (a plain value: a record has no value to compare)."""
        fields = [f"{list_name}.{f}" for f, vtype in item.fields if not isinstance(vtype, RecordType | ListType)]
        example = f"`count distinct {fields[0] if fields else list_name + '.FIELD'} where ...`"
        if expr.kind != "count distinct":
            return self._error(
                "check/type", f"`{expr.kind}` is not an aggregate: only `count` takes `distinct`", expr,
                f"write {example} for the number of different values, or `{expr.kind.split()[0]}` without `distinct`",
            )
        if len(expr.path.parts) == 1:
            return self._error(
                "check/type", f"`count distinct` counts the different values of a field: expected "
                f"`{list_name}.FIELD` after `distinct`, found the list `{list_name}`", expr.path,
                f"write {example}; the fields of a `{list_name}` entry: {', '.join(fields)}",
            )
        field_type = self._item_field(expr.path, list_name, item)
        if isinstance(field_type, RecordType | ListType):
            return self._error(
                "check/type", f"`count distinct` compares plain values, and `{expr.path.dotted}` is a {field_type}",
                expr.path, f"count the different values of one of its fields, e.g. {example}",
            )
        return COUNT

    def _call(self, expr: s.Call, scope: tuple[tuple[str, RecordType], ...]) -> Type:
        if expr.function not in FUNCTIONS:
            return self._error(
                "check/unknown-name",
                f"unknown function `{expr.function}`",
                expr,
                did_you_mean(expr.function, FUNCTIONS),
            )
        types = [self.infer(arg, scope) for arg in expr.args]
        known = next((t for t in types if t is not PENDING_ENUM), NUMBER)  # `min`, `max` take numbers
        types = [self._beside(arg, vtype, known) for arg, vtype in zip(expr.args, types, strict=True)]
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
