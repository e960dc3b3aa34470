"""Check stages about declarations in effect at the same time: `check_addons` (an add-on code is
attached to base codes, in effect whenever it is) and `check_conflicts` (no two cost-sharing,
pricing or coding-choice declarations at once; no two payer clauses that can both apply).
"""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..language import syntax as s
from ..language.clauses import Interval
from .context import CheckContext
from .days import day_gaps, interval_bounds, show_day

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
                continue  # unknown base codes are reported by check_code_lists (code_lists.py)
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
            a0, a1 = interval_bounds(addon.effective)
            covered = day_gaps((a0, a1), [interval_bounds(b.effective) for b in base_decls if not b.is_addon])
            for gap in covered:
                out.append(
                    Diagnostic(
                        "check/addon-without-base",
                        f"add-on `{addon.id}` is in effect {show_day(gap[0])}..{show_day(gap[1])} "
                        "when none of its bases is",
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
    a0, a1 = interval_bounds(a)
    b0, b1 = interval_bounds(b)
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
