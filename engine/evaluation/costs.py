"""Allowed amounts and who pays what, line by line (the arithmetic of docs/language.md).

Allowed amount of a line, in this order: the bundle's `fee_schedule_override`, a fee schedule
file (`--fee-schedule`), the RVU table in effect × the conversion factor. Otherwise the line is
not priced, and says why. Shares: deductible first (in coding order), then coinsurance of the
rest; Medigap then Medicaid take what their clauses say from the beneficiary's part.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from ..compile.compiled import CompiledCostSharing, CompiledPays, CompiledPricing
from ..compile.month_plan import MonthPlan
from ..compile.runtime import UNKNOWN, Env, Fn
from ..decision.model import Shares
from ..decision.trace_nodes import Read, TraceNode
from ..money import ZERO, after_sequestration, as_money, round_cents


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    """A user-supplied fee schedule: allowed amounts, or total RVUs priced with the conversion factor."""

    name: str
    amounts: Mapping[str, Decimal]
    rvus: Mapping[str, Decimal]
    digest: str


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class CostResult:
    shares: tuple[Shares | None, ...]
    note: str | None
    # The trace node, built only when the trace is read (most of a batch's traces never are
    # turned into nodes: they are written as JSON, or not at all). Everything it reads is immutable.
    node: Callable[[], TraceNode] | None
    # What the compact trace keeps of that node, without building it (evaluation/compact.py)
    summary: Callable[[], CostSummary] | None = None


# (the cost-sharing node's result then each clause's, the values it read: (name, value or UNKNOWN))
CostSummary = tuple[list[str], list[tuple[str, Any]]]


def _winning(applying: Sequence[tuple[CompiledPays, Any]], payer: str, share: str) -> tuple[CompiledPays | None, bool]:
    """The clause that decides what `payer` pays of `share`, and whether that is certain: a clause
    whose condition is unknown, and that would win were it true, leaves the payer's share unknown."""
    live = [(p, applied) for p, applied in applying if p.payer == payer and p.share in (share, "all")]
    held = [p for p, applied in live if applied is True]
    winner = max(held, key=lambda p: p.priority) if held else None
    floor = winner.priority if winner is not None else None
    certain = not any(applied is UNKNOWN and (floor is None or p.priority >= floor) for p, applied in live)
    return winner, certain


def _fraction(decided: tuple[CompiledPays | None, bool], env: Env) -> Any:
    """The share a payer takes (a Decimal), or UNKNOWN."""
    clause, certain = decided
    if not certain:
        return UNKNOWN
    if clause is None:
        return ZERO
    if clause.fraction is None:
        return Decimal(1)
    value = clause.fraction(env)
    return UNKNOWN if value is UNKNOWN else Decimal(value)


def share_costs(amounts: Sequence[Decimal | None], plan: MonthPlan, env: Env, *, trace: bool) -> CostResult:
    sharing = plan.cost_sharing
    if sharing is None:
        return CostResult(tuple(None for _ in amounts), f"no cost-sharing rule is in effect for {plan.month}", None)
    undetermined = None
    for when, reason, _text in sharing.indeterminate:  # (loops, not generators: once per decision)
        if when(env) is True:
            undetermined = reason
            break
    # each clause's condition, read once; a month that bills nothing needs them only for the
    # trace, which reads them when it is built (None: not read yet). A line that is not priced
    # still reads them: Medicaid paying all (a QMB) leaves the beneficiary owing nothing of it.
    applies = _clauses_apply(sharing, env) if amounts else None
    shares: list[Shares | None] = (
        _line_shares(sharing, amounts, applies, undetermined, env, plan.unknown_values) if applies is not None else []
    )
    priced = any(amount is not None for amount in amounts)
    if priced and sharing.sequestration is not None:
        shares = _sequestered(shares, sharing.sequestration, env)
    if undetermined is not None:
        note = f"patient responsibility indeterminate: {undetermined}"
        result = f"indeterminate: {undetermined}"
        node = partial(_header_node, sharing, result) if trace else None
        header_only: CostSummary = ([result], [])
        return CostResult(tuple(shares), note, node, (lambda: header_only) if trace else None)
    unknown = next((sh.note for sh in shares if sh is not None and sh.note), None)
    result = "shared" if unknown is None else f"indeterminate: {unknown}"
    shared = partial(_node, sharing, applies, env, plan, result) if trace else None
    summary = partial(_summary, sharing, applies, env, result) if trace else None
    return CostResult(tuple(shares), None if unknown is None else f"patient responsibility {unknown}", shared, summary)


