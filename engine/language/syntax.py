"""The abstract syntax of policy files: the declarations and the file, frozen dataclasses with spans.

Built by `to_ast.py` from Lark's parse tree; read by the checker and the compiler. Nothing here
evaluates anything. Names follow the language's keywords, so `Exclusive` is what the analyst
wrote as `exclusive`. The clauses declarations are made of (`Cite`, `Interval`, `Requirement`,
`CodeRef`, `Units`, `Pays`, ...) live in clauses.py and are imported from there. The expression
nodes live in expressions.py and are re-exported here, so a reader of declarations and
expressions imports one module (`from ..language import syntax as s`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..source import Span
from .clauses import (
    Assumption,
    Bundles,
    Cite,
    CodeRef,
    Excludes,
    Indeterminate,
    Interval,
    NotPriced,
    OneOf,
    ParameterValue,
    Pays,
    PreferenceOf,
    Requirement,
    RvuRow,
    Sequestration,
    Units,
    WithinProgram,
)
from .expressions import (
    Aggregate as Aggregate,
)
from .expressions import (
    Binary as Binary,
)
from .expressions import (
    Boundary as Boundary,
)
from .expressions import (
    Call as Call,
)
from .expressions import (
    CodeRange as CodeRange,
)
from .expressions import (
    Compare as Compare,
)
from .expressions import (
    Conditional as Conditional,
)
from .expressions import (
    Expr as Expr,
)
from .expressions import (
    Literal as Literal,
)
from .expressions import (
    Logical as Logical,
)
from .expressions import (
    Member as Member,
)
from .expressions import (
    Name as Name,
)
from .expressions import (
    Negate as Negate,
)
from .expressions import (
    Not as Not,
)
from .expressions import (
    Otherwise as Otherwise,
)
from .expressions import (
    Presence as Presence,
)
from .expressions import (
    SetLiteral as SetLiteral,
)
from .expressions import (
    children as children,
)
from .expressions import (
    walk as walk,
)

# ---------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True, kw_only=True)
class Declaration:
    """What every declaration has: a stable id, a title, citations, an effective interval."""

    id: str
    title: str
    cites: tuple[Cite, ...]
    effective: Interval | None
    span: Span
    assumptions: tuple[Assumption, ...] = ()

    @property
    def kind(self) -> str:
        return KIND_NAMES[type(self)]


@dataclass(frozen=True, slots=True)
class Source:
    tag: str
    title: str
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Define(Declaration):
    expr: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection(Declaration):
    """`selection month_time "..." = time where ...`: the entries of a fact list (or of another
    selection) that meet a condition, named once and aggregated like the list itself."""

    list: Name
    where: Expr


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule(Declaration):
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Precondition(Declaration):
    """`precondition X "title" program P requires ...`: checked first for every code of program P.

    When it fails, the program's codes are denied with its reasons alone and not evaluated further
    (so a bundle with no activity for a program costs one check, and its denials stay short).
    """

    program: str | None
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Code(Declaration):
    """A base code (`code`) or an add-on (`add-on X to Y`, with `bases` and `units`)."""

    program: str | None
    requirements: tuple[Requirement, ...]
    bases: tuple[CodeRef, ...] = ()
    units: Units | None = None
    unit_cap: Expr | None = None
    unit_count: Expr | None = None  # `units = N`: N units (a count), e.g. one per service given
    # the `with assumption` of its units and `at most` clauses: cited only where those clauses decide
    # (its billable line, its unit denials), unlike `assumptions`, which every reason of it cites
    unit_assumptions: tuple[Assumption, ...] = ()

    @property
    def is_addon(self) -> bool:
        return bool(self.bases)


@dataclass(frozen=True, slots=True, kw_only=True)
class Exclusive(Declaration):
    groups: tuple[OneOf, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Exclusion(Declaration):
    clauses: tuple[Excludes, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Bundling(Declaration):
    """`bundling ID "title"`: codes paid as part of others; a bundled claim on file is withdrawn
    or the bundling code is not billed, as the coding strategy chooses."""

    clauses: tuple[Bundles, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Exception_(Declaration):
    """`exception X to Y`: while in effect (and `when` holds), rule or exclusion Y does not apply."""

    target: str
    target_span: Span
    when: Expr | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter(Declaration):
    values: tuple[ParameterValue, ...]
    # `otherwise unknown because "..."`: in a month none of the values covers, the parameter is
    # unknown for this reason (None: such a month is a check error where it is read).
    unknown_because: str | None = None
    unknown_span: Span | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Switch(Declaration):
    options: tuple[str, ...]
    default: str | None
    default_span: Span | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CostSharing(Declaration):
    """`cost sharing`: each clause may carry its own dates (`during`), inside the block's `effective`."""

    deductible: Expr | None
    coinsurance: Expr | None
    pays: tuple[Pays, ...]
    indeterminate: tuple[Indeterminate, ...]
    deductible_during: Interval | None = None
    coinsurance_during: Interval | None = None
    sequestration: Sequestration | None = None

    def dated_expressions(self) -> Iterator[tuple[Expr, Interval | None]]:
        """Each clause's expressions with the clause's own dates (None: the block's)."""
        if self.deductible is not None:
            yield self.deductible, self.deductible_during
        if self.coinsurance is not None:
            yield self.coinsurance, self.coinsurance_during
        for pays in self.pays:
            if pays.fraction is not None:
                yield pays.fraction, pays.during
            yield pays.when, pays.during
        for clause in self.indeterminate:
            yield clause.when, clause.during
        if self.sequestration is not None:
            yield self.sequestration.rate, self.sequestration.during
            yield self.sequestration.when, self.sequestration.during


