"""The checked copy of a loaded record: every limit of limits.py checked on the way, so that no
later step reads a value past one (`plain_copy`). Apart from limits.py, which says what the limits
are and how each is worded: this walks every value of every record."""

from __future__ import annotations

import datetime
import math
import numbers
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, cast

from .limits import (
    CYCLE_HELP,
    DIGITS_HELP,
    FINITE_HELP,
    MAX_DEPTH,
    MAX_DIGITS,
    MAX_RECORD_BYTES,
    MAX_TEXT,
    MAX_VALUES,
    OTHER_HELP,
    SURROGATE_HELP,
    TEXT_HELP,
    VALUES_HELP,
    Limit,
    LimitProblem,
    Problem,
    Where,
    nested_too_deep,
    path_of,
    shortened,
)
from .schema import wants_date, wants_integer

_SURROGATE = re.compile("[\ud800-\udfff]")
_LIMIT = Decimal(10) ** MAX_DIGITS
_SMALL = 10**MAX_DIGITS


def plain_copy(
    value: object, problems: list[LimitProblem], unreadable: list[Problem] | None = None, *, parsed: bool = False
) -> object:
    """A JSON-shaped copy of a loaded record, with every limit checked on the way.

    Mappings become dicts, tuples lists, floats the Decimal of their shortest text (`repr`), so a
    Python caller may pass floats, tuples or an earlier `Bundle.data`; a subclass of str or int
    (an enum member) becomes the plain text or int it holds, as its own `str` or `format` may say
    something else. A value over a limit is reported and replaced (by 0, "" or null), so no later
    check computes with it; nothing below `MAX_DEPTH` is walked, and no more than `MAX_VALUES`
    values are read, so a deep or huge record (or a mapping that never ends) costs no more than
    one at the limit. A caller's mapping whose reading raises is reported in `unreadable` (in
    `problems` without it, with the help that points to the limits) and read as null.

    `parsed`: `value` was read from a file's text, where a Decimal is a number written with a point
    or an exponent (`2.5e1`), which is refused where a whole number is wanted, as `20.0` is. A
    caller's `Decimal("20")` (an Arrow decimal(38, 0)) is the whole number it writes.
    """
    raised: list[Problem] = [] if unreadable is None else unreadable
    copy = _copy(value, None, 0, _Copying(problems, raised, wholes=not parsed))
    if unreadable is None:
        problems.extend((path, Limit(message, OTHER_HELP)) for path, message in raised)
    return copy


class Foreign:
    """A value or key of a type no fact file holds (bytes, a date object, a Fraction, a caller's own
    class), as the checked copy holds it: of no JSON type, so the schema refuses it where it stands,
    and named by its type (and a number or bytes by its repr), never by the caller's own repr or str,
    which may raise or say anything (jsonschema words its errors with repr)."""

    __slots__ = ("kind", "text")

    def __init__(self, value: object) -> None:
        self.kind = type(value)
        self.text = f"<{self.kind.__module__}.{self.kind.__qualname__}>"
        if self.kind in (bytes, bytearray, int, float, complex):  # repr of these is theirs, not a caller's
            try:
                text = repr(value)  # (an int of more than 4,300 digits has none)
            except ValueError:
                return
            self.text = text if len(text) <= 60 else text[:57] + "..."

    def __repr__(self) -> str:
        return self.text


class _Copying:
    """What one copy shares: the problems found, and how many more values it may read."""

    __slots__ = ("inside", "left", "problems", "unreadable", "wholes")

    def __init__(self, problems: list[LimitProblem], unreadable: list[Problem], *, wholes: bool) -> None:
        self.problems, self.unreadable, self.left = problems, unreadable, MAX_VALUES
        self.wholes = wholes  # a Decimal with no digits after its point is a whole number (plain_copy's `parsed`)
        # the ids of the mappings and lists being copied, outermost first: one met again inside
        # itself is a cycle, said once at the first repeat rather than at every path down to MAX_DEPTH
        self.inside: set[int] = set()


CYCLE = "contains itself: this mapping or list is also one of the values it is inside (JSON has no such value)"


