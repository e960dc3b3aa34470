"""The coding strategy of a decision: which strategy applies, how it ranks codings, why not another.

A coding here is a tuple of valid codes and held claims (bundling.py): the held claims it keeps.
`by preference` compares the codings' best-ranked codes, a kept claim ranking as its code does
(so a strategy may prefer keeping a TCM claim to billing APCM); `by highest total allowed`
compares what the practitioner is paid: the coding's allowed amounts, less the claims on file it
withdraws. Ties go to the other criterion, then to code order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from ..compile.month_plan import MonthPlan
from ..compile.runtime import Env
from ..compile.strategy import DEFAULT_STRATEGY, CodingStrategy
from ..money import ZERO
from .bundling import HeldClaim

Coding = tuple[str, ...]
Total = Callable[[Coding], "Decimal | None"]


def select_strategy(plan: MonthPlan, env: Env) -> CodingStrategy:
    """The first strategy whose `when` holds (switch-selected ones come first), else the default."""
    for strategy in plan.strategies:
        if strategy.when is None or strategy.when(env) is True:
            return strategy
    return DEFAULT_STRATEGY


def strategy_name(strategy: CodingStrategy) -> str:
    return strategy.header.id if strategy.header is not None else "the default strategy"


class Ranking:
    """Ranks the codings of one decision under one strategy."""

    def __init__(
        self,
        strategy: CodingStrategy,
        total: Total,
        held: Mapping[str, HeldClaim],
        claim_price: Callable[[str], Decimal | None],
    ) -> None:
        self.strategy = strategy
        self.rank = strategy.rank
        self.big = len(self.rank) + 1
        self.total = total  # the allowed total of a coding's billed codes (None: not priced)
        self.held = held
        self._claim_price = claim_price

    def codes_ranked(self, coding: Coding) -> list[str]:
        """The coding's codes as the preference sees them: billed codes and the codes of kept claims."""
        return [self.held[c].code if c in self.held else c for c in coding]

    def withdrawn(self, coding: Coding) -> list[str]:
        return [name for name in self.held if name not in coding]

    def net(self, coding: Coding) -> Decimal | None:
        """What billing this coding adds: its allowed total, less the claims it withdraws."""
        total = self.total(coding)
        if total is None:
            return None
        for name in self.withdrawn(coding):
            amount = self._claim_price(self.held[name].code)
            if amount is None:
                return None
            total -= amount
        return total

    def key(self, coding: Coding) -> tuple[Any, ...]:
        prefs = (*sorted(self.rank.get(c, self.big) for c in self.codes_ranked(coding)), self.big)
        if self.strategy.highest_first:
            return (-(self.net(coding) or ZERO), prefs, coding)
        money = -(self.net(coding) or ZERO) if self.strategy.then_highest_total else ZERO
        return (prefs, money, coding)

    def why_not(self, other: Coding, chosen: Coding) -> str:
        name = strategy_name(self.strategy)
        if self.strategy.highest_first:
            return (
                self._lower_total(other, chosen, name)
                or self._preferred(other, chosen, name, "")
                or (f"{name}: ranked after the chosen coding")
            )
        reason = self._preferred(other, chosen, name, " (the code that describes the work done)")
        return reason or self._lower_total(other, chosen, name) or f"{name}: ranked after the chosen coding"

    def _preferred(self, other: Coding, chosen: Coding, name: str, why: str) -> str | None:
        def best(coding: Coding) -> str | None:
            return min(coding, key=lambda c: self.rank.get(self._code(c), self.big), default=None)

        mine, theirs = best(chosen), best(other)
        if mine is not None and self.rank.get(self._code(mine), 1 << 30) < self.rank.get(
            self._code(theirs) if theirs else "", 1 << 30
        ):
            return f"{name} prefers {self._label(mine)} to {self._label(theirs) if theirs else 'nothing'}{why}"
        return None

    def _lower_total(self, other: Coding, chosen: Coding, name: str) -> str | None:
        mine, theirs = self.net(chosen), self.net(other)
        if mine is not None and theirs is not None and theirs < mine:
            return f"{name}: lower total allowed ({self._net_text(other, theirs)} < {self._net_text(chosen, mine)})"
        return None

    def _net_text(self, coding: Coding, net: Decimal) -> str:
        """`$48.84`, or with withdrawn claims `$48.84 less the 99495 claim $201.19 = -$152.36`."""
        withdrawn = self.withdrawn(coding)
        if not withdrawn:
            return _money(net)
        less = " ".join(
            f"less the {self.held[n].code} claim {_money(self._claim_price(self.held[n].code))}" for n in withdrawn
        )
        return f"{_money(self.total(coding))} {less} = {_money(net)}"

    def _code(self, item: str) -> str:
        return self.held[item].code if item in self.held else item

    def _label(self, item: str) -> str:
        return f"keeping the {self.held[item].code} claim on file" if item in self.held else item


def _money(value: Decimal | None) -> str:
    if value is None:
        return "not priced"
    return f"-${-value:.2f}" if value < 0 else f"${value:.2f}"
