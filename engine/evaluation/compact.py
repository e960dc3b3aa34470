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

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..compile.expr import UNKNOWN
from ..compile.outcomes import Compact
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


def compact_trace(ev: Evaluation, recorded: list[Compact], cost: CostSummary | None) -> dict[str, Any]:
    """The compact form of the trace made of `recorded` (rules and codes) then the cost sharing
    (`costs._node` as `costs._summary` gives it: no nodes are built). The choice and the pricing
    nodes are left out: the decision's billable lines and their `price_source` say the same."""
    rule_at, code_at = positions(ev.compiled)
    numbers: dict[str, int] = {}  # result -> its index in `results`, plus 1
    rules = [0] * len(rule_at)  # by position: the result's number (index + 1), 0 when not evaluated
    codes = [0] * len(code_at)
    letters: list[str] = []
    reads: dict[str, Any] = {}
    env = ev.env

    # One loop with an explicit stack, not a recursive walk: ~100 records a decision, and a call
    # each cost about a third of the compact trace's time (measured: 2,000 bundles, process time).
    stack: list[Compact] = []
    for top in recorded:
        stack.append(top)
        while stack:
            node = stack.pop()
            tag = node[0]
            if tag == "requirement":
                value = node[4]
                letters.append("m" if value is True else ("u" if value is UNKNOWN else "n"))
                for label, _kind, reader in node[2].reads:
                    if label not in reads:
                        read = reader(env)
                        kind = type(read)
                        if kind is int or kind is str or kind is bool:
                            reads[label] = read
                        else:
                            reads[label] = MISSING if read is UNKNOWN else json_value(read)
            elif tag != "ref":  # a ref: the rule itself is listed where it was first evaluated
                result = node[2]
                number = numbers.get(result)
                if number is None:
                    number = numbers[result] = len(numbers) + 1
                # a rule or code is evaluated once a decision (later uses are refs)
                if tag == "rule":
                    rules[rule_at[node[1].id]] = number
                else:
                    codes[code_at[node[1].id]] = number
                children = node[3]
                if children:
                    stack += children[::-1]  # a reversed tuple: list += takes it whole (reversed() is an iterator)

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
                reads[label] = MISSING if read is UNKNOWN else json_value(read)
    results = list(numbers)
    out: dict[str, Any] = {
        "form": COMPACT_FORM,
        "version": COMPACT_VERSION,
        "policy_set_hash": ev.compiled.policy_hash,
        "results": results,
        "rules": _marks(rules, len(results)),
        "codes": _marks(codes, len(results)),
        "requirements": "".join(letters),
    }
    if sharing:
        out["cost_sharing"] = _marks(sharing, len(results))
    out["reads"], missing = _fold_reads(reads)
    if missing:
        out["missing"] = missing
    return out


# byte -> its mark: 0 -> NOT_EVALUATED, 1-62 -> DIGITS (a result's index + 1)
_MARK_OF_BYTE = (NOT_EVALUATED + DIGITS).encode("ascii").ljust(256, b"?")


def _marks(numbers: list[int], distinct: int) -> str | list[int]:
    """One character per number (index + 1; 0 is `.`: not evaluated); past 62 results, the indexes
    themselves (-1: not evaluated)."""
    if distinct > len(DIGITS):
        return [number - 1 for number in numbers]
    # the numbers as bytes, translated: one C call each (a join of one str per number cost ~7 µs)
    return bytes(numbers).translate(_MARK_OF_BYTE).decode("ascii")


def _fold_reads(reads: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the values read, less those inside a record read whole; the names read but missing)."""
    records = {name: value for name, value in reads.items() if type(value) is dict}
    kept: dict[str, Any] = {}
    missing: list[str] = []
    for name, value in reads.items():
        if records:
            parent, _dot, key = name.rpartition(".")
            record = records.get(parent)
            # left out only when reading it back gives this value: a key it has, or `missing` for one it lacks
            if record is not None and (record[key] == value if key in record else value == MISSING):
                continue
        if type(value) is str and value == MISSING:
            missing.append(name)
        else:
            kept[name] = value
    return kept, missing


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
