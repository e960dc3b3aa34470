"""Check stage `check_registry`: every declared source is in the folder's reference registry.

Runs only when the policy folder holds a `sources.registry` file (engine/registry.py); a user's
own policy set without one may declare any source. Two errors, with different fixes:
`check/source-not-in-registry` (the tag is not listed) and `check/source-title-mismatch` (the tag
is listed with another title).
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, did_you_mean
from ..language import syntax as s
from ..language.registry import normalise_title
from ..source import Span
from .context import CheckContext


def _cited_at(ctx: CheckContext) -> dict[str, list[tuple[str, Span]]]:
    """For each source tag, where it is cited (as `related` notes naming the declaration)."""
    places: dict[str, list[tuple[str, Span]]] = {}
    for decl in ctx.index.declarations():
        cites = list(decl.cites)
        if isinstance(decl, s.Parameter):
            cites.extend(v.cite for v in decl.values if v.cite is not None)
        for cite in cites:
            places.setdefault(cite.source, []).append((f"cited by {decl.kind} `{decl.id}`", cite.span))
    return places


def check_registry(ctx: CheckContext) -> list[Diagnostic]:
    registry = ctx.registry
    if registry is None:
        return []
    out: list[Diagnostic] = []
    cited_at: dict[str, list[tuple[str, Span]]] | None = None
    for source in ctx.index.sources.values():
        entry = registry.entries.get(source.tag)
        if entry is None:
            advice = (
                "cite a source the registry lists (the shipped registry lists cms-rules.md §11), "
                "or add this source to the registry once it has been reviewed"
            )
            suggestion = did_you_mean(source.tag, registry.entries)
            cited_at = _cited_at(ctx) if cited_at is None else cited_at
            out.append(
                Diagnostic(
                    "check/source-not-in-registry",
                    f"source `{source.tag}` is not in the reference registry `{registry.name}`",
                    span=source.span,
                    related=tuple(cited_at.get(source.tag, ())),
                    help=f"{suggestion} If not, {advice}" if suggestion else advice,
                )
            )
        elif normalise_title(source.title) != normalise_title(entry.title):
            out.append(
                Diagnostic(
                    "check/source-title-mismatch",
                    f"the title of source `{source.tag}` differs from its title in the reference registry",
                    span=source.span,
                    related=((f"the registry's title for `{source.tag}`", entry.span),),
                    help=f"""write `source {source.tag} "{entry.title.replace('"', "'")}"`""",
                )
            )
    return out
