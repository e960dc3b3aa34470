"""The compact trace: what evaluation recorded, without what the policy set already says.

The full trace repeats, for every rule and requirement, its title, citations and source line:
text that is the same for every bundle and is in the policy set. The compact trace keeps only what
this bundle made of it: every rule, code and clause evaluated (its id, listed under its result, in
trace order), the result of every requirement (one letter each, in trace order) and every value a
condition read (once per name; a parameter's date is the month's, as in the full trace). With the bundle and the
same policy set, `carepolicy explain` turns it back into the full trace, byte for byte (it decides
the bundle again and checks that it gives this record).

Form (docs/reference/decision-format.md):

    {"form": "compact", "policy_set_hash": "…", "results": {"met": ["rule id", …], "unmet": […], …},
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
_LETTER = {True: "m"}  # a requirement met; "n" not met, "u" unknown (a fact it needs is missing)


def compact_trace(ev: Evaluation, recorded: list[Compact], tail: list[TraceNode]) -> dict[str, Any]:
    """The compact form of the trace made of `recorded` (rules and codes) then `tail` (the choice,
    pricing and cost sharing, already nodes)."""
    results: dict[str, list[str]] = {}
    letters: list[str] = []
    reads: dict[str, Any] = {}
    env = ev.env

    def add(node_id: str, result: str) -> None:
        ids = results.get(result)
        if ids is None:
            results[result] = [node_id]
        else:
            ids.append(node_id)

    def walk(node: Compact) -> None:
        tag = node[0]
        if tag == "requirement":
            condition, value = node[2], node[4]
            letters.append(_LETTER.get(value, "u" if value is UNKNOWN else "n"))
            for label, _kind, reader in condition.reads:
                if label not in reads:
                    read = reader(env)
                    shown = "missing" if read is UNKNOWN else json_value(read)
                    reads[label] = shown
            return
        if tag == "ref":  # the rule itself is listed where it was first evaluated
            return
        _kind, header, result, children = node
        add(header.id, result)
        for child in children:
            walk(child)

    def walk_node(node: TraceNode) -> None:
        if node.kind == "requirement":
            letters.append({"met": "m", "not met": "n"}.get(node.result, "u"))
        elif node.kind != "rule ref":
            add(node.id, node.result)
        for read in node.reads:
            reads.setdefault(read.name, json_value(read.value))
        for child in node.children:
            walk_node(child)

    for node in recorded:
        walk(node)
    for tail_node in tail:
        walk_node(tail_node)
    return {
        "form": COMPACT_FORM,
        "policy_set_hash": ev.compiled.policy_hash,
        "results": results,
        "requirements": "".join(letters),
        "reads": reads,
    }
