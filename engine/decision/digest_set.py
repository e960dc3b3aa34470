"""A set of 16-byte digests in one bytearray: what `report` keeps of each record it has counted
(report_repeats.py), at a third of the memory of a Python set of `bytes`.

A set of `bytes` costs about 91 bytes a digest (measured over 200,000: a 49-byte object each, and
a 16-byte slot for it in a table kept at most 60% full). Here each digest is its 16 bytes in a
table of 16-byte slots (open addressing, linear probing), at most two thirds full: 24-48 bytes a
digest, about 72 for a moment while the table doubles. The answers are exactly a set's: the
digests are compared whole, not by a shorter hash of them.
"""

from __future__ import annotations

WIDTH = 16  # bytes a digest (blake2b, digest_size=16)
_EMPTY = bytes(WIDTH)  # an empty slot; the all-zero digest, which it would hide, is held apart
_FIRST_SLOTS = 1024


class DigestSet:
    """16-byte digests, each held once; `add` says whether it was new."""

    __slots__ = ("_count", "_mask", "_slots", "_zero")

    def __init__(self) -> None:
        self._slots = bytearray(WIDTH * _FIRST_SLOTS)
        self._mask = _FIRST_SLOTS - 1  # (the slot count is a power of two)
        self._count = 0  # the digests in the table
        self._zero = False  # whether the all-zero digest was added

    def __len__(self) -> int:
        return self._count + self._zero

    def __contains__(self, digest: bytes) -> bool:
        if digest == _EMPTY:
            return self._zero
        at = self._slot(digest)
        return self._slots[at : at + WIDTH] == digest

    def add(self, digest: bytes) -> bool:
        """Hold `digest` (16 bytes); True when it was not held before."""
        if len(digest) != WIDTH:
            raise ValueError(f"a digest is {WIDTH} bytes, not {len(digest)}")
        if digest == _EMPTY:
            new, self._zero = not self._zero, True
            return new
        at = self._slot(digest)
        if self._slots[at : at + WIDTH] == digest:
            return False
        self._slots[at : at + WIDTH] = digest
        self._count += 1
        if 3 * self._count > 2 * (self._mask + 1):
            self._grow()
        return True

    def _slot(self, digest: bytes) -> int:
        """The offset of `digest`'s slot, or of the empty slot where it would go."""
        slots, mask = self._slots, self._mask
        # a blake2b digest's bytes are uniform already: its first eight are the place to start
        index = int.from_bytes(digest[:8], "little") & mask
        while True:
            at = index * WIDTH
            held = slots[at : at + WIDTH]
            if held in (digest, _EMPTY):
                return at
            index = (index + 1) & mask

    def _grow(self) -> None:
        """Twice the slots, each digest put in its place in them (the loop of `_slot`, inline: this
        is most of the cost of `add`)."""
        old = self._slots
        slots = self._slots = bytearray(2 * len(old))
        mask = self._mask = 2 * self._mask + 1
        for start in range(0, len(old), WIDTH):
            digest = old[start : start + WIDTH]
            if digest == _EMPTY:
                continue
            index = int.from_bytes(digest[:8], "little") & mask
            while slots[index * WIDTH : index * WIDTH + WIDTH] != _EMPTY:
                index = (index + 1) & mask
            slots[index * WIDTH : index * WIDTH + WIDTH] = digest
