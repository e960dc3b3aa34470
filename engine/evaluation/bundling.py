"""Bundling: claims on file that a code billed now would pay for, and what to do about them.

`G0556..G0558 bundles 99495, 99496 by same practitioner` says CMS pays TCM as part of APCM when the
same practitioner bills both. With a TCM claim on file this month and an APCM code valid, there are
two ways to bill: keep APCM and withdraw the TCM claim, or keep the TCM claim and not bill APCM.
Each claim that could be withdrawn takes part in the search for codings as a *held claim*: an
item that conflicts with the codes that bundle it, so every maximal coding either bills a bundling
code (and the claim is withdrawn) or keeps the claim; the coding strategy chooses (strategy.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..compile.compiled import CompiledExclusion
from ..decision.model import Reason, Withdrawal
from .rules import Evaluation

HELD = "claim "  # a held claim's name in a coding: `claim 1` is the first claim of the month


@dataclass(frozen=True, slots=True)
class HeldClaim:
    """A claim on file this month that codes valid now bundle."""

    name: str  # `claim N`: never a billing code (codes are five letters or digits)
    claim: Mapping[str, Any]
    bundlers: Mapping[str, CompiledExclusion]  # each valid code that bundles it -> the bundling that says so

    @property
    def code(self) -> str:
        return str(self.claim.get("code"))


def held_claims(ev: Evaluation, valid: Iterable[str]) -> dict[str, HeldClaim]:
    """The claims of this month, by the billing practitioner, that a valid code bundles (by name)."""
    if not ev.plan.bundles_claims:
        return {}
    this_month, _earlier = ev.claims_on_file()
    if not this_month:  # most bundles: no claim of this month to hold
        return {}
    valid = set(valid)
    bundlings = [
        b for b in ev.plan.exclusions if b.bundles and b.subject & valid and ev.overridden_by(b.header.id) is None
    ]
    held: dict[str, HeldClaim] = {}
    for number, claim in enumerate(this_month, start=1):
        if claim.get("practitioner") != ev.me:
            continue
        bundlers: dict[str, CompiledExclusion] = {}
        for bundling in bundlings:
            if claim.get("code") in bundling.excluded:
                for code in bundling.subject_order:
                    if code in valid:
                        bundlers.setdefault(code, bundling)
        if bundlers:
            name = f"{HELD}{number}"
            held[name] = HeldClaim(name, claim, bundlers)
    return held


def withdrawals(chosen: Iterable[str], held: Mapping[str, HeldClaim]) -> tuple[Withdrawal, ...]:
    """The held claims a coding does not keep: each is bundled into a chosen code."""
    chosen = tuple(chosen)
    out = []
    for name, item in held.items():
        if name in chosen:
            continue
        into = next((code for code in chosen if code in item.bundlers), None)
        if into is None:  # kept: only a search cut short (codings._MAX_SEARCH) leaves it out
            continue
        bundling = item.bundlers[into].header
        status = item.claim.get("status")
        action = "void or correct the paid claim" if status == "paid" else "withdraw the claim"
        text = f"{item.code} is bundled into {into}, which is billed: {action} ({bundling.title})"
        reason = Reason(bundling.id, bundling.title, bundling.cites, bundling.source, text)
        out.append(
            Withdrawal(
                item.code,
                str(item.claim.get("practitioner")),
                str(item.claim.get("month")),
                status if isinstance(status, str) else None,
                into,
                (reason,),
            )
        )
    return tuple(out)


def kept_claim_reason(code: str, item: HeldClaim, strategy: str) -> Reason:
    """Why a valid bundling code is not billed: the claim it bundles is kept, as the strategy chose."""
    bundling = item.bundlers[code].header
    text = (
        f"the {item.code} claim on file by the same practitioner ({item.claim.get('practitioner')}) "
        f"is kept, as {strategy} chose; {code} would bundle it ({bundling.title})"
    )
    return Reason(bundling.id, bundling.title, bundling.cites, bundling.source, text)
