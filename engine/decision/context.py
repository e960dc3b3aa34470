"""What every decision of one policy set shares, so that its readers need nothing else.

A `DecisionContext` is made once per compiled policy set and referenced by each decision (no
per-decision cost): the cited sources with their titles and addresses, the switch defaults (so
the text form can show only the switches that differ), and which program each code belongs to
and which declarations are program gates (so the text form can tell the denials that matter from
the programs the bundle is not in).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import orjson

from .citations import SourceInfo, cite_tag, is_assumption
from .json_pieces import mask_tags

__all__ = ["EMPTY_CONTEXT", "DecisionContext"]


@dataclass(frozen=True, slots=True)
class DecisionContext:
    sources: Mapping[str, SourceInfo] = field(default_factory=dict)
    switch_defaults: Mapping[str, str] = field(default_factory=dict)
    code_programs: Mapping[str, str] = field(default_factory=dict)  # code -> program
    gates: frozenset[str] = frozenset()  # ids of the preconditions (program gates)
    _tags: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)
    # tag -> its member of `sources` in canonical JSON; bounded by the tags the policies cite
    # (and by _SOURCE_PIECES_LIMIT, past which a piece is written anew each time)
    _source_pieces: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)
    # a tag mask -> the whole `sources` member; records repeat their sets of tags (at 512 kept,
    # ~60% of 20,000 benchmark records found theirs). Bounded: cleared when full, ~3 kB an entry.
    _sources_by_mask: dict[int, bytes] = field(default_factory=dict, compare=False, repr=False)

    def tags(self, cites: tuple[str, ...]) -> tuple[str, ...]:
        """The tags of a tuple of cites (remembered: decisions share a few hundred cite tuples)."""
        found = self._tags.get(cites)
        if found is None:
            found = self._tags[cites] = tuple(dict.fromkeys(cite_tag(c) for c in cites if not is_assumption(c)))
        return found

    def sources_of(self, cite_tuples: Iterable[tuple[str, ...]]) -> dict[str, SourceInfo]:
        """The sources behind some cites, by tag, in the order first cited; unknown tags get no title."""
        found: dict[str, SourceInfo] = {}
        for cites in cite_tuples:
            if cites:
                for tag in self.tags(cites):
                    if tag not in found:
                        found[tag] = self.sources.get(tag) or SourceInfo(tag, "", None)
        return found

    def sources_json(self, mask: int) -> bytes:
        """The decision's `sources` for the tags of a mask (json_pieces.tag_mask) in canonical JSON:
        the bytes orjson writes for `model._sources`, each tag's member written once. Python's
        `sorted` orders str by code point, as orjson's key sort does (UTF-8 byte order)."""
        found = self._sources_by_mask.get(mask)
        if found is None:
            pieces = self._source_pieces
            parts = [pieces.get(tag) or self._source_piece(tag) for tag in sorted(mask_tags(mask))]
            found = b"{" + b",".join(parts) + b"}"
            if len(self._sources_by_mask) >= _SOURCES_BY_MASK_LIMIT:
                self._sources_by_mask.clear()
            self._sources_by_mask[mask] = found
        return found

    def _source_piece(self, tag: str) -> bytes:
        info = self.sources.get(tag) or SourceInfo(tag, "", None)
        piece = orjson.dumps({tag: info.to_json_obj()}, option=orjson.OPT_SORT_KEYS)[1:-1]
        if len(self._source_pieces) < _SOURCE_PIECES_LIMIT:
            self._source_pieces[tag] = piece
        return piece


_SOURCE_PIECES_LIMIT = 4_096
_SOURCES_BY_MASK_LIMIT = 512
EMPTY_CONTEXT = DecisionContext()
