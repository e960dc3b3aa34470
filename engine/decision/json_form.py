"""The decision's JSON form (docs/reference/decision-format.md): `to_json_obj` (fresh dicts and
lists), `to_json` (text) and `to_json_bytes` (the one-line UTF-8 bytes `batch` writes).

Keys sorted, fixed separators, money as strings with two decimals ("60.49"), so the same decision
gives byte-identical JSON. `to_json_bytes` writes the line from pieces kept between decisions
(json_pieces.py, DecisionContext.sources_json); the value-level helpers of the trace are in
trace_nodes.py, which the model imports.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import reduce
from operator import attrgetter, itemgetter, or_
from typing import Any

import orjson
from orjson import Fragment

from ..jsontext import canonical_bytes, canonical_text
from .context import DecisionContext
from .json_pieces import cites_mask, denial_written, engine_json, exact_bytes, switches_json
from .model import Decision, Reason, Shares, Totals

DECISION_FORMAT = 1


def money_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


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
                "cites": list(line.cites),
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
    cites.append(decision.note_cites)
    return {tag: info.to_json_obj() for tag, info in sorted(context.sources_of(cites).items())}


def to_json(decision: Decision, *, indent: int | None = 2, trace: str = "full") -> str:
    """The stable JSON form: keys sorted, fixed separators, money as strings, UTF-8 text."""
    if not indent:
        return canonical_text(to_json_obj(decision, trace=trace))
    return json.dumps(
        to_json_obj(decision, trace=trace), indent=indent, sort_keys=True, separators=(",", ": "), ensure_ascii=False
    )


_written = attrgetter("written")
_second = itemgetter(1)


def to_json_bytes(decision: Decision, *, trace: str = "full", end: bytes = b"") -> bytes:
    """The one-line JSON form as UTF-8 bytes (what `batch` writes): the bytes of
    `canonical_bytes(to_json_obj(decision, trace=trace))`, with the denials and sources written from
    pieces kept between decisions (json_pieces.py, DecisionContext.sources_json), then `end`.

    The line is joined once: the members before "denied" (keys sorted, as orjson writes them, the
    closing brace left off), the denials' kept parts, then the members after it (the opening brace
    left off), so the ~20 kB of denials are copied once (not into a list's bytes, then the line).
    `end` (batch's newline) is joined with them for the same reason: `line + b"\n"` copies the line."""
    context = decision.context
    if context is None:
        return canonical_bytes(to_json_obj(decision, trace=trace)) + end
    try:
        denied = decision.denied
        written = list(map(_written, denied))  # in C: each denial's bytes as kept on it
        if not all(written):  # the denials not written before (~4 a record) are written here (a
            # kept one is a non-empty tuple: `all` tests each in C, where `None in` compares them)
            written = [w if w is not None else denial_written(d) for d, w in zip(denied, written, strict=True)]
        mask = reduce(or_, map(_second, written), 0)  # the tags they cite
        after = _after_pieces(decision)
        after["withdraw"] = _withdraw(decision)  # rare (a claim on file that a chosen code bundles)
        for withdrawal in decision.withdraw:
            for reason in withdrawal.reasons:
                mask |= cites_mask(reason.cites)
        if decision.note_cites:
            mask |= cites_mask(decision.note_cites)
        after["sources"] = Fragment(context.sources_json(mask))
        trace_parts = decision.trace.json_parts() if trace == "full" and decision.trace is not None else None
        if trace_parts is None:
            _add_trace(after, decision, trace)
        before = orjson.dumps(_fields_before_denied(decision), option=orjson.OPT_SORT_KEYS)
        line: list[bytes | memoryview] = [memoryview(before)[:-1], b',"denied":[']
        for parts, _tags in written:  # each denial's parts and a ","; a tuple is added to a list in one
            line += parts  # copy of its references (chain.from_iterable stepped through each: 1.7x this)
        if written:
            line[-1] = line[-1][:-1]  # the last denial's "," (see json_pieces.DenialWritten)
        line.append(b"],")
        if trace_parts is None:
            line.append(memoryview(orjson.dumps(after, option=orjson.OPT_SORT_KEYS))[1:])
        else:  # the full trace's ~40 kB joined once, here: "trace" sorts after "totals", before "withdraw"
            withdraw = orjson.dumps(after.pop("withdraw"), option=orjson.OPT_SORT_KEYS)
            line.append(memoryview(orjson.dumps(after, option=orjson.OPT_SORT_KEYS))[1:-1])
            line.append(b',"trace":')
            line += trace_parts
            line += (b',"withdraw":', withdraw, b"}")
        line.append(end)
        return b"".join(line)
    except orjson.JSONEncodeError:  # what orjson refuses, written as canonical_bytes writes it
        return canonical_bytes(to_json_obj(decision, trace=trace)) + end
