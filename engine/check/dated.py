"""Clauses with dates of their own (`during`, inside a cost-sharing block): their intervals are
real and inside the block's, and the parameters each clause reads have values for its dates only.

Kept apart from intervals.py so that a clause's dates are checked the way a declaration's are without
growing that module; `intervals._missing_values` asks `clause_reads` what each clause reads, when.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from ..diagnostics import Diagnostic
from ..language import syntax as s
from ..language.clauses import Interval
from .resolution import Resolution

_MIN, _MAX = dt.date.min, dt.date.max


def day_bounds(interval: Interval | None) -> tuple[dt.date, dt.date] | None:
    """The first and last day of an interval (open ends as the extreme dates); None when a date
    of it does not exist (reported by `check_clause_dates`)."""
    if interval is None:
        return _MIN, _MAX
    try:
        start = dt.date.fromisoformat(interval.start) if interval.start else _MIN
        end = dt.date.fromisoformat(interval.end) if interval.end else _MAX
    except ValueError:
        return None
    return start, end


def parameters_in(resolution: Resolution, expr: s.Expr) -> set[str]:
    """Ids of the definitions and parameters an expression reads directly."""
    found: set[str] = set()
    for node in s.walk(expr):
        ref = resolution.refs.get(id(node)) if isinstance(node, s.Name) else None
        if ref is not None and ref.kind in ("define", "parameter"):
            found.add(ref.target)
    return found


def clause_reads(
    resolution: Resolution, decl: s.CostSharing, through: Callable[[str], set[str]]
) -> Iterator[tuple[tuple[dt.date, dt.date], set[str]]]:
    """For each clause of a cost-sharing block: the days it is in effect (the block's dates, cut to
    the clause's own) and the parameters it reads, directly or through definitions (`through`)."""
    block = day_bounds(decl.effective)
    for expr, during in decl.dated_expressions():
        own = day_bounds(during)
        if block is None or own is None:
            continue
        days = (max(block[0], own[0]), min(block[1], own[1]))
        if days[0] > days[1]:
            continue
        names: set[str] = set()
        for name in parameters_in(resolution, expr):
            names |= through(name)
        yield days, names


def check_clause_dates(decls: Iterator[s.Declaration]) -> list[Diagnostic]:
    """A clause's `during` names real dates, starts before it ends, and meets the block's dates."""
    out: list[Diagnostic] = []
    for decl in decls:
        if not isinstance(decl, s.CostSharing):
            continue
        block = day_bounds(decl.effective)
        for _expr, during in decl.dated_expressions():
            if during is None:
                continue
            own = day_bounds(during)
            if own is None:
                out.append(
                    Diagnostic("check/interval", f"`during {during}` names a day that does not exist", span=during.span)
                )
            elif own[0] > own[1]:
                out.append(Diagnostic("check/interval", f"`during {during}` ends before it starts", span=during.span))
            elif block is not None and (own[1] < block[0] or own[0] > block[1]):
                out.append(
                    Diagnostic(
                        "check/interval",
                        f"`during {during}` is outside the block's `effective {decl.effective}`: "
                        "the clause never applies",
                        span=during.span,
                        help="a clause's dates narrow its block's; move the clause or widen the block",
                    )
                )
    return list(dict.fromkeys(out))
