"""The date tests a month plan is made of, recorded, so that a month whose last day passes the same
tests can take that plan's content instead of making it again.

A month plan depends on its month in two ways only: which dated things hold on the month's last
day (a declaration's `effective`, a parameter value's, a cost-sharing clause's `during`), and the
words and `as of` day that name the month. `MonthPlanMaker.make` asks every date question through
a `DayTests`, which keeps each interval asked and its answer; two months whose last days get the
same answers from all of them select the same declarations and the same values, so they have the
same rules, codes, parameters, pricing and generated functions (month_plan.py `for_month` then
gives the second month its own words). Recording the questions, rather than listing the dated
things beforehand, means a new kind of dated clause cannot be missed: if `make` asks it, it is
recorded.

Measured (docs/explanation/performance-history.md, session 17): a month plan took ~30 ms to make
and generate, ~1.1 s for a process that meets 36 months; the shipped policies have a few periods.
"""

from __future__ import annotations

from ..language.clauses import Interval


class DayTests:
    """`tests(interval)`: whether the interval holds on `day` (None: undated, always holds); each
    interval asked is kept with its answer."""

    __slots__ = ("answers", "day")

    def __init__(self, day: str) -> None:
        self.day = day
        self.answers: dict[Interval, bool] = {}

    def __call__(self, interval: Interval | None) -> bool:
        if interval is None:
            return True
        held = self.answers.get(interval)
        if held is None:
            held = self.answers[interval] = interval.contains(self.day)
        return held

    def same_on(self, day: str) -> bool:
        """Whether every interval asked so far gives `day` the answer it gave this one's day."""
        return all(interval.contains(day) is held for interval, held in self.answers.items())
