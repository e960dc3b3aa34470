"""The loops of the generated backend: `count`, `any`, `sum` and `count distinct` over a fact list, with their `where`.

A part of the source writer (codegen_writer.py's Writer, which inherits it), kept apart for its
size: the loop over a list's entries, the facts its `where` reads once before it (`read_ahead`),
and the loop of a condition tested once per bundle (codegen_selections.py). Each method mirrors
`ExprCompiler._aggregate` in expr.py, statement by statement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..check.resolution import Resolution
from ..language import syntax as s
from .codegen_names import text
from .codegen_selections import kept_condition, selected_loop
from .codegen_statements import Atom, StatementWriter


class AggregateWriter(StatementWriter):
    """What an aggregate writes; the expressions inside it are written by the Writer (`expr`, `read`)."""

    resolution: Resolution
    selection: Callable[[s.Expr, str], Any] | None
    entries: dict[str, str]  # list name -> the local holding the entry its loop looks at (Writer.item)

    def expr(self, expr: s.Expr) -> Atom:
        raise NotImplementedError  # (Writer's)

    def read(self, path: tuple[str, ...]) -> Atom:
        raise NotImplementedError  # (Writer's)

    def read_ahead(self, where: s.Expr) -> None:
        """The facts a loop's `where` reads, read once before the loop instead of once per entry
        (`practitioner.id` in `time.practitioner = practitioner.id`): they are the same for every
        entry, and the loop finds them in its scope (`read`). Reading a fact does nothing but give
        its value (no memo, no `env.items`, never an error), so one the loop would not have read
        changes nothing."""
        lists = {id(node.path) for node in s.walk(where) if isinstance(node, s.Aggregate)}
        for node in s.walk(where):
            if isinstance(node, s.Name) and id(node) not in lists:
                ref = self.resolution.refs.get(id(node))
                if ref is not None and ref.kind == "fact":
                    self.read(ref.path)

    def _aggregate(self, expr: s.Aggregate) -> Atom:
        """count / any / sum over a fact list; `env.items` holds the entry `where` is looking at."""
        parts = expr.path.parts
        key = text(parts[0])
        if expr.kind not in ("count", "any"):
            assert len(parts) > 1, "a sum reads a field of the entries"
        chosen = self.assign({"count": "0", "any": "False"}.get(expr.kind, "[]"), known=True)
        chosen.boolean = expr.kind == "any"
        if expr.where is not None and self.selection is not None and self._selected(expr, chosen):
            return self._total(expr, chosen)
        if expr.where is not None:
            self.read_ahead(expr.where)
        entry, items, outer_entry = self.fresh("_e"), self.env("items"), self.fresh("_e")
        # an enclosing loop's entry of the same list is put back after this loop, as expr.py does
        self.line(f"{outer_entry} = {items}.get({key})")
        with self.block(f"for {entry} in {self.env('facts')}.get({key}) or ():"):
            self.line(f"{items}[{key}] = {entry}")
            if expr.where is not None:  # an entry whose condition is unknown is not counted
                # Inside, only this loop's entry is read from its local (an outer loop's entry from
                # `env.items`). After it, an outer loop's entry is still read from its local unless
                # this loop was over the same list or its `where` wrote something that could have
                # run such a loop (it cleared `self.entries`): then from `env.items`, where every
                # loop puts the entry it found back when it ends.
                outer, self.entries = self.entries, {parts[0]: entry}
                value = self.expr(expr.where)
                test = self.inline(value)
                where = self.var(value) if test is None else ""
                kept = parts[0] in self.entries
                self.entries = {name: local for name, local in outer.items() if name != parts[0]} if kept else {}
                if test is None:
                    self.line(f"if {where} is not True:")
                else:  # a comparison just written: tested as it is, without a local
                    self.line(f"if not ({self.holds(test, 'True')}):")
                self.line("    continue")
            if expr.kind == "count":
                self.line(f"{chosen.text} += 1")
            elif expr.kind == "any":
                self.line(f"{chosen.text} = True")  # every entry is still visited, as expr.py does
            else:
                self.line(f"{chosen.text}.append({entry})")
        self.line(f"if {outer_entry} is None:")
        self.line(f"    {items}.pop({key}, None)")
        self.line("else:")
        self.line(f"    {items}[{key}] = {outer_entry}")
        return self._total(expr, chosen)

    def _total(self, expr: s.Aggregate, chosen: Atom) -> Atom:
        """An aggregate's value once its loop has run: the count or `any` itself, or the sum of the
        field over the entries chosen, or the number of its different values (`count distinct`)."""
        if expr.kind in ("count", "any"):
            return chosen
        entry = self.fresh("_e")
        if expr.kind == "count distinct":  # the field of each entry chosen, compared after the loop
            values = self.assign("[]")
            with self.block(f"for {entry} in {chosen.text}:"):
                self.line(f"{values.text}.append({entry}.get({text(expr.path.parts[1])}))")
            return self.assign(f"_distinct_count({values.text})", known=True)
        values = self.assign("[]")  # read after the loop, as expr.py does (it matters if one fails)
        with self.block(f"for {entry} in {chosen.text}:"):
            self.line(f"{values.text}.append({entry}.get({text(expr.path.parts[1])}) or 0)")
        return self.assign(f"_sum({values.text}, 0)", known=True)

    def _selected(self, expr: s.Aggregate, chosen: Atom) -> bool:
        """The loop of an aggregate whose condition (or its first part) is tested once per bundle
        (codegen_selections.py); False, and nothing written, for any other aggregate."""
        assert expr.where is not None
        split = kept_condition(self, expr.where, whole=True)
        if split is None:
            return False

        def choose(entry: str, value: str) -> None:  # an entry the whole `where` holds for
            self.line(f"if {value} is not True:")
            self.line("    continue")
            if expr.kind == "count":
                self.line(f"{chosen.text} += 1")
            elif expr.kind == "any":
                self.line(f"{chosen.text} = True")
            else:
                self.line(f"{chosen.text}.append({entry})")

        selected_loop(self, expr.path.parts[0], *split, choose)
        return True
