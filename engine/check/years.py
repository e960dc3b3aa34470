"""Stage `check_years`: a new year must be added in every place that is written year by year.

Prices and cost sharing are written per calendar year: the dated values of a parameter (the
conversion factors, the deductible) and the bounded `effective` intervals of `pricing` and
`cost sharing` declarations. When one of them reaches a year the others do not (a 2027 conversion
factor while `pricing` ends in 2026), bundles of that year fail at run time with a message about
the symptom ("no conversion factor in effect"). This stage names every place that stops short,
pointing at the one that reaches further, so the whole procedure (docs/adding-a-year.md) is
visible in one `check` run. A cost-sharing clause dated with `during` because it reads such a
parameter (the deductible check of `cost sharing part_b`) is a place too. Places that are
open-ended (`effective 2024-01-01..`) cover every later year and are never reported; `rvu
table`s are per-year data whose absence is allowed (a line is then "not priced"), so they are not
places here; nor are parameters declared `otherwise unknown` (the Medigap K/L limits): a year
without their value is unknown by declaration, and decisions say so.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diagnostics import Diagnostic, Severity
from ..language import syntax as s
from ..language.clauses import Interval
from ..source import Span
from .context import CheckContext
from .dated import parameters_in

YEAR_PAGE = "docs/adding-a-year.md"


@dataclass(frozen=True, slots=True)
class YearPlace:
    """Something written year by year, and the last calendar year it covers (its 31 December)."""

    label: str  # "parameter `conversion_factor`"
    last_year: int
    span: Span


def _last_covered_year(intervals: list[Interval]) -> int | None:
    """The last year whose 31 December some interval contains; None when one is open-ended, or
    written the wrong way round (`2026-12-31..2026-01-01`: its check/interval error says so, and a
    year read from it would only add a warning about the same two dates)."""
    if any(i.end is None or (i.start is not None and i.start > i.end) for i in intervals):
        return None
    years = [int(i.end[:4]) - (0 if i.end[5:] == "12-31" else 1) for i in intervals if i.end]
    return max(years) if years else None


def year_places(ctx: CheckContext) -> list[YearPlace]:
    places: list[YearPlace] = []
    yearly: set[str] = set()  # the parameters among them
    for name, parameter in sorted(ctx.index.parameters.items()):
        if parameter.unknown_because is not None:
            continue
        last = _last_covered_year([value.effective for value in parameter.values])
        if last is not None:
            places.append(YearPlace(f"parameter `{name}`", last, parameter.span))
            yearly.add(name)
    for decl in ctx.index.declarations():
        if isinstance(decl, s.Pricing | s.CostSharing) and decl.effective is not None:
            last = _last_covered_year([decl.effective])
            if last is not None:
                places.append(YearPlace(f"{decl.kind} `{decl.id}`", last, decl.span))
        if isinstance(decl, s.CostSharing):
            places.extend(_dated_clauses(ctx, decl, yearly))
    return places


def _dated_clauses(ctx: CheckContext, decl: s.CostSharing, yearly: set[str]) -> list[YearPlace]:
    """The `during` of a clause that reads a parameter written year by year (`indeterminate when
    ... > part_b_deductible during 2024-01-01..2026-12-31`): it is dated because the parameter is,
    and without the new year the clause stops applying, silently."""
    places: dict[Span, YearPlace] = {}
    for expr, during in decl.dated_expressions():
        if during is None or during.span in places or not parameters_in(ctx.resolution, expr) & yearly:
            continue
        last = _last_covered_year([during])
        if last is not None:
            places[during.span] = YearPlace(f"{decl.kind} `{decl.id}` (`during {during}`)", last, during.span)
    return list(places.values())


def check_years(ctx: CheckContext) -> list[Diagnostic]:
    places = year_places(ctx)
    if not places:
        return []
    newest = max(place.last_year for place in places)
    ahead = [place for place in places if place.last_year == newest]
    behind = [place for place in places if place.last_year < newest]
    every = ", ".join(p.label for p in places)
    return [
        Diagnostic(
            "check/year-incomplete",
            f"{place.label} stops at {place.last_year}, but {ahead[0].label} reaches {newest}",
            span=place.span,
            severity=Severity.WARNING,
            related=tuple((f"{p.label} reaches {newest}", p.span) for p in ahead),
            help=f"a new year is added in every one of: {every} (see {YEAR_PAGE})",
        )
        for place in behind
    ]
