"""Who pays what of each priced line (the cost-sharing arithmetic of docs/language.md).

Shares: deductible first (in coding order), then coinsurance of the rest; Medigap then Medicaid
take what their clauses say from the beneficiary's part; a `sequestration` clause cuts Medicare's
payment. What a decision keeps of it (`CostResult`) and its trace: cost_sharing_trace.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..compile.compiled import CompiledCostSharing, CompiledPays
from ..compile.month_plan import MonthPlan
from ..compile.runtime import UNKNOWN, Env, Fn
from ..decision.model import Shares
from ..money import ZERO, after_sequestration, as_money, round_cents
from .cost_sharing_trace import CostResult, clauses_apply, cost_result


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
    """Who pays what of each line (`amounts`, in coding order), with the note and trace of it."""
    if amounts:
        return CostSharer(plan, env).share(amounts, trace=trace)
    # most decisions bill nothing: no shares, only whether they could be decided (and the trace)
    sharing = plan.cost_sharing
    if sharing is None:
        return CostResult((), f"no cost-sharing rule is in effect for {plan.month}", None)
    undetermined = _undetermined(sharing, env)
    return cost_result(sharing, [], undetermined, None, plan, env) if trace else _nothing_shared(undetermined)


# What every line's shares are worked out from: which `pays` clauses apply, the deductible left,
# the coinsurance rate, what each payer takes (`_payer_fractions`), and why a share cannot be decided
Basis = tuple[tuple[Any, ...], Any, Any, tuple[Any, Any, Any], str]


class CostSharer:
    """The cost sharing of one decision. Whether it can be decided (`undetermined`), what every
    line's shares are worked out from (`basis`) and whether the sequestration clause cuts Medicare's
    payment (`cut`) are the bundle's, whatever the lines: each is read once, then shared by the
    chosen coding's lines and by each alternative's (coding.py)."""

    __slots__ = ("_basis", "_cites", "_cut", "env", "plan", "sharing", "undetermined")

    def __init__(self, plan: MonthPlan, env: Env) -> None:
        self.plan = plan
        self.env = env
        self.sharing = plan.cost_sharing
        self.undetermined = _undetermined(self.sharing, env) if self.sharing is not None else None
        self._basis: Basis | None = None  # (read when the first line is shared)
        self._cut: tuple[Any, Any] | None = None  # (read when the first priced line is shared)
        self._cites: tuple[str, ...] | None = None  # (read when the first priced line is shared)

    def share(self, amounts: Sequence[Decimal | None], *, trace: bool) -> CostResult:
        sharing, plan, undetermined = self.sharing, self.plan, self.undetermined
        if sharing is None:
            return CostResult(tuple(None for _ in amounts), f"no cost-sharing rule is in effect for {plan.month}", None)
        # each clause's condition, read once; a month that bills nothing needs them only for the
        # trace, which reads them when it is built (None: not read yet). A line that is not priced
        # still reads them: Medicaid paying all (a QMB) leaves the beneficiary owing nothing of it.
        basis = self.basis() if amounts else None
        shares: list[Shares | None] = _line_shares(amounts, basis, undetermined) if basis is not None else []
        priced = any(amount is not None for amount in amounts)
        if priced and sharing.sequestration is not None:
            shares = _sequestered(shares, self.cut(sharing.sequestration), sharing.sequestration[2])
        applies = basis[0] if basis is not None else None
        cites = self.cites(sharing, applies) if priced and applies is not None else ()
        return cost_result(sharing, shares, undetermined, applies, plan, self.env if trace else None, cites)

    def cites(self, sharing: CompiledCostSharing, applies: tuple[Any, ...]) -> tuple[str, ...]:
        """The assumptions the priced lines' shares rest on: those of the `pays` clauses that decide
        them, of the `indeterminate` clause that holds and of the `sequestration` clause when it
        applies (month_payment.py says which); read once, as `basis` is. Those of the `pays` clauses
        depend only on which clauses apply, so they are kept on the block as `_winners` are."""
        if self._cites is None:
            cites = sharing.assumed.get(applies)
            if cites is None:
                winners = sharing.winners.get(applies) or _winners(sharing, applies)
                cites = sharing.assumed[applies] = tuple(
                    dict.fromkeys(a for clause, _certain in winners if clause is not None for a in clause.assumptions)
                )
            if self.undetermined is not None and sharing.indeterminate_assumptions:
                found = (c for reason, c in sharing.indeterminate_assumptions if reason == self.undetermined)
                cites += next(found, ())
            cut = sharing.sequestration
            if sharing.sequestration_assumptions and cut is not None and self.cut(cut)[0] is True:
                cites += sharing.sequestration_assumptions
            self._cites = cites
        return self._cites

    def basis(self) -> Basis:
        """What every line's shares are worked out from (the block is in effect), read once."""
        if self._basis is None:
            sharing, env = self.sharing, self.env
            assert sharing is not None
            applies = clauses_apply(sharing, env)
            remaining = _deductible(sharing, env)
            rate = sharing.coinsurance(env) if sharing.coinsurance is not None else ZERO
            payers = _payer_fractions(sharing, applies, env)
            undecided = _any_unknown(remaining, rate, *payers)
            missing = _missing(sharing, applies, env, self.plan.unknown_values, remaining, rate) if undecided else ""
            self._basis = (applies, remaining, rate, payers, missing)
        return self._basis

    def cut(self, clause: tuple[Fn, Fn, str]) -> tuple[Any, Any]:
        """Whether the sequestration clause applies (True, False or UNKNOWN), and its rate when it does."""
        if self._cut is None:
            rate_of, when, _text = clause
            applies = when(self.env)
            self._cut = (applies, rate_of(self.env) if applies is True else UNKNOWN)
        return self._cut


