"""The normal path of a JSON line: decoded and checked in one typed pass, in C (msgspec).

The untyped path (decode to dicts, jsonschema-rs, then fast_intake's Python walk over every value)
cost ~110 µs a line, most of it the walk. Here msgspec decodes the line straight into the types
typed_model.py builds from the schema: unknown keys, types, enums, patterns, real dates, bounds and
text lengths are checked during the decode, lists arrive as tuples, and `to_builtins` turns the
records into the dicts the evaluator reads. What is left in Python touches only the few money and
set values (skeleton.py finds them) and the month's minutes and notes (impossible.py).

It never words an error: a line it is not sure of (refused by a type, an amount it does not take,
anything unexpected) returns None, and the untyped path reads the line from the start, so every
error, path and message is that path's. A bundle it accepts is exactly the `Bundle` the untyped
path gives: the same data, id, notes and facts hash (tests/test_typed_intake.py compares the two
over generated, mutated and hostile lines). Only one thing differs, and nothing reads it: the keys
of a fixed record are in sorted order rather than the line's (the facts hash sorts keys, and no
output iterates over a record's keys without sorting them).
"""

from __future__ import annotations

import re
from decimal import Decimal
from hashlib import sha256
from typing import Any

import msgspec
import orjson

from .bundle import Bundle
from .fast_intake import bundle_id_of, exact, normal_shape
from .impossible import device_days_possible, month_bound, outside_month_notes
from .json_keys import surely_unique
from .limits import LONGEST_DAY_MINUTES, MAX_MONEY
from .schema import shared_schema
from .skeleton import ITEMS, OTHER, skeleton
from .typed_model import Unsupported, bundle_type
from .upgrade import fold_claims_in_place, fold_tcm_period_in_place, upgrade_v1_in_place

JSON_DECODER = msgspec.json.Decoder(float_hook=Decimal)  # decimals from their text: money stays exact
_CENT = Decimal("0.01")
# an amount written plainly: not negative, whole cents, far within the digit limits (limits.py); the
# same value msgspec gives (int, or the Decimal of the text), without decoding it
_PLAIN_AMOUNT = re.compile(rb"(?:0|[1-9][0-9]{0,5})(?:\.[0-9]{1,2})?")
_ABSENT = object()


def _decoders() -> dict[int, msgspec.json.Decoder[Any]] | None:
    try:
        _PLANS.update(_plans())
        return {version: msgspec.json.Decoder(bundle_type(version)) for version in (1, 2)}
    except Unsupported:  # a schema keyword the builder does not translate: every line takes the untyped path
        return None


_PLANS: dict[int, Plan] = {}  # where money and sets are, per version (with the decoders)


_DECODERS: dict[int, msgspec.json.Decoder[Any]] | bool | None = False  # built on first use


def typed_record(line: bytes | str, source: str, index: int) -> Bundle | None:
    """The bundle of a JSON line that is certainly valid; None: not sure (the untyped path decides)."""
    global _DECODERS
    if _DECODERS is False:
        _DECODERS = _decoders()
    if not isinstance(_DECODERS, dict) or type(line) is not bytes:  # a line given as text: the untyped path
        return None
    # the two versions are disjoint (`fact_bundle` is 1 or absent, or 2), so the order only saves
    # time; find(), not `in`: on bytes, `in` first tries the text as an int and words an error
    at = line.find(b'"fact_bundle"')
    order = (2, 1) if at >= 0 and line[at + 13 : at + 20].replace(b" ", b"").startswith(b":2") else (1, 2)
    for version in order:
        try:
            decoded = _DECODERS[version].decode(line)
        except (msgspec.DecodeError, UnicodeError, RecursionError):
            continue
        return _bundle(version, msgspec.to_builtins(decoded, builtin_types=(msgspec.Raw,)), line, source, index)
    return None


