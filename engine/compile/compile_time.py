"""What both expression backends work out about an expression when compiling, before any bundle.

A constant right side of a comparison (`constant_of`) and a set literal's members known when
compiling (`partition_set`) are treated specially by the closures (expr.py) and the generated
code (codegen_writer.py) alike: one definition here, so that the two cannot drift apart and
neither backend imports the other.
"""

from __future__ import annotations

from typing import Any

from ..check.resolution import Resolution
from ..language import syntax as s
from ..language.valuetypes import MONTH


def constant_of(resolution: Resolution, expr: s.Expr) -> tuple[Any] | None:
    """`(value,)` when `expr` is a literal or an enumeration value (known when compiling), else None.
    Shared by both backends, which treat a constant right side of a comparison specially."""
    if isinstance(expr, s.Literal):
        return (expr.value,)
    if isinstance(expr, s.Name) and resolution.ref(expr).kind == "enum":
        return (expr.dotted,)
    return None


def partition_set(
    resolution: Resolution, expr: s.SetLiteral
) -> tuple[frozenset[Any], tuple[tuple[str, str], ...], list[s.Expr]]:
    """A set literal's exact members and code ranges (known when compiling), and the items that
    must be evaluated per bundle (a set with any of those drops its ranges, in both backends)."""
    exact: set[Any] = set()
    ranges: list[tuple[str, str]] = []
    dynamic: list[s.Expr] = []
    for item in expr.items:
        if isinstance(item, s.CodeRange):
            ranges.append((item.low, item.high))
        elif isinstance(item, s.Literal):
            exact.add(item.value)
        elif isinstance(item, s.Name) and resolution.ref(item).kind == "enum":
            exact.add(item.dotted)
        else:
            dynamic.append(item)
    return frozenset(exact), tuple(ranges), dynamic


def is_month_type(resolution: Resolution, expr: s.Expr) -> bool:
    return resolution.type_of(expr) is MONTH
