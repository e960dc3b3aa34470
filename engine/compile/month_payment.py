"""What a month plan pays with: the `pricing`, RVU tables and `cost sharing` in effect for a month.

`MonthPlanMaker.make` (month_plan.py) selects the declarations in effect for a month; the ones
that price a line and split what it costs between Medicare, the patient and other payers are
compiled here, for the evaluation's money step (evaluation/pricing.py and cost_sharing.py). They are apart from the
selection of codes, rules and claim conflicts because a cost-sharing block has clauses with dates
of their own (`during`): only those that hold on the month's last day are kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

from ..check.index import PolicyIndex
from ..language import syntax as s
from ..language.clauses import Interval
from ..source import Span
from .compiled import CompiledCostSharing, CompiledPays, CompiledPricing, Header, RvuPrice
from .runtime import Fn


class PaymentSource(Protocol):
    """What the payment declarations are compiled with (a `CompiledPolicySet`, as for month_plan.py)."""

    index: PolicyIndex

    def expr(self, expr: s.Expr) -> Fn: ...

    def text(self, span: Span) -> str: ...

    def header(self, decl: s.Declaration) -> Header: ...

    def reads(self, expr: s.Expr) -> tuple[tuple[str, str, Fn], ...]: ...

    def assumptions_read(self, exprs: tuple[s.Expr, ...], kinds: tuple[str, ...]) -> tuple[str, ...]: ...

    def assumptions_by_name(self, exprs: tuple[s.Expr, ...], kinds: tuple[str, ...]) -> tuple[tuple[str, str], ...]: ...


# What a `pays` clause's outcome rests on: the assumptions of the switches and definitions it reads
# (`plan_n_copay_for_care_management`, `medigap_k_limit_reached`), quoted on the lines it decides.
# Each such clause names one plan letter, so what it reads is what decides that plan's share. Not a
# parameter's: its doubt is about one year's value (the 2026 Plan K limit), and quoted on every
# year's lines it would tell a 2025 biller of a figure the line did not use. An `indeterminate` or
# `sequestration` clause quotes its switches' only: the full-benefit one reads
# `medigap_pays_all_cost_sharing`, every plan's definitions, of which one at most decides (none,
# for a dual with no Medigap plan). Even a switch can be read only on some months (the Plan N
# switch in that definition, only for a Plan N holder), so an `indeterminate` clause's are kept
# with their names, and a decision quotes those its clause read (evaluation/cost_sharing.py).
_PAYS_READ = ("switch", "define")
_SWITCHES = ("switch",)


def compile_cost_sharing(
    source: PaymentSource, decls: list[s.Declaration], live: Callable[[Interval | None], bool]
) -> CompiledCostSharing | None:
    """The cost-sharing block in effect, with only the clauses whose own dates (`during`) hold on
    the month's last day (`live`: the plan's date tests, periods.py; None is undated)."""

    for block in decls:
        if isinstance(block, s.CostSharing):
            d = dataclasses.replace(
                block,
                deductible=block.deductible if live(block.deductible_during) else None,
                coinsurance=block.coinsurance if live(block.coinsurance_during) else None,
                pays=tuple(p for p in block.pays if live(p.during)),
                indeterminate=tuple(i for i in block.indeterminate if live(i.during)),
                sequestration=block.sequestration
                if block.sequestration is not None and live(block.sequestration.during)
                else None,
            )
            cut = d.sequestration
            pays = tuple(
                CompiledPays(
                    p.payer,
                    p.share,
                    source.expr(p.fraction) if p.fraction is not None else None,
                    source.expr(p.when),
                    p.priority or 0,
                    source.text(p.span),
                    _parameters(source, p.when) | (_parameters(source, p.fraction) if p.fraction else frozenset()),
                    _labels(source, p.when) | (_labels(source, p.fraction) if p.fraction else frozenset()),
                    source.assumptions_read((p.when,) + ((p.fraction,) if p.fraction else ()), _PAYS_READ),
                )
                for p in d.pays
            )
            # an `indeterminate` clause's reason -> (switch, its assumption) of every switch its clauses read
            undecided: dict[str, tuple[tuple[str, str], ...]] = {}
            for i in d.indeterminate:
                assumed = undecided.get(i.reason, ()) + source.assumptions_by_name((i.when,), _SWITCHES)
                undecided[i.reason] = tuple(dict.fromkeys(assumed))
            reads = {label: (label, kind, fn) for e in s.expressions_of(d) for label, kind, fn in source.reads(e)}
            return CompiledCostSharing(
                source.header(d),
                source.expr(d.deductible) if d.deductible is not None else None,
                source.text(d.deductible.span) if d.deductible is not None else "",
                source.expr(d.coinsurance) if d.coinsurance is not None else None,
                pays,
                tuple((source.expr(i.when), i.reason, source.text(i.when.span)) for i in d.indeterminate),
                tuple(reads[k] for k in sorted(reads)),
                (source.expr(cut.rate), source.expr(cut.when), source.text(cut.span)) if cut is not None else None,
                _labels(source, d.deductible) if d.deductible is not None else frozenset(),
                _labels(source, d.coinsurance) if d.coinsurance is not None else frozenset(),
                tuple((reason, cites) for reason, cites in undecided.items() if cites),
                source.assumptions_read((cut.rate, cut.when), _SWITCHES) if cut is not None else (),
            )
    return None


def _labels(source: PaymentSource, expr: s.Expr) -> frozenset[str]:
    """The labels of what an expression reads (as CompiledCostSharing.reads names them)."""
    return frozenset(label for label, _kind, _fn in source.reads(expr))


def _parameters(source: PaymentSource, expr: s.Expr) -> frozenset[str]:
    """The parameters an expression reads, directly or through definitions (by name: a
    definition's or parameter's name is not a fact's, which is dotted or a list's field)."""
    index = source.index
    found: set[str] = set()
    seen: set[str] = set()
    todo = [expr]
    while todo:
        for node in s.walk(todo.pop()):
            if not isinstance(node, s.Name) or node.dotted in seen:
                continue
            seen.add(node.dotted)
            if node.dotted in index.parameters:
                found.add(node.dotted)
            elif node.dotted in index.defines:
                todo.append(index.defines[node.dotted].expr)
    return frozenset(found)


def compile_pricing(source: PaymentSource, decls: list[s.Declaration]) -> CompiledPricing | None:
    for d in decls:
        if isinstance(d, s.Pricing):
            return CompiledPricing(
                source.header(d),
                d.conversion_factor,
                tuple((source.expr(n.when), n.reason, source.text(n.when.span)) for n in d.not_priced),
            )
    return None


def compile_rvus(source: PaymentSource, decls: list[s.Declaration], setting: str) -> dict[str, RvuPrice]:
    return {
        row.code: RvuPrice(source.header(d), row.total)
        for d in decls
        if isinstance(d, s.RvuTable) and d.setting == setting
        for row in d.rows
    }
