"""The values a compact trace keeps (compact.py): the names a policy set can read, by position, and
how one decision's values are read, converted and folded.

What a decision reads is the same few sequences of names over and over (~300 sequences in 12,000
benchmark bundles, against ~12,000 sequences of records), so what follows from the names alone is
worked out once per sequence, in a `ReadPlan` kept with the read table: which names are distinct,
their readers, their positions, which of them could be folded into a record read whole, and how
the output is laid out for each way they fold. A decision then only reads and converts its values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from ..compile.runtime import UNKNOWN
from ..decision.trace_nodes import json_value
from ..language import syntax as s

if TYPE_CHECKING:
    from ..compile.policy_set import CompiledPolicySet

MISSING = "missing"
Reader = Callable[[Any], Any]
Pick = Callable[[list[Any]], tuple[Any, ...]]  # some of a list's items, in order
# How a decision's kept values are laid out once these (indexes of names) are folded: what picks
# the values written in `values` (None: all of them), their positions (`read`), the positions of
# those folded (`inside`, ascending), and the names the table does not list, with their indexes.
Layout = tuple[Pick | None, list[int], list[int], tuple[tuple[str, int], ...]]


class ReadPlan:
    """What follows from one sequence of names read (the records', then the cost sharing's)."""

    __slots__ = ("cost_take", "folds", "layouts", "names", "readers")

    def __init__(
        self,
        readers: tuple[Reader, ...],
        cost_take: Pick | None,
        names: tuple[str, ...],
        folds: tuple[tuple[int, tuple[tuple[str, int], ...]], ...],
    ) -> None:
        self.readers = readers  # the reader of each distinct name the records read, in trace order
        self.cost_take = cost_take  # the cost sharing's values of names not read before (None: none)
        self.names = names  # every distinct name read: the records', then the cost sharing's new ones
        self.folds = folds  # (index of a name, ((key, index of the name one level inside it), …))
        self.layouts: dict[tuple[int, ...], Layout] = {}  # by the indexes folded (a handful)


# How a compact trace names the values read: the position of each name in `read_names`; the names
# listed one level inside each name (`consent` -> ("consent.date", "date"), …), for the values left
# out because they are inside a record read whole; the plans made with it (`new_plan`).
ReadTable = tuple[dict[str, int], dict[str, tuple[tuple[str, str], ...]], dict[Any, ReadPlan]]


def read_positions(compiled: CompiledPolicySet) -> ReadTable:
    """The read table of `read_names`. Made once per policy set."""
    found = compiled.read_positions
    if found is None:
        found = compiled.read_positions = read_table(read_names(compiled))
    return found


def read_table(names: list[str]) -> ReadTable:
    """(name -> its position, name -> the (name, key) pairs one level inside it, no plans yet) of `names`."""
    inside: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        parent, dot, key = name.rpartition(".")
        if dot:
            inside.setdefault(parent, []).append((name, key))
    return {name: index for index, name in enumerate(names)}, {k: tuple(v) for k, v in inside.items()}, {}


def read_names(compiled: CompiledPolicySet) -> list[str]:
    """Every name a condition of a rule, code or precondition (any version) or a cost-sharing
    clause (any date) can read, sorted: the names a compact trace's `read` and `inside` positions
    stand for. A superset of what one month's plan reads is harmless (its position is never
    used); a name read but not here would still be kept, by name, in `reads`."""
    names: set[str] = set()
    requirements = [rule.requirements for _gate, rule in compiled.preconditions]
    requirements += [rule.requirements for versions in compiled.rules.values() for _decl, rule in versions]
    requirements += [code.requirements for versions in compiled.codes.values() for code in versions]
    for group in requirements:
        for requirement in group:
            for condition in requirement.conditions:
                names.update(label for label, _kind, _reader in condition.reads)
    for block in compiled.index.of_kind(s.CostSharing):
        for expr in s.expressions_of(block):
            names.update(label for label, _kind, _reader in compiled.reads(expr))
    return sorted(names)


def new_plan(table: ReadTable, key: tuple[tuple[str, ...], Any], readers: Mapping[str, Reader]) -> ReadPlan:
    """The plan of `key` (the names the records read, each record's once, in trace order; what the
    cost sharing reads: `CostSummary`'s entries), kept in the table (the caller looks there first).
    `readers` has a reader of each name: a reader reads its name from the environment alone (the
    facts, memo, parameters, switches), so every reader of a name gives a bundle the same value,
    and the plan serves every decision that reads these names (the full trace, too, keeps one
    value per name)."""
    plans = table[2]
    if len(plans) >= 4096:  # bounded: ~300 sequences on the benchmark bundles
        plans.clear()
    names, cost_entries = key
    distinct = dict.fromkeys(names)  # in trace order: the records' names, then the cost sharing's new ones
    record_count = len(distinct)
    cost_take: list[int] = []
    for i, entry in enumerate(cost_entries):
        if entry[0] not in distinct:
            distinct[entry[0]] = None
            cost_take.append(i)
    every = tuple(distinct)
    index = dict(zip(every, range(len(every)), strict=True))
    inside_of = table[1]
    folds: list[tuple[int, tuple[tuple[str, int], ...]]] = []
    for name, i in index.items():  # (most names have nothing inside: one lookup each)
        inside = inside_of.get(name)
        if inside and (read := tuple((field, index[child]) for child, field in inside if child in index)):
            folds.append((i, read))
    plan = plans[key] = ReadPlan(
        tuple(map(readers.__getitem__, every[:record_count])),
        _pick(cost_take) if cost_take else None,
        every,
        tuple(folds),
    )
    return plan


def _pick(indexes: list[int] | tuple[int, ...]) -> Pick:
    """The items of a list at `indexes`, as a tuple: one C call."""
    if len(indexes) == 1:
        index = indexes[0]
        return lambda items: (items[index],)
    return itemgetter(*indexes)


_KEPT = frozenset({int, bool, str})  # the exact types of the values kept as read; the others are converted


def write_reads(plan: ReadPlan, values: list[Any], table: ReadTable, out: dict[str, Any]) -> None:
    """`read`, `values`, `inside` (and `reads`, for a name the table does not list) into `out`, from
    the value of each of `plan.names`: converted to JSON in place, then folded."""
    for i, value in enumerate(values):  # (a plain loop: map and compress in C cost more, measured)
        if type(value) not in _KEPT:
            values[i] = MISSING if value is UNKNOWN else json_value(value)
    folded: list[int] = []
    for parent, inside in plan.folds:
        record = values[parent]
        if type(record) is dict:  # a record read whole: the values inside it that reading back from
            for key, child in inside:  # it gives (a key it lacks gives `missing`) are left out
                if record[key] == values[child] if key in record else values[child] == MISSING:
                    folded.append(child)
    layouts = plan.layouts
    layout = layouts.get(tuple(folded)) if folded else layouts.get(())
    if layout is None:
        if len(layouts) >= 64:  # bounded: a handful of ways to fold per plan
            layouts.clear()
        layout = layouts[tuple(folded)] = _layout(plan, folded, table[0])
    kept, read, folded_at, by_name = layout
    if by_name:  # a name the table does not list (none with the shipped policies)
        out["reads"] = {name: values[i] for name, i in by_name}
    out["read"] = read.copy()
    out["values"] = values if kept is None else list(kept(values))
    if folded_at:
        out["inside"] = folded_at.copy()


def _layout(plan: ReadPlan, folded: list[int], at: dict[str, int]) -> Layout:
    names = plan.names
    left_out = set(folded)
    written = [i for i in range(len(names)) if i not in left_out]
    listed = [i for i in written if names[i] in at]
    by_name = tuple((names[i], i) for i in written if names[i] not in at)
    inside = sorted(at[names[i]] for i in folded)
    kept = None if len(listed) == len(names) else _pick(listed) if listed else lambda _values: ()
    return kept, [at[names[i]] for i in listed], inside, by_name
