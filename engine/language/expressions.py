"""The abstract syntax of expressions: frozen dataclasses, each with the `Span` it came from.

Part of the syntax (syntax.py holds the clauses and declarations and re-exports these names, so
`syntax.Literal` and the rest read as before). Built by `to_ast.py`; nothing here evaluates anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..source import Span
from .valuetypes import ValueType

# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Literal:
    """A typed constant: `20 min`, `$60.49`, `20%`, `2025-01-01`, `2025-03`, `99490`, `true`."""

    value: object  # int, Decimal, str or bool, as documented in valuetypes.py
    type: ValueType
    text: str  # as written, for messages and traces
    span: Span


@dataclass(frozen=True, slots=True)
class Name:
    """A bare or dotted name: a definition, parameter, switch, fact path, enum value or rule id."""

    parts: tuple[str, ...]
    span: Span

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Binary:
    """Arithmetic: `+ - * /`."""

    op: str
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Compare:
    """`= != < <= > >=`."""

    op: str
    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Logical:
    """`and` / `or` over two or more operands (three-valued: a missing fact is unknown)."""

    op: str
    operands: tuple[Expr, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Member:
    """`x in set` / `x not in set`."""

    item: Expr
    collection: Expr
    negated: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Presence:
    """`x is missing` / `x is present`: never unknown."""

    operand: Expr
    present: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Otherwise:
    """`a otherwise b`: a, or b when a is missing."""

    left: Expr
    right: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Conditional:
    """`if c then a else b`: a or b; unknown when c is."""

    condition: Expr
    then: Expr
    otherwise: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class CodeRange:
    """`90951..90970` inside a set of codes."""

    low: str
    high: str
    span: Span


@dataclass(frozen=True, slots=True)
class SetLiteral:
    items: tuple[Expr | CodeRange, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Aggregate:
    """`count chronic_conditions where ...`, `sum time.minutes where ...`, `any ... where ...`,
    `count distinct chronic_conditions.icd10 where ...` (the different values of a field).

    Inside `where`, a path that starts with the list's name (`time.service`) reads the current
    entry of the list.
    """

    kind: str  # count | sum | any | count distinct (any other `X distinct` is a check error)
    path: Name
    where: Expr | None
    span: Span


@dataclass(frozen=True, slots=True)
class Boundary:
    """`start of M` / `end of M`: the first or last day of a month."""

    which: str
    operand: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Call:
    """A built-in function: `min(a, b)`, `max(a, b)`."""

    function: str
    args: tuple[Expr, ...]
    span: Span


Expr = (
    Literal
    | Name
    | Binary
    | Negate
    | Compare
    | Logical
    | Not
    | Member
    | Presence
    | Otherwise
    | Conditional
    | SetLiteral
    | Aggregate
    | Boundary
    | Call
)


def children(expr: Expr) -> tuple[Expr, ...]:
    """The direct sub-expressions of `expr` (set items that are code ranges are not expressions)."""
    if isinstance(expr, Binary | Compare | Otherwise):
        return (expr.left, expr.right)
    if isinstance(expr, Logical):
        return expr.operands
    if isinstance(expr, Negate | Not | Presence | Boundary):
        return (expr.operand,)
    if isinstance(expr, Member):
        return (expr.item, expr.collection)
    if isinstance(expr, SetLiteral):
        return tuple(item for item in expr.items if not isinstance(item, CodeRange))
    if isinstance(expr, Aggregate):
        return (expr.path,) if expr.where is None else (expr.path, expr.where)
    if isinstance(expr, Call):
        return expr.args
    if isinstance(expr, Conditional):
        return (expr.condition, expr.then, expr.otherwise)
    return ()


def walk(expr: Expr) -> Iterator[Expr]:
    """`expr` and every expression inside it, depth first."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))