def _clauses_apply(sharing: CompiledCostSharing, env: Env) -> tuple[Any, ...]:
    """Whether each `pays` clause applies to this bundle (True, False or UNKNOWN), in clause order."""
    return tuple(True if (v := p.when(env)) is True else (UNKNOWN if v is UNKNOWN else False) for p in sharing.pays)


def _line_shares(
    sharing: CompiledCostSharing,
    amounts: Sequence[Decimal | None],
    applies: Sequence[Any],
    undetermined: str | None,
    env: Env,
    unknown_values: Mapping[str, str],
) -> list[Shares | None]:
    remaining = _deductible(sharing, env)
    rate = sharing.coinsurance(env) if sharing.coinsurance is not None else ZERO
    payers = _payer_fractions(sharing, applies, env)
    undecided = UNKNOWN in (remaining, rate, *payers)
    missing = _missing(sharing, applies, env, unknown_values, remaining, rate) if undecided else ""
    shares: list[Shares | None] = []
    for amount in amounts:  # in coding order: the deductible is taken line by line
        if amount is None:
            shares.append(_unpriced(payers, undetermined))
            continue
        if remaining is UNKNOWN:
            deductible = coinsurance = UNKNOWN
        else:
            deductible = min(remaining, amount)
            remaining -= deductible
            coinsurance = UNKNOWN if rate is UNKNOWN else round_cents((amount - deductible) * rate)
        if undetermined is None:
            shares.append(_split(payers, amount, deductible, coinsurance, missing))
        else:  # Medicare's share is known (when the deductible and coinsurance are); who pays the rest is not
            medicare = _known(amount - deductible - coinsurance) if UNKNOWN not in (deductible, coinsurance) else None
            shares.append(Shares(_known(deductible), _known(coinsurance), medicare, None, ZERO, None, undetermined))
    return shares


def _unpriced(payers: tuple[Any, Any, Any], undetermined: str | None) -> Shares | None:
    """A line that is not priced: who pays what of it cannot be computed, except that when
    Medicaid certainly pays all of the beneficiary's part (a QMB, §7.2) the beneficiary owes
    nothing of it, whatever the amount. None otherwise (not computed)."""
    medicaid = payers[2]
    if undetermined is None and medicaid is not None and medicaid is not UNKNOWN and medicaid == 1:
        return Shares(deductible=None, coinsurance=None, medicare=None, beneficiary=ZERO, medigap=None, medicaid=None)
    return None


def _sequestered(shares: list[Shares | None], clause: tuple[Fn, Fn, str], env: Env) -> list[Shares | None]:
    """Each line's Medicare payment after the `sequestration` clause, when it applies; the
    beneficiary's shares are not cut (§7.1). Unknown whether it applies: not given, and the note says so."""
    rate_of, when, text = clause
    applies = when(env)
    if applies is False:
        return shares
    rate = rate_of(env) if applies is True else UNKNOWN
    out: list[Shares | None] = []
    for line in shares:
        if line is None:
            out.append(None)
        elif rate is UNKNOWN or line.medicare is None:
            why = f"Medicare's payment after sequestration cannot be decided ({text})"
            out.append(dataclasses.replace(line, note=line.note or why))
        else:
            out.append(dataclasses.replace(line, medicare_after_sequestration=after_sequestration(line.medicare, rate)))
    return out


