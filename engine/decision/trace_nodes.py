"""The trace of a decision: its nodes, the `Trace` that builds them on first use, and their JSON form.

Evaluation records what each rule read and decided (evaluation/rules.py, full_trace.py, compact.py);
the decision keeps it as a `Trace`, which builds the tree of `TraceNode`s only when something reads
it. The nodes' JSON helpers (`trace_node_json`, `node_json`, `json_value` for a read value) live
here with the nodes, below the decision model that imports this module for `Decision.trace`:
`Trace.json()` writes the nodes, and evaluation writes its records with the same helpers. Plain
data that imports nothing of the engine, so a base module (tests/test_layers.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Read:
    """A value a rule read: a fact, a definition, a parameter (with the date it was read for)."""

    name: str
    value: Any
    as_of: str | None = None


@dataclass(frozen=True, slots=True)
class TraceNode:
    kind: str  # code | rule | requirement | exclusion | exclusive | exception | choose | pricing | cost sharing
    id: str
    title: str
    cites: tuple[str, ...]
    source: str
    result: str
    reads: tuple[Read, ...] = ()
    children: tuple[TraceNode, ...] = ()


class Trace:
    """The trace of a decision, built on first use from what evaluation recorded.

    Behaves as a tuple of top-level TraceNodes (iterate it, index it, compare it).
    """

    __slots__ = ("_build", "_build_compact", "_build_json", "_build_pieces", "_nodes")

    def __init__(
        self,
        build: Callable[[], tuple[TraceNode, ...]],
        build_json: Callable[[], list[dict[str, Any]]] | None = None,
        build_compact: Callable[[], dict[str, Any]] | None = None,
        build_pieces: Callable[[], list[bytes | memoryview]] | None = None,
    ) -> None:
        self._build: Callable[[], tuple[TraceNode, ...]] | None = build
        self._build_json = build_json
        self._build_compact = build_compact
        self._build_pieces = build_pieces
        self._nodes: tuple[TraceNode, ...] | None = None

    def compact(self) -> dict[str, Any] | None:
        """The compact trace (engine/evaluation/compact.py), or None when this trace cannot give one."""
        return self._build_compact() if self._build_compact is not None else None

    def json(self) -> list[dict[str, Any]]:
        """The trace's JSON form (docs/reference/decision-format.md). Written straight from what
        evaluation recorded when it can: the same output as converting the nodes, without them."""
        if self._build_json is not None and self._nodes is None:
            return self._build_json()
        return [trace_node_json(node) for node in self.nodes]

    def json_parts(self) -> list[bytes | memoryview] | None:
        """The canonical bytes of `json()` (keys sorted, as orjson writes them), in parts to be joined
        into the decision's line (evaluation/full_trace.py: the shared records from their kept
        templates); None when this trace cannot give them (the caller serialises `json()`). Used by
        `to_json_bytes` alone; may raise `orjson.JSONEncodeError` for what orjson refuses (the
        caller then writes `json()` as `canonical_bytes` does)."""
        if self._build_pieces is not None and self._nodes is None:
            return self._build_pieces()
        return None

    @property
    def nodes(self) -> tuple[TraceNode, ...]:
        if self._nodes is None:
            assert self._build is not None
            self._nodes, self._build = self._build(), None
        return self._nodes

    def __iter__(self) -> Iterator[TraceNode]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, index: int) -> TraceNode:
        return self.nodes[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Trace):
            return self.nodes == other.nodes
        return isinstance(other, tuple) and self.nodes == other

    __hash__ = None  # type: ignore[assignment]  # mutable cache inside; never a dict key

    def __repr__(self) -> str:
        return f"Trace({len(self.nodes)} nodes)"


# ---------------------------------------------------------------- JSON


_LEAVES = frozenset({str, bool, int, type(None)})  # the types json_value gives back as they are
_STR_ONLY = frozenset({str})


def json_value(value: Any) -> Any:
    # the usual leaves first, by exact type; then isinstance with tuples of types, not `set |
    # frozenset`: a union is a new object each time it is evaluated (measured with callgrind)
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:
        return value
    # a record (the usual value that is not a leaf: a consent read whole), before the isinstance
    # tests; inside it, a leaf is kept without a call, and `str(k)` of a str key is the key itself
    # (json_value of a record of four leaves: 11,200 instructions before, 7,300 so; callgrind)
    if kind is dict:
        # all leaves under str keys (the usual record): a copy made in C, the same items (timeit: 0.86
        # µs for a consent of five, against 1.37 for the comprehension; ~2.4 records a decision)
        if _LEAVES.issuperset(map(type, value.values())) and _STR_ONLY.issuperset(map(type, value)):
            return value.copy()
        return {k if type(k) is str else str(k): v if type(v) in _LEAVES else json_value(v) for k, v in value.items()}
    if isinstance(value, Decimal):  # positional: an amount written `0.000000000` or `1e1` read
        text = str(value)  # as "0.000000000" and "10", not str()'s "0E-9" and "1E+1" (str() first:
        return format(value, "f") if "E" in text else text  # format() costs ~3x more, for the rare one)
    if isinstance(value, (frozenset, set)):
        return sorted(json_value(v) for v in value)
    if isinstance(value, (tuple, list)):
        return [v if type(v) in _LEAVES else json_value(v) for v in value]
    if isinstance(value, dict):
        return {k if type(k) is str else str(k): v if type(v) in _LEAVES else json_value(v) for k, v in value.items()}
    if isinstance(value, (bool, int, str)):  # subclasses (an IntEnum, say): the exact types are above
        return value
    return repr(value)  # UNKNOWN and code sets print as the language writes them


def fresh_json(value: Any) -> Any:
    """A copy of what `json_value` gave, its dicts and lists new (leaves are immutable)."""
    if type(value) is dict:
        return {k: v if type(v) in _LEAVES else fresh_json(v) for k, v in value.items()}
    if type(value) is list:
        return [v if type(v) in _LEAVES else fresh_json(v) for v in value]
    return value


def node_json(kind: str, node_id: str, title: str, cites: tuple[str, ...], source: str, result: str) -> dict[str, Any]:
    """The fields every trace node has, in its JSON form (shared by both ways the trace is written)."""
    return {"kind": kind, "id": node_id, "title": title, "cites": list(cites), "source": source, "result": result}


def trace_node_json(node: TraceNode) -> dict[str, Any]:
    obj = node_json(node.kind, node.id, node.title, node.cites, node.source, node.result)
    if node.reads:
        obj["reads"] = [
            {"name": r.name, "value": json_value(r.value), **({"as_of": r.as_of} if r.as_of else {})}
            for r in node.reads
        ]
    if node.children:
        obj["children"] = [trace_node_json(c) for c in node.children]
    return obj
