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

from .citations import SourceInfo, cite_tag, is_assumption

__all__ = ["EMPTY_CONTEXT", "DecisionContext"]


@dataclass(frozen=True, slots=True)
class DecisionContext:
    sources: Mapping[str, SourceInfo] = field(default_factory=dict)
    switch_defaults: Mapping[str, str] = field(default_factory=dict)
    code_programs: Mapping[str, str] = field(default_factory=dict)  # code -> program
    gates: frozenset[str] = frozenset()  # ids of the preconditions (program gates)
    _tags: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)

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


EMPTY_CONTEXT = DecisionContext()
