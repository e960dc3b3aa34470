"""From valid codes to a decision: enumerate the valid codings, choose one, price it, explain it.

A coding is a maximal set of valid codes with no two in one `exclusive` group or in a same/any
`exclusion`, where every add-on has one of its base codes (in the set, or already claimed this
month by the same practitioner). The `choose coding` strategy of the month picks one; the rest
are `alternatives`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..compile.month_plan import MonthPlan
from ..compile.outcomes import CodeOutcome, Compact
from ..compile.policy_set import CompiledPolicySet
from ..decision.model import Alternative, Decision, Denial, Line, Reason, Totals, Trace, TraceNode, trace_node_json
from ..money import ZERO
from .claims import codes_claimed_by
from .compact import compact_trace
from .costs import FeeSchedule, Price, price, pricing_node, share_costs
from .rules import Evaluation

ENGINE_NAME = "carepolicy"
_MAX_SEARCH = 14  # valid codes; beyond this the search keeps the preferred ones (never seen in practice)

Coding = tuple[str, ...]
_NONE: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class SwitchSettings:
    """Resolved switch settings, with the sorted items and text the decision id is made from
    (made once per setting, not once per bundle: a policy set has about fifteen switches)."""

    values: Mapping[str, str]
    items: tuple[tuple[str, str], ...]
    text: str

    @classmethod
    def of(cls, values: Mapping[str, str]) -> SwitchSettings:
        items = tuple(sorted(values.items()))
        return cls(dict(values), items, repr(items))


def _conflicts(plan: MonthPlan, valid: Mapping[str, CodeOutcome], ev: Evaluation) -> dict[str, dict[str, str]]:
    """For each valid code: the valid codes it may not be billed with, and the rule that says so."""
    pairs: dict[str, dict[str, str]] = {code: {} for code in valid}
    if len(valid) < 2:  # most months: nothing to conflict with
        return pairs
    for a, mine in pairs.items():
        for b, title, exclusion in plan.conflict_table.get(a, ()):
            # the first pair in declaration order names the rule, unless an exception lifts it
            if b in valid and b not in mine and (exclusion is None or ev.overridden_by(exclusion) is None):
                mine[b] = title
    return pairs


def enumerate_codings(
    valid: Mapping[str, CodeOutcome],
    conflicts: Mapping[str, Mapping[str, str]],
    claimed_by_me: frozenset[str],
    rank: Mapping[str, int],
) -> list[Coding]:
    """Every coding (see the module docstring); `rank` is each code's place in the preference."""
    # Base codes first (preferred first), add-ons after: the order lines are billed and the
    # deductible is taken in.
    order = sorted(valid, key=lambda c: (valid[c].code.decl.is_addon, rank.get(c, len(rank)), c))
    if not any(conflicts[code] for code in valid):  # the usual month: one coding, nothing to choose
        everything = set(valid)
        return [
            tuple(
                c
                for c in order
                if not valid[c].code.bases or any(b in everything or b in claimed_by_me for b in valid[c].code.bases)
            )
        ]
    order = order[:_MAX_SEARCH]

    def supported(code: str, chosen: set[str]) -> bool:
        bases = valid[code].code.bases
        return not bases or any(b in chosen or b in claimed_by_me for b in bases)

    def can_add(code: str, chosen: set[str]) -> bool:
        return not any(other in chosen for other in conflicts[code])

    found: list[Coding] = []

    def search(i: int, chosen: set[str]) -> None:
        if i == len(order):
            if all(supported(c, chosen) for c in chosen) and not any(
                c not in chosen and can_add(c, chosen) and supported(c, chosen | {c}) for c in order
            ):
                found.append(tuple(c for c in order if c in chosen))
            return
        code = order[i]
        if can_add(code, chosen):
            search(i + 1, chosen | {code})
        search(i + 1, chosen)

    search(0, set())
    return found or [()]


