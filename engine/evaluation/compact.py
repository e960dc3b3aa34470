"""The compact trace: what evaluation recorded, without what the policy set already says.

The full trace repeats, for every rule and requirement, its title, citations and source line:
text that is the same for every bundle and is in the policy set. The compact trace keeps only what
this bundle made of it, and names the policy set by its hash, so that a rule or code can be named
by its position in that policy set instead of its id. With the bundle and the same policy set,
`carepolicy explain` turns it back into the full trace, byte for byte (it decides the bundle again
and checks that it gives this record). Form, version 2 (docs/reference/decision-format.md):

    {"form": "compact", "version": 2, "policy_set_hash": "…",
     "results": ["met", "unmet", …],    the distinct results, in the order the trace first shows them
     "rules": "01.1…", "codes": "..3…", one character per rule (preconditions first) and per code of
                                        the policy set, in its order: the result's index in `results`
                                        (0-9, a-z, A-Z), `.` when it was not evaluated
     "cost_sharing": "43333",           the cost-sharing node's result, then each clause's, likewise
     "requirements": "mmnu…",           one letter per requirement node, in trace order
     "reads": {"name": value, …},       every value read, once per name, except those below
     "missing": ["name", …]}            names read but not recorded in the bundle (value "missing")

A value inside a record that was read whole (`consents.ccm.date` beside `consents.ccm`) is left
out: `read_values` gives it back. Version 1 listed every id under its result: 2.75 kB median on
the benchmark bundles, 1.3 kB of it rule ids; by position it is one byte a rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..compile.outcomes import Compact, SharedRecord
from ..compile.runtime import UNKNOWN
from ..decision.model import json_value

if TYPE_CHECKING:
    from ..compile.policy_set import CompiledPolicySet
    from .costs import CostSummary
    from .rules import Evaluation

COMPACT_FORM = "compact"
COMPACT_VERSION = 2
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
    (`costs._node` as `costs._summary` gives it: no nodes are built). The choice and the pricing
    nodes are left out: the decision's billable lines and their `price_source` say the same.

    Most records of a decision (~39 of ~47 on the benchmark bundles) are shared by every bundle
    (outcomes.SharedRecord): each gives its part, made once (results, letters, names read), and
    only the values read are the bundle's own. The others are read here, one loop each."""
    rule_at, code_at = positions(ev.compiled)
    numbers: dict[str, int] = {}  # result -> its index in `results`, plus 1
    columns: Columns = ([0] * len(rule_at), [0] * len(code_at))
    letters: list[str] = []
    reads: dict[str, Any] = {}  # every value read, once per name, in trace order
    missing: list[str] = []  # the names among them read as `missing`, in the same order
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
                if kind is int or kind is bool:
                    reads[label] = read
                elif kind is str:
                    reads[label] = read
                    if read == MISSING:
                        missing.append(label)
                elif read is UNKNOWN:
                    reads[label] = MISSING
                    missing.append(label)
                else:
                    _read_value(label, json_value(read), reads, missing, records)

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
                _read_value(label, MISSING if read is UNKNOWN else json_value(read), reads, missing, records)
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
    if records:
        _fold_reads(reads, records)
    if missing:
        missing = [name for name in missing if name in reads] if records else missing  # less those folded
        for name in missing:
            del reads[name]
    out["reads"] = reads
    if missing:
        out["missing"] = missing
    return out


def _read_value(
    label: str, value: Any, reads: dict[str, Any], missing: list[str], records: dict[str, dict[str, Any]]
) -> None:
    """`value` (as JSON) read for `label`: kept, and noted when it is `missing` or a whole record."""
    reads[label] = value
    if type(value) is dict:
        records[label] = value
    elif type(value) is str and value == MISSING:
        missing.append(label)


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


def _fold_reads(reads: dict[str, Any], records: dict[str, dict[str, Any]]) -> None:
    """Leaves out of `reads` each value inside a record read whole, when reading it back from the
    record gives this value: a key the record has, or `missing` for one it lacks."""
    parents = _PARENTS
    for name, value in list(reads.items()):
        found = parents.get(name)
        if found is None:
            parent, _dot, key = name.rpartition(".")
            found = (parent, key)
            if len(parents) < _PARENTS_LIMIT:
                parents[name] = found
        record = records.get(found[0])
        if record is not None:
            key = found[1]
            if record[key] == value if key in record else value == MISSING:
                del reads[name]


# name read -> (the name of the record it is in, its key): `name.rpartition(".")`, kept because the
# same few hundred names of a policy set are read by every bundle. Bounded: past _PARENTS_LIMIT
# names (a process that loads many policy sets) the others are split each time.
_PARENTS: dict[str, tuple[str, str]] = {}
_PARENTS_LIMIT = 20_000


# ------------------------------------------------------------------------------------- reading it back


def read_values(trace: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The value of each of `names` read, as the full trace shows it: kept, missing, or inside a
    record read whole. (`names` are the names the policy set's conditions read: a value left out
    because it is inside a record is named nowhere else in the compact trace.)"""
    reads: dict[str, Any] = dict(trace["reads"])
    reads.update(dict.fromkeys(trace.get("missing", ()), MISSING))

    def look_up(name: str) -> Any:
        if name in reads:
            return reads[name]
        parent, _dot, key = name.rpartition(".")
        record = look_up(parent) if parent else None
        return record.get(key, MISSING) if isinstance(record, dict) else None

    out: dict[str, Any] = {}
    for name in names:
        value = look_up(name)
        if value is not None:
            out[name] = value
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
