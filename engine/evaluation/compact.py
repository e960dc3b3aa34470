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

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..compile.outcomes import Compact, SharedRecord
from ..compile.runtime import UNKNOWN
from ..decision.trace_nodes import json_value
from ..language import syntax as s

if TYPE_CHECKING:
    from ..compile.policy_set import CompiledPolicySet
    from .cost_sharing_trace import CostSummary
    from .rules import Evaluation

COMPACT_FORM = "compact"
COMPACT_VERSION = 3
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
NOT_EVALUATED = "."
MISSING = "missing"


def positions(compiled: CompiledPolicySet) -> tuple[dict[str, int], dict[str, int]]:
    """(rule id -> position, code -> position) in the policy set: preconditions then rules in
    declaration order, codes in declaration order. Made once per policy set."""
    found = compiled.trace_positions
    if found is None:
        rule_ids = [gate.id for gate, _compiled in compiled.preconditions] + list(compiled.rules)
        rules = {rule_id: index for index, rule_id in enumerate(dict.fromkeys(rule_ids))}
        found = compiled.trace_positions = (rules, {code: index for index, code in enumerate(compiled.codes)})
    return found


# How a compact trace names the values read: the position of each name in `read_names`, and the
# names listed one level inside each name (`consent` -> ("consent.date", "date"), …), for the values
# left out because they are inside a record read whole.
ReadTable = tuple[dict[str, int], dict[str, tuple[tuple[str, str], ...]]]


def read_positions(compiled: CompiledPolicySet) -> ReadTable:
    """The read table of `read_names`. Made once per policy set."""
    found = compiled.read_positions
    if found is None:
        found = compiled.read_positions = read_table(read_names(compiled))
    return found


def read_table(names: list[str]) -> ReadTable:
    """(name -> its position, name -> the (name, key) pairs one level inside it) of `names`."""
    inside: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        parent, dot, key = name.rpartition(".")
        if dot:
            inside.setdefault(parent, []).append((name, key))
    return {name: index for index, name in enumerate(names)}, {k: tuple(v) for k, v in inside.items()}


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


# What one record of the trace (a rule or a code, with the records under it) gives the compact
# trace, but the values read: the same for every bundle that records it. Made once for a shared
# record (outcomes.SharedRecord, kept on it), anew for a deeper record of a bundle's own.
Part = tuple[
    dict[str, int],  # the rule positions it was made with (the policy set's own dict: checked by identity)
    tuple[tuple[bool, int, str], ...],  # (a code?, its position, its result) per rule or code, in trace order
    str,  # one letter per requirement, in trace order
    tuple[tuple[str, str, Callable[[Any], Any]], ...],  # (name, kind, reader) of each name read, once
]
Columns = tuple[list[int], list[int]]  # by position, each result's number (index + 1) or 0: rules, codes


def compact_trace(ev: Evaluation, recorded: Iterable[Compact], cost: CostSummary | None) -> dict[str, Any]:
    """The compact form of the trace made of `recorded` (rules and codes) then the cost sharing
    (`cost_sharing_node` as `cost_summary` gives it: no nodes are built). The choice and the pricing
    nodes are left out: the decision's billable lines and their `price_source` say the same.

    Most records of a decision (~39 of ~47 on the benchmark bundles) are shared by every bundle
    (outcomes.SharedRecord): each gives its part, made once (results, letters, names read), and
    only the values read are the bundle's own. The others are read here, one loop each."""
    rule_at, code_at = positions(ev.compiled)
    numbers: dict[str, int] = {}  # result -> its index in `results`, plus 1
    columns: Columns = ([0] * len(rule_at), [0] * len(code_at))
    letters: list[str] = []
    reads: dict[str, Any] = {}  # every value read, once per name, in trace order
    records: dict[str, dict[str, Any]] = {}  # those read whole as a record
    env = ev.env
    entries: Iterable[tuple[str, str, Callable[[Any], Any]]]
    for node in recorded:
        if type(node) is SharedRecord:
            part: Part | None = node.compact
            if part is None or part[0] is not rule_at:
                part = node.compact = _part(node, rule_at, code_at)
            for is_code, position, result in part[1]:
                number = numbers.get(result)
                if number is None:
                    number = numbers[result] = len(numbers) + 1
                columns[is_code][position] = number  # evaluated once a decision (later uses are refs)
            letters.append(part[2])
            entries = part[3]
        else:  # a record of the bundle's own: a rule or code, with requirements and refs under it
            result = node[2]
            number = numbers.get(result)
            if number is None:
                number = numbers[result] = len(numbers) + 1
            if node[0] == "rule":
                columns[False][rule_at[node[1].id]] = number
            else:
                columns[True][code_at[node[1].id]] = number
            pending: list[tuple[str, str, Callable[[Any], Any]]] = []
            for child in node[3]:
                tag = child[0]
                if tag == "requirement":
                    value = child[4]
                    letters.append("m" if value is True else ("u" if value is UNKNOWN else "n"))
                    pending += child[2].reads
                elif tag != "ref":  # a ref: the rule itself is listed where it was first evaluated
                    pending += _take(_part(child, rule_at, code_at), numbers, columns, letters)  # (none today)
            entries = pending
        for label, _kind, reader in entries:
            if label not in reads:
                read = reader(env)
                kind = type(read)
                if kind is int or kind is bool or kind is str:
                    reads[label] = read
                elif read is UNKNOWN:
                    reads[label] = MISSING
                else:
                    _read_value(label, json_value(read), reads, records)

    sharing: list[int] = []
    if cost is not None:  # the choice and pricing are in the decision; cost sharing is one node
        cost_results, cost_reads = cost
        for result in cost_results:
            number = numbers.get(result)
            if number is None:
                number = numbers[result] = len(numbers) + 1
            sharing.append(number)
        for label, read in cost_reads:
            if label not in reads:
                _read_value(label, MISSING if read is UNKNOWN else json_value(read), reads, records)
    results = list(numbers)
    out: dict[str, Any] = {
        "form": COMPACT_FORM,
        "version": COMPACT_VERSION,
        "policy_set_hash": ev.compiled.policy_hash,
        "results": results,
        "rules": _marks(columns[False], len(results)),
        "codes": _marks(columns[True], len(results)),
        "requirements": "".join(letters),
    }
    if sharing:
        out["cost_sharing"] = _marks(sharing, len(results))
    _by_position(reads, records, read_positions(ev.compiled), out)
    return out


