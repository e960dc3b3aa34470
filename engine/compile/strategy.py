"""Coding strategies in effect for a month: how valid codings are ranked (evaluation/strategy.py).

A `choose coding` declaration compiles to one `CodingStrategy`: a rank for each code it orders
(preference lists flattened: `program NAME` stands for that program's `within` order, or for all
its codes at one rank when it has none) and which criterion comes first. Strategies with a `when`
(a test of switches) come first, in declaration order; the one without `when` applies otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ..check.index import PolicyIndex
from ..language import syntax as s
from ..source import Span
from .compiled import Header
from .runtime import Fn


class StrategySource(Protocol):
    index: PolicyIndex

    def expr(self, expr: s.Expr) -> Fn: ...

    def text(self, span: Span) -> str: ...

    def header(self, decl: s.Declaration) -> Header: ...


@dataclass(frozen=True, slots=True)
class CodingStrategy:
    header: Header | None  # None: no `choose coding` in effect (the built-in default)
    rank: Mapping[str, int] = field(default_factory=dict)  # codes it does not order rank after all
    highest_first: bool = False  # pays most: the highest total allowed first, then the rank
    then_highest_total: bool = True  # by rank, then the highest total allowed
    when: Fn | None = None  # a test of switches: the strategy applies while it holds
    when_text: str = ""


DEFAULT_STRATEGY = CodingStrategy(None)


def compile_strategies(source: StrategySource, decls: list[s.Declaration]) -> tuple[CodingStrategy, ...]:
    """The strategies of the declarations in effect: switch-selected ones first, the default last."""
    chosen = [d for d in decls if isinstance(d, s.Choose)]
    ordered = [d for d in chosen if d.when is not None] + [d for d in chosen if d.when is None]
    return tuple(
        CodingStrategy(
            source.header(d),
            flatten_rank(source.index, d),
            d.highest_first,
            d.then_highest_total,
            source.expr(d.when) if d.when is not None else None,
            source.text(d.when.span) if d.when is not None else "",
        )
        for d in ordered
    )


def flatten_rank(index: PolicyIndex, decl: s.Choose) -> dict[str, int]:
    """Each code's place in the strategy's order (a smaller number is preferred)."""
    if decl.preference_of is not None:  # another strategy's order, whole (the checker named it)
        named = decl.preference_of.strategy
        return flatten_rank(index, next(d for d in index.by_id[named] if isinstance(d, s.Choose)))
    within = {w.program: index.expand(w.codes) for w in decl.within}
    groups: list[tuple[str, ...]] = []  # codes that share one place
    for ref in decl.then_preference if decl.highest_first else decl.preference:
        if ref.kind == "program" and ref.low in within:
            groups.extend((code,) for code in within.pop(ref.low))
        elif ref.kind == "program":
            groups.append(index.expand([ref]))
        else:
            groups.extend((code,) for code in index.expand([ref]))
    for codes in within.values():  # programs ordered only by their `within` line, in the order written
        groups.extend((code,) for code in codes)
    rank: dict[str, int] = {}
    for place, group in enumerate(groups):
        for code in group:
            rank.setdefault(code, place)
    return rank
