"""A trace record in its JSON form, with the values read and the `ref` children written by the caller:
`Evaluation.trace_json` (rules.py) writes them as the bundle read and decided them; the full trace's
templates (full_trace.py) write a marker for each, to cut a shared record's canonical bytes at them.
One walk for both, so that a template is always the dict path's own output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..compile.outcomes import Compact
from ..compile.runtime import UNKNOWN
from ..decision.model import node_json

Entry = tuple[str, str, Any]  # a value read: (label, kind, reader)


def record_json(node: Compact, read: Callable[[Entry], Any], ref: Callable[[str], Any]) -> Any:
    """A trace record (and the records under it) in its JSON form, with each value read written by
    `read` and each `ref` child by `ref`: `Evaluation.trace_json` gives them as the bundle read and
    decided them; full_trace.py gives a marker for each, to cut a shared record's template."""
    tag = node[0]
    if tag == "requirement":
        _tag, owner, condition, location, value = node
        result = "met" if value is True else ("unknown" if value is UNKNOWN else "not met")
        obj = node_json("requirement", owner.id, condition.text, (), location, result)
        if condition.reads:
            obj["reads"] = [read(entry) for entry in condition.reads]
        return obj
    if tag == "ref":
        return ref(node[1])
    kind, header, result, children = node
    obj = node_json(kind, header.id, header.title, header.cites, header.source, result)
    if children:
        obj["children"] = [record_json(child, read, ref) for child in children]
    return obj


def ref_json(record: Compact) -> dict[str, Any]:
    """What a `ref` child to the rule whose trace record is `record` writes."""
    header = record[1]
    return node_json("rule ref", header.id, header.title, (), header.source, record[2])