def _copy(value: object, where: Where, depth: int, state: _Copying) -> object:
    kind = type(value)  # exact types first: this runs on every value of every record
    if kind is str:
        return _checked_text(value, where, state.problems)  # type: ignore[arg-type]
    if kind is bool or value is None:
        return value
    if kind is int and -_SMALL < value < _SMALL:
        return value
    if kind is dict or kind is list or isinstance(value, Mapping | list | tuple):
        if depth >= MAX_DEPTH:
            state.problems.append((path_of(where), nested_too_deep()))
            return None
        ident = id(value)
        if ident in state.inside:
            state.problems.append((path_of(where), Limit(CYCLE, CYCLE_HELP)))
            return None
        state.inside.add(ident)
        try:
            if isinstance(value, Mapping):
                return _copy_mapping(value, where, depth, state)
            items = cast(list[object], value)
            if not _counted(len(items), where, state):
                return []
            return [_copy(item, (where, i), depth + 1, state) for i, item in enumerate(items)]
        finally:
            state.inside.discard(ident)
    return _leaf(value, where, state)


def _copy_mapping(value: Mapping[Any, Any], where: Where, depth: int, state: _Copying) -> object:
    entries = value.items() if type(value) is dict else _entries(value, where, state)
    if entries is None or (type(value) is dict and not _counted(len(value), where, state)):
        return None if entries is None else {}
    copy: dict[Any, object] = {}
    for key, item in entries:
        if type(key) is not str:
            key = _key(key)
        if type(key) is str and (len(key) > MAX_TEXT or not key.isascii()):
            key = _checked_text(key, (where, key), state.problems)
        leaf = type(item)  # the common leaves inline: a call per value was most of the cost
        plain_text = leaf is str and len(item) <= MAX_TEXT and item.isascii()
        if plain_text or leaf is bool or item is None or (leaf is int and -_SMALL < item < _SMALL):
            copy[key] = item
        else:
            copy[key] = _copy(item, (where, key), depth + 1, state)
    return copy


def _entries(value: Mapping[Any, Any], where: Where, state: _Copying) -> list[tuple[Any, Any]] | None:
    """The entries of a mapping that is no dict (a caller's own), each read once and counted as it
    is read: its `__len__` need not be its length, nor its keys end. None: reading it raised, or it
    holds more values than are left (each said)."""
    entries: list[tuple[Any, Any]] = []
    try:
        for key in value:
            if not _counted(1, where, state):
                return None
            entries.append((key, value[key]))
    except Exception as error:  # the caller's code, raising: this mapping's problem, not a bug here
        state.unreadable.append((path_of(where), f"reading this mapping raised {_raised(error)}"))
        return None
    return entries


def _raised(error: Exception) -> str:
    try:
        said = str(error)
    except Exception:  # an exception whose text raises in turn
        said = ""
    said = said if len(said) <= 200 else said[:197] + "..."
    return f"{type(error).__name__}: {said}" if said else type(error).__name__


def _counted(count: int, where: Where, state: _Copying) -> bool:
    """Whether `count` more values may be read; the first time not, said once (at this place)."""
    if count <= state.left:
        state.left -= count
        return True
    if state.left >= 0:
        message = (
            f"more than {MAX_VALUES:,} values (list items and mapping entries) in one bundle, "
            f"more than a record of {MAX_RECORD_BYTES:,} bytes can hold"
        )
        state.problems.append((path_of(where), Limit(message, VALUES_HELP)))
        state.left = -1
    return False


# an int key of up to ~4,200 digits is kept as the number (a key is never a number fact, so no digit
# limit applies to it; str() of it, in messages, works below Python's 4,300 digits)
_KEY_BITS = 14_000


def _key(key: object) -> object:
    """A key that is not plain text, as the copy holds it: a str subclass's text; a boolean, null or
    a number kept (YAML's `on:` and `99490:`, named so in messages); anything else a `Foreign`."""
    if isinstance(key, str):
        return str.__str__(key)
    if key is None or type(key) is bool or (type(key) is int and -_SMALL < key < _SMALL):
        return key
    if type(key) is int and key.bit_length() <= _KEY_BITS:  # a YAML key of many digits: named as written
        return key
    if type(key) is float and math.isfinite(key):
        return key
    return Foreign(key)


