"""The claims on file for the patient, as the evaluator reads them: one list, filtered by status.

A bundle's claims are one list, `claims` (facts/upgrade.py folds the older
`other_claims_this_month` and `prior_claims` into it). Which of them rule codes out, support an
add-on's base or are the claim a bundling code makes withdrawn is decided here, once:

- `paid` and `submitted` claims count: a submitted claim is on file and is paid unless it is
  denied, so billing beside it would be billing twice (an assumption: the reference speaks of
  codes "billed", not of claim states);
- a claim with no status counts (version 1 bundles have none; their claims were all "made");
- `denied` and `withdrawn` claims count for nothing: nothing was paid, so they neither exclude a
  code nor make a code "already billed".

Claims for months after the service month are not read: a month is decided with what is on file
for it and before it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

NOT_ON_FILE = frozenset({"denied", "withdrawn"})  # statuses that count for nothing

Claim = Mapping[str, Any]
_NONE: tuple[Claim, ...] = ()


def counts(claim: Claim) -> bool:
    """Whether a claim is on file (paid, submitted, or of unknown status)."""
    return claim.get("status") not in NOT_ON_FILE


def claims_on_file(facts: Mapping[str, Any]) -> tuple[Sequence[Claim], Sequence[Claim]]:
    """This month's claims that count, and earlier months' claims that count (each in bundle order)."""
    claims = facts.get("claims")
    if not claims:  # most months
        return _NONE, _NONE
    month = facts.get("month")
    this_month: list[Claim] = []
    earlier: list[Claim] = []
    for claim in claims:
        if claim.get("status") in NOT_ON_FILE:  # (`counts`, written out: once per claim of every bundle)
            continue
        when = claim.get("month")
        if when == month:
            this_month.append(claim)
        elif isinstance(when, str) and isinstance(month, str) and when < month:
            earlier.append(claim)
    return this_month, earlier


def codes_claimed_by(this_month: Sequence[Claim], practitioner: str) -> frozenset[str]:
    """The codes this practitioner has on file this month (they support this month's add-ons),
    from this month's claims that count (`claims_on_file`)."""
    return frozenset(str(c.get("code")) for c in this_month if c.get("practitioner") == practitioner)
