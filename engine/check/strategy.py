"""Check stage for `choose coding` declarations: a coding strategy states one order.

A strategy ranks valid codings either `by preference` (then, optionally, `by highest total
allowed`) or `by highest total allowed` (pays most; ties `then by preference`). Preference lists
name codes, ranges and `program NAME`; a `within program NAME by preference ...` line orders one
program's codes. A `when` selects the strategy by switches only, so one strategy holds for every
bundle decided with the same switch settings (a batch decides with one strategy).
"""

from __future__ import annotations

from collections.abc import Callable

from ..diagnostics import Diagnostic, did_you_mean
from ..language import syntax as s
from ..language.expressions import walk
from ..language.valuetypes import ANY, BOOL
from ..source import Span
from .resolve import Resolver

Report = Callable[..., None]  # (message, span, hint=None, code="check/strategy")


def check_strategy(resolver: Resolver, decl: s.Declaration) -> None:
    assert isinstance(decl, s.Choose)
    found = resolver.result.diagnostics

    def error(message: str, span: Span, hint: str | None = None, code: str = "check/strategy") -> None:
        found.append(Diagnostic(code, message, span=span, help=hint))

    owner = f"choose coding `{decl.id}`"
    if decl.when is not None:
        vtype = resolver.infer(decl.when)
        if vtype not in (BOOL, ANY):
            error(f"the `when` of {owner} needs true or false, but this is {vtype}", decl.when.span, code="check/type")
        for node in walk(decl.when):
            ref = resolver.result.refs.get(id(node))
            if isinstance(node, s.Name) and ref is not None and ref.kind not in ("switch", "enum"):
                error(
                    f"the `when` of {owner} reads `{node.dotted}`; a strategy is selected by switches only",
                    node.span,
                    "test a switch, e.g. `when coding_strategy = pays_most`: one strategy then holds for "
                    "every bundle decided with the same switch settings",
                )
    if decl.highest_first and decl.preference:
        error(
            f"{owner} has two first criteria, `by preference` and `by highest total allowed`",
            decl.span,
            "keep one first criterion; the other may follow as `then by ...`",
        )
    if decl.highest_first and decl.then_highest_total:
        error(f"{owner} says `by highest total allowed` twice", decl.span, "remove `then by highest total allowed`")
    if decl.then_preference and not decl.highest_first:
        error(
            f"{owner} has `then by preference` without `by highest total allowed` first",
            decl.span,
            "write `by preference ...` when the preference comes first",
        )
    if decl.preference_of is not None:
        _check_preference_of(resolver, decl, owner, error)
    _check_within(resolver, decl, owner, error)


def _check_preference_of(resolver: Resolver, decl: s.Choose, owner: str, report: Report) -> None:
    """`then by preference of ID` takes another strategy's order whole, so it stands alone."""
    assert decl.preference_of is not None
    named, span = decl.preference_of.strategy, decl.preference_of.span
    if not decl.highest_first:
        report(
            f"{owner} has `then by preference of {named}` without `by highest total allowed` first",
            span,
            "write `by preference ...` when the preference comes first",
        )
    if decl.then_preference or decl.within:
        report(
            f"{owner} gives its own order beside `then by preference of {named}`",
            span,
            f"keep one: the order of `{named}` (its `within` lines come with it), or a list of its own",
        )
    strategies = {d.id: d for d in resolver.index.of_kind(s.Choose) if isinstance(d, s.Choose)}
    other = strategies.get(named)
    if other is None:
        report(
            f"{owner}: no `choose coding` named `{named}`",
            span,
            did_you_mean(named, others := sorted(n for n in strategies if n != decl.id))
            or ("the other strategies: " + ", ".join(f"`{n}`" for n in others) if others else None)
            or "declare it with `choose coding NAME \"title\"` and `by preference ...`",
            "check/unknown-name",
        )
    elif other is decl or other.highest_first:
        report(
            f"{owner} takes the order of `{named}`, which "
            + ("is this strategy" if other is decl else "does not rank `by preference` first"),
            span,
            "name a `choose coding` whose first criterion is `by preference ...`",
        )


def _check_within(resolver: Resolver, decl: s.Choose, owner: str, report: Report) -> None:
    programs = resolver.index.programs()
    seen_programs: set[str] = set()
    seen_codes: dict[str, str] = {}
    for ref in (*decl.preference, *decl.then_preference):
        if ref.kind == "one":
            seen_codes.setdefault(ref.low, "the preference list")
    for within in decl.within:
        if within.program not in programs:
            report(
                f"{owner}: unknown program `{within.program}`",
                within.span,
                did_you_mean(within.program, programs),
                "check/unknown-name",
            )
            continue
        if within.program in seen_programs:
            report(f"{owner} orders program `{within.program}` twice", within.span, "keep one `within` line")
        seen_programs.add(within.program)
        for code in resolver.index.expand(within.codes):
            versions = resolver.index.codes.get(code, [])
            if versions and all(v.program != within.program for v in versions):
                report(
                    f"{owner}: `{code}` is not a code of program `{within.program}`",
                    within.span,
                    _elsewhere(versions[0], within.program, {w.program for w in decl.within}),
                )
            where = seen_codes.setdefault(code, f"`within program {within.program}`")
            if where != f"`within program {within.program}`":
                report(f"{owner} ranks `{code}` twice (also in {where})", within.span, "name each code once")


def _elsewhere(code: s.Code, ranked_in: str, ordered: set[str]) -> str | None:
    """Where a code ranked in another program's line belongs: that program's `within` line, or,
    when there is none, the code's own `program` clause (a misspelt program makes a new one)."""
    if code.program is None:
        return None
    if code.program in ordered:
        return f"move it to the `within program {code.program}` line"
    says = f"code `{code.id}` says `program {code.program}` ({code.span.source}:{code.span.line})"
    if did_you_mean(code.program, [ranked_in]):
        return f"{says}: did you mean `program {ranked_in}` there?"
    return f"{says}: rank it on a `within program {code.program}` line"
