"""Check stage `check_types` per declaration: each clause's expressions have the type it needs.

`requires` conditions are true/false; `units` counts minutes (or counts); a unit cap is a count;
a deductible is money, coinsurance and payer shares are percents; a parameter's dated values all
have one type; a switch's default is one of its options.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, did_you_mean
from ..language import syntax as s
from ..language.clauses import Requirement
from ..language.valuetypes import ANY, BOOL, COUNT, MINUTES, MONEY, NUMBER, PERCENT, Type
from ..source import Span
from .bundling import check_bundling
from .resolution import Ref
from .resolve import Resolver
from .strategy import check_strategy
from .unit_hints import unit_missing, value_unit_hint


def check_declaration(resolver: Resolver, decl: s.Declaration) -> None:
    checker = _CHECKS.get(type(decl))
    if checker is not None:
        checker(resolver, decl)


def _error(resolver: Resolver, code: str, message: str, span: Span, help: str | None = None) -> None:
    resolver.result.diagnostics.append(Diagnostic(code, message, span=span, help=help))


def _want(resolver: Resolver, expr: s.Expr, wanted: tuple[Type, ...], what: str, allow_rule: bool = False) -> None:
    vtype = resolver.infer(expr, (), allow_rule)
    if resolver.result.refs.get(id(expr)) == Ref("enum", getattr(expr, "dotted", "")):
        return  # a bare unknown word: reported once, as an unknown name, by report_unsettled
    if vtype not in wanted and vtype is not ANY:
        names = " or ".join(str(w) for w in wanted)
        help_text, related = unit_missing(resolver, expr, wanted, vtype)
        resolver.result.diagnostics.append(
            Diagnostic(
                "check/type",
                f"{what} needs {names}, but this is {vtype}",
                span=expr.span,
                related=related,
                help=help_text,
            )
        )


def _requirements(resolver: Resolver, requirements: tuple[Requirement, ...]) -> None:
    for requirement in requirements:
        split: set[int] = set()  # conditions that are the two halves of a number like `1,000`
        for first, second in zip(requirement.conditions, requirement.conditions[1:], strict=False):
            joined = _thousands_split(first, second)
            if joined is not None:
                split |= {id(first), id(second)}
                message = f"`{joined[0]}` is read as two requirements, split at its `,`"
                help_text = f"write numbers without a thousands separator: `{joined[1]}`"
                _error(resolver, "check/type", message, second.span, help_text)
        for condition in requirement.conditions:
            if id(condition) not in split:
                _want(resolver, condition, (BOOL,), "`requires`", allow_rule=True)


def _thousands_split(first: s.Expr, second: s.Expr) -> tuple[str, str] | None:
    """`requires x >= 1,000 min`: the comma that separates requirements split a number; the
    number as written and as it should be, or None."""
    if not (isinstance(first, s.Compare) and isinstance(first.right, s.Literal) and isinstance(second, s.Literal)):
        return None
    head, tail = first.right, second
    adjacent = tail.span.line == head.span.end_line and tail.span.column == head.span.end_column + 1
    if not adjacent or not head.text.lstrip("$").isdigit() or not tail.text[:3].isdigit() or tail.text[3:4].isdigit():
        return None
    return f"{head.text},{tail.text}", f"{head.text}{tail.text}"


def _define(resolver: Resolver, decl: s.Declaration) -> None:
    assert isinstance(decl, s.Define)
    resolver.define_type(decl.id)


def _selection(resolver: Resolver, decl: s.Declaration) -> None:
    """A selection's condition is typed in the scope of its list, as inside `count LIST where ...`."""
    assert isinstance(decl, s.Selection)
    based_on = resolver.index.by_id.get(decl.list.parts[0], [])
    if based_on and isinstance(based_on[0], s.Selection):
        return  # part of a cycle (reported by expand_selections); nothing to type
    if len(decl.list.parts) != 1:
        _error(resolver, "check/type", f"a selection takes a list, not `{decl.list.dotted}`", decl.list.span)
        return
    condition = s.Aggregate("any", decl.list, decl.where, decl.span)
    resolver.result.made.append(condition)  # its types stay keyed by its id: it must outlive them
    resolver.infer(condition)