def _leaf(value: object, where: Where, state: _Copying) -> object:
    """A value that is neither a container nor plain text, a small int, a boolean or null."""
    if isinstance(value, str):  # a subclass (an enum member): the text it holds
        return _checked_text(str.__str__(value), where, state.problems)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        if isinstance(value, int):  # a subclass (an IntEnum member): the int it holds
            value = int.__int__(value)
        elif isinstance(value, Decimal) and type(value) is not Decimal:
            value = Decimal(value)
        number = _checked_number(value, where, state.problems)
        if (state.wholes and isinstance(number, Decimal) and number.as_tuple().exponent == 0
                and wants_integer(path_of(where))):
            # written without a point (`Decimal("20")`; a decimal(38, 0) column, a database's NUMBER(38, 0),
            # Spark's reading of an unsigned int64), the whole number its text writes, as JSON's `20` is;
            # kept a Decimal, `minutes` refused it: `expected a whole number of minutes, found `20``
            return int(number)
        return number
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        try:  # numpy's int64, what a DataFrame row holds: its exact int
            number = int(value)
        except Exception:  # a caller's Integral whose int() raises: named by its type
            return Foreign(value)
        return _checked_number(int.__int__(number), where, state.problems)
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime) and wants_date(path_of(where)):
        return datetime.date.isoformat(value)  # exact, as an Arrow date is read; a datetime's time is not a date's
    return Foreign(value)  # bytes, timestamps, numpy's bool, a Fraction...: the schema names their type


def _checked_text(value: str, where: Where, problems: list[LimitProblem]) -> str:
    if len(value) > MAX_TEXT:
        message = f"text of {len(value):,} characters; fact files allow at most {MAX_TEXT:,}"
        problems.append((path_of(where), Limit(message, TEXT_HELP)))
        return ""
    found = None if value.isascii() else _SURROGATE.search(value)
    if found:
        code = f"\\u{ord(found.group()):04x}"
        message = f"text holds `{code}`, half of a UTF-16 pair and not a character"
        problems.append((path_of(where), Limit(message, SURROGATE_HELP)))
        return ""
    return value


# said of a float refused for its digits: the digits are the binary float's, not the amount's (a
# float column's 25.1 stored as 25.100000381469727), so only a decimal type carries the amount meant
_FLOAT_HINT = ("; the value is a binary float, which holds no exact decimal: give amounts as decimals (a "
               "decimal column in Arrow or Parquet, a Decimal in Python)")


def _checked_number(value: int | float | Decimal, where: Where, problems: list[LimitProblem]) -> object:
    if isinstance(value, int):
        # compared, never str()-ed: str() of an int over 4,300 digits raises ValueError
        if abs(value) >= _LIMIT:
            message = f"a number of more than {MAX_DIGITS} digits; fact files allow at most {MAX_DIGITS}"
            problems.append((path_of(where), Limit(message, DIGITS_HELP)))
            return 0
        return value
    # a float's shortest text: float.__repr__, as a subclass's own repr need not be its number
    # (numpy's float64, what a DataFrame gives, is `np.float64(66.13)`)
    number = Decimal(float.__repr__(value)) if isinstance(value, float) else value
    if not number.is_finite():
        problems.append((path_of(where), Limit(f"`{_quoted(value)}` is not a finite number", FINITE_HELP)))
        return 0
    _sign, digits, exponent = number.as_tuple()
    if len(digits) <= MAX_DIGITS and number.adjusted() < MAX_DIGITS and exponent >= -MAX_DIGITS:  # type: ignore[operator]
        return number
    kept = "".join(map(str, digits)).rstrip("0")  # counted, not normalize()d: that rounds
    significant = len(kept)
    places = -exponent - (len(digits) - significant)  # type: ignore[operator]  # the zeros at the end aside
    text = _quoted(value)
    if significant > MAX_DIGITS or number.adjusted() >= MAX_DIGITS:
        why = f"has {significant} significant digits" if significant > MAX_DIGITS else "is too large"
        floated = _FLOAT_HINT if isinstance(value, float) and significant > MAX_DIGITS else ""
        message = f"`{text}` {why}; fact files allow at most {MAX_DIGITS} digits{floated}"
        problems.append((path_of(where), Limit(message, DIGITS_HELP)))
        return 0
    if kept and places > MAX_DIGITS:
        message = f"`{text}` has {places:,} decimal places; fact files allow at most {MAX_DIGITS}"
        message += _FLOAT_HINT if isinstance(value, float) else ""
        problems.append((path_of(where), Limit(message, DIGITS_HELP)))
        return 0
    return number


def _quoted(value: int | float | Decimal) -> str:
    """A refused number as its message quotes it: as the value is written, a float by Python's own
    text (`1e+27`, not its Decimal's `1E+27`). A number of a text input (JSON, YAML) is quoted by its
    own text in the file once its error record is made (written.py)."""
    return shortened(float.__repr__(value) if isinstance(value, float) else str(value))
