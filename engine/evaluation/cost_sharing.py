"""Who pays what of each priced line (the cost-sharing arithmetic of docs/language.md).

Shares: deductible first (in coding order), then coinsurance of the rest; Medigap then Medicaid
take what their clauses say from the beneficiary's part; a `sequestration` clause cuts Medicare's
payment. This module decides which clauses apply and what each payer takes, once a decision
(`CostSharer.basis`); what that gives each line, in money: line_shares.py. What a decision keeps
of it (`CostResult`) and its trace: cost_sharing_trace.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..compile.compiled import CompiledCostSharing, CompiledPays
from ..compile.month_plan import MonthPlan
from ..compile.runtime import UNKNOWN, Env, Fn
from ..decision.model import Shares
from ..money import ZERO, as_money
from .cost_sharing_trace import CostResult, clauses_apply, cost_result
from .line_shares import Basis, any_unknown, line_shares, sequestered


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
        shares: list[Shares | None] = line_shares(amounts, basis, undetermined) if basis is not None else []
        priced = any(amount is not None for amount in amounts)
        if priced and sharing.sequestration is not None:
            shares = sequestered(shares, self.cut(sharing.sequestration), sharing.sequestration[2])
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
                cites += _switches_quoted(sharing, self.env, next(found, ()))
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
            undecided = any_unknown(remaining, rate, *payers)
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


class _SwitchesRead(Mapping[str, str]):
    """A decision's switch settings that note which of them are read."""

    def __init__(self, settings: Mapping[str, str]) -> None:
        self.settings = settings
        self.names: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.names.add(name)
        return self.settings[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.settings)

    def __len__(self) -> int:
        return len(self.settings)


def _switches_quoted(sharing: CompiledCostSharing, env: Env, assumed: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """The assumptions, of `assumed` (switch, text), of the switches that the `indeterminate` clause
    that holds reads on this bundle. Its condition reads a switch only where the switch can change
    it: for a dual with no Medigap plan, `medigap_pays_all_cost_sharing` stops at "a plan is
    present" and never reads the Plan N switch, whose assumption would tell the biller of a plan
    the patient does not have. Worked out again only here (an undecided month whose clause reads
    a switch with an assumption), with the switches noted: the first clause that holds, as
    `_undetermined` found it."""
    if not assumed:
        return ()
    for when, _reason, _text in sharing.indeterminate:
        switches = _SwitchesRead(env.switches)
        if when(Env(env.facts, env.month, env.params, switches, env.defines)) is True:
            return tuple(text for name, text in assumed if name in switches.names)
    return ()


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