def _bundle(version: int, raw: dict[str, Any], line: bytes, source: str, index: int) -> Bundle | None:
    changes: list[tuple[Any, Any, Any]] = []  # (container, key, the evaluator's value), set after hashing
    if not _settle(_PLANS[version], raw, changes):
        return None
    notes = _month_notes(raw)
    if notes is None:
        return None
    try:  # bundle._facts_hash, with each amount already its text (an orjson Fragment): no call back
        canonical = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # what bundle._facts_hash would write otherwise: the untyped path decides
        return None
    if not surely_unique(line, canonical):  # a key set twice, or not sure: the untyped path finds it
        return None
    facts_hash = sha256(canonical).hexdigest()
    for container, key, value in changes:
        container[key] = value
    # the evaluator's view (fast_intake.latest_view), made in place: `raw` is this call's own
    if version == 1:
        upgrade_v1_in_place(raw)  # (which folds `tcm_period` too)
    else:
        fold_tcm_period_in_place(raw)  # v2's `tcm_period` as a service period, as the precise path does
    if fold_claims_in_place(raw):
        raw["claims"] = tuple(raw["claims"])  # the tuple a list is normalised to
    return Bundle(bundle_id_of(raw, index), source, index, raw["month"], raw, facts_hash, notes)


# A skeleton (skeleton.py) of where money and sets are, as (the keys it names with their parts, those
# keys as a set, the part of any other key, the part of a list's items): a part is "money", "set" or
# another plan. Built once per version, so a bundle costs a few dict lookups.
Plan = tuple[tuple[tuple[str, Any], ...], frozenset[str], Any, Any]


def _plan(shape: Any) -> Plan:
    if type(shape) is not dict:
        raise Unsupported("money or a set outside a record")  # a list of amounts: not in the schemas
    named = tuple((key, _part(part)) for key, part in shape.items() if key not in (OTHER, ITEMS))
    other = _part(shape[OTHER]) if OTHER in shape else None
    return named, frozenset(key for key, _ in named), other, _plan(shape[ITEMS]) if ITEMS in shape else None


def _part(part: Any) -> Any:
    return part if part in ("money", "set") else _plan(part)


def _plans() -> dict[int, Plan]:
    shapes = {version: skeleton(shared_schema(version), "normal", normal_shape) for version in (1, 2)}
    return {version: _plan(shape if isinstance(shape, dict) else {}) for version, shape in shapes.items()}


def _month_notes(raw: dict[str, Any]) -> tuple[str, ...] | None:
    """impossible.outside_month_notes, or None where impossible.impossible_values finds a problem, in one
    loop over the time entries: the typed decode made each a dict, its minutes a whole number of at
    least 0 (so a practitioner's total only grows: over the month or the day at the end iff at some
    entry) and its date a real date or null."""
    month = raw["month"]
    if not device_days_possible(raw):
        return None  # the untyped path words it (impossible_values)
    available = month_bound(month)
    totals: dict[object, int] = {}  # practitioner (in the month), or (practitioner, month) (outside it)
    per_day: dict[tuple[str, str], int] = {}  # (named practitioner, date): at most 25 hours
    outside = False
    for entry in raw.get("time") or ():
        date = entry.get("date")  # a real `YYYY-MM-DD`: inside the month iff it starts with it
        inside = date is None or date[:7] == month
        minutes = entry.get("minutes")
        if minutes is not None:
            who = entry.get("practitioner")  # None: the entries without one, not the text "None"
            key = who if inside else (who, date[:7])  # per month, as impossible_values adds them up
            total = totals[key] = totals.get(key, 0) + minutes
            if total > (available if inside else month_bound(date[:7])):
                return None  # the untyped path words it (impossible_values)
            if date is not None and type(who) is str:
                day = per_day[who, date] = per_day.get((who, date), 0) + minutes
                if day > LONGEST_DAY_MINUTES:
                    return None  # likewise
        outside = outside or not inside
    # (no entry lacks a field the rules need: the typed model requires them, incomplete.py)
    return tuple(outside_month_notes(raw)) if outside else ()


