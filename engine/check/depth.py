"""Check stage `check_depth`: how deep evaluation can go, through definitions and required rules.

The parser bounds the nesting of one expression (language/limits.py). A definition can use
another, and a rule can require another, so evaluation also goes as deep as the longest chain of
those. Every later phase follows such chains recursively (the resolver, the month plan's rule
functions, both expression backends at evaluation), so the checker bounds the whole path:
`MAX_DEPTH` levels, counting each expression level, each definition used and each rule required
(a rule counts `RULE_WEIGHT`: evaluating one takes a few calls). One diagnostic is given where a
chain first goes past the limit. Everything here is iterative: a chain of any length is measured
without recursion.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..language import syntax as s
from ..language.limits import MAX_DEPTH
from .resolution import Resolution

RULE_WEIGHT = 3
Node = tuple[str, str]  # ("define" | "rule" | another declaration kind, id)


def _node(decl: s.Declaration) -> Node:
    if isinstance(decl, s.Define):
        return ("define", decl.id)
    return ("rule", decl.id) if isinstance(decl, s.Rule | s.Precondition) else (decl.kind, decl.id)


def _levels(expr: s.Expr, resolution: Resolution) -> tuple[int, list[tuple[int, str, str]]]:
    """(depth of `expr`, [(level, kind, target) of each definition or rule it names])."""
    deepest = 0
    found: list[tuple[int, str, str]] = []
    stack: list[tuple[s.Expr, int]] = [(expr, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(node, s.Name):
            ref = resolution.refs.get(id(node))
            if ref is not None and ref.kind in ("define", "rule"):
                found.append((level, ref.kind, ref.target))
        stack.extend((child, level + 1) for child in s.children(node))
    return deepest, found


Graph = dict[Node, tuple[int, list[tuple[int, Node]]]]


def _graph(declarations: list[s.Declaration], resolution: Resolution) -> Graph:
    """For each declaration: its own depth and the (level, node) of every definition or rule it uses."""
    graph: Graph = {}
    for decl in declarations:
        own, uses = graph.get(_node(decl), (0, []))
        for top in s.expressions_of(decl):
            depth, refs = _levels(top, resolution)
            own = max(own, depth)
            uses.extend(
                (level + (RULE_WEIGHT if kind == "rule" else 0), (kind, target)) for level, kind, target in refs
            )
        graph[_node(decl)] = (own, uses)
    return graph


def depths(graph: Graph) -> dict[Node, int]:
    """The evaluation depth of every definition and rule (a post-order walk with an explicit stack;
    a cycle, reported by `check_cycles`, counts as depth 0 where it closes)."""
    done: dict[Node, int] = {}
    on_path: set[Node] = set()
    for start in graph:
        if start in done:
            continue
        stack: list[tuple[Node, bool]] = [(start, False)]
        while stack:
            node, expanded = stack.pop()
            own, uses = graph.get(node, (0, []))
            if expanded:
                on_path.discard(node)
                done[node] = max([own, *(level + done.get(target, 0) for level, target in uses)])
                continue
            if node in done or node in on_path:
                continue
            on_path.add(node)
            stack.append((node, True))
            stack.extend((target, False) for _, target in uses if target not in done and target in graph)
    return done


def check_depth(declarations: list[s.Declaration], resolution: Resolution) -> list[Diagnostic]:
    """One diagnostic where each chain first goes past `MAX_DEPTH`."""
    graph = _graph(declarations, resolution)
    found = depths(graph)
    out: list[Diagnostic] = []
    for decl in declarations:
        node = _node(decl)
        if found.get(node, 0) <= MAX_DEPTH:
            continue
        _, uses = graph[node]
        if any(found.get(target, 0) > MAX_DEPTH for _, target in uses):
            continue  # reported where the chain first went past the limit
        out.append(
            Diagnostic(
                "check/too-deep",
                f"{decl.kind} `{decl.id}` is {found[node]} levels deep through the definitions and rules it uses;"
                f" the limit is {MAX_DEPTH}",
                span=decl.span,
                help="use fewer definitions or rules in a chain, or simpler expressions; see docs/language.md, Limits",
            )
        )
    return out
