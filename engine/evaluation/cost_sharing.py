"""Who pays what of each priced line (the cost-sharing arithmetic of docs/language.md).

Shares: deductible first (in coding order), then coinsurance of the rest; Medigap then Medicaid
take what their clauses say from the beneficiary's part; a `sequestration` clause cuts Medicare's
payment. The trace of it (its node, or what the compact trace keeps): cost_sharing_trace.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

from ..compile.compiled import CompiledCostSharing, CompiledPays
from ..compile.month_plan import MonthPlan
from ..compile.runtime import UNKNOWN, Env, Fn
from ..decision.model import Shares
from ..decision.trace_nodes import TraceNode
from ..money import ZERO, after_sequestration, as_money, round_cents
from .cost_sharing_trace import CostSummary, clauses_apply, cost_sharing_node, cost_summary, header_node


@dataclass(frozen=True, slots=True)
class CostResult:
    shares: tuple[Shares | None, ...]
    note: str | None
    # The trace node, built only when the trace is read (most of a batch's traces never are
    # turned into nodes: they are written as JSON, or not at all). Everything it reads is immutable.
    node: Callable[[], TraceNode] | None
    # What the compact trace keeps of that node, without building it (evaluation/compact.py)
    summary: Callable[[], CostSummary] | None = None


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
    applies = clauses_apply(sharing, env) if amounts else None
    shares: list[Shares | None] = (
        _line_shares(sharing, amounts, applies, undetermined, env, plan.unknown_values) if applies is not None else []
    )
    priced = any(amount is not None for amount in amounts)
    if priced and sharing.sequestration is not None:
        shares = _sequestered(shares, sharing.sequestration, env)
    if undetermined is not None:
        note = f"patient responsibility indeterminate: {undetermined}"
        result = f"indeterminate: {undetermined}"
        node = partial(header_node, sharing, result) if trace else None
        header_only: CostSummary = ([result], [])
        return CostResult(tuple(shares), note, node, (lambda: header_only) if trace else None)
    unknown = next((sh.note for sh in shares if sh is not None and sh.note), None)
    result = "shared" if unknown is None else f"indeterminate: {unknown}"
    shared = partial(cost_sharing_node, sharing, applies, env, plan, result) if trace else None
    summary = partial(cost_summary, sharing, applies, env, result) if trace else None
    return CostResult(tuple(shares), None if unknown is None else f"patient responsibility {unknown}", shared, summary)


def _line_shares(
    sharing: CompiledCostSharing,
    amounts: Sequence[Decimal | None],
    applies: tuple[Any, ...],
    undetermined: str | None,
    env: Env,
    unknown_values: Mapping[str, str],
) -> list[Shares | None]:
    remaining = _deductible(sharing, env)
    rate = sharing.coinsurance(env) if sharing.coinsurance is not None else ZERO
    payers = _payer_fractions(sharing, applies, env)
    undecided = _any_unknown(remaining, rate, *payers)
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
            medicare = None if _any_unknown(deductible, coinsurance) else _known(amount - deductible - coinsurance)
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


def _any_unknown(*values: Any) -> bool:
    """Whether any of the values is UNKNOWN. Tested by identity, which is what `UNKNOWN in values`
    comes to, without its `==`: a Decimal compared with UNKNOWN asks whether UNKNOWN is a
    `numbers.Rational`, an abstract class's test in Python, for every Decimal of every line."""
    for value in values:  # noqa: SIM110 — a loop: any() over a generator takes three times as long here
        if value is UNKNOWN:
            return True
    return False


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


def _payer_fractions(sharing: CompiledCostSharing, applies: tuple[Any, ...], env: Env) -> tuple[Any, Any, Any]:
    """What Medigap pays of the deductible and of the coinsurance, and Medicaid of what is left
    (None: no Medicaid clause applies); any may be UNKNOWN. Read once per decision."""
    winners = sharing.winners.get(applies) or _winners(sharing, applies)
    medigap_deductible, medigap_coinsurance, medicaid_deductible, medicaid_coinsurance = winners
    medigap_deductible = _fraction(medigap_deductible, env)
    medigap_coinsurance = _fraction(medigap_coinsurance, env)
    medicaid: Any = None
    if medicaid_deductible[0] is not None or medicaid_coinsurance[0] is not None:
        fractions = (_fraction(medicaid_deductible, env), _fraction(medicaid_coinsurance, env))
        medicaid = Decimal(1) if Decimal(1) in fractions else (UNKNOWN if UNKNOWN in fractions else max(fractions))
    elif not (medicaid_deductible[1] and medicaid_coinsurance[1]):
        medicaid = UNKNOWN
    return medigap_deductible, medigap_coinsurance, medicaid


_PAYER_SHARES = (
    ("medigap", "deductible"),
    ("medigap", "coinsurance"),
    ("medicaid", "deductible"),
    ("medicaid", "coinsurance"),
)


def _winners(sharing: CompiledCostSharing, applies: tuple[Any, ...]) -> tuple[tuple[CompiledPays | None, bool], ...]:
    """`_winning` for each payer and share of `_PAYER_SHARES`. They depend only on which clauses
    apply (`applies`), and a batch meets the same few of those again and again: each is worked out
    once and kept on the block (bounded: three results a clause, and a block has a few clauses)."""
    applying = [(p, applied) for p, applied in zip(sharing.pays, applies, strict=True) if applied is not False]
    found = sharing.winners[applies] = tuple(_winning(applying, payer, share) for payer, share in _PAYER_SHARES)
    return found


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
    medigap = UNKNOWN if _any_unknown(from_deductible, from_coinsurance) else from_deductible + from_coinsurance
    owed = UNKNOWN if _any_unknown(deductible, coinsurance, medigap) else deductible + coinsurance - medigap
    medicaid: Any = ZERO
    if medicaid_fraction is not None:
        # Medicaid is the payer of last resort: it takes from what Medigap left the beneficiary.
        if medicaid_fraction is not UNKNOWN and medicaid_fraction == 1:
            medicaid, owed = owed, ZERO
        else:
            medicaid = _part(owed, medicaid_fraction)
            owed = UNKNOWN if _any_unknown(owed, medicaid) else owed - medicaid
    medicare = UNKNOWN if _any_unknown(deductible, coinsurance) else amount - deductible - coinsurance
    unknown = _any_unknown(deductible, coinsurance, medicare, medigap, medicaid, owed)
    return Shares(
        deductible=_known(deductible),
        coinsurance=_known(coinsurance),
        medicare=_known(medicare),
        beneficiary=_known(owed),
        medigap=_known(medigap),
        medicaid=_known(medicaid),
        note=missing if unknown else None,
    )