def _settle(plan: Plan, node: Any, changes: list[tuple[Any, Any, Any]]) -> bool:
    """Money decoded (in place: the value as written) and checked, sets checked; the evaluator's
    value of each (Decimal money, a tuple of services) noted in `changes`. False: not sure."""
    named, names, other, items = plan
    kind = type(node)
    if kind is tuple:
        return items is None or all(_settle(items, item, changes) for item in node)
    if kind is not dict:
        return True
    for key, part in named:  # the few keys the plan names (a bundle has many more)
        value = node.get(key, _ABSENT)
        if value is _ABSENT:
            continue
        if type(part) is tuple:
            if not _settle(part, value, changes):
                return False
        elif not _leaf(part, node, key, value, changes):
            return False
    if other is not None:  # every other key of a map, such as a fee table
        for key, value in node.items():
            if key in names:
                continue
            if type(other) is tuple:
                if not _settle(other, value, changes):
                    return False
            elif not _leaf(other, node, key, value, changes):
                return False
    return True


def _leaf(part: str, node: dict[str, Any], key: str, value: Any, changes: list[tuple[Any, Any, Any]]) -> bool:
    """One amount or set of `node[key]` (`value`), settled as `_settle` says."""
    if part == "money":
        amount = money(value)
        if amount is None:
            return False
        node[key] = amount[0]  # replacing a key's value while iterating: the dict keeps its keys and order
        changes.append((node, key, amount[1]))
        return True
    if type(value) is tuple and len(set(value)) != len(value):  # a set
        return False  # a service listed twice: the precise path words it
    changes.append((node, key, value if type(value) is tuple else (value,)))
    return True


Amount = tuple[int | orjson.Fragment, Decimal]
# money() of the amounts taken, by their text: amounts repeat (half of the benchmark's are `0.0`),
# and a lookup costs a tenth of the check and the Decimal. Immutable values, so bundles may share
# them. Bounded: texts of a plain amount's length, 4,096 of them (past that, read anew each time).
_AMOUNTS: dict[bytes, Amount] = {}
_AMOUNTS_KEPT = 4_096
_AMOUNT_TEXT = 24


def money(raw: Any) -> Amount | None:
    """An amount the schema and the limits certainly take, as (what the facts hash writes for it,
    the evaluator's Decimal). The first is the amount as written: the int, or, as bundle._facts_hash
    writes a Decimal, its text as a JSON string."""
    if type(raw) is not msgspec.Raw:
        return None
    text = bytes(raw)
    found = _AMOUNTS.get(text)
    if found is None:
        found = _amount(text)
        if found is not None and len(text) <= _AMOUNT_TEXT and len(_AMOUNTS) < _AMOUNTS_KEPT:
            _AMOUNTS[text] = found
    return found


def _amount(text: bytes) -> Amount | None:
    """money() of an amount's JSON text."""
    if _PLAIN_AMOUNT.fullmatch(text):  # most amounts: at most 6 + 2 digits, no sign, no exponent
        if text.isdigit():  # a whole number (isdigit on bytes: ASCII digits only)
            whole = int(text)
            return (whole, Decimal(whole)) if whole <= MAX_MONEY else None
        # the Decimal of a plain text has that very text: `107.20` stays `107.20`
        cents = Decimal(text.decode("ascii"))
        return (orjson.Fragment(b'"%s"' % text), cents) if cents <= MAX_MONEY else None
    try:
        value = JSON_DECODER.decode(text)
    except (msgspec.DecodeError, RecursionError):
        return None
    if type(value) is int:
        return (value, Decimal(value)) if 0 <= value <= MAX_MONEY else None
    if type(value) is Decimal and exact(value) and 0 <= value <= MAX_MONEY and not value % _CENT:
        if value.as_tuple().exponent == 0:  # `0e0`, `5E0`: a whole number, as bundle._decimal_text writes it
            return int(value), value
        return orjson.Fragment(b'"%s"' % str(value).encode("ascii")), value
    return None