def decide(
    compiled: CompiledPolicySet,
    facts: Mapping[str, Any],
    *,
    bundle_id: str,
    month: str,
    facts_hash: str,
    switches: SwitchSettings,
    fee_schedule: FeeSchedule | None,
    trace: bool,
    version: str,
) -> Decision:
    plan = compiled.plan(month)
    ev = Evaluation(compiled, plan, facts, switches.values, trace=trace)
    outcomes, valid = ev.codes()
    ruled_out = ev.claim_conflicts()
    if ruled_out:  # claims already made this month deny more codes
        for code, reasons in ruled_out.items():
            if code in outcomes:  # (a shared, prebuilt outcome is copied before it is changed)
                outcome = outcomes[code] = outcomes[code].owned()
                outcome.reasons.extend(reasons)
        valid = {code: outcome for code, outcome in valid.items() if outcome.valid}
    conflicts = _conflicts(plan, valid, ev)
    claimed_by_me = codes_claimed_by(facts, ev.me) if facts.get("claims") else _NONE
    codings = enumerate_codings(valid, conflicts, claimed_by_me, plan.rank)

    prices: dict[str, Price] = {code: price(code, plan, ev.env, fee_schedule) for code in valid}

    def total(coding: Coding) -> Decimal | None:
        amounts = [prices[c].amount for c in coding]
        if any(a is None for a in amounts):
            return None
        return sum((a * valid[c].units for c, a in zip(coding, amounts, strict=True) if a is not None), ZERO)

    rank = plan.rank
    big = len(rank) + 1

    def key(coding: Coding) -> tuple[Any, ...]:
        prefs = (*tuple(sorted(rank.get(c, big) for c in coding)), big)
        money = -(total(coding) or ZERO) if plan.highest_total else ZERO
        return (prefs, money, coding)

    ranked = sorted(codings, key=key) if len(codings) > 1 else codings
    chosen = ranked[0]
    amounts = [_allowed(prices[code].amount, valid[code].units) for code in chosen]
    costs = share_costs(amounts, plan, ev.env, trace=trace)
    lines = tuple(
        Line(
            code,
            valid[code].units,
            ev.me,
            allowed,
            prices[code].source,
            shares,
            _decided_by(code, valid, plan, allowed),
        )
        for code, allowed, shares in zip(chosen, amounts, costs.shares, strict=True)
    )
    alternatives = (
        ()
        if len(ranked) == 1
        else tuple(
            Alternative(
                tuple((c, valid[c].units) for c in other),
                total(other),
                _patient_share(other, valid, prices, plan, ev),
                _why_not(other, chosen, rank, total, plan),
            )
            for other in ranked[1:]
        )
    )
    denied = _denials(compiled, outcomes, plan, chosen, conflicts, valid)
    totals = _totals(lines, costs.note)
    trace_nodes = _trace(ev, outcomes, lines, plan, costs.node, chosen) if trace else None
    switch_items = switches.items
    digest = hashlib.sha256(
        "\n".join(
            [version, compiled.policy_hash, facts_hash, switches.text, fee_schedule.digest if fee_schedule else ""]
        ).encode()
    ).hexdigest()[:32]
    return Decision(
        digest,
        ENGINE_NAME,
        version,
        compiled.policy_hash,
        facts_hash,
        bundle_id,
        month,
        switch_items,
        lines,
        denied,
        alternatives,
        totals,
        trace_nodes,
        active_programs=active_programs(compiled, facts, chosen),
        context=compiled.context,
    )


def active_programs(compiled: CompiledPolicySet, facts: Mapping[str, Any], chosen: Coding) -> tuple[str, ...]:
    """The programs the bundle shows activity in: consented to, with time recorded, claimed this
    month or billed now (sorted). The text form shows every denial of these programs in full."""
    found: set[str] = set()
    consents = facts.get("consents")  # v2: one record per program (a v1 bundle is upgraded on read)
    if isinstance(consents, Mapping):
        found.update(program for program, record in consents.items() if isinstance(record, Mapping))
    consent = facts.get("consent")
    if isinstance(consent, Mapping):
        services = consent.get("service")
        found.update([services] if isinstance(services, str) else services or ())
    for entry in facts.get("time") or ():
        if isinstance(entry, Mapping) and isinstance(entry.get("service"), str):
            found.add(entry["service"])
    programs = compiled.context.code_programs
    for claim in facts.get("claims") or ():  # any status: a denied claim still shows activity
        if claim.get("month") == facts.get("month") and claim.get("code") in programs:
            found.add(programs[claim["code"]])
    found.update(programs[code] for code in chosen if code in programs)
    return tuple(sorted(p for p in found if isinstance(p, str)))


def _allowed(amount: Decimal | None, units: int) -> Decimal | None:
    return amount * units if amount is not None else None


def _decided_by(
    code: str, valid: Mapping[str, CodeOutcome], plan: MonthPlan, allowed: Decimal | None
) -> tuple[str, ...]:
    """The ids of the declarations that decided a billable line: the code, its rules, then
    the strategy, pricing and cost sharing that shaped it."""
    decided = [code, *valid[code].rules_met]
    if plan.choose is not None:
        decided.append(plan.choose.id)
    if plan.pricing is not None:
        decided.append(plan.pricing.header.id)
    if plan.cost_sharing is not None and allowed is not None:
        decided.append(plan.cost_sharing.header.id)
    return tuple(dict.fromkeys(decided))


def _patient_share(
    coding: Coding, valid: Mapping[str, CodeOutcome], prices: Mapping[str, Price], plan: MonthPlan, ev: Evaluation
) -> Decimal | None:
    amounts = [_allowed(prices[code].amount, valid[code].units) for code in coding]
    result = share_costs(amounts, plan, ev.env, trace=False)
    if any(sh is None or sh.beneficiary is None for sh in result.shares):
        return None
    return sum((sh.beneficiary for sh in result.shares if sh is not None and sh.beneficiary is not None), ZERO)


