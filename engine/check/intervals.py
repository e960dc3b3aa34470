"""Check stage `check_intervals`: every `effective` interval is real, a parameter's dated values do
not overlap, and every parameter has a value on each day something in effect reads it (directly,
or through definitions; a cost-sharing clause with dates of its own, clause by clause: dated.py).
"""

from __future__ import annotations

import datetime as dt

from ..diagnostics import Diagnostic
from ..language import syntax as s
from ..language.clauses import Interval, ParameterValue
from .context import CheckContext, names_used
from .dated import check_clause_dates, clause_reads
from .days import day_gaps, interval_bounds, show_day


def check_intervals(ctx: CheckContext) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for decl in ctx.index.declarations():
        if decl.effective is not None and _reversed(decl.effective):
            out.append(
                Diagnostic(
                    "check/interval",
                    f"effective interval {decl.effective} ends before it starts",
                    span=decl.effective.span,
                    help=_earlier_first(decl.effective),
                )
            )
    for param in ctx.index.parameters.values():
        values = list(param.values)
        for value in values:
            if _reversed(value.effective):
                out.append(
                    Diagnostic(
                        "check/interval",
                        f"effective interval {value.effective} of a value of parameter `{param.id}` "
                        "ends before it starts",
                        span=value.effective.span,
                        help=_earlier_first(value.effective),
                    )
                )
        for i, first in enumerate(values):
            for second in values[i + 1 :]:
                if first.effective.overlaps(second.effective):
                    both = _overlap_text(first.effective, second.effective)
                    out.append(
                        Diagnostic(
                            "check/overlapping-values",
                            f"parameter `{param.id}` has two values for {both}",
                            span=second.span,
                            related=(("other value", first.span),),
                            help=_overlap_help(first.effective, second.effective),
                        )
                    )
    out.extend(check_clause_dates(ctx.index.declarations()))
    out.extend(_missing_values(ctx))
    return out


def _earlier_first(interval: Interval) -> str:
    """The same two days the other way round (the help once always said 2026-01-01..2026-12-31)."""
    return f"write the earlier day first: `{interval.end}..{interval.start}`"


def _overlap_help(first: Interval, second: Interval) -> str:
    """What to change, in the values' own days: the help once gave `..2024-12-31 and 2025-01-01..`
    whatever the values' years, and said nothing of the usual cause, a line copied for a new year
    whose dates were not changed."""
    if (first.start, first.end) == (second.start, second.end):
        after = interval_bounds(first)[1]
        new_year = (
            f" (a new year's value: `{after.year + 1}-01-01..{after.year + 1}-12-31`)"
            if first.end and first.end.endswith("-12-31")
            else ""
        )
        return f"both values are for {first}: delete one, or change the dates of one{new_year}"
    (a0, a1), (b0, b1) = interval_bounds(first), interval_bounds(second)
    earlier_end, later_start = (a1, b0) if (a0, a1) <= (b0, b1) else (b1, a0)
    one_day = dt.timedelta(days=1)
    return (
        "make the intervals meet without overlapping: end the earlier one on "
        f"{show_day(later_start - one_day)}, or start the later one on {show_day(earlier_end + one_day)}"
    )


def _reversed(interval: Interval) -> bool:
    start, end = interval_bounds(interval)
    return start > end


def _overlap_text(a: Interval, b: Interval) -> str:
    a0, a1 = interval_bounds(a)
    b0, b1 = interval_bounds(b)
    return f"{show_day(max(a0, b0))}..{show_day(min(a1, b1))}"


def _dated_reads(
    ctx: CheckContext, decl: s.Declaration, reads: dict[str, set[str]]
) -> list[tuple[tuple[dt.date, dt.date], set[str]]]:
    """When a declaration reads which parameters: its whole interval, or clause by clause for a
    cost-sharing block whose clauses carry their own dates (dated.py)."""
    if isinstance(decl, s.CostSharing):

        def through(name: str) -> set[str]:
            return {name} if name in ctx.index.parameters else reads.get(_DEFINE_KEY + name, set())

        return [
            (days, {n for n in names if n in ctx.index.parameters})
            for days, names in clause_reads(ctx.resolution, decl, through)
        ]
    return [(interval_bounds(decl.effective), reads.get(decl.id, set()) | _direct_parameters(ctx, decl))]


