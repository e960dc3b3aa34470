"""The limits of a fact record, and the values no patient-month can have.

Each limit is far above anything a real bundle needs and low enough that no single record can
exhaust memory or time, or reach a number too large to compute with exactly. Every one is reported
as a clear error on the record that crosses it (docs/reference/fact-limits.md lists them):

- a record (a JSON line or YAML document) of at most `MAX_RECORD_BYTES`; a whole JSON document or
  YAML list of at most `MAX_DOCUMENT_BYTES` (JSON Lines has no file limit: it is read line by line)
- nesting at most `MAX_DEPTH` deep (a bundle needs 4)
- text at most `MAX_TEXT` characters, and only real characters (no lone surrogate such as `\\ud800`,
  which JSON can spell but UTF-8 cannot write)
- numbers with at most `MAX_DIGITS` significant digits, below 10^`MAX_DIGITS` and with at most
  `MAX_DIGITS` decimal places (exact as a float too, which the compiled validator relies on; and a
  number such as `1e-9999999` is neither: as a float it is 0, and as a Decimal it checked as a whole
  number of cents, its remainder below the smallest Decimal there is)

Values that are well-formed but physically impossible are errors as well: one practitioner's
minutes in a month beyond the minutes that month has, and an amount of money above `MAX_MONEY`,
which is beyond any fee of the fee schedule by a factor of hundreds.
"""

from __future__ import annotations

import calendar
import functools
import numbers
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, cast

MAX_RECORD_BYTES = 1_000_000
MAX_DOCUMENT_BYTES = 64_000_000
MAX_DEPTH = 16
MAX_TEXT = 2_000
MAX_DIGITS = 15
MAX_MONEY = Decimal("100000.00")
MINUTES_PER_DAY = 24 * 60

PathPart = str | int | object
Problem = tuple[list[PathPart], str]

_SURROGATE = re.compile("[\ud800-\udfff]")
_LIMIT = Decimal(10) ** MAX_DIGITS
_SMALL = 10**MAX_DIGITS


def plain_copy(value: object, problems: list[Problem]) -> object:
    """A JSON-shaped copy of a loaded record, with every limit checked on the way.

    Mappings become dicts, tuples lists, floats the Decimal of their shortest text (`repr`), so a
    Python caller may pass floats, tuples or an earlier `Bundle.data`. A value over a limit is
    reported and replaced (by 0, "" or null), so no later check computes with it; nothing below
    `MAX_DEPTH` is walked, so a deep record costs no more than a shallow one.
    """
    return _copy(value, None, 0, problems)


Where = tuple[Any, PathPart] | None  # (parent, key): a path built only when a problem is reported


def path_of(where: Where) -> list[PathPart]:
    parts: list[PathPart] = []
    while where is not None:
        where, key = where
        parts.append(key)
    return parts[::-1]


def _copy(value: object, where: Where, depth: int, problems: list[Problem]) -> object:
    kind = type(value)  # exact types first: this runs on every value of every record
    if kind is str:
        return _checked_text(value, where, problems)  # type: ignore[arg-type]
    if kind is bool or value is None:
        return value
    if kind is int and -_SMALL < value < _SMALL:
        return value
    if kind is dict or kind is list or isinstance(value, Mapping | list | tuple):
        if depth >= MAX_DEPTH:
            problems.append((path_of(where), f"nested more than {MAX_DEPTH} levels deep"))
            return None
        if isinstance(value, Mapping):
            copy: dict[Any, object] = {}
            for key, item in value.items():
                if type(key) is str and (len(key) > MAX_TEXT or not key.isascii()):
                    key = _checked_text(key, (where, key), problems)
                leaf = type(item)  # the common leaves inline: a call per value was most of the cost
                plain_text = leaf is str and len(item) <= MAX_TEXT and item.isascii()
                if plain_text or leaf is bool or item is None or (leaf is int and -_SMALL < item < _SMALL):
                    copy[key] = item
                else:
                    copy[key] = _copy(item, (where, key), depth + 1, problems)
            return copy
        return [_copy(item, (where, i), depth + 1, problems) for i, item in enumerate(cast(list[object], value))]
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return _checked_number(value, where, problems)
    if isinstance(value, numbers.Integral):  # numpy's int64, what a DataFrame row holds: its exact int
        return _checked_number(int(value), where, problems)
    if isinstance(value, str):
        return _checked_text(value, where, problems)
    return value  # bytes, dates, ...: the schema names what they are


