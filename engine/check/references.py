"""Check stages about what refers to what: `check_citations` (every declaration cites a declared
source, every parameter value names its source), `check_cycles` (no definition uses itself) and
`check_unused` (every definition, parameter, switch, rule and source is used). Each is a small
function `(CheckContext) -> list[Diagnostic]`.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, Severity, did_you_mean
from ..language import syntax as s
from ..language.clauses import CodeRef
from ..source import Span
from .context import CheckContext, names_used
from .selections import field_names

# ---------------------------------------------------------------- citations


def check_citations(ctx: CheckContext) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    sources = ctx.index.sources
    for decl in ctx.index.declarations():
        if not decl.cites and not decl.assumptions:
            out.append(
                Diagnostic(
                    "check/missing-cite",
                    f"{decl.kind} `{decl.id}` has no citation",
                    span=decl.span,
                    help='add a line `cite TAG "where in the source"` naming a declared source, '
                    'or `assumption "why"` when the reference does not state it',
                )
            )
        cites = list(decl.cites)
        if isinstance(decl, s.Parameter):
            cites.extend(v.cite for v in decl.values if v.cite is not None)
        for cite in cites:
            if cite.source not in sources:
                out.append(
                    Diagnostic(
                        "check/unknown-source",
                        f"`{cite.source}` is not a declared source",
                        span=cite.span,
                        help=did_you_mean(cite.source, sources) or 'declare it with `source TAG "title"`',
                    )
                )
        if isinstance(decl, s.Parameter):
            out.extend(_values_without_source(decl))
    return out


def _values_without_source(decl: s.Parameter) -> list[Diagnostic]:
    """A dated value with no `from TAG "where"` states a figure nobody can look up: the
    declaration's own `cite` says where the parameter is defined, not where each year's amount is
    (the shipped deductible cites S88 for the parameter and S90, S92 for the 2025, 2026 values).

    A parameter with an `assumption` is exempt: a value the reference does not state cannot carry
    an honest `from`, and its assumption (which `check` lists and decisions quote) is the place
    that says why the value is what it is. A warning, not an error, like `check/unused`: the
    value is still well defined, only unaccounted for."""
    if decl.assumptions:
        return []
    return [
        Diagnostic(
            "check/value-without-source",
            f"value of parameter `{decl.id}` effective {value.effective} names no source: "
            '`from TAG "where"` was expected after its dates',
            span=value.span,
            severity=Severity.WARNING,
            help='end the line with `from S<n> "<where in the source>"` naming the declared source that states '
            'this value, or give the parameter an `assumption "why"` when the reference does not state it',
        )
        for value in decl.values
        if value.cite is None
    ]


# ---------------------------------------------------------------- cycles


def check_cycles(ctx: CheckContext) -> list[Diagnostic]:
    graph: dict[str, list[str]] = {}
    spans: dict[str, Span] = {}
    for decl in ctx.index.declarations():
        if isinstance(decl, s.Define | s.Rule | s.Precondition):
            graph.setdefault(decl.id, []).extend(sorted(names_used(ctx, decl)))
            spans.setdefault(decl.id, decl.span)
    out: list[Diagnostic] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    reported: set[frozenset[str]] = set()

    def report(cycle: list[str]) -> None:
        key = frozenset(cycle)
        if key not in reported:
            reported.add(key)
            out.append(
                Diagnostic(
                    "check/cycle",
                    "definitions depend on themselves: " + " -> ".join(cycle),
                    span=spans[cycle[-1]],
                    help="a definition may not use itself, directly or through others",
                )
            )

    # Depth first with an explicit stack (a chain of thousands of definitions must not overflow
    # Python's): each entry is a node and the index of the next successor to look at.
    for root in sorted(graph):
        if root in state:
            continue
        path: list[str] = [root]
        state[root] = 1
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, next_index = stack[-1]
            successors = graph.get(node, ())
            if next_index == len(successors):
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            stack[-1] = (node, next_index + 1)
            succ = successors[next_index]
            if state.get(succ) == 1:
                report([*path[path.index(succ) :], succ])
            elif state.get(succ) is None and succ in graph:
                state[succ] = 1
                path.append(succ)
                stack.append((succ, 0))
    return out


# ---------------------------------------------------------------- unused


def check_unused(ctx: CheckContext) -> list[Diagnostic]:
    used = set(ctx.resolution.uses)
    for decl in ctx.index.declarations():
        if isinstance(decl, s.Exception_):
            used.add(decl.target)
    cited = {c.source for d in ctx.index.declarations() for c in d.cites}
    cited |= {v.cite.source for p in ctx.index.parameters.values() for v in p.values if v.cite}
    out: list[Diagnostic] = []
    for decl in ctx.index.declarations():
        if isinstance(decl, s.Define | s.Parameter | s.Switch | s.Rule) and decl.id not in used:
            out.append(
                Diagnostic(
                    "check/unused",
                    f"{decl.kind} `{decl.id}` is never used",
                    span=decl.span,
                    severity=Severity.WARNING,
                    help="remove it, or require it where it applies",
                )
            )
    out.extend(_programs_of_one_misspelt_code(ctx))
    for tag, source in ctx.index.sources.items():
        if tag not in cited:
            out.append(
                Diagnostic(
                    "check/unused",
                    f"source `{tag}` is never cited",
                    span=source.span,
                    severity=Severity.WARNING,
                    help="remove it, or cite it where it applies",
                )
            )
    return out


def _programs_of_one_misspelt_code(ctx: CheckContext) -> list[Diagnostic]:
    """A program of one code that nothing names (no precondition, code list or coding order),
    spelt like another program: `program rpmm` made a program of its own, and the code escapes
    its real program's preconditions, exclusions and coding order, silently."""
    named = {d.program for d in ctx.index.of_kind(s.Precondition) if isinstance(d, s.Precondition) and d.program}
    for decl in ctx.index.declarations():
        named |= {ref.low for ref in _code_refs(decl) if ref.kind == "program"}
    programs = ctx.index.programs()
    out: list[Diagnostic] = []
    for program in sorted(programs - named):
        codes = [c for versions in ctx.index.codes.values() for c in versions if c.program == program]
        meant = did_you_mean(program, programs - {program})
        if meant and len({c.id for c in codes}) == 1:
            out.append(
                Diagnostic(
                    "check/unused",
                    f"program `{program}` has one code, `{codes[0].id}`, and nothing names the program",
                    span=codes[0].span,
                    severity=Severity.WARNING,
                    help=f"{meant} (a code outside its program escapes the program's preconditions and exclusions)",
                )
            )
    return out


def _code_refs(node: object) -> list[CodeRef]:
    """The code-list items of a declaration's clauses (expressions hold none)."""
    if isinstance(node, CodeRef):
        return [node]
    if isinstance(node, tuple):
        return [ref for item in node for ref in _code_refs(item)]
    if isinstance(node, s.Expr):
        return []
    return [ref for name in field_names(type(node)) for ref in _code_refs(getattr(node, name))]
