"""Effective intervals as closed ranges of days, and the days a set of ranges leaves uncovered.

An open end (`2024-01-01..`) is `date.min` or `date.max`, shown as nothing. Shared by the stages
that compare intervals: `check_intervals` (parameter values), `check_addons` and
`check_conflicts`.
"""

from __future__ import annotations

import datetime as dt

from ..language.clauses import Interval

_MIN, _MAX = dt.date.min, dt.date.max


def interval_bounds(interval: Interval | None) -> tuple[dt.date, dt.date]:
    if interval is None:
        return _MIN, _MAX
    start = dt.date.fromisoformat(interval.start) if interval.start else _MIN
    end = dt.date.fromisoformat(interval.end) if interval.end else _MAX
    return start, end


def day_gaps(need: tuple[dt.date, dt.date], have: list[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    """The ranges of days of `need` that none of `have` covers."""
    gaps: list[tuple[dt.date, dt.date]] = []
    cursor = need[0]
    for start, end in sorted(have):
        if end < cursor:
            continue
        if start > cursor:
            gaps.append((cursor, min(start - dt.timedelta(days=1), need[1])))
        if end >= need[1]:
            return gaps
        cursor = end + dt.timedelta(days=1)
        if cursor > need[1]:
            return gaps
    if cursor <= need[1]:
        gaps.append((cursor, need[1]))
    return [g for g in gaps if g[0] <= g[1]]


def show_day(day: dt.date) -> str:
    return "" if day in (_MIN, _MAX) else day.isoformat()
