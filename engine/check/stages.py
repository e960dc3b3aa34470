"""Check stages that look across declarations: citations, cycles, intervals, add-ons, conflicts,
unused definitions. Each is a small function `(CheckContext) -> list[Diagnostic]`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..diagnostics import Diagnostic, Severity, did_you_mean
from ..language import syntax as s
from ..language.clauses import Interval
from ..language.registry import Registry
from ..source import Span
from .dated import check_clause_dates, clause_reads
from .index import PolicyIndex
from .resolve import Resolution


@dataclass
class CheckContext:
    index: PolicyIndex
    resolution: Resolution
    registry: Registry | None = None  # the folder's reference registry; None: any source may be declared


def _names_used(ctx: CheckContext, decl: s.Declaration) -> set[str]:
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


# ---------------------------------------------------------------- citations


def check_citations(ctx: CheckContext) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    sources = ctx.index.sources
    for decl in ctx.index.declarations():
        if not decl.cites and not decl.assumptions:
            out.append(
                Diagnostic(
                    "check/missing-cite",
                    f"{decl.kind} `{decl.id}` has no citation",
                    span=decl.span,
                    help='add a line `cite TAG "where in the source"` naming a declared source, '
                    'or `assumption "why"` when the reference does not state it',
                )
            )
        cites = list(decl.cites)
        if isinstance(decl, s.Parameter):
            cites.extend(v.cite for v in decl.values if v.cite is not None)
        for cite in cites:
            if cite.source not in sources:
                out.append(
                    Diagnostic(
                        "check/unknown-source",
                        f"`{cite.source}` is not a declared source",
                        span=cite.span,
                        help=did_you_mean(cite.source, sources) or 'declare it with `source TAG "title"`',
                    )
                )
    return out


# ---------------------------------------------------------------- cycles


def check_cycles(ctx: CheckContext) -> list[Diagnostic]:
    graph: dict[str, list[str]] = {}
    spans: dict[str, Span] = {}
    for decl in ctx.index.declarations():
        if isinstance(decl, s.Define | s.Rule | s.Precondition):
            graph.setdefault(decl.id, []).extend(sorted(_names_used(ctx, decl)))
            spans.setdefault(decl.id, decl.span)
    out: list[Diagnostic] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    reported: set[frozenset[str]] = set()

    def report(cycle: list[str]) -> None:
        key = frozenset(cycle)
        if key not in reported:
            reported.add(key)
            out.append(
                Diagnostic(
                    "check/cycle",
                    "definitions depend on themselves: " + " -> ".join(cycle),
                    span=spans[cycle[-1]],
                    help="a definition may not use itself, directly or through others",
                )
            )

    # Depth first with an explicit stack (a chain of thousands of definitions must not overflow
    # Python's): each entry is a node and the index of the next successor to look at.
    for root in sorted(graph):
        if root in state:
            continue
        path: list[str] = [root]
        state[root] = 1
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, next_index = stack[-1]
            successors = graph.get(node, ())
            if next_index == len(successors):
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            stack[-1] = (node, next_index + 1)
            succ = successors[next_index]
            if state.get(succ) == 1:
                report([*path[path.index(succ) :], succ])
            elif state.get(succ) is None and succ in graph:
                state[succ] = 1
                path.append(succ)
                stack.append((succ, 0))
    return out


# ---------------------------------------------------------------- intervals

_MIN, _MAX = dt.date.min, dt.date.max


def _bounds(interval: Interval | None) -> tuple[dt.date, dt.date]:
    if interval is None:
        return _MIN, _MAX
    start = dt.date.fromisoformat(interval.start) if interval.start else _MIN
    end = dt.date.fromisoformat(interval.end) if interval.end else _MAX
    return start, end


def _gaps(need: tuple[dt.date, dt.date], have: list[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    gaps: list[tuple[dt.date, dt.date]] = []
    cursor = need[0]
    for start, end in sorted(have):
        if end < cursor:
            continue
        if start > cursor:
            gaps.append((cursor, min(start - dt.timedelta(days=1), need[1])))
        if end >= need[1]:
            return gaps
        cursor = end + dt.timedelta(days=1)
        if cursor > need[1]:
            return gaps
    if cursor <= need[1]:
        gaps.append((cursor, need[1]))
    return [g for g in gaps if g[0] <= g[1]]


def _show(day: dt.date) -> str:
    return "" if day in (_MIN, _MAX) else day.isoformat()


def check_intervals(ctx: CheckContext) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for decl in ctx.index.declarations():
        if decl.effective is not None:
            start, end = _bounds(decl.effective)
            if start > end:
                out.append(
                    Diagnostic(
                        "check/interval",
                        f"effective interval {decl.effective} ends before it starts",
                        span=decl.effective.span,
                    )
                )
    for param in ctx.index.parameters.values():
        values = list(param.values)
        for i, first in enumerate(values):
            for second in values[i + 1 :]:
                if first.effective.overlaps(second.effective):
                    both = _overlap_text(first.effective, second.effective)
                    out.append(
                        Diagnostic(
                            "check/overlapping-values",
                            f"parameter `{param.id}` has two values for {both}",
                            span=second.span,
                            related=(("other value", first.span),),
                            help="make the intervals meet without overlapping, e.g. ..2024-12-31 and 2025-01-01..",
                        )
                    )
    out.extend(check_clause_dates(ctx.index.declarations()))
    out.extend(_missing_values(ctx))
    return out


def _overlap_text(a: Interval, b: Interval) -> str:
    a0, a1 = _bounds(a)
    b0, b1 = _bounds(b)
    return f"{_show(max(a0, b0))}..{_show(min(a1, b1))}"


def _dated_reads(
    ctx: CheckContext, decl: s.Declaration, reads: dict[str, set[str]]
) -> list[tuple[tuple[dt.date, dt.date], set[str]]]:
    """When a declaration reads which parameters: its whole interval, or clause by clause for a
    cost-sharing block whose clauses carry their own dates (dated.py)."""
    if isinstance(decl, s.CostSharing):

        def through(name: str) -> set[str]:
            return {name} if name in ctx.index.parameters else reads.get(_DEFINE_KEY + name, set())

        return [
            (days, {n for n in names if n in ctx.index.parameters})
            for days, names in clause_reads(ctx.resolution, decl, through)
        ]
    return [(_bounds(decl.effective), reads.get(decl.id, set()) | _direct_parameters(ctx, decl))]


def _missing_values(ctx: CheckContext) -> list[Diagnostic]:
    """A parameter read (directly or through definitions) by something in effect needs a value."""
    reads = _parameters_read(ctx)
    out: list[Diagnostic] = []
    for decl in ctx.index.declarations():
        if isinstance(decl, s.Define | s.Parameter):
            continue  # definitions are checked where they are used, in their users' intervals
        for days, names in _dated_reads(ctx, decl, reads):
            out.extend(_gap_diagnostics(ctx, decl, days, names))
    return list(dict.fromkeys(out))


def _gap_diagnostics(
    ctx: CheckContext, decl: s.Declaration, days: tuple[dt.date, dt.date], names: set[str]
) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for name in sorted(names):
        param = ctx.index.parameters[name]
        if param.unknown_because is not None:
            continue  # unknown where it has no value, by declaration: only what reads it is undecided
        have = [_bounds(v.effective) for v in param.values]
        for gap in _gaps(days, have):
            out.append(
                Diagnostic(
                    "check/missing-value",
                    f"parameter `{name}` has no value for {_show(gap[0])}..{_show(gap[1])}, "
                    f"where {decl.kind} `{decl.id}` is in effect and reads it",
                    span=decl.span,
                    related=(("parameter declared", param.span),),
                    help="add a dated `value` line, or limit the user with an `effective` interval "
                    "(a cost-sharing clause: `during`); a value the reference does not give: "
                    '`otherwise unknown because "..."` on the parameter',
                )
            )
    return out


def _direct_parameters(ctx: CheckContext, decl: s.Declaration) -> set[str]:
    return {n for n in _names_used(ctx, decl) if n in ctx.index.parameters}


def _parameters_read(ctx: CheckContext) -> dict[str, set[str]]:
    """For each define and rule: parameters it reads through definitions (not through rules,
    which carry their own effective interval)."""
    memo: dict[str, set[str]] = {}

    def through(name: str, seen: frozenset[str]) -> set[str]:
        if name in memo:
            return memo[name]
        define = ctx.index.defines.get(name)
        if define is None or name in seen:
            return set()
        found: set[str] = set()
        for used in _names_used(ctx, define):
            if used in ctx.index.parameters:
                found.add(used)
            elif used in ctx.index.defines:
                found |= through(used, seen | {name})
        memo[name] = found
        return found

    result: dict[str, set[str]] = {}
    for decl in ctx.index.declarations():
        params: set[str] = set()
        for used in _names_used(ctx, decl):
            if used in ctx.index.defines:
                params |= through(used, frozenset())
        result.setdefault(decl.id, set()).update(params)
    for name in ctx.index.defines:  # by definition too, for clauses with dates of their own
        result[_DEFINE_KEY + name] = through(name, frozenset())
    return result


_DEFINE_KEY = "\0define "  # no declaration id starts with a NUL


# ---------------------------------------------------------------- add-ons


def check_addons(ctx: CheckContext) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for versions in ctx.index.codes.values():
        for addon in versions:
            if not addon.is_addon:
                continue
            bases = ctx.index.expand(addon.bases)
            base_decls = [b for code in bases for b in ctx.index.codes.get(code, [])]
            if not base_decls:
                continue  # unknown base codes are reported by check_code_lists
            for base in base_decls:
                if base.is_addon:
                    out.append(
                        Diagnostic(
                            "check/addon-base",
                            f"add-on `{addon.id}` is attached to `{base.id}`, another add-on",
                            span=addon.span,
                            help="an add-on's `to` names base codes",
                        )
                    )
            a0, a1 = _bounds(addon.effective)
            covered = _gaps((a0, a1), [_bounds(b.effective) for b in base_decls if not b.is_addon])
            for gap in covered:
                out.append(
                    Diagnostic(
                        "check/addon-without-base",
                        f"add-on `{addon.id}` is in effect {_show(gap[0])}..{_show(gap[1])} when none of its bases is",
                        span=addon.span,
                        help="narrow the add-on's `effective` interval to its base codes' intervals",
                    )
                )
    return out


# ---------------------------------------------------------------- conflicts


def check_conflicts(ctx: CheckContext) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for kind in (s.CostSharing, s.Choose, s.Pricing):
        # a coding strategy selected by a switch (`when`) stands beside the default one
        decls = [d for d in ctx.index.of_kind(kind) if not (isinstance(d, s.Choose) and d.when is not None)]
        for i, first in enumerate(decls):
            for second in decls[i + 1 :]:
                if _bounds_overlap(first.effective, second.effective):
                    out.append(
                        Diagnostic(
                            "check/conflict",
                            f"{second.kind} `{second.id}` and `{first.id}` are both in effect at once",
                            span=second.span,
                            related=(("other declaration", first.span),),
                            help="give them effective intervals that do not overlap",
                        )
                    )
    for sharing in ctx.index.of_kind(s.CostSharing):
        assert isinstance(sharing, s.CostSharing)
        out.extend(_payer_conflicts(sharing))
    return out


def _bounds_overlap(a: Interval | None, b: Interval | None) -> bool:
    a0, a1 = _bounds(a)
    b0, b1 = _bounds(b)
    return a0 <= b1 and b0 <= a1


def _payer_conflicts(sharing: s.CostSharing) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    clauses = list(sharing.pays)
    for i, first in enumerate(clauses):
        for second in clauses[i + 1 :]:
            same_share = first.share == second.share or "all" in (first.share, second.share)
            if first.payer != second.payer or not same_share:
                continue
            if first.priority is not None and second.priority is not None and first.priority != second.priority:
                continue
            if _disjoint(first.when, second.when):
                continue
            out.append(
                Diagnostic(
                    "check/conflict",
                    f"two `{first.payer} pays` clauses for the {second.share} can apply to the same beneficiary",
                    span=second.span,
                    related=(("other clause", first.span),),
                    help="make their `when` conditions exclusive, or give each a different `priority N` (higher wins)",
                )
            )
    return out


def _constraints(expr: s.Expr) -> dict[str, frozenset[object]]:
    """What a condition's top-level conjuncts say about single facts (`fact = v`, `fact in {...}`,
    `fact`, `not fact`); the basis of a cheap, sound disjointness test."""
    conjuncts = expr.operands if isinstance(expr, s.Logical) and expr.op == "and" else (expr,)
    found: dict[str, frozenset[object]] = {}
    for term in conjuncts:
        key, values = _constraint(term)
        if key is not None:
            found[key] = found[key] & values if key in found else values
    return found


def _constraint(term: s.Expr) -> tuple[str | None, frozenset[object]]:
    if isinstance(term, s.Name):
        return term.dotted, frozenset({True})
    if isinstance(term, s.Not) and isinstance(term.operand, s.Name):
        return term.operand.dotted, frozenset({False})
    if (
        isinstance(term, s.Compare)
        and term.op == "="
        and isinstance(term.left, s.Name)
        and isinstance(term.right, s.Name)
    ):
        return term.left.dotted, frozenset({term.right.dotted})
    if (
        isinstance(term, s.Member)
        and not term.negated
        and isinstance(term.item, s.Name)
        and isinstance(term.collection, s.SetLiteral)
        and all(isinstance(i, s.Name) for i in term.collection.items)
    ):
        return term.item.dotted, frozenset(i.dotted for i in term.collection.items if isinstance(i, s.Name))
    return None, frozenset()


def _disjoint(a: s.Expr, b: s.Expr) -> bool:
    left, right = _constraints(a), _constraints(b)
    return any(not (left[k] & right[k]) for k in left.keys() & right.keys())


# ---------------------------------------------------------------- unused


def check_unused(ctx: CheckContext) -> list[Diagnostic]:
    used = set(ctx.resolution.uses)
    for decl in ctx.index.declarations():
        if isinstance(decl, s.Exception_):
            used.add(decl.target)
    cited = {c.source for d in ctx.index.declarations() for c in d.cites}
    cited |= {v.cite.source for p in ctx.index.parameters.values() for v in p.values if v.cite}
    out: list[Diagnostic] = []
    for decl in ctx.index.declarations():
        if isinstance(decl, s.Define | s.Parameter | s.Switch | s.Rule) and decl.id not in used:
            out.append(
                Diagnostic(
                    "check/unused",
                    f"{decl.kind} `{decl.id}` is never used",
                    span=decl.span,
                    severity=Severity.WARNING,
                    help="remove it, or require it where it applies",
                )
            )
    for tag, source in ctx.index.sources.items():
        if tag not in cited:
            out.append(
                Diagnostic(
                    "check/unused",
                    f"source `{tag}` is never cited",
                    span=source.span,
                    severity=Severity.WARNING,
                    help="remove it, or cite it where it applies",
                )
            )
    return out