def _rule(resolver: Resolver, decl: s.Declaration) -> None:
    assert isinstance(decl, s.Rule)
    _requirements(resolver, decl.requirements)


def _precondition(resolver: Resolver, decl: s.Declaration) -> None:
    assert isinstance(decl, s.Precondition)
    _requirements(resolver, decl.requirements)
    programs = resolver.index.programs()
    if decl.program is None:
        _error(
            resolver,
            "check/precondition",
            f"precondition `{decl.id}` names no `program`",
            decl.span,
            "add `program NAME`: the program whose codes it gates",
        )
    elif decl.program not in programs:
        _error(
            resolver,
            "check/unknown-name",
            f"unknown program `{decl.program}`",
            decl.span,
            did_you_mean(decl.program, programs),
        )


def _code(resolver: Resolver, decl: s.Declaration) -> None:
    assert isinstance(decl, s.Code)
    _requirements(resolver, decl.requirements)
    if decl.units is not None:
        units = decl.units
        kinds = [resolver.infer(e) for e in (units.increment, units.measure, units.beyond)]
        known = {k for k in kinds if k is not ANY and str(k) != "enumeration value"}
        if len(known) > 1 or not known <= {MINUTES, COUNT, NUMBER}:
            found = ", ".join(str(k) for k in kinds)
            _error(
                resolver,
                "check/type",
                f"`units each full A of B beyond C` needs A, B and C in one unit; found {found}",
                units.span,
                "e.g. `units each full 20 min of staff_minutes beyond 20 min`",
            )
    if decl.unit_cap is not None:
        _want(resolver, decl.unit_cap, (COUNT, NUMBER), "`at most ... units`")
    if decl.unit_count is not None:
        _want(resolver, decl.unit_count, (COUNT, NUMBER), "`units =`")
        if decl.units is not None:
            _error(
                resolver,
                "check/addon-units",
                f"`{decl.id}` counts its units twice: `units each full ...` and `units = ...`",
                decl.unit_count.span,
                "keep one way of counting units",
            )
    if decl.unit_cap is not None and decl.units is None and decl.unit_count is None:
        _error(
            resolver,
            "check/addon-units",
            f"`{decl.id}` caps units it never counts",
            decl.unit_cap.span,
            "a base code is billed once; add `units = N` to bill it several times",
        )
    if decl.is_addon and decl.units is None and decl.unit_count is None:
        _error(
            resolver,
            "check/addon-units",
            f"add-on `{decl.id}` has no `units` clause",
            decl.span,
            "say how units are counted, e.g. `units each full 20 min of staff_minutes beyond 20 min`",
        )


def _exception(resolver: Resolver, decl: s.Declaration) -> None:
    assert isinstance(decl, s.Exception_)
    if decl.when is not None:
        _want(resolver, decl.when, (BOOL,), "`when`")
    target = resolver.index.by_id.get(decl.target, [])
    overridable = s.Rule | s.Exclusion | s.Bundling
    if not any(isinstance(t, overridable) for t in target):
        candidates = [k for k, v in resolver.index.by_id.items() if v and isinstance(v[0], overridable)]
        _error(
            resolver,
            "check/unknown-name",
            f"exception `{decl.id}` names `{decl.target}`, which is not a rule, exclusion or bundling",
            decl.target_span,
            did_you_mean(decl.target, candidates),
        )


def _note(resolver: Resolver, decl: s.Declaration) -> None:
    assert isinstance(decl, s.Note)
    if decl.when is not None:
        _want(resolver, decl.when, (BOOL,), "`when`")
    if not decl.codes and decl.when is None:  # (a note on the decision without `when`: given on every one)
        _error(
            resolver,
            "check/note",
            f"note `{decl.id}` names no code and has no `when`: it would be given on every decision",
            decl.span,
            "add `when CONDITION` for a note on the decision when the facts show something, or "
            "`billing 99487, 99489` for a note beside those codes when they are billed",
        )