def _known(value: Any) -> Decimal | None:
    return None if value is UNKNOWN else value


def _missing(
    sharing: CompiledCostSharing,
    applies: Sequence[Any],
    env: Env,
    unknown_values: Mapping[str, str],
    remaining: Any,
    rate: Any,
) -> str:
    """Why a share cannot be decided: the missing facts and parameters that the undecided parts
    read (the deductible or coinsurance when unknown, a clause whose condition is unknown, or one
    that applies and whose share is unknown), and the parameters with no value this month
    (`otherwise unknown`) that an undecided clause reads. A fact only a clause that certainly does
    not apply reads is not named: it cannot change the answer (Plan L does not hang on
    `medicare_eligible_before_2020`, which only the Plan C/F clause reads)."""
    undecided_reads: set[str] = set()
    if remaining is UNKNOWN:
        undecided_reads |= sharing.deductible_reads
    if rate is UNKNOWN:
        undecided_reads |= sharing.coinsurance_reads
    for p, applied in zip(sharing.pays, applies, strict=True):
        if applied is UNKNOWN or (applied is True and p.fraction is not None and p.fraction(env) is UNKNOWN):
            undecided_reads |= p.reads
    names = [label for label, _kind, reader in sharing.reads if label in undecided_reads and reader(env) is UNKNOWN]
    what = ", ".join(f"`{n}`" for n in names) if names else "a value it needs"
    undecided = sorted(
        {name for p, applied in zip(sharing.pays, applies, strict=True) if applied is UNKNOWN for name in p.parameters}
        & unknown_values.keys()
    )
    values = "".join(f"; `{name}` has no value for {env.month}: {unknown_values[name]}" for name in undecided)
    return f"cannot be decided: missing {what}{values}"


def _deductible(sharing: CompiledCostSharing, env: Env) -> Any:
    if sharing.deductible is None:
        return ZERO
    value = sharing.deductible(env)
    return UNKNOWN if value is UNKNOWN else max(ZERO, as_money(value))


def _payer_fractions(sharing: CompiledCostSharing, applies: Sequence[Any], env: Env) -> tuple[Any, Any, Any]:
    """What Medigap pays of the deductible and of the coinsurance, and Medicaid of what is left
    (None: no Medicaid clause applies); any may be UNKNOWN. Read once per decision."""
    applying = [(p, applied) for p, applied in zip(sharing.pays, applies, strict=True) if applied is not False]
    medigap_deductible = _fraction(_winning(applying, "medigap", "deductible"), env)
    medigap_coinsurance = _fraction(_winning(applying, "medigap", "coinsurance"), env)
    medicaid_deductible = _winning(applying, "medicaid", "deductible")
    medicaid_coinsurance = _winning(applying, "medicaid", "coinsurance")
    medicaid: Any = None
    if medicaid_deductible[0] is not None or medicaid_coinsurance[0] is not None:
        fractions = (_fraction(medicaid_deductible, env), _fraction(medicaid_coinsurance, env))
        medicaid = Decimal(1) if Decimal(1) in fractions else (UNKNOWN if UNKNOWN in fractions else max(fractions))
    elif not (medicaid_deductible[1] and medicaid_coinsurance[1]):
        medicaid = UNKNOWN
    return medigap_deductible, medigap_coinsurance, medicaid


def _part(value: Any, fraction: Any) -> Any:
    """`value × fraction`, rounded; 0 when either is 0, even if the other is unknown."""
    if (fraction is not UNKNOWN and fraction == ZERO) or (value is not UNKNOWN and value == ZERO):
        return ZERO
    if value is UNKNOWN or fraction is UNKNOWN:
        return UNKNOWN
    return round_cents(value * fraction)