def _missing_values(ctx: CheckContext) -> list[Diagnostic]:
    """A parameter read (directly or through definitions) by something in effect needs a value."""
    reads = _parameters_read(ctx)
    out: list[Diagnostic] = []
    for decl in ctx.index.declarations():
        if isinstance(decl, s.Define | s.Parameter):
            continue  # definitions are checked where they are used, in their users' intervals
        for days, names in _dated_reads(ctx, decl, reads):
            out.extend(_gap_diagnostics(ctx, decl, days, names))
    return list(dict.fromkeys(out))


def _gap_diagnostics(
    ctx: CheckContext, decl: s.Declaration, days: tuple[dt.date, dt.date], names: set[str]
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for name in sorted(names):
        param = ctx.index.parameters[name]
        if param.unknown_because is not None:
            continue  # unknown where it has no value, by declaration: only what reads it is undecided
        if any(_reversed(v.effective) for v in param.values):
            # its interval error says what is wrong: `2026-12-31..2026-01-01` also left 2026 without
            # a value, twice over (after the value before, and where the pricing reads it), three
            # errors and a year-incomplete warning for one pair of dates written the wrong way round
            continue
        have = [interval_bounds(v.effective) for v in param.values]
        for gap in day_gaps(days, have):
            message = (
                f"parameter `{name}` has no value for {show_day(gap[0])}..{show_day(gap[1])}, "
                f"where {decl.kind} `{decl.id}` is in effect and reads it"
            )
            between = _values_around(param, gap)
            if between is not None:  # a gap between two of its values: the fix is on their lines
                before, after = between
                out.append(
                    Diagnostic(
                        "check/missing-value",
                        message,
                        span=after.span,
                        related=(("the value before", before.span), (f"read by {decl.kind} `{decl.id}`", decl.span)),
                        help=_between_help(gap),
                    )
                )
                continue
            out.append(
                Diagnostic(
                    "check/missing-value",
                    message,
                    span=decl.span,
                    related=(("parameter declared", param.span),),
                    help="add a dated `value` line, or limit the user with an `effective` interval "
                    "(a cost-sharing clause: `during`); a value the reference does not give: "
                    '`otherwise unknown because "..."` on the parameter',
                )
            )
    return out


def _between_help(gap: tuple[dt.date, dt.date]) -> str:
    """A gap of whole calendar years between two values is a year left out (a deleted line, or a
    new year added after a skipped one): its value is what is missing, not values that meet."""
    meet = f"start this one on {show_day(gap[0])}, or end the one before on {show_day(gap[1])}"
    if (gap[0].month, gap[0].day, gap[1].month, gap[1].day) == (1, 1, 12, 31):
        days = f"{show_day(gap[0])}..{show_day(gap[1])}"
        return f'add a value for {days} (`value ... effective {days} from TAG "where"`), or {meet}'
    return f"make the values meet: {meet}"


def _values_around(param: s.Parameter, gap: tuple[dt.date, dt.date]) -> tuple[ParameterValue, ParameterValue] | None:
    """The values just before and just after a gap, when it lies between two of them. Days are
    compared by their difference: a gap from the first day a date holds has no day before it."""
    one_day = dt.timedelta(days=1)
    before = [v for v in param.values if gap[0] - interval_bounds(v.effective)[1] == one_day]
    after = [v for v in param.values if interval_bounds(v.effective)[0] - gap[1] == one_day]
    return (before[0], after[0]) if before and after else None


def _direct_parameters(ctx: CheckContext, decl: s.Declaration) -> set[str]:
    return {n for n in names_used(ctx, decl) if n in ctx.index.parameters}


def _parameters_read(ctx: CheckContext) -> dict[str, set[str]]:
    """For each define and rule: parameters it reads through definitions (not through rules,
    which carry their own effective interval)."""
    memo: dict[str, set[str]] = {}

    def through(name: str, seen: frozenset[str]) -> set[str]:
        if name in memo:
            return memo[name]
        define = ctx.index.defines.get(name)
        if define is None or name in seen:
            return set()
        found: set[str] = set()
        for used in names_used(ctx, define):
            if used in ctx.index.parameters:
                found.add(used)
            elif used in ctx.index.defines:
                found |= through(used, seen | {name})
        memo[name] = found
        return found

    result: dict[str, set[str]] = {}
    for decl in ctx.index.declarations():
        params: set[str] = set()
        for used in names_used(ctx, decl):
            if used in ctx.index.defines:
                params |= through(used, frozenset())
        result.setdefault(decl.id, set()).update(params)
    for name in ctx.index.defines:  # by definition too, for clauses with dates of their own
        result[_DEFINE_KEY + name] = through(name, frozenset())
    return result


_DEFINE_KEY = "\0define "  # no declaration id starts with a NUL
