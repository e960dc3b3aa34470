"""What a decision says besides its billable lines, once the coding is chosen: the denials, the
totals, and the trace (made only when it is read). Split from coding.py, which chooses the coding.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from ..compile.month_plan import MonthPlan
from ..compile.outcomes import CodeOutcome, Compact
from ..compile.policy_set import CompiledPolicySet
from ..compile.strategy import CodingStrategy
from ..decision.model import Denial, Line, Reason, Totals, Withdrawal
from ..decision.trace_nodes import Trace, TraceNode, trace_node_json
from ..money import ZERO
from .bundling import HeldClaim, kept_claim_reason
from .compact import compact_trace
from .cost_sharing_trace import CostResult
from .full_trace import cost_sharing_json, full_parts
from .pricing import Price, pricing_node
from .rules import Evaluation
from .strategy import Coding, strategy_name


def denials(
    compiled: CompiledPolicySet,
    outcomes: Mapping[str, CodeOutcome],
    plan: MonthPlan,
    chosen: Coding,
    conflicts: Mapping[str, Mapping[str, str]],
    valid: Mapping[str, CodeOutcome],
    held: Mapping[str, HeldClaim],
    strategy: CodingStrategy,
) -> tuple[Denial, ...]:
    if not valid:  # most decisions: every code denied for its own reasons (most denials shared)
        denial = compiled.denial
        denied = [outcome.denial or denial(code, outcome.reasons) for code, outcome in outcomes.items()]
        denied.extend(plan.not_in_effect_denials)
        return tuple(denied)
    denied = []
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
        if blocker is not None and blocker in held:  # a claim on file that this code bundles was kept
            item = held[blocker]
            denied.append(Denial(code, (kept_claim_reason(code, item, strategy_name(strategy)),), with_code=item.code))
            continue
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


_NOTHING_BILLED: dict[str | None, Totals] = {}  # note -> the totals of a decision that bills nothing


def decision_totals(lines: tuple[Line, ...], note: str | None) -> Totals:
    if not lines:  # most decisions: the same few values (one per note), made once (a frozen value: shared)
        found = _NOTHING_BILLED.get(note)
        if found is None:
            found = Totals(ZERO, ZERO, ZERO, ZERO, ZERO, note)
            if len(_NOTHING_BILLED) < 1024:  # bounded: a note names a month or a clause's reason
                _NOTHING_BILLED[note] = found
        return found
    if any(line.allowed is None for line in lines):
        unpriced = ", ".join(line.code for line in lines if line.allowed is None)
        # what the beneficiary owes is still known when every line says so (a QMB owes nothing)
        owed = [line.shares.beneficiary if line.shares is not None else None for line in lines]
        beneficiary = None if any(v is None for v in owed) else sum((v for v in owed if v is not None), ZERO)
        return Totals(None, None, beneficiary, None, None, f"not priced: {unpriced}")
    allowed = sum((line.allowed for line in lines if line.allowed is not None), ZERO)
    shares = [line.shares for line in lines]
    if any(sh is None for sh in shares):
        return Totals(allowed, None, None, None, None, note)
    medicare = _sum_known([sh.medicare for sh in shares if sh])
    medigap = _sum_known([sh.medigap for sh in shares if sh])
    if any(sh is not None and sh.beneficiary is None for sh in shares):
        return Totals(allowed, medicare, None, medigap, None, note)
    beneficiary = sum((sh.beneficiary for sh in shares if sh and sh.beneficiary is not None), ZERO)
    # (a QMB's line can owe nothing while Medicaid's share of it is unknown: not counted as 0)
    medicaid = _sum_known([sh.medicaid for sh in shares if sh])
    return Totals(allowed, medicare, beneficiary, medigap, medicaid, note)


def _sum_known(values: list[Decimal | None]) -> Decimal | None:
    """The sum, or None when any part cannot be decided."""
    return None if any(v is None for v in values) else sum((v for v in values if v is not None), ZERO)


def decision_trace(
    ev: Evaluation,
    outcomes: Mapping[str, CodeOutcome],
    lines: tuple[Line, ...],
    plan: MonthPlan,
    costs: CostResult,
    chosen: Coding,
    strategy: CodingStrategy,
    withdraw: tuple[Withdrawal, ...],
) -> Trace:
    """The trace, as evaluation recorded it; every node is made only when the trace is read."""

    def recorded() -> list[Compact]:  # every rule and code record (evaluation is over: none is added)
        return [*ev.rule_nodes(), *[o.node for o in outcomes.values() if o.node is not None]]

    def tail(cost_node: bool = True) -> list[TraceNode]:
        nodes: list[TraceNode] = []
        if strategy.header is not None:
            result = "chose " + (", ".join(chosen) if chosen else "nothing: no code is valid")
            if withdraw:
                result += "; withdraw the " + ", ".join(f"{w.code} claim" for w in withdraw) + " on file"
            choose = strategy.header
            nodes.append(TraceNode("choose", choose.id, choose.title, choose.cites, choose.source, result))
        for line in lines:
            nodes.append(pricing_node(plan.pricing, line.code, Price(line.allowed, line.price_source)))
        if costs.node is not None and cost_node:
            nodes.append(costs.node())
        return nodes

    def pieces() -> list[bytes | memoryview]:  # the cost-sharing node from its summary: no TraceNodes built
        written = [trace_node_json(node) for node in tail(cost_node=False)]
        if costs.node is not None:
            if costs.summary is not None and plan.cost_sharing is not None:
                written.append(cost_sharing_json(plan.cost_sharing, costs.summary(), plan.as_of))
            else:
                written.append(trace_node_json(costs.node()))
        return full_parts(ev, recorded(), written)

    return Trace(
        lambda: (*(ev.materialize(node) for node in recorded()), *tail()),
        lambda: [*(ev.trace_json(node) for node in recorded()), *(trace_node_json(node) for node in tail())],
        # not tail(): the compact trace leaves out the choice and pricing, and needs no nodes
        lambda: compact_trace(ev, recorded(), costs.summary() if costs.summary is not None else None),
        pieces,
    )