def _undetermined(sharing: CompiledCostSharing, env: Env) -> str | None:
    """Why the shares cannot be decided at all (an `indeterminate` clause that holds), or None."""
    for when, reason, _text in sharing.indeterminate:  # (a loop, not a generator: once per decision)
        if when(env) is True:
            return reason
    return None


_NOTHING_SHARED: dict[str | None, CostResult] = {}  # why the shares are indeterminate (or None) -> sharing nothing


def _nothing_shared(undetermined: str | None) -> CostResult:
    """What sharing the costs of no line gives, untraced: no shares, and the note when the shares
    are indeterminate. The same few values for a whole batch (one per reason), so each is made once
    (a frozen value: shared). Bounded: a reason is a policy's text."""
    found = _NOTHING_SHARED.get(undetermined)
    if found is None:
        note = None if undetermined is None else f"patient responsibility indeterminate: {undetermined}"
        found = CostResult((), note, None)
        if len(_NOTHING_SHARED) < 1024:
            _NOTHING_SHARED[undetermined] = found
    return found


# Why a line's deductible is not known when an earlier line of the coding is not priced.
_AFTER_UNPRICED = "cannot be decided: a line before it is not priced, so the deductible left for this line is not known"


def _line_shares(amounts: Sequence[Decimal | None], basis: Basis, undetermined: str | None) -> list[Shares | None]:
    _applies, remaining, rate, payers, missing = basis
    shares: list[Shares | None] = []
    for amount in amounts:  # in coding order: the deductible is taken line by line
        if amount is None:
            shares.append(_unpriced(payers))
            # The line takes its part of the deductible first (§7.1), how much is not known: the
            # lines after it cannot be told what is left of it, unless nothing was (a priced line
            # after it was given the whole deductible, as if the unpriced line took none).
            if remaining is not UNKNOWN and remaining > ZERO:
                remaining, missing = UNKNOWN, _AFTER_UNPRICED
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
            shares.append(_undetermined_split(payers, deductible, coinsurance, medicare, undetermined))
    return shares


def _undetermined_split(
    payers: tuple[Any, Any, Any], deductible: Any, coinsurance: Any, medicare: Decimal | None, why: str
) -> Shares:
    """A line whose shares an `indeterminate` clause leaves undecided. The clause does not say
    which payer it is about (the state's Medicaid rules, or Plan N's copay), so Medigap's share is
    0 only when no Medigap clause can apply (a plan that pays, K's 50% or G's coinsurance, was shown
    as 0.00), and when Medicaid certainly pays all (a QMB, §7.2) the beneficiary owes nothing."""
    medigap_deductible, medigap_coinsurance, medicaid = payers
    medigap = ZERO if _pays_none(medigap_deductible) and _pays_none(medigap_coinsurance) else None
    owed = ZERO if _pays_all(medicaid) else None
    return Shares(_known(deductible), _known(coinsurance), medicare, owed, medigap, None, why)


def _unpriced(payers: tuple[Any, Any, Any]) -> Shares | None:
    """A line that is not priced: who pays what of it cannot be computed, except that when
    Medicaid certainly pays all of the beneficiary's part (a QMB, §7.2) the beneficiary owes
    nothing of it, whatever the amount and whatever an `indeterminate` clause leaves undecided.
    None otherwise (not computed)."""
    if _pays_all(payers[2]):
        return Shares(deductible=None, coinsurance=None, medicare=None, beneficiary=ZERO, medigap=None, medicaid=None)
    return None


def _sequestered(shares: list[Shares | None], cut: tuple[Any, Any], text: str) -> list[Shares | None]:
    """Each line's Medicare payment after the `sequestration` clause, when it applies (`cut`:
    whether it does, and its rate); the beneficiary's shares are not cut (§7.1). Unknown whether it
    applies: not given, and the note says so."""
    applies, rate = cut
    if applies is False:
        return shares
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


def _pays_all(fraction: Any) -> bool:
    """Whether a payer's share is certainly all (a fraction of 1, known; None: no clause applies)."""
    return fraction is not None and fraction is not UNKNOWN and fraction == 1


def _pays_none(fraction: Any) -> bool:
    """Whether a payer's share is certainly nothing (a fraction of 0, known)."""
    return fraction is not UNKNOWN and fraction == ZERO


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
    if not _any_unknown(deductible, coinsurance, medigap):
        owed = deductible + coinsurance - medigap
    elif _pays_all(medigap_deductible) and _pays_all(medigap_coinsurance):
        owed = ZERO  # Medigap pays all of both (Plan C or F, §7.3): nothing is left, whatever they are
    else:
        owed = UNKNOWN
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
