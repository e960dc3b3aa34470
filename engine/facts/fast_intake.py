"""The normal path of a valid bundle: one walk that checks the limits and builds what rules read.

`validate_bundle` used to make three Python walks over every bundle (a checked copy, the skeleton
checks after validation, the normalised copy) and cost ~150 µs before evaluation. Here a bundle
that jsonschema-rs finds valid gets one walk that checks every limit on the way (text, digits,
depth, calendar dates, amounts) and builds the evaluator's view at the same time. It never words an
error: at anything it is not sure of (a value over a limit, a type it does not expect, a date that
does not exist, an amount over the maximum, a number where the schema wants a whole number), it
gives up and the precise path in bundle.py runs from the start, so every error, path and message
is the precise path's. When it succeeds it gives exactly what the precise path gives: a
test compares the two over generated and mutated bundles.

Why the one walk is enough: the precise path's checked copy is the value itself when no limit is
crossed (a decoded JSON line holds only dicts, lists, text, ints, Decimals, booleans and nulls);
the money and set facts are the same paths in every schema version (version 2 only adds some), and
in this contract a Decimal is only valid where the schema says money, so a Decimal anywhere else
sends the bundle to the precise path, which is what keeps `20.0` out of a whole-number fact.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from . import fast_check
from .impossible import impossible_values, outside_month_notes
from .incomplete import needing_every_field
from .limits import MAX_DEPTH, MAX_DIGITS, MAX_MONEY, MAX_TEXT, MAX_VALUES
from .schema import XTYPE, model_schema, shared_schema
from .skeleton import ITEMS, OTHER, skeleton
from .upgrade import bundle_version, fold_claims, fold_tcm_period, upgrade_v1

_SMALL = 10**MAX_DIGITS
_SURROGATE = re.compile("[\ud800-\udfff]")
_DATE_SHAPE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
_REAL_DATES: set[str] = set()  # date-shaped texts seen to be real dates: a set lookup after the first
_MAX_REMEMBERED = 100_000
_UPGRADED = ("fact_bundle", "consents", "service_periods")  # what upgrade_v1 may add or change


class _NotSure(Exception):
    """Something the fast path does not decide: the precise path reads the bundle instead."""


Fast = tuple[str, str, dict[str, Any], tuple[str, ...]]  # (id, month, data, notes)


@functools.cache
def _strict_text(version: int) -> str:
    """The schema the fast walk accepts: the shipped one, with every list entry giving the fields
    the rules need (incomplete.py); a bundle with an entry that lacks one is left to the precise
    path, whose notes name it."""
    return json.dumps(needing_every_field(shared_schema(version)))


def fast_bundle(obj: dict[Any, Any], index: int) -> Fast | None:
    """(bundle id, month, evaluator data, notes) of a certainly valid bundle; None: not sure."""
    version = bundle_version(obj)
    try:
        if not fast_check.compiled_valid(_strict_text(version), obj):
            return None
        shape = _shape()
        data = _walk(shape, obj, 0, [MAX_VALUES])
    except _NotSure:
        return None
    if any(True for _ in impossible_values(obj, [])):  # minutes beyond the month (money: in the walk)
        return None
    latest = latest_view(version, data)
    if latest is None:
        return None
    return bundle_id_of(obj, index), obj["month"], latest, tuple(outside_month_notes(obj))


def bundle_id_of(bundle: Mapping[str, Any], index: int) -> str:
    """The bundle's `id`, or its position in its file (`#1` for the first) when it has none that is text.

    An empty id is an id: the caller joins answers back on what it sent, and `#1` is not that."""
    raw_id = bundle.get("id")
    return raw_id if isinstance(raw_id, str) else f"#{index + 1}"


def latest_view(version: int, data: dict[str, Any], walk: bool = True) -> dict[str, Any] | None:
    """The evaluator's view of a normalised bundle of `version`, upgraded to the latest version and
    with every claim in one list, as the precise path builds it (None: not sure). `walk=False`:
    the caller knows what the upgrade adds holds only plain values (typed_intake.py: a v1
    `consent` decoded against its schema), so normalising it would only copy it."""
    if version == 1:
        upgraded = upgrade_v1(data)  # the normalised bundle upgrades as the raw one does (tests show it)
        for key in _UPGRADED if walk else ():  # normalised as bundle._normalize does: a dict or list walked
            item = upgraded.get(key)
            if item is not data.get(key) and type(item) in (dict, list):
                try:
                    upgraded[key] = _walk(_shape().get(key), item, 1, [MAX_VALUES])
                except _NotSure:
                    return None
        data = upgraded
    periods = fold_tcm_period(data)  # v2's `tcm_period` as a service period, as the precise path does (plain values)
    if periods is not data:
        data = dict(periods)
    folded = fold_claims(data)  # every claim in one list, after the upgrade, as the precise path does
    if folded is not data:  # the entries are normalised already; the list becomes the tuple lists normalise to
        data = {**folded, "claims": tuple(folded["claims"])}
    return data


def _shape() -> dict[str, Any]:
    found = skeleton(model_schema(), "normal", normal_shape)
    return found if isinstance(found, dict) else {}


def normal_shape(schema: Any) -> str | None:
    """The skeleton mark of what normalising changes: money (to Decimal) and sets (to tuples)."""
    xtype = schema.get(XTYPE)
    return xtype if xtype in ("money", "set") else None


def _walk(shape: Any, value: Any, depth: int, left: list[int]) -> Any:
    """The evaluator's view of `value` (as bundle._normalize builds it), every limit checked on the way;
    `left` holds how many more values (list items, mapping entries) the bundle may have (MAX_VALUES):
    counted per container, as plain_copy.plain_copy counts them."""
    kind = type(value)
    if kind is dict:
        left[0] -= len(value)
        if depth >= MAX_DEPTH or left[0] < 0:
            raise _NotSure
        shaped = type(shape) is dict
        other = shape.get(OTHER) if shaped else None
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str or len(key) > MAX_TEXT or not key.isascii():
                raise _NotSure
            part = shape.get(key, other) if shaped else None
            leaf = type(item)
            # the common leaves inline, without a call: most values of a bundle are short ASCII text,
            # booleans and small whole numbers (a text of 10 characters may be a date: checked below, once)
            if part is None and (
                (leaf is str and item.isascii() and len(item) <= MAX_TEXT and (len(item) != 10 or item in _REAL_DATES))
                or leaf is bool
                or item is None
                or (leaf is int and -_SMALL < item < _SMALL)
            ):
                out[key] = item
            elif part is None:
                out[key] = _plain(item, depth + 1, left)
            else:
                out[key] = _walk(part, item, depth + 1, left)
        return out
    if kind is list:
        left[0] -= len(value)
        if depth >= MAX_DEPTH or left[0] < 0:
            raise _NotSure
        if shape == "set":
            return tuple([_walk(None, item, depth + 1, left) for item in value])
        items = shape.get(ITEMS) if type(shape) is dict else None
        if items is None:
            return tuple([_plain(item, depth + 1, left) for item in value])
        return tuple([_walk(items, item, depth + 1, left) for item in value])
    if kind is str:
        if len(value) > MAX_TEXT or (not value.isascii() and _SURROGATE.search(value)):
            raise _NotSure
        if len(value) == 10 and value not in _REAL_DATES:
            _check_date(value)
        return (value,) if shape == "set" else value
    if kind is bool or value is None:
        return value
    if shape == "money":
        if kind is int and -_SMALL < value <= MAX_MONEY:
            return Decimal(value)
        if kind is Decimal and value <= MAX_MONEY and exact(value):
            return value
        raise _NotSure
    if kind is int and -_SMALL < value < _SMALL and shape is None:
        return value
    raise _NotSure  # a Decimal where no money is, a float, a tuple, a date object, ...: the precise path


def _plain(value: Any, depth: int, left: list[int]) -> Any:
    """`_walk` where no money or set can be (most of a bundle): no skeleton to look up."""
    kind = type(value)
    if kind is dict:
        left[0] -= len(value)
        if depth >= MAX_DEPTH or left[0] < 0:
            raise _NotSure
        out: dict[str, Any] = {}
        for key, item in value.items():
            if type(key) is not str or len(key) > MAX_TEXT or not key.isascii():
                raise _NotSure
            leaf = type(item)
            if (
                (leaf is str and item.isascii() and len(item) <= MAX_TEXT and (len(item) != 10 or item in _REAL_DATES))
                or leaf is bool
                or item is None
                or (leaf is int and -_SMALL < item < _SMALL)
            ):
                out[key] = item
            else:
                out[key] = _plain(item, depth + 1, left)
        return out
    if kind is list:
        left[0] -= len(value)
        if depth >= MAX_DEPTH or left[0] < 0:
            raise _NotSure
        return tuple([_plain(item, depth + 1, left) for item in value])
    return _walk(None, value, depth, left)  # a leaf: checked as anywhere else


def exact(number: Decimal) -> bool:
    """Within the digit limits, as limits.py checks them (the precise path words any other case)."""
    if not number.is_finite():
        return False
    _sign, digits, exponent = number.as_tuple()
    return len(digits) <= MAX_DIGITS and number.adjusted() < MAX_DIGITS and exponent >= -MAX_DIGITS  # type: ignore[operator]


def _check_date(text: str) -> None:
    """A text shaped like a date must be a real one, wherever it is (conservative: the precise path
    reports it only where the schema holds a date)."""
    if _DATE_SHAPE.fullmatch(text):
        try:
            datetime.date.fromisoformat(text)
        except ValueError:
            raise _NotSure from None
        if len(_REAL_DATES) < _MAX_REMEMBERED:
            _REAL_DATES.add(text)
