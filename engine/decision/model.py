"""The decision: a value with a stable, documented JSON form (docs/reference/decision-format.md,
written by json_form.py).

Everything here is a frozen dataclass of tuples, built in a fixed order, so the same inputs give
byte-identical JSON. Money is `Decimal` and is written as a string with two decimals ("60.49").
The trace a decision carries, and its nodes, are in trace_nodes.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ..frozen_init import dict_init
from .context import DecisionContext
from .json_pieces import DenialWritten, ReasonWritten
from .trace_nodes import Trace


# made for every record: one dict update fills it (frozen_init.py)
@dict_init
@dataclass(frozen=True)
class Reason:
    """One rule's verdict on a code, as shown in a denial or behind a billable line."""

    rule: str
    title: str
    cites: tuple[str, ...]
    source: str  # file:line of the rule
    text: str
    # this reason's JSON in canonical bytes, written on first use and freed with the reason: a
    # function of the fields above, so outside equality, hashing and repr (see json_pieces.py)
    written: ReasonWritten | None = field(default=None, init=False, compare=False, repr=False)


# made for every record: one dict update fills it (frozen_init.py)
@dict_init
@dataclass(frozen=True)
class Shares:
    """Who pays what of one line's allowed amount (all rounded, see money.py). None: cannot be
    decided (a full-benefit dual's state plan, or a fact or parameter it needs is missing; `note`
    says which); only what depends on the unknown is None."""

    deductible: Decimal | None
    coinsurance: Decimal | None
    medicare: Decimal | None
    beneficiary: Decimal | None
    medigap: Decimal | None
    medicaid: Decimal | None
    note: str | None = None
    # Medicare's payment after a `sequestration` clause that applies (money.after_sequestration);
    # None when none applies, or when Medicare's share is not known (the note says why)
    medicare_after_sequestration: Decimal | None = None


# made for every record: one dict update fills it (frozen_init.py)
@dict_init
@dataclass(frozen=True)
class Line:
    code: str
    units: int
    practitioner: str
    allowed: Decimal | None  # None: not priced
    price_source: (
        str  # "fee_schedule_override", "fee schedule file", "rvu table pfs.x × conversion_factor", or why not priced
    )
    shares: Shares | None
    decided_by: tuple[str, ...]
    # the assumptions the line's units rest on: those of the switches its units and `at most`
    # clauses read, and their own `with assumption` (CompiledCode.line_cites; empty for most lines)
    cites: tuple[str, ...] = ()


# made for every record: one dict update fills it (frozen_init.py)
@dict_init
@dataclass(frozen=True)
class Denial:
    code: str
    reasons: tuple[Reason, ...]
    unit: int | None = None  # a further unit of a billable add-on
    with_code: str | None = None  # valid on its own, but not with this chosen code
    written: DenialWritten | None = field(default=None, init=False, compare=False, repr=False)  # as Reason's


@dataclass(frozen=True, slots=True)
class Alternative:
    codes: tuple[tuple[str, int], ...]
    total_allowed: Decimal | None
    patient_responsibility: Decimal | None
    why_not: str
    withdraw: tuple[str, ...] = ()  # the codes of the claims on file this coding would withdraw


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """A claim on file that a chosen code bundles: the practitioner withdraws it (or, when it was
    paid, voids or corrects it), because the chosen code pays for that service already."""

    code: str
    practitioner: str
    month: str
    status: str | None  # as the claim states it (paid, submitted), None when the bundle does not say
    bundled_into: str  # the chosen code that bundles it
    reasons: tuple[Reason, ...]  # the bundling declaration, with its cites


# made for every record: one dict update fills it (frozen_init.py)
@dict_init
@dataclass(frozen=True)
class Totals:
    allowed: Decimal | None
    medicare: Decimal | None
    beneficiary: Decimal | None
    medigap: Decimal | None
    medicaid: Decimal | None
    note: str | None
    # the canonical bytes of the `totals` and `patient_responsibility` members, written on first use
    # (most decisions bill nothing and share one Totals: decision_parts.decision_totals); a function
    # of the fields above, so outside equality, hashing and repr, as Reason.written
    written: tuple[bytes, bytes] | None = field(default=None, init=False, compare=False, repr=False)


# made for every record: one dict update fills it (frozen_init.py)
@dict_init
@dataclass(frozen=True)
class Decision:
    decision_id: str
    engine: str
    engine_version: str
    policy_set_hash: str
    facts_hash: str
    bundle_id: str
    month: str
    switches: tuple[tuple[str, str], ...]
    billable: tuple[Line, ...]
    denied: tuple[Denial, ...]
    alternatives: tuple[Alternative, ...]
    totals: Totals
    trace: Trace | None
    notes: tuple[str, ...] = ()  # facts read but not counted (time dated outside the month), then the policies' notes
    # programs the bundle shows activity in (consent, time recorded, a claim): see coding.active_programs
    active_programs: tuple[str, ...] = ()
    context: DecisionContext | None = None  # shared by every decision of a policy set: see context.py
    withdraw: tuple[Withdrawal, ...] = ()  # claims on file that the chosen coding bundles
    note_cites: tuple[str, ...] = ()  # what the policies' notes among `notes` cite (in `sources`)

    @property
    def patient_responsibility(self) -> Decimal | None:
        return self.totals.beneficiary