def _checked_text(value: str, where: Where, problems: list[Problem]) -> str:
    if len(value) > MAX_TEXT:
        problems.append((path_of(where), f"text of {len(value):,} characters; fact files allow at most {MAX_TEXT:,}"))
        return ""
    found = None if value.isascii() else _SURROGATE.search(value)
    if found:
        code = f"\\u{ord(found.group()):04x}"
        problems.append((path_of(where), f"text holds `{code}`, half of a UTF-16 pair and not a character"))
        return ""
    return value


def _checked_number(value: int | float | Decimal, where: Where, problems: list[Problem]) -> object:
    if isinstance(value, int):
        # compared, never str()-ed: str() of an int over 4,300 digits raises ValueError
        if abs(value) >= _LIMIT:
            message = f"a number of more than {MAX_DIGITS} digits; fact files allow at most {MAX_DIGITS}"
            problems.append((path_of(where), message))
            return 0
        return value
    # a float's shortest text: float.__repr__, as a subclass's own repr need not be its number
    # (numpy's float64, what a DataFrame gives, is `np.float64(66.13)`)
    number = Decimal(float.__repr__(value)) if isinstance(value, float) else value
    if not number.is_finite():
        problems.append((path_of(where), f"`{number}` is not a finite number"))
        return 0
    _sign, digits, exponent = number.as_tuple()
    if len(digits) <= MAX_DIGITS and number.adjusted() < MAX_DIGITS and exponent >= -MAX_DIGITS:  # type: ignore[operator]
        return number
    kept = "".join(map(str, digits)).rstrip("0")  # counted, not normalize()d: that rounds
    significant = len(kept)
    places = -exponent - (len(digits) - significant)  # type: ignore[operator]  # the zeros at the end aside
    text = str(number) if len(str(number)) <= 40 else str(number)[:37] + "..."
    if significant > MAX_DIGITS or number.adjusted() >= MAX_DIGITS:
        why = f"has {significant} significant digits" if significant > MAX_DIGITS else "is too large"
        problems.append((path_of(where), f"`{text}` {why}; fact files allow at most {MAX_DIGITS} digits"))
        return 0
    if kept and places > MAX_DIGITS:
        message = f"`{text}` has {places:,} decimal places; fact files allow at most {MAX_DIGITS}"
        problems.append((path_of(where), message))
        return 0
    return number


# --- values no patient-month can have -------------------------------------------------------------


def read_decimal(text: str) -> Decimal:
    """The Decimal a reader makes of a number's text, or ValueError, as for an integer too long to
    read, when its exponent is past what a Decimal holds (`1e` and 19 digits or more): Decimal raises
    InvalidOperation, an ArithmeticError no reader expected, so the line was an internal error in
    `batch` and a 500 for the whole request in `serve`."""
    try:
        return Decimal(text)
    except ArithmeticError:
        exponent = text.lower().partition("e")[2].lstrip("+-").lstrip("0")
        raise ValueError(f"a number with a {len(exponent)}-digit exponent") from None


def digits_message(exc: ValueError) -> str:
    """The words of a number too long to read (`read_decimal`, or an integer over 4,300 digits)."""
    return f"{exc}; fact files allow at most {MAX_DIGITS} digits"


