"""The compact trace: what evaluation recorded, without what the policy set already says.

The full trace repeats, for every rule and requirement, its title, citations and source line:
text that is the same for every bundle and is in the policy set. The compact trace keeps only what
this bundle made of it, and names the policy set by its hash, so that a rule, a code and a value
read can be named by its position in that policy set instead of its name. With the bundle and the
same policy set, `carepolicy explain` turns it back into the full trace, byte for byte (it decides
the bundle again and checks that it gives this record). Form, version 3
(docs/reference/decision-format.md):

    {"form": "compact", "version": 3, "policy_set_hash": "…",
     "results": ["met", "unmet", …],    the distinct results, in the order the trace first shows them
     "rules": "01.1…", "codes": "..3…", one character per rule (preconditions first) and per code of
                                        the policy set, in its order: the result's index in `results`
                                        (0-9, a-z, A-Z), `.` when it was not evaluated
     "cost_sharing": "43333",           the cost-sharing node's result, then each clause's, likewise
     "requirements": "mmnu…",           one letter per requirement node, in trace order
     "read": [0, 1, 7, …],              the position of each name read, in trace order, among the
                                        names the policy set's conditions and cost sharing can read
                                        (`read_names`, sorted)
     "values": [v, …],                  the value read for each of them (`"missing"`: not in the bundle)
     "inside": [12, …],                 positions (ascending) of the names read whose value is inside a
                                        record read whole (`consent.date` beside `consent`): left out
                                        of `values`, the record has it
     "reads": {"name": value, …}}       only a name outside that list (none with the shipped policies)

Version 1 listed every id under its result (2.75 kB median on the benchmark bundles, 1.3 kB of
it rule ids); version 2 named each value read (median 1.94 kB, 42% over 2 kB, largest 3.0 kB);
by position, version 3 is median 1.26 kB, largest 1.84 kB (200,000 benchmark bundles).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat
from operator import call
from threading import Lock
from typing import TYPE_CHECKING, Any

from ..compile.outcomes import Compact, SharedRecord
from ..compile.runtime import UNKNOWN
from .compact_reads import MISSING as MISSING  # these four live in compact_reads; named here as before
from .compact_reads import Reader, new_plan, write_reads
from .compact_reads import read_names as read_names
from .compact_reads import read_positions as read_positions
from .compact_reads import read_table as read_table

if TYPE_CHECKING:
    from ..compile.policy_set import CompiledPolicySet
    from .cost_sharing_trace import CostSummary
    from .rules import Evaluation

COMPACT_FORM = "compact"
COMPACT_VERSION = 3
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
NOT_EVALUATED = "."


def positions(compiled: CompiledPolicySet) -> tuple[dict[str, int], dict[str, int]]:
    """(rule id -> position, code -> position) in the policy set: preconditions then rules in
    declaration order, codes in declaration order. Made once per policy set."""
    found = compiled.trace_positions
    if found is None:
        rule_ids = [gate.id for gate, _compiled in compiled.preconditions] + list(compiled.rules)
        rules = {rule_id: index for index, rule_id in enumerate(dict.fromkeys(rule_ids))}
        found = compiled.trace_positions = (rules, {code: index for index, code in enumerate(compiled.codes)})
    return found


class PartTable:
    """What the parts of one policy set are made with: the positions of its rules and codes, and
    an id (a small int) for each result a part names, so that a decision numbers its results by
    list index, not by a dict of strings. Replaced by a new one (every part is then made again)
    when it holds too many results: a shared record keeps its part, and that names its table."""

    __slots__ = ("code_at", "ids", "lock", "names", "readers", "rule_at")

    def __init__(self, rule_at: dict[str, int], code_at: dict[str, int]) -> None:
        self.rule_at = rule_at
        self.code_at = code_at
        self.ids: dict[str, int] = {}  # result -> its id
        self.names: list[str] = []  # id -> its result
        self.lock = Lock()  # two threads must not give one result two ids
        self.readers: dict[str, Reader] = {}  # name -> the first reader of it a part met

    def id_of(self, result: str) -> int:
        found = self.ids.get(result)
        if found is None:
            with self.lock:
                found = self.ids.get(result)
                if found is None:
                    found = self.ids[result] = len(self.names)
                    self.names.append(result)
        return found


_MAX_RESULTS = 4096  # the results a table names before it is replaced (~100 on the benchmark bundles)

# What one record of the trace (a rule or a code, with the records under it) gives the compact
# trace, but the values read: the same for every bundle that records it. Made once for a shared
# record (outcomes.SharedRecord, kept on it), anew for a record of the bundle's own.
Part = tuple[
    PartTable,  # the table it was made with (checked by identity)
    int,  # the record's slot: its rule's position, or the number of rules + its code's position
    int,  # its result's id
    str,  # one letter per requirement, in trace order
    tuple[str, ...],  # the names read, each once, in trace order (their readers: `PartTable.readers`)
    tuple[tuple[int, int], ...],  # (slot, result id) of each record under it, in trace order (none today)
]


def compact_trace(ev: Evaluation, recorded: Sequence[Compact], cost: CostSummary | None) -> dict[str, Any]:
    """The compact form of the trace made of `recorded` (rules and codes) then the cost sharing
    (`cost_sharing_node` as `cost_summary` gives it: no nodes are built). The choice and the pricing
    nodes are left out: the decision's billable lines and their `price_source` say the same.

    Each record gives its part (result, letters, names read); nearly all the records of the
    codegen backend are shared by every bundle alike (outcomes.SharedRecord), and theirs is made
    once. Only the values read are the bundle's own; what the names read give is planned once per
    sequence of names (compact_reads.py). One pass over the records, a few steps each."""
    compiled = ev.compiled
    table: PartTable | None = compiled.compact_table
    if table is None or len(table.names) > _MAX_RESULTS:
        table = compiled.compact_table = PartTable(*positions(compiled))
    names_of = table.names
    numbers = [0] * len(names_of)  # by result id: its index in `results` plus 1, 0 until it is met
    results: list[str] = []  # the distinct results, in the order the trace first shows them
    column = [0] * (len(table.rule_at) + len(table.code_at))  # by slot: its result's number (0: not evaluated)
    letters: list[str] = []
    labels: list[str] = []  # each record's names read, in trace order
    for node in recorded:
        if type(node) is SharedRecord:
            part: Part | None = node.compact
            if part is None or part[0] is not table:
                part = node.compact = _part(node, table)
        else:  # a record of the bundle's own (the closures backend's; codegen's past a bound)
            part = _part(node, table)
        _table, slot, result, marks, names, more = part
        try:
            number = numbers[result]
        except IndexError:  # a result named since this decision began (by a part made now, or by
            numbers += [0] * (len(names_of) - len(numbers))  # another thread): numbered from here
            number = 0
        if not number:
            results.append(names_of[result])
            number = numbers[result] = len(results)
        column[slot] = number  # evaluated once a decision (later uses are refs)
        if more:  # records under it (none today)
            numbers += [0] * (len(names_of) - len(numbers))
            for slot, result in more:
                number = numbers[result]
                if not number:
                    results.append(names_of[result])
                    number = numbers[result] = len(results)
                column[slot] = number
        if marks:
            letters.append(marks)
        if names:
            labels += names
    sharing: list[int] = []
    cost_results, cost_entries, cost_values = cost if cost is not None else ((), (), [])
    ids = table.ids
    for name in cost_results:  # the choice and pricing are in the decision; cost sharing is one node
        known = ids.get(name)
        if known is None or known >= len(numbers):
            known = table.id_of(name)
            numbers += [0] * (len(names_of) - len(numbers))
        number = numbers[known]
        if not number:
            results.append(name)
            number = numbers[known] = len(results)
        sharing.append(number)
    rule_count = len(table.rule_at)
    written = _marks(column, len(results))  # the rules' marks, then the codes'
    out: dict[str, Any] = {
        "form": COMPACT_FORM,
        "version": COMPACT_VERSION,
        "policy_set_hash": compiled.policy_hash,
        "results": results,
        "rules": written[:rule_count],
        "codes": written[rule_count:],
        "requirements": "".join(letters),
    }
    if sharing:
        out["cost_sharing"] = _marks(sharing, len(results))
    reads = read_positions(compiled)
    key = (tuple(labels), cost_entries)
    plan = reads[2].get(key)
    if plan is None:
        plan = new_plan(reads, key, table.readers)
    values = list(map(call, plan.readers, repeat(ev.env)))  # one call per distinct name
    if plan.cost_take is not None:
        values += plan.cost_take(cost_values)
    write_reads(plan, values, reads, out)
    return out


def _part(top: Compact, table: PartTable) -> Part:
    """What `top` and the records under it give the compact trace, in trace order (depth first)."""
    slots: list[tuple[int, int]] = []
    letters: list[str] = []
    names: dict[str, None] = {}
    rule_at, code_at, readers = table.rule_at, table.code_at, table.readers
    stack = [top]
    while stack:
        node = stack.pop()
        tag = node[0]
        if tag == "requirement":
            value = node[4]
            letters.append("m" if value is True else ("u" if value is UNKNOWN else "n"))
            for label, _kind, reader in node[2].reads:
                names[label] = None
                readers.setdefault(label, reader)
        elif tag != "ref":  # a ref: the rule itself is listed where it was first evaluated
            slot = rule_at[node[1].id] if tag == "rule" else len(rule_at) + code_at[node[1].id]
            slots.append((slot, table.id_of(node[2])))
            children = node[3]
            if children:
                stack += children[::-1]  # a reversed tuple: list += takes it whole (reversed() is an iterator)
    (slot, result), *more = slots
    return table, slot, result, "".join(letters), tuple(names), tuple(more)


# byte -> its mark: 0 -> NOT_EVALUATED, 1-62 -> DIGITS (a result's index + 1)
_MARK_OF_BYTE = (NOT_EVALUATED + DIGITS).encode("ascii").ljust(256, b"?")


def _marks(numbers: list[int], distinct: int) -> str | list[int]:
    """One character per number (index + 1; 0 is `.`: not evaluated); past 62 results, the indexes
    themselves (-1: not evaluated)."""
    if distinct > len(DIGITS):
        return [number - 1 for number in numbers]
    # the numbers as bytes, translated: one C call each (a join of one str per number cost ~7 µs)
    return bytes(numbers).translate(_MARK_OF_BYTE).decode("ascii")


# ------------------------------------------------------------------------------------- reading it back


def read_values(trace: Mapping[str, Any], compiled: CompiledPolicySet) -> dict[str, Any]:
    """The value of every name read, as the full trace shows it: kept (or `missing`), or inside a
    record read whole; by name."""
    names = read_names(compiled)
    out: dict[str, Any] = {
        names[position]: value for position, value in zip(trace["read"], trace["values"], strict=True)
    }
    out.update(trace.get("reads", {}))

    def look_up(name: str) -> Any:
        if name in out:
            return out[name]
        parent, _dot, key = name.rpartition(".")
        return look_up(parent).get(key, MISSING)

    for position in trace.get("inside", ()):
        out[names[position]] = look_up(names[position])
    return out


def results_by_position(trace: Mapping[str, Any], compiled: CompiledPolicySet) -> dict[tuple[str, str], str]:
    """{("rule" or "code", id): result} of every rule and code evaluated."""
    rule_at, code_at = positions(compiled)
    results: list[str] = trace["results"]
    out: dict[tuple[str, str], str] = {}
    for kind, where in (("rule", rule_at), ("code", code_at)):
        column = trace[kind + "s"]
        for ident, position in where.items():
            mark = column[position]
            if isinstance(mark, str):
                if mark != NOT_EVALUATED:
                    out[kind, ident] = results[DIGITS.index(mark)]
            elif mark >= 0:
                out[kind, ident] = results[mark]
    return out
