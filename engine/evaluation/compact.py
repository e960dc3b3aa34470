"""The compact trace: what evaluation recorded, without what the policy set already says.

The full trace repeats, for every rule and requirement, its title, citations and source line:
text that is the same for every bundle and is in the policy set. The compact trace keeps only what
this bundle made of it: every rule, code and clause evaluated (its id, listed under its result, in
trace order), the result of every requirement (one letter each, in trace order) and every value a
condition read (once per name; a parameter's date is the month's, as in the full trace). With the bundle and the
same policy set, `carepolicy explain` turns it back into the full trace, byte for byte (it decides
the bundle again and checks that it gives this record).

Form (docs/reference/decision-format.md):

    {"form": "compact", "policy_set_hash": "…", "results": {"met": ["rule id", …], "unmet": […], …,
       "not evaluated: precondition not met": {"precondition id": ["code", …]}},
     "requirements": "mmnu…", "reads": {"name": value, …}}

Ids are grouped under their result because a few results repeat over most rules (`met`, `unmet`,
`not evaluated: precondition … not met`): listed once each, the benchmark bundles' compact traces
stay under 2 kB (one pair per rule was 2.6 kB).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..compile.expr import UNKNOWN
from ..compile.outcomes import Compact
from ..decision.model import TraceNode, json_value

if TYPE_CHECKING:
    from .rules import Evaluation

COMPACT_FORM = "compact"
# Nodes whose result the decision itself states: the choice is its billable codes, a pricing
# node's result is its line's `price_source`. Listing them again cost ~400 bytes a billed decision.
# "not evaluated: precondition ID not met" is most of the distinct results (one per precondition):
# those codes are listed by ID under one key, which keeps the benchmark bundles' traces under 2 kB.
_PRECONDITION, _NOT_MET = "not evaluated: precondition ", " not met"
_SKIPPED = "not evaluated: precondition not met"
_IN_THE_DECISION = frozenset({"rule ref", "choose", "pricing"})


def compact_trace(ev: Evaluation, recorded: list[Compact], tail: list[TraceNode]) -> dict[str, Any]:
    """The compact form of the trace made of `recorded` (rules and codes) then `tail` (the choice,
    pricing and cost sharing, already nodes)."""
    results: dict[str, Any] = {}
    skipped: dict[str, list[str]] = {}  # codes not evaluated, by the result that says which precondition
    letters: list[str] = []
    reads: dict[str, Any] = {}
    env = ev.env

    def add(node_id: str, result: str) -> None:
        ids = results.get(result)
        if ids is None:
            results[result] = [node_id]
        else:
            ids.append(node_id)

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
                            reads[label] = "missing" if read is UNKNOWN else json_value(read)
            elif tag != "ref":  # a ref: the rule itself is listed where it was first evaluated
                header, result, children = node[1], node[2], node[3]
                if result.startswith(_PRECONDITION) and result.endswith(_NOT_MET):
                    by_rule = skipped.get(result)
                    if by_rule is None:
                        by_rule = skipped[result] = []
                    by_rule.append(header.id)
                else:
                    add(header.id, result)
                if children:
                    stack.extend(reversed(children))

    def walk_node(node: TraceNode) -> None:
        if node.kind == "requirement":
            letters.append({"met": "m", "not met": "n"}.get(node.result, "u"))
        elif node.kind not in _IN_THE_DECISION:
            add(node.id, node.result)
        for read in node.reads:
            reads.setdefault(read.name, json_value(read.value))
        for child in node.children:
            walk_node(child)

    for tail_node in tail:
        walk_node(tail_node)
    if skipped:
        cut = len(_PRECONDITION), -len(_NOT_MET)
        results[_SKIPPED] = {result[cut[0] : cut[1]]: ids for result, ids in skipped.items()}
    return {
        "form": COMPACT_FORM,
        "policy_set_hash": ev.compiled.policy_hash,
        "results": results,
        "requirements": "".join(letters),
        "reads": reads,
    }
