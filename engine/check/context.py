"""What every cross-declaration check stage reads: the `CheckContext` (index, resolutions,
registry) and `names_used`, the declarations one declaration reads directly.

Kept below the stage modules (references, intervals, overlaps, registry, years) so that each of
them can import it without importing another stage.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..language import syntax as s
from ..language.registry import Registry
from .index import PolicyIndex
from .resolution import Resolution


@dataclass
class CheckContext:
    index: PolicyIndex
    resolution: Resolution
    registry: Registry | None = None  # the folder's reference registry; None: any source may be declared


def names_used(ctx: CheckContext, decl: s.Declaration) -> set[str]:
    """Ids of defines, parameters, switches and rules that `decl` reads directly."""
    used: set[str] = set()
    for top in s.expressions_of(decl):
        for node in s.walk(top):
            ref = ctx.resolution.refs.get(id(node)) if isinstance(node, s.Name) else None
            if ref is not None and ref.kind in ("define", "parameter", "switch", "rule"):
                used.add(ref.target)
    if isinstance(decl, s.Pricing) and decl.conversion_factor:
        used.add(decl.conversion_factor)
    return used
