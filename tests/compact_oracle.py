"""The compact trace as it was first written (a walk over every record of the decision, each
value read and folded afterwards): the oracle that tests/test_compact_parts.py holds the product's
faster algorithm (engine/evaluation/compact.py, parts cached on shared records) to, byte for byte.
Kept here, not in the product."""

from __future__ import annotations

from typing import Any

from carepolicy.engine.compile.outcomes import Compact
from carepolicy.engine.compile.runtime import UNKNOWN
from carepolicy.engine.decision.trace_nodes import json_value
from carepolicy.engine.evaluation.compact import (
    COMPACT_FORM,
    COMPACT_VERSION,
    MISSING,
    _marks,
    positions,
    read_positions,
)
from carepolicy.engine.evaluation.cost_sharing_trace import CostSummary
from carepolicy.engine.evaluation.rules import Evaluation


def oracle_compact_trace(ev: Evaluation, recorded: list[Compact], cost: CostSummary | None) -> dict[str, Any]:
    rule_at, code_at = positions(ev.compiled)
    numbers: dict[str, int] = {}
    rules = [0] * len(rule_at)
    codes = [0] * len(code_at)
    letters: list[str] = []
    reads: dict[str, Any] = {}
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
                        read = reader(ev.env)
                        kind = type(read)
                        if kind is int or kind is str or kind is bool:
                            reads[label] = read
                        else:
                            reads[label] = MISSING if read is UNKNOWN else json_value(read)
            elif tag != "ref":
                result = node[2]
                number = numbers.get(result)
                if number is None:
                    number = numbers[result] = len(numbers) + 1
                if tag == "rule":
                    rules[rule_at[node[1].id]] = number
                else:
                    codes[code_at[node[1].id]] = number
                stack += node[3][::-1]
    sharing: list[int] = []
    if cost is not None:
        cost_results, cost_entries, cost_values = cost
        cost_reads = [(entry[0], value) for entry, value in zip(cost_entries, cost_values, strict=True)]
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
    at = read_positions(ev.compiled)[0]
    folded = [name for name, value in reads.items() if name in at and _oracle_inside(name, value, reads)]
    listed = [name for name in reads if name in at and name not in folded]
    out["read"] = [at[name] for name in listed]
    out["values"] = [reads[name] for name in listed]
    if folded:
        out["inside"] = sorted(at[name] for name in folded)
    outside = {name: value for name, value in reads.items() if name not in at}
    if outside:
        out["reads"] = outside
    return out


def _oracle_inside(name: str, value: Any, reads: dict[str, Any]) -> bool:
    """Inside a record read whole, which gives this value back (a key it lacks: `missing`)."""
    parent, _dot, key = name.rpartition(".")
    record = reads.get(parent)
    return type(record) is dict and (record[key] == value if key in record else value == MISSING)