def _parameter(resolver: Resolver, decl: s.Declaration) -> None:
    assert isinstance(decl, s.Parameter)
    if not decl.values:
        _error(
            resolver,
            "check/parameter-value",
            f"parameter `{decl.id}` has no `value` line",
            decl.span,
            "add `value <amount> effective <start>..<end>`",
        )
    if decl.unknown_because is not None and not decl.unknown_because.strip():
        _error(
            resolver,
            "check/unknown-reason",
            f"parameter `{decl.id}`: `otherwise unknown` needs a reason",
            decl.unknown_span or decl.span,
            'say why the value is not known, e.g. `otherwise unknown because "§7.3: the 2026 L limit was not found"`',
        )
    usual = resolver.parameter_type(decl.id)
    for value in decl.values:
        if not isinstance(value.value, s.Literal):
            _error(
                resolver,
                "check/parameter-value",
                "a parameter value must be a literal such as $257.00, 20% or 20 min",
                value.value.span,
            )
            continue
        vtype = resolver.infer(value.value)
        if vtype != usual and {vtype, usual} != {COUNT, NUMBER}:
            message = f"parameter `{decl.id}` mixes {usual} and {vtype} values: this one is {vtype}"
            _error(resolver, "check/type", message, value.span, value_unit_hint(usual, value.value))


def _switch(resolver: Resolver, decl: s.Declaration) -> None:
    assert isinstance(decl, s.Switch)
    if not decl.options:
        _error(resolver, "check/switch", f"switch `{decl.id}` lists no `options`", decl.span, "add `options {a, b}`")
    if decl.default is None:
        _error(
            resolver,
            "check/switch",
            f"switch `{decl.id}` has no `default`",
            decl.span,
            "add `default OPTION`: the reading the reference recommends",
        )
    elif decl.default not in decl.options:
        _error(
            resolver,
            "check/switch",
            f"default `{decl.default}` is not an option of switch `{decl.id}`",
            decl.default_span or decl.span,
            did_you_mean(decl.default, decl.options)
            or "the default is one of the `options`: " + ", ".join(f"`{o}`" for o in decl.options),
        )


def _cost_sharing(resolver: Resolver, decl: s.Declaration) -> None:
    assert isinstance(decl, s.CostSharing)
    if decl.deductible is not None:
        _want(resolver, decl.deductible, (MONEY,), "`deductible up to`")
    if decl.coinsurance is not None:
        _want(resolver, decl.coinsurance, (PERCENT,), "`coinsurance`")
    for pays in decl.pays:
        if pays.fraction is not None:
            _want(resolver, pays.fraction, (PERCENT,), f"`{pays.payer} pays {pays.share}`")
        _want(resolver, pays.when, (BOOL,), "`when`")
    for clause in decl.indeterminate:
        _want(resolver, clause.when, (BOOL,), "`indeterminate when`")
    if decl.sequestration is not None:
        _want(resolver, decl.sequestration.rate, (PERCENT,), "`sequestration`")
        _want(resolver, decl.sequestration.when, (BOOL,), "`sequestration ... when`")


def _pricing(resolver: Resolver, decl: s.Declaration) -> None:
    assert isinstance(decl, s.Pricing)
    name = decl.conversion_factor
    if name is not None:
        where = decl.conversion_span or decl.span
        if name in resolver.index.parameters:
            factor_type = resolver.parameter_type(name)
        elif name in resolver.index.defines:
            factor_type = resolver.define_type(name)
        else:
            known = [*resolver.index.parameters, *resolver.index.defines]
            message = f"unknown parameter or definition `{name}`"
            _error(resolver, "check/unknown-name", message, where, did_you_mean(name, known))
            factor_type = ANY
        if factor_type not in (MONEY, ANY):
            _error(resolver, "check/type", f"conversion factor `{name}` must be money, not {factor_type}", where)
        resolver.result.uses.add(name)
    for clause in decl.not_priced:
        _want(resolver, clause.when, (BOOL,), "`not priced when`")


_CHECKS = {
    s.Define: _define,
    s.Selection: _selection,
    s.Rule: _rule,
    s.Precondition: _precondition,
    s.Code: _code,
    s.Exception_: _exception,
    s.Parameter: _parameter,
    s.Switch: _switch,
    s.CostSharing: _cost_sharing,
    s.Pricing: _pricing,
    s.Bundling: check_bundling,
    s.Choose: check_strategy,
    s.Note: _note,
}
