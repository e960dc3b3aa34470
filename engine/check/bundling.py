"""Check stage for `bundling` declarations: what a bundling may say.

A bundling binds the billing practitioner's own claims (`by same practitioner`): CMS pays the
bundled service as part of the bundling one when the same practitioner bills both. Another
practitioner's claim that rules a code out is an `exclusion ... by another practitioner`, and a
code cannot be paid as part of itself.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..language import syntax as s
from ..source import Span
from .resolve import Resolver


def check_bundling(resolver: Resolver, decl: s.Declaration) -> None:
    assert isinstance(decl, s.Bundling)
    found = resolver.result.diagnostics

    def error(message: str, span: Span, hint: str) -> None:
        found.append(Diagnostic("check/bundling", message, span=span, help=hint))

    if not decl.clauses:
        error(
            f"bundling `{decl.id}` says nothing is bundled",
            decl.span,
            "add a line such as `G0556..G0558 bundles 99495, 99496 by same practitioner`",
        )
    for clause in decl.clauses:
        if clause.who != "same":
            error(
                f"bundling `{decl.id}` binds `{clause.who}` practitioner's claims; "
                "a bundling binds the same practitioner's",
                clause.span,
                f"write `by same practitioner`; for a claim of {clause.who} practitioner that rules codes out, "
                f"write `exclusion` with `excludes ... by {clause.who} practitioner`",
            )
        exact, ranges = resolver.index.matcher(clause.bundled)
        for code in resolver.index.expand(clause.subject):
            if code in exact or any(low <= code <= high for low, high in ranges):
                error(
                    f"bundling `{decl.id}`: `{code}` bundles itself",
                    clause.span,
                    "a code is not paid as part of itself; for 'once per month or per patient' write "
                    "`exclusion` with `excludes` (`in any month` for earlier months)",
                )
