"""The compiled declarations: what a checked declaration becomes once its expressions are compiled.

Plain frozen values, made by `policy_set.CompiledPolicySet` and read by the month plan
(`month_plan.py`), the generated code (`codegen_plan.py`) and the evaluation. A data layer with no
behaviour, so every one of those can import it without importing the compiler.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..decision.citations import public_cite
from ..language import syntax as s
from ..language.clauses import Assumption, Cite
from ..source import Span
from .runtime import CodeSet, Fn


def cite_text(cite: Cite) -> str:
    """A cite as decisions show it: authoring notes and confidence marks stay in the policy."""
    return public_cite(cite.source, cite.locator) if cite.locator else cite.source


ASSUMPTION_LABEL = "assumption, not a CMS rule"


def assumption_text(assumption: Assumption) -> str:
    """How an `assumption` shows among a rule's citations in every decision, trace and denial."""
    return f"{ASSUMPTION_LABEL}: {assumption.reason}"


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition of a `requires` line: a rule reference or a compiled expression."""

    rule: str | None
    fn: Fn | None
    expr: s.Expr | None
    text: str
    reads: tuple[tuple[str, str, Fn], ...]  # (label, kind, reader) for the trace and for reasons
    # a threshold's two sides, left text and left type, for "19 of 20 minutes"
    sides: tuple[Fn, Fn, str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CompiledRequirement:
    conditions: tuple[Condition, ...]
    message: str | None
    span: Span
    location: str  # file:line, as traces show it


@dataclass(frozen=True, slots=True)
class Header:
    """What traces and reasons show of a declaration."""

    id: str
    title: str
    cites: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class CompiledRule:
    header: Header
    requirements: tuple[CompiledRequirement, ...]


@dataclass(frozen=True, slots=True)
class CompiledCode:
    header: Header
    decl: s.Code
    requirements: tuple[CompiledRequirement, ...]
    bases: tuple[str, ...]
    units: tuple[Fn, Fn, Fn] | None  # increment, measure, beyond
    unit_cap: Fn | None
    measure_text: str
    unit_count: Fn | None = None  # `units = N` (a count), instead of `units each full ...`
    # the facts and definitions its units clause reads, so that units that cannot be counted name
    # the fact missing (`cocm.first_month` not recorded) rather than "a fact it needs"
    unit_reads: tuple[tuple[str, str, Fn], ...] = ()
    # The assumptions its units and `at most` clauses rest on: those of the switches they read
    # (directly or through definitions: `at most 1 unit when unit_cap_99437 = one_unit` reads its
    # switch whatever the option) and their own `with assumption`. Worked out when compiled, so no
    # record pays for them: `line_cites` are the billable line's `cites`, and `unit_cites` (the
    # declaration's cites, then these) are those of the reasons its units clauses give; its other
    # reasons cite the declaration's alone (a 99437 denied for its base's rules says nothing of a cap).
    line_cites: tuple[str, ...] = ()
    unit_cites: tuple[str, ...] = ()

    @property
    def counts_units(self) -> bool:
        return self.units is not None or self.unit_count is not None


@dataclass(frozen=True, slots=True)
class CompiledExclusion:
    header: Header
    subject: frozenset[str]
    excluded: CodeSet
    excluded_declared: frozenset[str]
    who: str
    subject_order: tuple[str, ...] = ()  # the subject, sorted: the order its codes get reasons in
    any_month: bool = False  # earlier months' claims rule codes out too
    # a `bundling`: the subject's codes bundle the excluded ones. Never billed together in one
    # coding, but a bundled claim on file rules nothing out: the coding strategy chooses between
    # withdrawing it and not billing the bundling code (evaluation/bundling.py)
    bundles: bool = False


@dataclass(frozen=True, slots=True)
class CompiledGroup:
    header: Header
    codes: tuple[str, ...]
    scope: str


@dataclass(frozen=True, slots=True)
class CompiledException:
    header: Header
    target: str
    when: Fn | None
    when_text: str


@dataclass(frozen=True, slots=True)
class CompiledPays:
    payer: str
    share: str
    fraction: Fn | None
    when: Fn
    priority: int
    text: str
    # parameters its condition and share read, directly or through definitions: an unknown one
    # (`otherwise unknown`) is named, with its reason, where this clause leaves a share undecided
    parameters: frozenset[str] = frozenset()
    # the labels (of CompiledCostSharing.reads) its condition and share read: a missing one is
    # named only where this clause leaves a share undecided
    reads: frozenset[str] = frozenset()
    # the assumptions of what its condition and share read (month_payment.py): quoted on the
    # lines whose shares it decides
    assumptions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CompiledCostSharing:
    header: Header
    deductible: Fn | None
    deductible_text: str
    coinsurance: Fn | None
    pays: tuple[CompiledPays, ...]
    indeterminate: tuple[tuple[Fn, str, str], ...]
    reads: tuple[tuple[str, str, Fn], ...]  # every fact, definition and parameter its clauses read
    sequestration: tuple[Fn, Fn, str] | None = None  # (rate, when, the clause's text)
    # the labels the deductible and the coinsurance clauses read (named when that amount is unknown)
    deductible_reads: frozenset[str] = frozenset()
    coinsurance_reads: frozenset[str] = frozenset()
    # the assumptions an `indeterminate` clause's switches make, by its reason (only those with
    # some), each with its switch's name: quoted on the lines when the clause applies, those of the
    # switches it read; and the `sequestration` clause's, quoted when it applies
    indeterminate_assumptions: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    sequestration_assumptions: tuple[str, ...] = ()
    # the clauses that decide each payer's shares, by what each `pays` clause's condition gave
    # (evaluation/cost_sharing.py, `_winners`): a memo, outside equality, hashing and repr
    winners: dict[tuple[Any, ...], Any] = field(default_factory=dict, compare=False, repr=False)
    # the assumptions of the `pays` clauses that decide the shares, by the same key: a memo as `winners`
    assumed: dict[tuple[Any, ...], tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class CompiledPricing:
    header: Header
    conversion_factor: str | None
    not_priced: tuple[tuple[Fn, str, str], ...]


@dataclass(frozen=True, slots=True)
class RvuPrice:
    table: Header
    total: Decimal
