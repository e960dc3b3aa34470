"""The codings of a decision's valid codes: the sets of them that may be billed together.

A coding is a maximal set of valid codes with no two in one `exclusive` group or in a same/any
`exclusion`, where every add-on has one of its base codes (in the set, or already claimed this
month by the same practitioner). coding.py ranks them by the month's `choose coding` strategy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ..compile.outcomes import CodeOutcome

_MAX_SEARCH = 14  # valid codes; beyond this the search keeps the preferred ones (never seen in practice)

Coding = tuple[str, ...]


def enumerate_codings(
    valid: Mapping[str, CodeOutcome],
    conflicts: Mapping[str, Mapping[str, str]],
    claimed_by_me: frozenset[str],
    rank: Mapping[str, int],
    held: Sequence[str] = (),
) -> list[Coding]:
    """Every coding (see the module docstring); `rank` is each code's place in the preference.

    `held` names claims on file that valid codes bundle (bundling.py): they take part like codes
    (first, with their conflicts in `conflicts`), so a coding either keeps a held claim or bills
    a code that bundles it; they have no base and are never billed."""
    if not valid and not held:  # most months of most bundles: nothing valid, nothing to choose
        return [()]
    # Base codes first (preferred first), add-ons after: the order lines are billed and the
    # deductible is taken in.
    order = [
        *held,
        *sorted(valid, key=lambda c: (valid[c].code.decl.is_addon, rank.get(c, len(rank)), c)),
    ]
    if not any(conflicts[code] for code in order):  # the usual month: one coding, nothing to choose
        everything = set(valid)
        return [
            tuple(
                c
                for c in order
                if c not in valid
                or not valid[c].code.bases
                or any(b in everything or b in claimed_by_me for b in valid[c].code.bases)
            )
        ]
    return _maximal_codings(order[:_MAX_SEARCH], valid, conflicts, claimed_by_me) or [()]


def claim_order(coding: Sequence[str], valid: Mapping[str, CodeOutcome]) -> Coding:
    """The codes of a coding in the order of the claim's lines: base codes in the coding's order,
    each followed at once by its add-ons (an add-on whose base was claimed earlier this month
    last). The deductible is taken line by line in this order, so it is the order a claim lists
    them in (99490, 99439, 99457, 99458), not base codes first and add-ons after (99490, 99457,
    99439, 99458), which rounds the coinsurance of a month whose deductible ends inside a line a
    cent apart from the claim as listed."""
    codes = [c for c in coding if c in valid]
    addons = [c for c in codes if valid[c].code.decl.is_addon]
    if not addons:
        return tuple(codes)
    ordered: list[str] = []
    for code in codes:
        if code in addons:
            continue
        ordered.append(code)
        ordered.extend(a for a in addons if a not in ordered and code in valid[a].code.bases)
    ordered.extend(a for a in addons if a not in ordered)
    return tuple(ordered)


def _maximal_codings(
    order: Sequence[str],
    valid: Mapping[str, CodeOutcome],
    conflicts: Mapping[str, Mapping[str, str]],
    claimed_by_me: frozenset[str],
) -> list[Coding]:
    """The codings among `order`'s codes, as a depth-first search finds them, each code taken
    before it is left out: the sets where no code conflicts with one in the set (its `conflicts`),
    every add-on has a base in the set or claimed, and no code of `order` can be added.

    A set of codes is an int here, bit k for `order[k]`: a search visits hundreds of sets, and
    testing bits costs a fraction of building and probing sets of strings."""
    n = len(order)
    bits = {code: 1 << k for k, code in enumerate(order)}
    clash = [_mask(conflicts[code], bits) for code in order]  # the codes each may not be billed with
    # each code's bases in `order`, or -1 when it needs none: no bases, or one claimed by me
    needs = [
        -1 if _self_supported(code, valid, claimed_by_me) else _mask(valid[code].code.bases, bits) for code in order
    ]
    found: list[Coding] = []

    def search(k: int, chosen: int) -> None:
        if k == n:
            for i in range(n):  # kept when every chosen code is supported and no other can be added
                if chosen >> i & 1:
                    if needs[i] >= 0 and not needs[i] & chosen:
                        return
                elif not clash[i] & chosen and (needs[i] < 0 or needs[i] & (chosen | 1 << i)):
                    return
            found.append(tuple(code for i, code in enumerate(order) if chosen >> i & 1))
            return
        if not clash[k] & chosen:
            search(k + 1, chosen | 1 << k)
            # Left out, a code must be ruled out by a code chosen after it, or lack a base: when
            # neither can happen, no set below is kept (the search's one pruning).
            if not clash[k] >> (k + 1) and (needs[k] < 0 or needs[k] & chosen):
                return
        search(k + 1, chosen)

    search(0, 0)
    return found


def _mask(codes: Iterable[str], bits: Mapping[str, int]) -> int:
    """The bits of those of `codes` that have one."""
    mask = 0
    for code in codes:
        mask |= bits.get(code, 0)
    return mask


def _self_supported(code: str, valid: Mapping[str, CodeOutcome], claimed_by_me: frozenset[str]) -> bool:
    """Whether a code (or held claim) is supported whatever else is chosen: it is no add-on, or one
    of its bases is claimed this month by the same practitioner."""
    bases = valid[code].code.bases if code in valid else ()
    return not bases or any(b in claimed_by_me for b in bases)
