"""The why-tree of a decision's text form (`--explain`): every rule, requirement and value read.

Words are a biller's, not the engine's: a requirement reads "requires", a rule used again reads
"uses rule ... (above)", "unmet" reads "not met". The JSON trace keeps the engine's kinds and
results (docs/reference/decision-format.md); this is only how they are shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from .trace_nodes import Read, TraceNode

__all__ = ["render_trace"]

_PASS, _FAIL, _OTHER = "✔", "✘", "·"
_FAILED = frozenset({"not met", "unmet", "unknown", "not valid"})
_PASSED = frozenset({"met", "applies", "shared"})
_KIND_WORDS = {
    "rule": "rule",
    "rule ref": "uses rule",
    "requirement": "requires",
    "code": "code",
    "choose": "coding choice",
    "pricing": "price of",
    "cost sharing": "cost sharing",
    "clause": "clause",
}
_RESULT_WORDS = {"unmet": "not met", "unknown": "unknown: a value it needs is not recorded"}


def render_trace(nodes: Iterable[TraceNode]) -> list[str]:
    items = list(nodes)
    out: list[str] = []
    for i, node in enumerate(items):
        _tree(node, "", i == len(items) - 1, out)
    return out


def _mark(result: str) -> str:
    if result in _FAILED:
        return _FAIL
    if (
        result in _PASSED
        or result.startswith("valid")
        or (result.startswith("chose ") and not result.startswith("chose nothing"))
    ):
        return _PASS
    return _OTHER


def show_value(value: Any) -> str:
    """A value read by a rule, as the policy language writes it; sets and lists in a stable order."""
    if value is True or value is False:
        return "true" if value else "false"
    if value is None:
        return "null"
    if value == "missing":
        return "not recorded"
    if isinstance(value, Decimal):
        return format(value, "f")  # as json_value writes it: positional, never `0E-9`
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(sorted(show_value(v) for v in value)) + "}"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: str(kv[0]))
        return "{" + ", ".join(f"{k}: {show_value(v)}" for k, v in items) + "}"
    return str(value)


def _read(read: Read) -> str:
    return f"{read.name} = {show_value(read.value)}" + (f" (as of {read.as_of})" if read.as_of else "")


def _label(node: TraceNode) -> str:
    kind = _KIND_WORDS.get(node.kind, node.kind)
    parts = [_mark(node.result), kind, node.id]
    if node.kind == "requirement":  # the id is its owner's, already on the line above
        parts = [_mark(node.result), kind]
    if node.title and node.title != node.id:
        parts.append(f'"{node.title}"')
    result = _RESULT_WORDS.get(node.result, node.result)
    text = " ".join(parts) + f": {result}"
    if node.kind == "rule ref":
        text += " (see the rule above)"
    if node.source:
        text += f" [{node.source}]"
    if node.cites:
        text += f" cites {'; '.join(node.cites)}"
    return text


def _tree(node: TraceNode, prefix: str, last: bool, out: list[str]) -> None:
    out.append(f"{prefix}{'└─ ' if last else '├─ '}{_label(node)}")
    inner = prefix + ("   " if last else "│  ")
    out.extend(_lines_under(inner + ("│ " if node.children else "  "), (_read(r) for r in node.reads)))
    for i, child in enumerate(node.children):
        _tree(child, inner, i == len(node.children) - 1, out)


def _lines_under(prefix: str, texts: Iterable[str]) -> list[str]:
    return [f"{prefix}{text}".rstrip() for text in texts]