@dataclass(frozen=True, slots=True, kw_only=True)
class Choose(Declaration):
    preference: tuple[CodeRef, ...]
    then_highest_total: bool
    within: tuple[WithinProgram, ...] = ()
    highest_first: bool = False  # `by highest total allowed`: pays most, ties by `then by preference`
    then_preference: tuple[CodeRef, ...] = ()
    preference_of: PreferenceOf | None = None  # `then by preference of ID`: that strategy's order
    when: Expr | None = None  # `when coding_strategy = pays_most`: a test of switches only


@dataclass(frozen=True, slots=True, kw_only=True)
class Pricing(Declaration):
    conversion_factor: str | None
    conversion_span: Span | None
    not_priced: tuple[NotPriced, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RvuTable(Declaration):
    rows: tuple[RvuRow, ...]
    # `setting facility | non_facility` (§8.2 gives both amounts); a table without it is non-facility
    setting: str = "non_facility"
    setting_span: Span | None = None


@dataclass(frozen=True, slots=True)
class PolicyFile:
    """One parsed file: its header (`policy id "title"` and sources) and its declarations."""

    source: str
    id: str
    title: str
    sources: tuple[Source, ...]
    declarations: tuple[Declaration, ...]
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Note(Declaration):
    """`note ID "text" billing 99487, 99489 when ...`: a note the decision carries when it bills
    one of the codes and the condition holds (unknown: no note); it changes no code or amount.
    Without `billing` (codes empty) it is a note on the decision: given when `when` holds."""

    codes: tuple[CodeRef, ...]
    when: Expr | None = None


KIND_NAMES: dict[type, str] = {
    Define: "define",
    Selection: "selection",
    Rule: "rule",
    Precondition: "precondition",
    Code: "code",
    Exclusive: "exclusive",
    Exclusion: "exclusion",
    Bundling: "bundling",
    Exception_: "exception",
    Parameter: "parameter",
    Switch: "switch",
    CostSharing: "cost sharing",
    Choose: "choose coding",
    Pricing: "pricing",
    RvuTable: "rvu table",
    Note: "note",
}


def expressions_of(decl: Declaration) -> Iterator[Expr]:
    """The top-level expressions a declaration holds, in source order."""
    if isinstance(decl, Define):
        yield decl.expr
    elif isinstance(decl, Selection):
        yield decl.where
    elif isinstance(decl, Rule | Code | Precondition):
        for requirement in decl.requirements:
            yield from requirement.conditions
        if isinstance(decl, Code):
            if decl.units is not None:
                yield from (decl.units.increment, decl.units.measure, decl.units.beyond)
            if decl.unit_cap is not None:
                yield decl.unit_cap
            if decl.unit_count is not None:
                yield decl.unit_count
    elif isinstance(decl, Exception_ | Choose | Note):
        if decl.when is not None:
            yield decl.when
    elif isinstance(decl, Parameter):
        for value in decl.values:
            yield value.value
    elif isinstance(decl, CostSharing):
        yield from (e for e in (decl.deductible, decl.coinsurance) if e is not None)
        for pays in decl.pays:
            if pays.fraction is not None:
                yield pays.fraction
            yield pays.when
        for clause in decl.indeterminate:
            yield clause.when
        if decl.sequestration is not None:
            yield from (decl.sequestration.rate, decl.sequestration.when)
    elif isinstance(decl, Pricing):
        for not_priced in decl.not_priced:
            yield not_priced.when
