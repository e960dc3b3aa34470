"""The abstract syntax of clauses: the parts declarations are made of, each a frozen dataclass with its `Span`.

`cite`, `assumption`, `effective` intervals, `requires`, code lists, and the clauses of one kind
of declaration (a code's `units`, an exclusion's `excludes`, a cost sharing's `pays`, ...).
The declarations that hold them are in syntax.py, the expressions they hold in expressions.py.
Built by the to_ast builders; nothing here evaluates anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ..source import Span
from .expressions import Expr

# ---------------------------------------------------------------- any declaration's clauses; code lists


@dataclass(frozen=True, slots=True)
class Cite:
    """`cite S7 "Patient consent"`: a declared source tag and where in it."""

    source: str
    locator: str
    span: Span


@dataclass(frozen=True, slots=True)
class Assumption:
    """`assumption "reason"`: the declaration states something the reference does not; why it is made."""

    reason: str
    span: Span


@dataclass(frozen=True, slots=True)
class Interval:
    """`effective 2021-01-01..` (open end) or `..2019-12-31` (open start); dates inclusive."""

    start: str | None
    end: str | None
    span: Span

    def contains(self, day: str) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def overlaps(self, other: Interval) -> bool:
        starts_before_other_ends = self.start is None or other.end is None or self.start <= other.end
        ends_after_other_starts = self.end is None or other.start is None or other.start <= self.end
        return starts_before_other_ends and ends_after_other_starts

    def __str__(self) -> str:
        return f"{self.start or ''}..{self.end or ''}"


@dataclass(frozen=True, slots=True)
class Requirement:
    """`requires a, b else "message"`: every expression must hold."""

    conditions: tuple[Expr, ...]
    message: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class CodeRef:
    """An item of a code list: one code, a range, or every code of a program."""

    kind: str  # one | range | program
    low: str
    high: str
    span: Span


# ---------------------------------------------------------------- code and add-on


@dataclass(frozen=True, slots=True, kw_only=True)
class Units:
    """`units each full 20 min of staff_minutes beyond 20 min`, or `billed once when CONDITION`.

    `once` is `billed once when C`: one unit when C holds, none otherwise. It is stored as the
    same arithmetic (`each full 1 of (if C then 1 else 0) beyond 0`), so both expression
    backends and a vectorised kernel evaluate it unchanged; `once` only changes the words of a
    denial ("C does not hold" instead of a minutes count).
    """

    increment: Expr
    measure: Expr
    beyond: Expr
    span: Span
    once: Expr | None = None  # the condition of `billed once when`, for messages and traces
    # `with assumption "reason"` on this clause: quoted on the code's billable line and unit denials only
    assumptions: tuple[Assumption, ...] = ()


# ---------------------------------------------------------------- exclusive, exclusion, bundling


@dataclass(frozen=True, slots=True, kw_only=True)
class OneOf:
    codes: tuple[CodeRef, ...]
    scope: str  # practitioner | beneficiary
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class Excludes:
    """`program ccm excludes G0181, 90951..90970 by same practitioner`."""

    subject: tuple[CodeRef, ...]
    excluded: tuple[CodeRef, ...]
    who: str  # same | another | any
    span: Span
    any_month: bool = False  # `... in any month`: earlier months' claims (prior_claims) count too


@dataclass(frozen=True, slots=True, kw_only=True)
class Bundles:
    """`G0556..G0558 bundles 99495, 99496 by same practitioner`."""

    subject: tuple[CodeRef, ...]  # the bundling codes
    bundled: tuple[CodeRef, ...]  # the codes paid as part of them
    who: str  # same (the checker refuses another and any)
    span: Span


# ---------------------------------------------------------------- parameter


@dataclass(frozen=True, slots=True, kw_only=True)
class ParameterValue:
    value: Expr
    effective: Interval
    cite: Cite | None
    span: Span


# ---------------------------------------------------------------- cost sharing


@dataclass(frozen=True, slots=True, kw_only=True)
class Pays:
    """`medigap pays coinsurance 50% when ...`: a secondary payer's share of the beneficiary's."""

    payer: str  # medigap | medicaid
    share: str  # deductible | coinsurance | all
    fraction: Expr | None  # a percent; None means 100%
    when: Expr
    priority: int | None
    span: Span
    during: Interval | None = None  # `during 2024-01-01..2026-12-31`: the clause's own dates


@dataclass(frozen=True, slots=True, kw_only=True)
class Sequestration:
    """`sequestration 2% when ...`: a cut of Medicare's payment, not of the beneficiary's shares."""

    rate: Expr  # a percent
    when: Expr
    span: Span
    during: Interval | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Indeterminate:
    when: Expr
    reason: str
    span: Span
    during: Interval | None = None


# ---------------------------------------------------------------- choose coding


@dataclass(frozen=True, slots=True, kw_only=True)
class WithinProgram:
    """`within program ccm by preference 99487, 99491, 99490`: the order of one program's codes."""

    program: str
    codes: tuple[CodeRef, ...]
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class PreferenceOf:
    """`then by preference of coding.work_done`: another strategy's whole order breaks the ties."""

    strategy: str  # the id of a `choose coding` that ranks `by preference`
    span: Span


# ---------------------------------------------------------------- pricing and rvu table


@dataclass(frozen=True, slots=True, kw_only=True)
class NotPriced:
    when: Expr
    reason: str
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class RvuRow:
    code: str
    work: Decimal
    pe: Decimal
    mp: Decimal
    span: Span

    @property
    def total(self) -> Decimal:
        return self.work + self.pe + self.mp
