"""The search for codings (codings.enumerate_codings) finds exactly what the plain search finds.

The search works on bit masks and skips the sets it can tell will not be kept; the plain search
below (its earlier form, on sets of codes) tries every set that has no conflict. Both
must give the same codings in the same order for any codes, conflicts (not always symmetric),
add-on bases, held claims and codes claimed this month.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from carepolicy.engine.evaluation.codings import _MAX_SEARCH, enumerate_codings
from hypothesis import given, settings
from hypothesis import strategies as st

Coding = tuple[str, ...]


def plain_search(
    valid: Mapping[str, Any],
    conflicts: Mapping[str, Mapping[str, str]],
    claimed_by_me: frozenset[str],
    rank: Mapping[str, int],
    held: Sequence[str] = (),
) -> list[Coding]:
    """`enumerate_codings` as it was written before the bit masks: every set, then the test of each."""
    if not valid and not held:
        return [()]
    order = [*held, *sorted(valid, key=lambda c: (valid[c].code.decl.is_addon, rank.get(c, len(rank)), c))]
    if not any(conflicts[code] for code in order):
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
    order = order[:_MAX_SEARCH]

    def supported(code: str, chosen: set[str]) -> bool:
        bases = valid[code].code.bases if code in valid else ()
        return not bases or any(b in chosen or b in claimed_by_me for b in bases)

    def can_add(code: str, chosen: set[str]) -> bool:
        return not any(other in chosen for other in conflicts[code])

    found: list[Coding] = []

    def search(i: int, chosen: set[str]) -> None:
        if i == len(order):
            if all(supported(c, chosen) for c in chosen) and not any(
                c not in chosen and can_add(c, chosen) and supported(c, chosen | {c}) for c in order
            ):
                found.append(tuple(c for c in order if c in chosen))
            return
        if can_add(order[i], chosen):
            search(i + 1, chosen | {order[i]})
        search(i + 1, chosen)

    search(0, set())
    return found or [()]


CODES = [f"9{n:04d}" for n in range(16)]


@st.composite
def searches(draw: st.DrawFn) -> tuple[Any, ...]:
    codes = draw(st.lists(st.sampled_from(CODES), max_size=_MAX_SEARCH + 2, unique=True))
    held = draw(st.lists(st.sampled_from(["held:a", "held:b"]), max_size=2, unique=True))
    everything = codes + held
    bases = {c: draw(st.lists(st.sampled_from(CODES + held), max_size=3)) for c in codes}
    valid = {
        c: SimpleNamespace(code=SimpleNamespace(bases=tuple(bases[c]), decl=SimpleNamespace(is_addon=bool(bases[c]))))
        for c in codes
    }
    pairs = draw(st.lists(st.tuples(st.sampled_from(everything), st.sampled_from(everything)))) if everything else []
    conflicts: dict[str, dict[str, str]] = {c: {} for c in everything}
    for a, b in pairs:
        if a != b:
            conflicts[a][b] = f"{a} not with {b}"
            if draw(st.booleans()):
                conflicts[b][a] = f"{b} not with {a}"
    claimed = frozenset(draw(st.lists(st.sampled_from(CODES), max_size=3)))
    rank = {c: i for i, c in enumerate(draw(st.permutations(CODES)))}
    return valid, conflicts, claimed, rank, tuple(held)


@settings(max_examples=400, deadline=None)
@given(searches())
def test_the_search_keeps_what_trying_every_set_keeps(case: tuple[Any, ...]) -> None:
    assert enumerate_codings(*case) == plain_search(*case)


def test_an_add_on_whose_base_conflicts_is_kept_only_with_its_base() -> None:
    # 1 and 2 may not be billed together; 3 is an add-on to 2: two codings, {1} and {2, 3}
    def outcome(*bases: str) -> Any:
        return SimpleNamespace(code=SimpleNamespace(bases=bases, decl=SimpleNamespace(is_addon=bool(bases))))

    valid = {"1": outcome(), "2": outcome(), "3": outcome("2")}
    conflicts: dict[str, dict[str, str]] = {"1": {"2": "one base"}, "2": {"1": "one base"}, "3": {}}
    rank = {"1": 0, "2": 1, "3": 2}
    assert enumerate_codings(valid, conflicts, frozenset(), rank) == [("1",), ("2", "3")]
    assert enumerate_codings(valid, conflicts, frozenset({"2"}), rank) == [("1", "3"), ("2", "3")]
