"""The decision: a value with a stable, documented JSON form (docs/reference/decision-format.md).

Everything here is a frozen dataclass of tuples, built in a fixed order, so the same inputs give
byte-identical JSON. Money is `Decimal` and is written as a string with two decimals ("60.49").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import reduce
from itertools import chain
from operator import attrgetter, itemgetter, or_
from typing import Any

import orjson
from orjson import Fragment

from ..jsontext import canonical_bytes, canonical_text
from .context import DecisionContext
from .json_pieces import (
    DenialWritten,
    ReasonWritten,
    cites_mask,
    denial_written,
    engine_json,
    exact_bytes,
    switches_json,
)

DECISION_FORMAT = 1


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
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
        build_pieces: Callable[[], list[Any]] | None = None,
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

    def json_pieces(self) -> list[Any]:
        """What `json()` gives, for orjson only: some records as `orjson.Fragment`s of their canonical
        bytes (evaluation/full_trace.py). Used by `to_json_bytes` alone; may raise
        `orjson.JSONEncodeError` for what orjson refuses (the caller then writes `json()`)."""
        if self._build_pieces is not None and self._nodes is None:
            return self._build_pieces()
        return self.json()

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


@dataclass(frozen=True, slots=True)
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
    notes: tuple[str, ...] = ()  # facts read but not counted (e.g. time dated outside the month)
    # programs the bundle shows activity in (consent, time recorded, a claim): see coding.active_programs
    active_programs: tuple[str, ...] = ()
    context: DecisionContext | None = None  # shared by every decision of a policy set: see context.py
    withdraw: tuple[Withdrawal, ...] = ()  # claims on file that the chosen coding bundles

    @property
    def patient_responsibility(self) -> Decimal | None:
        return self.totals.beneficiary


# ---------------------------------------------------------------- JSON


def money_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def json_value(value: Any) -> Any:
    # the usual leaves first, by exact type; then isinstance with tuples of types, not `set |
    # frozenset`: a union is a new object each time it is evaluated (measured with callgrind)
    kind = type(value)
    if kind is str or kind is bool or kind is int or value is None:
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (frozenset, set)):
        return sorted(json_value(v) for v in value)
    if isinstance(value, (tuple, list)):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (bool, int, str)):  # subclasses (an IntEnum, say): the exact types are above
        return value
    return repr(value)  # UNKNOWN and code sets print as the language writes them


def _reason(reason: Reason) -> dict[str, Any]:
    return {
        "rule": reason.rule,
        "title": reason.title,
        "cites": list(reason.cites),
        "source": reason.source,
        "reason": reason.text,
    }


def _shares(shares: Shares | None) -> dict[str, Any] | None:
    if shares is None:
        return None
    return {
        "deductible": money_text(shares.deductible),
        "coinsurance": money_text(shares.coinsurance),
        "medicare": money_text(shares.medicare),
        "beneficiary": money_text(shares.beneficiary),
        "medigap": money_text(shares.medigap),
        "medicaid": money_text(shares.medicaid),
        "medicare_after_sequestration": money_text(shares.medicare_after_sequestration),
        "note": shares.note,
    }


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


TRACE_FORMS = ("full", "compact", "none")


def to_json_obj(decision: Decision, *, trace: str = "full") -> dict[str, Any]:
    """The decision's JSON form; `trace` is "full", "compact" or "none" (a decision made without
    the trace has none in any form). Every call makes new dicts and lists: the caller may change them."""
    obj = _plain_fields(decision)
    obj["denied"] = [
        {"code": d.code, "unit": d.unit, "with": d.with_code, "reasons": [_reason(r) for r in d.reasons]}
        for d in decision.denied
    ]
    obj["withdraw"] = _withdraw(decision)
    if decision.context is not None:
        obj["sources"] = _sources(decision, decision.context)
    _add_trace(obj, decision, trace)
    return obj


def _plain_fields(decision: Decision) -> dict[str, Any]:
    """The members other than denied, withdraw, sources and trace: few, and different per record."""
    return _fields_before_denied(decision) | _fields_after_denied(decision)


def _fields_before_denied(decision: Decision) -> dict[str, Any]:
    """The plain members whose keys sort before "denied" (to_json_bytes writes them apart)."""
    return {
        "active_programs": list(decision.active_programs),
        "alternatives": [
            {
                "codes": [{"code": c, "units": u} for c, u in alt.codes],
                "total_allowed": money_text(alt.total_allowed),
                "patient_responsibility": money_text(alt.patient_responsibility),
                "why_not": alt.why_not,
                "withdraw": list(alt.withdraw),
            }
            for alt in decision.alternatives
        ],
        "billable": [
            {
                "code": line.code,
                "units": line.units,
                "practitioner": line.practitioner,
                "allowed": money_text(line.allowed),
                "price_source": line.price_source,
                "shares": _shares(line.shares),
                "decided_by": list(line.decided_by),
            }
            for line in decision.billable
        ],
        "bundle_id": decision.bundle_id,
        "decision_format": DECISION_FORMAT,
        "decision_id": decision.decision_id,
    }


def _fields_after_denied(decision: Decision) -> dict[str, Any]:
    return {
        "engine": {"name": decision.engine, "version": decision.engine_version},
        "facts_hash": decision.facts_hash,
        "month": decision.month,
        "notes": list(decision.notes),
        "patient_responsibility": money_text(decision.patient_responsibility),
        "policy_set_hash": decision.policy_set_hash,
        "switches": dict(decision.switches),
        "totals": _totals(decision.totals),
    }


def _totals(totals: Totals) -> dict[str, Any]:
    return {
        "allowed": money_text(totals.allowed),
        "medicare": money_text(totals.medicare),
        "beneficiary": money_text(totals.beneficiary),
        "medigap": money_text(totals.medigap),
        "medicaid": money_text(totals.medicaid),
        "note": totals.note,
    }


def _after_pieces(decision: Decision) -> dict[str, Any]:
    """`_fields_after_denied` for orjson, the members the same for many decisions as kept
    `Fragment`s of their canonical bytes: the engine and the switches (the same for a whole batch),
    the totals and patient responsibility (kept on the Totals). Byte-identical (orjson copies a
    Fragment's bytes as they are); may raise orjson.JSONEncodeError as `orjson.dumps` would."""
    totals = decision.totals
    written = totals.written
    if written is None:
        totals_bytes = orjson.dumps(_totals(totals), option=orjson.OPT_SORT_KEYS)
        written = (exact_bytes(totals_bytes), exact_bytes(orjson.dumps(money_text(totals.beneficiary))))
        object.__setattr__(totals, "written", written)  # a cache outside equality: see Totals
    return {
        "engine": Fragment(engine_json(decision.engine, decision.engine_version)),
        "facts_hash": decision.facts_hash,
        "month": decision.month,
        "notes": list(decision.notes),
        "patient_responsibility": Fragment(written[1]),
        "policy_set_hash": decision.policy_set_hash,
        "switches": Fragment(switches_json(decision.switches)),
        "totals": Fragment(written[0]),
    }


def _withdraw(decision: Decision) -> list[dict[str, Any]]:
    return [
        {
            "code": w.code,
            "practitioner": w.practitioner,
            "month": w.month,
            "status": w.status,
            "bundled_into": w.bundled_into,
            "reasons": [_reason(r) for r in w.reasons],
        }
        for w in decision.withdraw
    ]


def _add_trace(obj: dict[str, Any], decision: Decision, trace: str) -> None:
    if decision.trace is not None and trace != "none":
        if trace == "compact":
            compact = decision.trace.compact()
            if compact is None:
                raise ValueError("this decision's trace has no compact form")
            obj["trace"] = compact
        else:
            obj["trace"] = decision.trace.json()


def _sources(decision: Decision, context: DecisionContext) -> dict[str, Any]:
    """Every source the decision's reasons cite, by tag: the same whatever the form of the trace."""
    cites = [r.cites for d in decision.denied for r in d.reasons]
    cites += [r.cites for w in decision.withdraw for r in w.reasons]
    return {tag: info.to_json_obj() for tag, info in sorted(context.sources_of(cites).items())}


def to_json(decision: Decision, *, indent: int | None = 2, trace: str = "full") -> str:
    """The stable JSON form: keys sorted, fixed separators, money as strings, UTF-8 text."""
    if not indent:
        return canonical_text(to_json_obj(decision, trace=trace))
    return json.dumps(
        to_json_obj(decision, trace=trace), indent=indent, sort_keys=True, separators=(",", ": "), ensure_ascii=False
    )


_written = attrgetter("written")
_first = itemgetter(0)
_second = itemgetter(1)


def to_json_bytes(decision: Decision, *, trace: str = "full") -> bytes:
    """The one-line JSON form as UTF-8 bytes (what `batch` writes): the bytes of
    `canonical_bytes(to_json_obj(decision, trace=trace))`, with the denials and sources written from
    pieces kept between decisions (json_pieces.py, DecisionContext.sources_json).

    The line is joined once: the members before "denied" (keys sorted, as orjson writes them, the
    closing brace left off), the denials' kept parts, then the members after it (the opening brace
    left off), so the ~20 kB of denials are copied once (not into a list's bytes, then the line)."""
    context = decision.context
    if context is None:
        return canonical_bytes(to_json_obj(decision, trace=trace))
    try:
        denied = decision.denied
        written = list(map(_written, denied))  # in C: each denial's bytes as kept on it
        if None in written:  # the denials not written before (~3 a record) are written here
            written = [w if w is not None else denial_written(d) for d, w in zip(denied, written, strict=True)]
        mask = reduce(or_, map(_second, written), 0)  # the tags they cite
        after = _after_pieces(decision)
        after["withdraw"] = _withdraw(decision)  # rare (a claim on file that a chosen code bundles)
        for withdrawal in decision.withdraw:
            for reason in withdrawal.reasons:
                mask |= cites_mask(reason.cites)
        after["sources"] = Fragment(context.sources_json(mask))
        if trace == "full" and decision.trace is not None:  # shared records from their kept bytes
            after["trace"] = decision.trace.json_pieces()
        else:
            _add_trace(after, decision, trace)
        before = orjson.dumps(_fields_before_denied(decision), option=orjson.OPT_SORT_KEYS)
        closing = orjson.dumps(after, option=orjson.OPT_SORT_KEYS)
        line: list[bytes | memoryview] = [memoryview(before)[:-1], b',"denied":[']
        line.extend(chain.from_iterable(map(_first, written)))  # each denial's parts and a ","
        if written:
            line[-1] = line[-1][:-1]  # the last denial's "," (see json_pieces.DenialWritten)
        line.append(b"],")
        line.append(memoryview(closing)[1:])
        return b"".join(line)
    except orjson.JSONEncodeError:  # what orjson refuses, written as canonical_bytes writes it
        return canonical_bytes(to_json_obj(decision, trace=trace))
