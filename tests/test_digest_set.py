"""DigestSet: what `report` keeps of each record counted, to tell a repeat (report_repeats.py).

Before: two Python sets of 16-byte `bytes`, about 91 bytes a digest; a DigestSet holds the same
digests in one bytearray (24-48 bytes each) and answers as a set does: these tests hold it to a
set over many digests, through its growth, with colliding start slots and the all-zero digest.
"""

from __future__ import annotations

from hashlib import blake2b

import pytest
from carepolicy.engine.decision.digest_set import WIDTH, DigestSet
from hypothesis import given, settings
from hypothesis import strategies as st


def _digest(number: int) -> bytes:
    return blake2b(str(number).encode(), digest_size=WIDTH).digest()


def test_it_answers_as_a_set_through_its_growth() -> None:
    held, kept = DigestSet(), set()
    for number in [*range(5000), *range(0, 5000, 7), *range(4990, 6000)]:  # (some again)
        digest = _digest(number)
        assert held.add(digest) == (digest not in kept)
        kept.add(digest)
        assert len(held) == len(kept)
    assert all(_digest(number) in held for number in range(6000))
    assert not any(_digest(number) in held for number in range(6000, 7000))


def test_digests_that_start_alike_are_held_apart() -> None:
    # the same first eight bytes: the same slot to start at, so they probe past each other
    alike = [bytes(8) + number.to_bytes(8, "little") for number in range(1, 800)]  # (past a growth)
    held = DigestSet()
    assert all(held.add(digest) for digest in alike)
    assert not any(held.add(digest) for digest in alike)
    assert len(held) == len(alike)


def test_the_all_zero_digest_is_a_digest_like_any_other() -> None:
    held = DigestSet()  # (its slots are zeros: empty; this digest is held apart)
    zero = bytes(WIDTH)
    assert zero not in held
    assert held.add(zero)
    assert zero in held
    assert not held.add(zero)
    assert len(held) == 1
    assert _digest(1) not in held


def test_a_digest_of_another_length_is_refused() -> None:
    with pytest.raises(ValueError, match="a digest is 16 bytes, not 8"):
        DigestSet().add(bytes(8))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(min_size=WIDTH, max_size=WIDTH), max_size=3000))
def test_any_digests_read_as_a_set_reads_them(digests: list[bytes]) -> None:
    held, kept = DigestSet(), set()
    for digest in digests:
        assert held.add(digest) == (digest not in kept)
        kept.add(digest)
    assert len(held) == len(kept)
