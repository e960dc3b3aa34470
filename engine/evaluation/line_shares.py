"""What each priced line's shares come to, once it is known which `pays` clauses apply
(cost_sharing.py works that out once a decision, as `Basis`): the deductible taken line by line in
coding order, the coinsurance of the rest, then what Medigap and Medicaid take of the beneficiary's
part, and Medicare's payment after sequestration. Every amount is rounded by money.py's
`round_cents` (coinsurance and each payer's part) or `after_sequestration`, nowhere else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ..compile.runtime import UNKNOWN
from ..decision.model import Shares
from ..money import ZERO, after_sequestration, round_cents

# What every line's shares are worked out from: which `pays` clauses apply, the deductible left,
# the coinsurance rate, what each payer takes (`_payer_fractions`), and why a share cannot be decided
Basis = tuple[tuple[Any, ...], Any, Any, tuple[Any, Any, Any], str]


# Why a line's deductible is not known when an earlier line of the coding is not priced.
_AFTER_UNPRICED = "cannot be decided: a line before it is not priced, so the deductible left for this line is not known"


def line_shares(amounts: Sequence[Decimal | None], basis: Basis, undetermined: str | None) -> list[Shares | None]:
    _applies, remaining, rate, payers, missing = basis
    shares: list[Shares | None] = []
    for amount in amounts:  # in coding order: the deductible is taken line by line
        if amount is None:
            shares.append(_unpriced(payers, remaining, undetermined))
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
            medicare = None if any_unknown(deductible, coinsurance) else _known(amount - deductible - coinsurance)
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


def _unpriced(payers: tuple[Any, Any, Any], remaining: Any, undetermined: str | None) -> Shares | None:
    """A line that is not priced: who pays what of it cannot be computed, except that the
    beneficiary certainly owes nothing of it, whatever the amount, when Medigap pays all of what
    the line can bring (the coinsurance, and the deductible unless none is left: Plans C and F;
    A, B, D, G, M, N, or K/L past the limit, once the deductible is met; §7.3), which leaves
    Medicaid nothing, or when Medicaid pays all of the beneficiary's part (a QMB, §7.2), the latter
    also when an `indeterminate` clause leaves the shares undecided (docs/language.md). None
    otherwise (not computed)."""
    medigap_deductible, medigap_coinsurance, medicaid = payers
    no_deductible = _pays_all(medigap_deductible) or (remaining is not UNKNOWN and remaining == ZERO)
    if undetermined is None and no_deductible and _pays_all(medigap_coinsurance):
        return Shares(deductible=None, coinsurance=None, medicare=None, beneficiary=ZERO, medigap=None, medicaid=ZERO)
    if _pays_all(medicaid):
        return Shares(deductible=None, coinsurance=None, medicare=None, beneficiary=ZERO, medigap=None, medicaid=None)
    return None


def sequestered(shares: list[Shares | None], cut: tuple[Any, Any], text: str) -> list[Shares | None]:
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


def any_unknown(*values: Any) -> bool:
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
    medigap = UNKNOWN if any_unknown(from_deductible, from_coinsurance) else from_deductible + from_coinsurance
    if not any_unknown(deductible, coinsurance, medigap):
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
            owed = UNKNOWN if any_unknown(owed, medicaid) else owed - medicaid
    medicare = UNKNOWN if any_unknown(deductible, coinsurance) else amount - deductible - coinsurance
    unknown = any_unknown(deductible, coinsurance, medicare, medigap, medicaid, owed)
    return Shares(
        deductible=_known(deductible),
        coinsurance=_known(coinsurance),
        medicare=_known(medicare),
        beneficiary=_known(owed),
        medigap=_known(medigap),
        medicaid=_known(medicaid),
        note=missing if unknown else None,
    )