def _why_not(other: Coding, chosen: Coding, rank: Mapping[str, int], total: Any, plan: MonthPlan) -> str:
    strategy = plan.choose.id if plan.choose else "the default strategy"
    best_chosen = min(chosen, key=lambda c: rank.get(c, len(rank) + 1), default=None)
    best_other = min(other, key=lambda c: rank.get(c, len(rank) + 1), default=None)
    if best_chosen is not None and rank.get(best_chosen, 1 << 30) < rank.get(best_other or "", 1 << 30):
        return f"{strategy} prefers {best_chosen} to {best_other or 'nothing'} (the code that describes the work done)"
    mine, theirs = total(chosen), total(other)
    if mine is not None and theirs is not None and theirs < mine:
        return f"{strategy}: lower total allowed (${theirs:.2f} < ${mine:.2f})"
    return f"{strategy}: ranked after the chosen coding"


def _denials(
    compiled: CompiledPolicySet,
    outcomes: Mapping[str, CodeOutcome],
    plan: MonthPlan,
    chosen: Coding,
    conflicts: Mapping[str, Mapping[str, str]],
    valid: Mapping[str, CodeOutcome],
) -> tuple[Denial, ...]:
    denied: list[Denial] = []
    in_coding = set(chosen)
    for code, outcome in outcomes.items():
        if code not in valid:  # the usual case: denied for its own reasons (often prebuilt)
            denied.append(outcome.denial or compiled.denial(code, outcome.reasons))
            continue
        if code in in_coding:
            if outcome.next_unit is not None:
                unit, reason = outcome.next_unit
                denied.append(Denial(code, (reason,), unit=unit))
            continue
        header = outcome.code.header
        blocker = next((c for c in chosen if c in conflicts[code]), None)
        if blocker is not None:
            text = f"not billed with {blocker}, which was chosen: {conflicts[code][blocker]}"
            denied.append(
                Denial(code, (Reason(header.id, header.title, header.cites, header.source, text),), with_code=blocker)
            )
            continue
        bases = outcome.code.bases
        blocker = next((c for c in chosen for b in bases if b in conflicts and c in conflicts[b]), None)
        text = f"add-on to {', '.join(bases)}, none of which is billed" + (
            f" ({blocker} was chosen)" if blocker else ""
        )
        denied.append(
            Denial(code, (Reason(header.id, header.title, header.cites, header.source, text),), with_code=blocker)
        )
    denied.extend(plan.not_in_effect_denials)
    return tuple(denied)


def _totals(lines: tuple[Line, ...], note: str | None) -> Totals:
    if not lines:
        return Totals(ZERO, ZERO, ZERO, ZERO, ZERO, note)
    if any(line.allowed is None for line in lines):
        unpriced = ", ".join(line.code for line in lines if line.allowed is None)
        return Totals(None, None, None, None, None, f"not priced: {unpriced}")
    allowed = sum((line.allowed for line in lines if line.allowed is not None), ZERO)
    shares = [line.shares for line in lines]
    if any(sh is None for sh in shares):
        return Totals(allowed, None, None, None, None, note)
    medicare = _sum_known([sh.medicare for sh in shares if sh])
    medigap = _sum_known([sh.medigap for sh in shares if sh])
    if any(sh is not None and sh.beneficiary is None for sh in shares):
        return Totals(allowed, medicare, None, medigap, None, note)
    beneficiary = sum((sh.beneficiary for sh in shares if sh and sh.beneficiary is not None), ZERO)
    medicaid = sum((sh.medicaid for sh in shares if sh and sh.medicaid is not None), ZERO)
    return Totals(allowed, medicare, beneficiary, medigap, medicaid, note)


def _sum_known(values: list[Decimal | None]) -> Decimal | None:
    """The sum, or None when any part cannot be decided."""
    return None if any(v is None for v in values) else sum((v for v in values if v is not None), ZERO)


def _trace(
    ev: Evaluation,
    outcomes: Mapping[str, CodeOutcome],
    lines: tuple[Line, ...],
    plan: MonthPlan,
    cost_node: Callable[[], TraceNode] | None,
    chosen: Coding,
) -> Trace:
    """The trace, as evaluation recorded it; every node is made only when the trace is read."""

    def recorded() -> list[Compact]:  # every rule and code record (evaluation is over: none is added)
        return [*ev.rule_nodes(), *(o.node for o in outcomes.values() if o.node is not None)]

    def tail() -> list[TraceNode]:
        nodes: list[TraceNode] = []
        if plan.choose is not None:
            result = "chose " + (", ".join(chosen) if chosen else "nothing: no code is valid")
            choose = plan.choose
            nodes.append(TraceNode("choose", choose.id, choose.title, choose.cites, choose.source, result))
        for line in lines:
            nodes.append(pricing_node(plan.pricing, line.code, Price(line.allowed, line.price_source)))
        if cost_node is not None:
            nodes.append(cost_node())
        return nodes

    return Trace(
        lambda: (*(ev.materialize(node) for node in recorded()), *tail()),
        lambda: [*(ev.trace_json(node) for node in recorded()), *(trace_node_json(node) for node in tail())],
        lambda: compact_trace(ev, recorded(), tail()),
    )
