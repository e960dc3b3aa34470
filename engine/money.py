"""Money: `Decimal`, and the one rounding rule.

Rounding happens here and only here: half-up to the cent (`round_cents`). The engine calls it at
exactly three points per claim line (docs/language.md, "Rounding"): the allowed amount
(RVU × conversion factor), the line's coinsurance, and each secondary payer's share of it.
Several units of one code are one line, rounded once. A fourth point exists only where a policy's
`sequestration` clause applies: the cut of Medicare's payment (`after_sequestration`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Quantizing needs room for every digit of the result: in the default context (28 digits) an
# amount of 10**27 dollars or more raises InvalidOperation. Literals are bounded (at most 15
# digits before the point, engine/language/limits.py) but products of them are not, so rounding
# gets a context wide enough for any amount arithmetic on them can reach; the value is the same.
_ROUNDING = Context(prec=200, Emax=10**6, Emin=-(10**6))


def round_cents(amount: Decimal) -> Decimal:
    """Round half-up to the cent: 60.487955 -> 60.49, 2.098 -> 2.10, 0.005 -> 0.01."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP, context=_ROUNDING)


def after_sequestration(medicare: Decimal, rate: Decimal) -> Decimal:
    """Medicare's payment of a line after sequestration: the cut, `medicare × rate`, is rounded
    half-up to the cent and taken off (48.00 at 2%: cut 0.96, paid 47.04; 60.49 at 2%: cut 1.2098
    -> 1.21, paid 59.28). The coinsurance and deductible are not cut (cms-rules.md §7.1); how CMS
    rounds the cut is not in the reference, so this rounding is the engine's convention."""
    return medicare - round_cents(medicare * rate)


def as_money(value: object) -> Decimal:
    """A fact or literal as money, exactly (`0.0` from YAML is already a Decimal); `-0.0`, which is
    not below zero and so a valid amount, as 0.0, so that no amount is written `-0.00`."""
    if isinstance(value, Decimal):
        return value.copy_abs() if value.is_zero() else value
    if isinstance(value, int):
        return Decimal(value)
    raise TypeError(f"not money: {value!r}")