def _read_value(label: str, value: Any, reads: dict[str, Any], records: dict[str, dict[str, Any]]) -> None:
    """`value` (as JSON) read for `label`: kept, and noted when it is a whole record."""
    reads[label] = value
    if type(value) is dict:
        records[label] = value


def _by_position(
    reads: dict[str, Any], records: dict[str, dict[str, Any]], table: ReadTable, out: dict[str, Any]
) -> None:
    """`read`, `values`, `inside` (and `reads`, for a name the table does not list) into `out`.

    Made with C calls (map, dict.copy, list) but for the few values inside a record: one Python step
    per value read cost ~25 µs a record (a mask of letters, the values sorted by position)."""
    at, inside_of = table
    written = reads  # the values that go into `values`: all but those inside a record read whole
    folded = _folded(reads, records, inside_of) if records else ()
    if folded:
        written = reads.copy()
        for name in folded:
            del written[name]
    try:
        numbers = list(map(at.__getitem__, written))
    except KeyError:  # a name read_names does not list: kept by name (none with the shipped policies)
        out["reads"] = {name: value for name, value in written.items() if name not in at}
        written = {name: value for name, value in written.items() if name in at}
        numbers = list(map(at.__getitem__, written))
    out["read"] = numbers
    out["values"] = list(written.values())
    if folded:
        out["inside"] = sorted(map(at.__getitem__, folded))


def _folded(
    reads: dict[str, Any], records: dict[str, dict[str, Any]], inside_of: dict[str, tuple[tuple[str, str], ...]]
) -> list[str]:
    """The names read whose value is inside a record read whole, when reading it back from the
    record gives this value: a key the record has, or `missing` for one it lacks."""
    folded: list[str] = []
    for parent, record in records.items():
        for name, key in inside_of.get(parent, ()):
            if name in reads:
                value = reads[name]
                if record[key] == value if key in record else value == MISSING:
                    folded.append(name)
    return folded


def _part(top: Compact, rule_at: dict[str, int], code_at: dict[str, int]) -> Part:
    """What `top` and the records under it give the compact trace, in trace order (depth first)."""
    marks: list[tuple[bool, int, str]] = []
    letters: list[str] = []
    entries: dict[str, tuple[str, str, Callable[[Any], Any]]] = {}
    stack = [top]
    while stack:
        node = stack.pop()
        tag = node[0]
        if tag == "requirement":
            value = node[4]
            letters.append("m" if value is True else ("u" if value is UNKNOWN else "n"))
            for entry in node[2].reads:
                entries.setdefault(entry[0], entry)
        elif tag != "ref":  # a ref: the rule itself is listed where it was first evaluated
            is_code = tag != "rule"
            marks.append((is_code, (code_at if is_code else rule_at)[node[1].id], node[2]))
            children = node[3]
            if children:
                stack += children[::-1]  # a reversed tuple: list += takes it whole (reversed() is an iterator)
    return rule_at, tuple(marks), "".join(letters), tuple(entries.values())


def _take(
    part: Part, numbers: dict[str, int], columns: Columns, letters: list[str]
) -> tuple[tuple[str, str, Callable[[Any], Any]], ...]:
    """A part's results and letters added to the decision's (as compact_trace does inline); its reads."""
    for is_code, position, result in part[1]:
        number = numbers.get(result)
        if number is None:
            number = numbers[result] = len(numbers) + 1
        columns[is_code][position] = number
    letters.append(part[2])
    return part[3]


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
