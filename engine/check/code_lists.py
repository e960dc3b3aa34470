"""Check stage `check_types`, across declarations: every code named in a code list, and every
program, is declared (a code list's declarations are checked one by one in clauses.py)."""

from __future__ import annotations

from ..diagnostics import Diagnostic, did_you_mean
from ..language import syntax as s
from ..language.clauses import CodeRef
from .index import PolicyIndex


def check_code_lists(index: PolicyIndex) -> list[Diagnostic]:
    """Every code named in a code list (other than ranges, which may match undeclared claim codes)
    and every program is known."""
    diagnostics: list[Diagnostic] = []
    programs = index.programs()

    def visit(refs: tuple[CodeRef, ...], allow_unknown: bool) -> None:
        for ref in refs:
            if ref.kind == "program" and ref.low not in programs:
                diagnostics.append(
                    Diagnostic(
                        "check/unknown-name",
                        f"unknown program `{ref.low}`",
                        span=ref.span,
                        help=did_you_mean(ref.low, programs),
                    )
                )
            elif ref.kind == "one" and ref.low not in index.codes and not allow_unknown:
                diagnostics.append(
                    Diagnostic(
                        "check/unknown-code",
                        f"code `{ref.low}` is not declared",
                        span=ref.span,
                        help=did_you_mean(ref.low, index.codes),
                    )
                )

    for decl in index.declarations():
        if isinstance(decl, s.Code):
            visit(decl.bases, allow_unknown=False)
        elif isinstance(decl, s.Exclusive):
            for group in decl.groups:
                visit(group.codes, allow_unknown=False)
        elif isinstance(decl, s.Exclusion):
            for clause in decl.clauses:
                visit(clause.subject, allow_unknown=False)
                visit(clause.excluded, allow_unknown=True)  # claims may be of codes we never bill
        elif isinstance(decl, s.Bundling):
            for bundles in decl.clauses:
                visit(bundles.subject, allow_unknown=False)
                visit(bundles.bundled, allow_unknown=True)  # bundled services are claims (TCM), not billed here
        elif isinstance(decl, s.Note):
            visit(decl.codes, allow_unknown=False)
        elif isinstance(decl, s.Choose):
            visit(decl.preference, allow_unknown=False)
            visit(decl.then_preference, allow_unknown=False)
            for within in decl.within:
                visit(within.codes, allow_unknown=False)
    return diagnostics
