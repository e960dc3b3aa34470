"""From valid codes to a decision: enumerate the valid codings (codings.py), choose one, price it,
explain it. The `choose coding` strategy of the month picks one coding; the rest are `alternatives`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeGuard

from ..compile.month_plan import MonthPlan
from ..compile.notes import notes_said
from ..compile.outcomes import CodeOutcome
from ..compile.policy_set import CompiledPolicySet
from ..compile.strategy import CodingStrategy
from ..decision.model import (
    Alternative,
    Decision,
    Line,
    Withdrawal,
)
from ..money import ZERO
from .bundling import HeldClaim, held_claims, withdrawals
from .claims import codes_claimed_by
from .codings import Coding, claim_order, enumerate_codings
from .cost_sharing import CostSharer, share_costs
from .cost_sharing_trace import CostResult
from .decision_parts import decision_totals, decision_trace, denials
from .pricing import FeeSchedule, Price, price
from .rules import Evaluation
from .strategy import Ranking, select_strategy

ENGINE_NAME = "carepolicy"
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
    notes: tuple[str, ...] = (),
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
    strategy = select_strategy(plan, ev.env)
    # most decisions: no code is valid, so there is nothing to choose, price or withdraw
    kept, chosen, lines, alternatives, withdraw, conflicts, held, costs = (
        _choose(ev, valid, strategy, fee_schedule) if valid else _NOTHING_CHOSEN
    )
    if costs is None:  # (nothing priced: cost sharing still says whether it could be decided)
        costs = share_costs((), plan, ev.env, trace=trace)
    denied = denials(compiled, outcomes, plan, kept, conflicts, valid, held, strategy)
    totals = decision_totals(lines, costs.note)
    note_cites: tuple[str, ...] = ()
    # what the policies' notes say of the codes billed, and of the bundle (compile/notes.py); a
    # month whose notes all name codes has nothing to test when nothing is billed (most bundles)
    if plan.notes and (lines or plan.decision_notes):
        said, note_cites = notes_said(plan.notes, {line.code for line in lines} if lines else _NONE, ev.env)
        notes += said
    trace_nodes = decision_trace(ev, outcomes, lines, plan, costs, chosen, strategy, withdraw) if trace else None
    digest = decision_digest(version, compiled.policy_hash, facts_hash, switches.text, fee_schedule)
    return Decision(
        digest,
        ENGINE_NAME,
        version,
        compiled.policy_hash,
        facts_hash,
        bundle_id,
        month,
        switches.items,
        lines,
        denied,
        alternatives,
        totals,
        trace_nodes,
        notes=notes,
        note_cites=note_cites,
        active_programs=active_programs(compiled, facts, chosen),
        context=compiled.context,
        withdraw=withdraw,
    )


# (kept, chosen, lines, alternatives, withdraw, conflicts, held, costs): what `_choose` decides
Chosen = tuple[
    Coding,
    Coding,
    tuple[Line, ...],
    tuple[Alternative, ...],
    tuple[Withdrawal, ...],
    dict[str, dict[str, str]],
    dict[str, HeldClaim],
    CostResult | None,
]
_NOTHING_CHOSEN: Chosen = ((), (), (), (), (), {}, {}, None)  # never changed: read only


def _choose(
    ev: Evaluation, valid: dict[str, CodeOutcome], strategy: CodingStrategy, fee_schedule: FeeSchedule | None
) -> Chosen:
    """With some code valid: the codings, the one the strategy keeps, its lines, priced and shared,
    the alternatives and the claims it withdraws."""
    plan, trace = ev.plan, ev.trace
    conflicts = _conflicts(plan, valid, ev)
    held = held_claims(ev, valid)  # (a held claim is one a valid code bundles)
    for name, item in held.items():  # a held claim conflicts with each code that bundles it
        conflicts[name] = {code: bundling.header.title for code, bundling in item.bundlers.items()}
        for code, bundling in item.bundlers.items():
            conflicts[code][name] = bundling.header.title
    claimed_by_me = codes_claimed_by(ev.claims_on_file()[0], ev.me) if ev.env.facts.get("claims") else _NONE
    codings = enumerate_codings(valid, conflicts, claimed_by_me, strategy.rank, tuple(held))

    prices: dict[str, Price] = {code: price(code, plan, ev.env, fee_schedule) for code in valid}

    def total(coding: Coding) -> Decimal | None:
        billed = [c for c in coding if c in valid]
        amounts = [prices[c].amount for c in billed]
        if any(a is None for a in amounts):
            return None
        return sum((a * valid[c].units for c, a in zip(billed, amounts, strict=True) if a is not None), ZERO)

    def claim_price(code: str) -> Decimal | None:
        return price(code, plan, ev.env, fee_schedule).amount

    ranking = Ranking(strategy, total, held, claim_price) if len(codings) > 1 else None  # one coding: nothing to rank
    ranked = sorted(codings, key=ranking.key) if ranking is not None else codings
    kept = ranked[0]
    chosen = claim_order(kept, valid)
    amounts = [_allowed(prices[code].amount, valid[code].units) for code in chosen]
    sharer = CostSharer(plan, ev.env)  # (the alternatives' lines are shared with what it reads)
    costs = sharer.share(amounts, trace=trace)
    shared_cites = costs.cites
    lines = tuple(
        Line(
            code,
            valid[code].units,
            ev.me,
            allowed,
            prices[code].source,
            shares,
            _decided_by(code, valid, plan, allowed, strategy),
            # what its units rest on, then (a line whose shares were worked out) what its shares do
            _line_cites(valid[code].code.line_cites, shared_cites if shares is not None else ()),
        )
        for code, allowed, shares in zip(chosen, amounts, costs.shares, strict=True)
    )
    alternatives = (
        ()
        if ranking is None
        else tuple(
            Alternative(
                tuple((c, valid[c].units) for c in claim_order(other, valid)),
                total(other),
                _patient_share(claim_order(other, valid), valid, prices, sharer),
                ranking.why_not(other, kept),
                tuple(held[name].code for name in ranking.withdrawn(other)),
            )
            for other in ranked[1:]
        )
    )
    return kept, chosen, lines, alternatives, withdrawals(kept, held), conflicts, held, costs


_DIGEST_PREFIXES: dict[tuple[str, str], Any] = {}  # (version, policy hash) -> its hash state; a handful


def decision_digest(
    version: str, policy_hash: str, facts_hash: str, switches: str, fee_schedule: FeeSchedule | None
) -> str:
    """The decision id: the first 32 hex digits of the SHA-256 of the lines `version`, the policy
    set's hash, the facts' hash, the switches and the fee schedule's digest. The first two are the
    same for a whole batch, so their part of the hash is worked out once and copied."""
    key = (version, policy_hash)
    prefix = _DIGEST_PREFIXES.get(key)
    if prefix is None:
        prefix = hashlib.sha256(f"{version}\n{policy_hash}\n".encode())
        if len(_DIGEST_PREFIXES) < 64:  # bounded: one entry per policy set loaded in the process
            _DIGEST_PREFIXES[key] = prefix
    found = prefix.copy()
    found.update(f"{facts_hash}\n{switches}\n{fee_schedule.digest if fee_schedule else ''}".encode())
    return found.hexdigest()[:32]


_ACTIVE: dict[frozenset[str], tuple[str, ...]] = {}  # a set of programs -> it sorted; bounded below


def active_programs(compiled: CompiledPolicySet, facts: Mapping[str, Any], chosen: Coding) -> tuple[str, ...]:
    """The programs the bundle shows activity in: consented to, with time recorded, claimed this
    month or billed now (sorted). The text form shows every denial of these programs in full."""
    found: set[Any] = set()
    consents = facts.get("consents")  # v2: one record per program (a v1 bundle is upgraded on read)
    if _is_mapping(consents):  # (the type tests written out: once per program and entry of every bundle)
        found.update([p for p, record in consents.items() if type(record) is dict or isinstance(record, Mapping)])
    consent = facts.get("consent")
    if _is_mapping(consent):
        services = consent.get("service")
        found.update([services] if isinstance(services, str) else services or ())
    time = facts.get("time")
    if time:
        found.update(
            [s for e in time if (type(e) is dict or isinstance(e, Mapping)) and isinstance(s := e.get("service"), str)]
        )
    programs = compiled.context.code_programs
    claims = facts.get("claims")
    if claims:
        month = facts.get("month")
        for claim in claims:  # any status: a denied claim still shows activity
            if claim.get("month") == month and claim.get("code") in programs:
                found.add(programs[claim["code"]])
    for code in chosen:
        if code in programs:
            found.add(programs[code])
    # A batch meets the same few sets of programs again and again: each sorted once. Bounded: a
    # set of names from the policies and the facts; past 1,024 kept each is sorted anew.
    key = frozenset(found)
    shown = _ACTIVE.get(key)
    if shown is None:
        shown = tuple(sorted([p for p in found if isinstance(p, str)]))
        if len(_ACTIVE) < 1024:
            _ACTIVE[key] = shown
    return shown


def _is_mapping(value: Any) -> TypeGuard[Mapping[str, Any]]:
    """`isinstance(value, Mapping)`, with the usual case (a decoded JSON object) first: the abstract
    class test is several times slower than a type check."""
    return type(value) is dict or isinstance(value, Mapping)


def _allowed(amount: Decimal | None, units: int) -> Decimal | None:
    return amount * units if amount is not None else None


def _decided_by(
    code: str, valid: Mapping[str, CodeOutcome], plan: MonthPlan, allowed: Decimal | None, strategy: CodingStrategy
) -> tuple[str, ...]:
    """The ids of the declarations that decided a billable line: the code, its rules, then
    the strategy, pricing and cost sharing that shaped it."""
    decided = [code, *valid[code].rules_met]
    if strategy.header is not None:
        decided.append(strategy.header.id)
    if plan.pricing is not None:
        decided.append(plan.pricing.header.id)
    if plan.cost_sharing is not None and allowed is not None:
        decided.append(plan.cost_sharing.header.id)
    return tuple(dict.fromkeys(decided))


def _line_cites(units: tuple[str, ...], shares: tuple[str, ...]) -> tuple[str, ...]:
    """A line's `cites`: what its units rest on, then what its shares do (most lines: neither)."""
    return units + shares if units and shares else units or shares


def _patient_share(
    coding: Coding, valid: Mapping[str, CodeOutcome], prices: Mapping[str, Price], sharer: CostSharer
) -> Decimal | None:
    amounts = [_allowed(prices[code].amount, valid[code].units) for code in coding]
    result = sharer.share(amounts, trace=False)
    if any(sh is None or sh.beneficiary is None for sh in result.shares):
        return None
    return sum((sh.beneficiary for sh in result.shares if sh is not None and sh.beneficiary is not None), ZERO)