def month_minutes(month: object) -> int:
    """The minutes in the service month (31 days' worth when the month is not a valid `YYYY-MM`)."""
    if type(month) is str and len(month) == 7:  # the only length a `YYYY-MM` has
        return _month_minutes(month)
    return 31 * MINUTES_PER_DAY


@functools.lru_cache(maxsize=4096)  # bounded: 4,096 texts of 7 characters, under 1 MB
def _month_minutes(month: str) -> int:
    days = 31
    if re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", month):
        days = calendar.monthrange(int(month[:4]), int(month[5:]))[1]
    return days * MINUTES_PER_DAY


def impossible_values(bundle: Mapping[str, Any], money_paths: list[tuple[Where, Any]]) -> Iterator[Problem]:
    """Well-formed values that no real month has: run on a bundle that passed the schema.

    A practitioner's minutes are added up per month: those of the entries dated in it (and of the
    undated ones, in the service month), against the minutes that month has; the days of device
    data (`rpm.device_days`) against the days of the service month."""
    for where, amount in money_paths:
        if isinstance(amount, int | Decimal) and amount > MAX_MONEY:
            yield path_of(where), f"`{amount}` is more than any fee (at most {MAX_MONEY:,} per amount)"
    service_month = bundle.get("month")
    totals: dict[tuple[object, object], int] = {}  # (practitioner, month): the minutes so far
    for i, entry in enumerate(bundle.get("time") or ()):
        if not (type(entry) is dict or isinstance(entry, Mapping)) or not isinstance(entry.get("minutes"), int):
            continue
        who = entry.get("practitioner")  # None: the entries without one (not the practitioner "None")
        key = (who if type(who) is str or who is None else str(who), entry_month(entry.get("date"), service_month))
        month = key[1]
        available = month_minutes(month)
        before = totals.get(key, 0)
        total = totals[key] = before + entry["minutes"]
        if before <= available < total:
            whose = f"practitioner `{who}` has" if who is not None else "the entries without a practitioner have"
            message = (
                f"{whose} {total:,} minutes in {month} up to this entry, "
                f"more than the {available:,} minutes the month has"
            )
            yield ["time", i, "minutes"], message
    rpm = bundle.get("rpm")
    days = rpm.get("device_days") if type(rpm) is dict or isinstance(rpm, Mapping) else None
    if type(days) is int and days > (in_month := month_minutes(service_month) // MINUTES_PER_DAY):
        yield ["rpm", "device_days"], f"{days} days of device data in {service_month}, which has {in_month} days"


def device_days_possible(raw: Mapping[str, Any]) -> bool:
    """Whether `rpm.device_days` (when given: an int of 0-31, as the schema has it) fits in the
    service month: February has no 30th day of data. The typed path's test; impossible_values words it."""
    rpm = raw.get("rpm")
    days = rpm.get("device_days") if rpm else None
    return days is None or days * MINUTES_PER_DAY <= month_minutes(raw.get("month"))


def entry_month(date: object, service_month: object) -> object:
    """The month a time entry's minutes were spent in: its date's (an entry dated outside the service
    month is not counted in it, see `outside_month_notes`), or the service month when it has none."""
    return date[:7] if isinstance(date, str) and len(date) == 10 else service_month


def outside_month_notes(bundle: Mapping[str, Any]) -> Iterator[str]:
    """A note for each time entry dated outside the service month: the rules do not count it.

    Not an error (a practice may export a wider window than the month), but never dropped without
    a word: the decision's `notes` name each one.
    """
    month = bundle.get("month")
    for i, entry in enumerate(bundle.get("time") or ()):
        date = entry.get("date") if type(entry) is dict or isinstance(entry, Mapping) else None
        if isinstance(date, str) and isinstance(month, str) and not date.startswith(month + "-"):
            who = entry.get("practitioner")
            what = f"{entry.get('minutes')} minutes of {entry.get('service')} by `{who}`"
            where = f"time[{i}] ({what}) is dated {date}, outside the service month {month}"
            yield where + ": not counted in the month's minutes"
