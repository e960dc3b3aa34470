"""Allowed amounts, line by line (the pricing arithmetic of docs/language.md).

Allowed amount of a line, in this order: the bundle's `fee_schedule_override`, a fee schedule
file (`--fee-schedule`), the RVU table in effect × the conversion factor. Otherwise the line is
not priced, and says why. Who pays what of the amount: cost_sharing.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from ..compile.compiled import CompiledPricing
from ..compile.month_plan import MonthPlan
from ..compile.runtime import UNKNOWN, Env
from ..decision.trace_nodes import TraceNode
from ..frozen_init import dict_init
from ..money import as_money, round_cents


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """A user-supplied fee schedule: allowed amounts, or total RVUs priced with the conversion factor."""

    name: str
    amounts: Mapping[str, Decimal]
    rvus: Mapping[str, Decimal]
    digest: str


# made for every record: one dict update fills it (frozen_init.py)
@dict_init
@dataclass(frozen=True)
class Price:
    amount: Decimal | None  # per unit, already rounded
    source: str


def price(code: str, plan: MonthPlan, env: Env, fee_schedule: FeeSchedule | None) -> Price:
    pricing = plan.pricing
    if pricing is not None:
        for when, reason, _text in pricing.not_priced:
            if when(env) is True:
                return Price(None, f"not priced: {reason}")
    override = env.facts.get("fee_schedule_override") or {}
    if code in override:
        return Price(as_money(override[code]), "fee_schedule_override in the bundle")
    if fee_schedule is not None and code in fee_schedule.amounts:
        return Price(fee_schedule.amounts[code], f"fee schedule file {fee_schedule.name}")
    factor_name = pricing.conversion_factor if pricing is not None else None
    factor = None
    if factor_name:  # a parameter, or a definition (e.g. the QP or non-QP factor by a switch)
        factor = env.define(factor_name) if factor_name in env.defines else plan.params.get(factor_name)
        factor = None if factor is UNKNOWN else factor
    # A user's fee schedule comes before the shipped RVU table, for RVUs as for amounts
    # (docs/language.md: the file prices lines before the table). The shipped tables are chosen by
    # the bundle's place of service: facility amounts only for `facility`, non-facility otherwise
    # (a bundle that does not say is priced non-facility, as before fact bundle v2).
    facility = env.facts.get("place_of_service") == "facility"
    rvu = (plan.facility_rvus if facility else plan.rvus).get(code)
    if fee_schedule is not None and code in fee_schedule.rvus:
        total_rvu, where = fee_schedule.rvus[code], f"fee schedule file {fee_schedule.name} (RVUs)"
    elif rvu is not None:
        total_rvu, where = rvu.total, f"rvu table {rvu.table.id} ({'facility' if facility else 'non-facility'})"
    else:
        total_rvu, where = None, ""
    if total_rvu is not None and factor is not None:
        amount = round_cents(total_rvu * factor)
        return Price(amount, f"{where}: {total_rvu} RVU × {factor_name} ${factor} = ${amount}")
    if total_rvu is not None:
        return Price(None, f"not priced: no conversion factor in effect for {plan.month}")
    setting = "facility " if facility else ""
    return Price(
        None,
        f"not priced: no {setting}amount for {code} in {plan.month} in the shipped data; "
        "give fee_schedule_override in the bundle or --fee-schedule",
    )


def pricing_node(pricing: CompiledPricing | None, code: str, found: Price) -> TraceNode:
    if pricing is None:
        return TraceNode("pricing", code, "allowed amount", (), "", found.source)
    return TraceNode(
        "pricing",
        f"{pricing.header.id}:{code}",
        pricing.header.title,
        pricing.header.cites,
        pricing.header.source,
        found.source,
    )
