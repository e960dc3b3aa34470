"""The checker: an ordered list of named stages over a parsed policy set.

Each stage is a small function that returns diagnostics; all problems are reported, not the first.
A stage whose input is broken by an earlier stage's errors still runs when it can (names that did
not resolve are typed `any` and never reported twice). `check(..., until="check_cycles")` stops
early, for tests and tools. The stage list is data, so `carepolicy check --profile` can time it.

Each stage lives in a module named for what it checks: `references` (citations, cycles, unused
names), `intervals` (with `dated` for clauses with dates of their own), `overlaps` (add-ons,
conflicts), `registry`, `depth`, `years`, `rvu`. They all read a `CheckContext` (`context`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..diagnostics import Diagnostic, sort_diagnostics
from ..language import syntax as s
from ..language.clauses import Assumption
from ..language.registry import Registry
from ..language.valuetypes import Type
from .clauses import check_declaration
from .code_lists import check_code_lists
from .context import CheckContext
from .depth import check_depth
from .index import PolicyIndex, build_index
from .intervals import check_intervals
from .overlaps import check_addons, check_conflicts
from .references import check_citations, check_cycles, check_unused
from .registry import check_registry
from .resolution import Resolution
from .resolve import Resolver
from .rvu import check_rvu_tables
from .selections import expand_selections
from .templates import expand_templates
from .years import check_years


def resolve_names_and_types(ctx: CheckContext) -> list[Diagnostic]:
    return ctx.resolution.diagnostics + check_code_lists(ctx.index)


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    run: Callable[[CheckContext], list[Diagnostic]]


STAGES: tuple[Stage, ...] = (
    Stage("index_declarations", lambda ctx: list(ctx.index.diagnostics)),
    Stage("resolve_names_and_types", resolve_names_and_types),
    Stage("check_citations", check_citations),
    Stage("check_registry", check_registry),
    Stage("check_cycles", check_cycles),
    Stage("check_depth", lambda ctx: check_depth(list(ctx.index.declarations()), ctx.resolution)),
    Stage("check_intervals", check_intervals),
    Stage("check_addons", check_addons),
    Stage("check_conflicts", check_conflicts),
    Stage("check_unused", check_unused),
    Stage("check_years", check_years),
    Stage("check_rvu_tables", lambda ctx: check_rvu_tables(ctx.index)),
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """Everything the checker learned: the index, the resolutions, diagnostics, stage timings."""

    index: PolicyIndex
    resolution: Resolution
    diagnostics: tuple[Diagnostic, ...]
    timings: tuple[tuple[str, float], ...]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if not d.is_error)

    @property
    def assumptions(self) -> tuple[tuple[s.Declaration, Assumption], ...]:
        """Every `assumption` clause with its declaration, in file and line order (`check` lists them):
        a units or `at most` clause's `with assumption` too."""
        found = [(decl, a) for decl in self.index.declarations() for a in decl.assumptions]
        found += [(d, a) for d in self.index.declarations() if isinstance(d, s.Code) for a in d.unit_assumptions]
        return tuple(sorted(found, key=lambda pair: (pair[1].span.source, pair[1].span.line, pair[1].span.column)))


def check(
    files: tuple[s.PolicyFile, ...],
    fact_types: Mapping[str, Type],
    *,
    until: str | None = None,
    skip: tuple[str, ...] = (),
    registry: Registry | None = None,
) -> CheckResult:
    """Run the stages in order (up to and including `until`) and collect every diagnostic.

    With a `registry`, every declared source must be listed in it (stage `check_registry`).
    """
    names = [stage.name for stage in STAGES]
    if until is not None and until not in names:
        raise ValueError(f"unknown stage {until!r}; stages: {', '.join(names)}")
    started = time.perf_counter()
    files, instantiated = expand_templates(files)
    files, expanded = expand_selections(files)
    index = build_index(files)
    resolver = Resolver(index, fact_types)
    for decl in index.declarations():
        check_declaration(resolver, decl)
    resolver.report_unsettled()
    ctx = CheckContext(index, resolver.result, registry)
    timings = [("index_and_resolve", time.perf_counter() - started)]
    found: list[Diagnostic] = [*instantiated, *expanded]
    for stage in STAGES:
        if stage.name not in skip:
            begun = time.perf_counter()
            found.extend(stage.run(ctx))
            timings.append((stage.name, time.perf_counter() - begun))
        if stage.name == until:
            break
    unique = list(dict.fromkeys(found))  # a name seen from two places is reported once
    return CheckResult(index, resolver.result, sort_diagnostics(unique), tuple(timings))


__all__ = ["STAGES", "CheckResult", "Stage", "check"]
