"""A selection's condition worked out once per bundle, not once per aggregate (the codegen backend).

A named selection (`staff_time`, `personal_time`) is expanded by the checker into the `where` of
every aggregate over it: `sum staff_time.minutes where staff_time.service = p` becomes a loop over
`time` whose `where` is `STAFF and time.service = p`, with `STAFF` the selection's condition (one
node, shared by every such aggregate: engine/check/selections.py). A bundle's minutes totals run a
dozen such loops, and each tested `STAFF` on every entry again: most of the work of a minutes
total, for the same answer each time.

Here each shared condition that only reads the bundle and the entry it looks at (`pure`) gets a
generated function of its own that tests it on every entry once and keeps, in `env.selected`
(one dict per bundle), the entries it does not rule out, each with its value (True, or UNKNOWN).
An aggregate over it then loops over those and tests only its own part. The values, the order of
the entries and what reaches `env.memo` and `env.items` are exactly those of the loop it replaces:
an entry the condition rules out (False) was skipped there before its own part was evaluated,
and testing the condition itself changes nothing (no definition, no nested loop, no rule).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..check.resolution import Resolution
from ..language import syntax as s
from .codegen_names import HOISTED, text
from .codegen_statements import Atom

# the kinds of name a pure condition may read (besides the fields of its own list's entries)
_PURE_REFS = frozenset({"fact", "parameter", "switch", "builtin", "enum"})


def pure(resolution: Resolution, condition: s.Expr, list_name: str) -> bool:
    """Whether `condition` reads only facts, parameters, switches, the month, enumeration values and
    the fields of `list_name`'s entry: no definition (memoised), no loop, no rule, no other entry."""
    for node in s.walk(condition):
        if isinstance(node, s.Aggregate):
            return False
        if isinstance(node, s.Name):
            ref = resolution.refs.get(id(node))
            if ref is None:
                return False
            if ref.kind == "item":
                if ref.target != list_name:
                    return False
            elif ref.kind not in _PURE_REFS:
                return False
    return True


def shared_conditions(resolution: Resolution, expressions: Iterable[s.Expr]) -> frozenset[int]:
    """Ids of the conditions worth keeping per bundle: a pure condition that two or more aggregates
    test first (a selection's, shared by the aggregates over it), or that is the whole `where`."""
    seen: dict[int, int] = {}
    for top in expressions:
        for node in s.walk(top):
            if isinstance(node, s.Aggregate) and node.where is not None:
                first = leading_condition(node.where)
                for candidate in (node.where, first) if first is not None else (node.where,):
                    if pure(resolution, candidate, node.path.parts[0]):
                        seen[id(candidate)] = seen.get(id(candidate), 0) + 1
    return frozenset(key for key, count in seen.items() if count > 1)


def leading_condition(where: s.Expr) -> s.Expr | None:
    """The first operand of an `and` (the selection's condition, when the aggregate is over one)."""
    if isinstance(where, s.Logical) and where.op == "and" and len(where.operands) > 1:
        return where.operands[0]
    return None


def kept_condition(writer: Any, where: s.Expr, *, whole: bool) -> tuple[s.Expr, tuple[s.Expr, ...]] | None:
    """(the condition kept per bundle, the rest of the `where`) when `where` is such a condition
    (`whole`) or starts with one; None otherwise."""
    if writer.selection is None:
        return None
    if whole and id(where) in writer.selections:
        return where, ()
    first = leading_condition(where)
    if first is not None and id(first) in writer.selections:
        assert isinstance(where, s.Logical)
        return first, where.operands[1:]
    return None


def selected_loop(
    writer: Any, list_name: str, condition: s.Expr, rest: tuple[s.Expr, ...], use: Callable[[str, str], None]
) -> None:
    """Writes the loop over the entries `condition` keeps (found once per bundle), testing the `rest`
    of the `where` on each as `_logical` writes `CONDITION and REST...`, the kept value (True or
    UNKNOWN, never False) standing for the condition's; then `use(entry, value)` writes what is done
    with the entry (`value`: the whole `where`'s). `env.items` and the entries as in `_aggregate`."""
    key = text(list_name)
    fn = writer.const(writer.selection(condition, list_name)).text
    selected = writer.env("selected")
    found = writer.assign(f"{selected}.get({fn})")
    writer.line(f"if {found.text} is None:")
    writer.line(f"    {found.text} = {selected}[{fn}] = {fn}(env)")
    entry, value = writer.fresh("_e"), writer.fresh("_v")
    if not rest:  # nothing else to test, so nothing is read of the entry: `env.items` left alone
        with writer.block(f"for {entry}, {value} in {found.text}:"):
            use(entry, value)
        return
    for operand in rest:
        writer.read_ahead(operand)
    items, outer_entry = writer.env("items"), writer.fresh("_e")
    writer.line(f"{outer_entry} = {items}.get({key})")
    with writer.block(f"for {entry}, {value} in {found.text}:"):
        writer.line(f"{items}[{key}] = {entry}")
        outer, writer.entries = writer.entries, {list_name: entry}
        result = Atom(value)
        for number, operand in enumerate(rest):
            if number == 0:  # (the kept value is never False: the first part is always tested)
                writer._operand(operand, result, "False")
            else:
                with writer.block(f"if {value} is not False:"):
                    writer._operand(operand, result, "False")
        kept = list_name in writer.entries
        writer.entries = {n: local for n, local in outer.items() if n != list_name} if kept else {}
        use(entry, value)
    _restore(writer, key, outer_entry)


def selection_source(writer: Any, list_name: str, condition: s.Expr) -> str:
    """The source of the function that tests `condition` on every entry of `list_name` and returns
    `[(entry, value), ...]` for the entries where it is not False, in list order. `writer` is a fresh
    codegen_writer.Writer. The loop sets and restores `env.items` as every aggregate's loop does; a
    condition that starts with another kept one (`personal_time`: `staff_time`'s condition and
    more) loops over that one's entries."""
    key = text(list_name)
    found = writer.assign("[]", known=True)

    def keep(entry: str, value: str) -> None:
        writer.line(f"if {value} is not False:")
        writer.line(f"    {found.text}.append(({entry}, {value}))")

    split = kept_condition(writer, condition, whole=False)
    if split is not None:
        selected_loop(writer, list_name, *split, keep)
    else:
        writer.read_ahead(condition)
        entry, outer_entry, items = writer.fresh("_e"), writer.fresh("_e"), writer.env("items")
        writer.line(f"{outer_entry} = {items}.get({key})")
        with writer.block(f"for {entry} in {writer.env('facts')}.get({key}) or ():"):
            writer.line(f"{items}[{key}] = {entry}")
            writer.entries = {list_name: entry}
            keep(entry, writer.var(writer.expr(condition)))
        _restore(writer, key, outer_entry)
    writer.line(f"return {found.text}")
    head = [f"    _{a} = env.{a}" for a in HOISTED if a in writer.hoisted]
    return "\n".join(["def _carepolicy_expr(env):", *head, *writer.lines, ""])


def _restore(writer: Any, key: str, outer_entry: str) -> None:
    """`env.items[list]` put back as it was before the loop (as every aggregate's loop does)."""
    writer.line(f"if {outer_entry} is None:")
    writer.line(f"    {writer.env('items')}.pop({key}, None)")
    writer.line("else:")
    writer.line(f"    {writer.env('items')}[{key}] = {outer_entry}")
