"""What the resolver found, handed from the checker to the compiler: `Ref` (what a name means)
and `Resolution` (every name's `Ref` and every expression's type, keyed by node identity, with
the ids used and the diagnostics).

The compiler reads only this, never the resolver, and therefore never guesses what a name means.
It is kept apart from the resolver (names.py, resolve.py) so that the stages and the compiler
depend on the result, not on how it was found.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..diagnostics import Diagnostic
from ..language import syntax as s
from ..language.valuetypes import ANY, Type


@dataclass(frozen=True, slots=True)
class Ref:
    """What a name resolved to. `path` is the fact path or the field path inside a list entry."""

    kind: str  # define | parameter | switch | builtin | fact | item | enum | rule
    target: str
    path: tuple[str, ...] = ()


@dataclass
class Resolution:
    refs: dict[int, Ref] = field(default_factory=dict)
    types: dict[int, Type] = field(default_factory=dict)
    uses: set[str] = field(default_factory=set)  # ids of defines/parameters/switches/rules used
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # nodes made by the checker itself and typed (a selection's condition as an `any` aggregate):
    # kept alive as long as the entries keyed by their ids, so that no later node can reuse an id
    # and be given their type
    made: list[s.Expr] = field(default_factory=list)

    def ref(self, node: s.Name) -> Ref:
        return self.refs[id(node)]

    def type_of(self, node: s.Expr) -> Type:
        return self.types.get(id(node), ANY)