def _split(payers: tuple[Any, Any, Any], amount: Decimal, deductible: Any, coinsurance: Any, missing: str) -> Shares:
    """Who pays what of one line. An unknown value makes only what depends on it unknown: Medicaid
    paying all (a QMB) still leaves the beneficiary owing nothing."""
    medigap_deductible, medigap_coinsurance, medicaid_fraction = payers
    from_deductible, from_coinsurance = _part(deductible, medigap_deductible), _part(coinsurance, medigap_coinsurance)
    medigap = UNKNOWN if UNKNOWN in (from_deductible, from_coinsurance) else from_deductible + from_coinsurance
    owed = UNKNOWN if UNKNOWN in (deductible, coinsurance, medigap) else deductible + coinsurance - medigap
    medicaid: Any = ZERO
    if medicaid_fraction is not None:
        # Medicaid is the payer of last resort: it takes from what Medigap left the beneficiary.
        if medicaid_fraction is not UNKNOWN and medicaid_fraction == 1:
            medicaid, owed = owed, ZERO
        else:
            medicaid = _part(owed, medicaid_fraction)
            owed = UNKNOWN if UNKNOWN in (owed, medicaid) else owed - medicaid
    medicare = UNKNOWN if UNKNOWN in (deductible, coinsurance) else amount - deductible - coinsurance
    unknown = UNKNOWN in (deductible, coinsurance, medicare, medigap, medicaid, owed)
    return Shares(
        deductible=_known(deductible),
        coinsurance=_known(coinsurance),
        medicare=_known(medicare),
        beneficiary=_known(owed),
        medigap=_known(medigap),
        medicaid=_known(medicaid),
        note=missing if unknown else None,
    )


def _header_node(sharing: CompiledCostSharing, result: str) -> TraceNode:
    header = sharing.header
    return TraceNode("cost sharing", header.id, header.title, header.cites, header.source, result)


def _node(
    sharing: CompiledCostSharing, applies: Sequence[Any] | None, env: Env, plan: MonthPlan, result: str
) -> TraceNode:
    if applies is None:
        applies = _clauses_apply(sharing, env)
    reads = [
        Read(
            label,
            "missing" if (value := reader(env)) is UNKNOWN else value,
            plan.as_of if kind == "parameter" else None,
        )
        for label, kind, reader in sharing.reads
    ]
    children = tuple(
        TraceNode("clause", f"{p.payer} pays {p.share}", p.text, (), sharing.header.source, _clause_result(applied))
        for p, applied in zip(sharing.pays, applies, strict=True)
    )
    if sharing.sequestration is not None:
        _rate, _when, text = sharing.sequestration
        cut = _sequestration_result(sharing, env)
        children += (TraceNode("clause", "sequestration", text, (), sharing.header.source, cut),)
    return TraceNode(
        "cost sharing",
        sharing.header.id,
        sharing.header.title,
        sharing.header.cites,
        sharing.header.source,
        result,
        tuple(reads),
        children,
    )


def _clause_result(applied: Any) -> str:
    return "applies" if applied is True else ("unknown" if applied is UNKNOWN else "does not apply")


def _sequestration_result(sharing: CompiledCostSharing, env: Env) -> str:
    assert sharing.sequestration is not None
    _rate, when, _text = sharing.sequestration
    return _clause_result(when(env))


def _summary(sharing: CompiledCostSharing, applies: Sequence[Any] | None, env: Env, result: str) -> CostSummary:
    """What `_node` would show, as the compact trace keeps it: the results and the values read."""
    if applies is None:
        applies = _clauses_apply(sharing, env)
    reads = [(label, reader(env)) for label, _kind, reader in sharing.reads]
    results = [result, *(_clause_result(applied) for applied in applies)]
    if sharing.sequestration is not None:  # the last clause, as in `_node`
        results.append(_sequestration_result(sharing, env))
    return results, reads


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


def read_value(value: Any) -> Any:
    return "missing" if value is UNKNOWN else value
