"""Named selections, expanded before checking: `sum month_time.minutes where ...` over `time`.

A `selection NAME "title" = LIST where CONDITION` names the entries of a fact list (or of another
selection) that meet a condition. Every aggregate over NAME is rewritten here into an aggregate
over the fact list whose `where` is the selection's condition `and` the aggregate's own, with
`NAME.field` read as `LIST.field`. So the checker, both expression backends and a future
vectorised kernel see only plain aggregates: a selection adds no run-time construct, no state and
no recursion (a selection built on itself is a check error, `check/cycle`), and the language stays
a filter-and-reduce over one column of entries.

The selection's own condition nodes are shared by every use (not copied), so the checker types
them once, in the scope of the underlying list, and reports a problem in them once, at the
selection.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from ..diagnostics import Diagnostic
from ..language import syntax as s

_EXPR_TYPES = (
    s.Literal,
    s.Name,
    s.Binary,
    s.Negate,
    s.Compare,
    s.Logical,
    s.Not,
    s.Member,
    s.Presence,
    s.Otherwise,
    s.Conditional,
    s.SetLiteral,
    s.Aggregate,
    s.Boundary,
    s.Call,
)


def expand_selections(files: tuple[s.PolicyFile, ...]) -> tuple[tuple[s.PolicyFile, ...], list[Diagnostic]]:
    """The files with every aggregate over a selection rewritten over its fact list."""
    declared = {d.id: d for f in files for d in f.declarations if isinstance(d, s.Selection)}
    if not declared:
        return files, []
    diagnostics: list[Diagnostic] = []
    flat: dict[str, tuple[s.Name, s.Expr]] = {}  # selection -> (fact list, full condition)

    def flatten(name: str, trail: tuple[str, ...]) -> tuple[s.Name, s.Expr] | None:
        if name in flat:
            return flat[name]
        selection = declared[name]
        if name in trail:
            cycle = " -> ".join((*trail[trail.index(name) :], name))
            diagnostics.append(
                Diagnostic(
                    "check/cycle",
                    f"selection `{name}` is built on itself: {cycle}",
                    span=selection.span,
                    help="build a selection on a fact list, or on another selection that does not use it",
                )
            )
            return None
        base = selection.list.parts[0]
        where = selection.where
        if base in declared and len(selection.list.parts) == 1:
            inner = flatten(base, (*trail, name))
            if inner is None:
                return None
            inner_list, inner_where = inner
            where = s.Logical("and", (inner_where, _rename(where, base, inner_list.parts[0])), where.span)
            flat[name] = (inner_list, where)
        else:
            flat[name] = (selection.list, where)
        return flat[name]

    for name in declared:
        flatten(name, ())

    def rewrite(expr: s.Expr) -> s.Expr:
        if isinstance(expr, s.Aggregate) and expr.path.parts[0] in flat:
            selection, (fact_list, condition) = expr.path.parts[0], flat[expr.path.parts[0]]
            list_name = fact_list.parts[0]
            path = s.Name((list_name, *expr.path.parts[1:]), expr.path.span)
            where = condition
            if expr.where is not None:
                own = _rename(expr.where, selection, list_name)  # nested aggregates: already rewritten
                where = s.Logical("and", (condition, own), expr.where.span)
            return s.Aggregate(expr.kind, path, where, expr.span)
        return expr

    out = []
    for policy in files:
        decls = tuple(
            _map_decl(_flat_selection(d, flat) if isinstance(d, s.Selection) else d, lambda e: _map(e, rewrite))
            for d in policy.declarations
        )
        out.append(dataclasses.replace(policy, declarations=decls))
    return tuple(out), diagnostics


def _flat_selection(decl: s.Selection, flat: dict[str, tuple[s.Name, s.Expr]]) -> s.Selection:
    """A selection over a selection, restated over its fact list (so it is checked in that scope)."""
    if decl.id not in flat:
        return decl
    fact_list, where = flat[decl.id]
    return dataclasses.replace(decl, list=fact_list, where=where)


def _rename(expr: s.Expr, old: str, new: str) -> s.Expr:
    """`old.field` read as `new.field` (the entry of the selection is the entry of its list)."""

    def one(node: s.Expr) -> s.Expr:
        if isinstance(node, s.Name) and node.parts[0] == old:
            return s.Name((new, *node.parts[1:]), node.span)
        return node

    return _map(expr, one) if old != new else expr


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """The field names of a dataclass (none for any other class), once per class:
    `dataclasses.fields` builds its tuple anew on every call, and `check` walks every node of
    every declaration here and in references.py (~28,000 calls a start)."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
        names = _FIELD_NAMES[cls] = tuple(field.name for field in fields)
    return names


def _map(expr: s.Expr, fn: Callable[[s.Expr], s.Expr]) -> s.Expr:
    """`fn` applied bottom-up to every expression node; unchanged nodes are kept (same object)."""
    changed = False
    values: dict[str, Any] = {}
    for name in field_names(type(expr)):
        value = getattr(expr, name)
        new = _map_value(value, fn)
        if new is not value:
            changed = True
        values[name] = new
    rebuilt = dataclasses.replace(expr, **values) if changed else expr
    return fn(rebuilt)


def _map_value(value: Any, fn: Callable[[s.Expr], s.Expr]) -> Any:
    if isinstance(value, _EXPR_TYPES):
        return _map(value, fn)
    if isinstance(value, tuple):
        items = tuple(_map_value(v, fn) for v in value)
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    return value


def _map_decl(decl: Any, fn: Callable[[s.Expr], s.Expr]) -> Any:
    """Every expression inside a declaration's clauses (requirements, units, payer clauses...)."""
    if isinstance(decl, _EXPR_TYPES):
        return fn(decl)
    if isinstance(decl, tuple):
        items = tuple(_map_decl(v, fn) for v in decl)
        return decl if all(a is b for a, b in zip(items, decl, strict=True)) else items
    names = field_names(type(decl))
    if not names:  # not a dataclass instance: a text, a date, a number...
        return decl
    changed = False
    values: dict[str, Any] = {}
    for name in names:
        value = getattr(decl, name)
        new = _map_decl(value, fn)
        if new is not value:
            changed = True
        values[name] = new
    return dataclasses.replace(decl, **values) if changed else decl
