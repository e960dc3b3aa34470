"""A row of an Arrow table with a value Python cannot hold, said where it is and what is accepted.

Arrow holds timestamps and dates as counts from 1970-01-01 of any size its integers allow; Python's
datetime holds years 1 to 9,999 only, so converting such a row raised `Python int too large to
convert to C int` (or `days=...; must have magnitude <= 999999999`), which the row's error repeated
at its column. This walks the row's failing column (structs, lists, dictionaries) down to the value
itself, so that the error names its JSON path (`$.time[0].date`), the table row, the raw count and
what it would be, and the range that is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from carepolicy.engine import BundleError, Diagnostic
from carepolicy.engine.facts.record_errors import not_utf8
from carepolicy.engine.facts.schema_messages import json_path

ACCEPTED = "from 0001-01-01 to 9999-12-31 (the years Python's datetime holds)"
_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}
_UNIT_WORDS = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
Part = str | int


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A row with a cell Python cannot hold: text that is not UTF-8, a date past year 9,999."""

    column: str
    problem: Exception
    whole: bool = False  # the cell is the bundle (a struct `bundle` column), not one of its fields
    parts: tuple[Part, ...] = ()  # the path to the value from the column (keys and list positions)
    kind: pa.DataType | None = None  # the value's Arrow type, when it was found
    raw: int | None = None  # a temporal value's count (days, seconds, ...) from 1970-01-01
    bundle_id: str | None = None  # the row's `id`, when it could be read

    def error(self, source: str, index: int) -> BundleError:
        bundle_id = self.bundle_id or f"#{index + 1}"
        code, what = self._said()
        inside = list(self.parts) if self.whole else [self.column, *self.parts]
        path = json_path(inside, _skeleton(inside)) if inside else None
        where = cell_place(self.column, index)
        help = None if code == "facts/syntax" else "write the value again from its source, or leave it null"
        diag = Diagnostic(code, f"{where}: {what}", fact_path=path, file=source, bundle=bundle_id, help=help)
        return BundleError(bundle_id, source, index, (diag,), bool(self.bundle_id))

    def _said(self) -> tuple[str, str]:
        if isinstance(self.problem, UnicodeDecodeError):  # worded as for a JSON line
            return "facts/syntax", not_utf8(self.problem.object, self.problem)
        kind, raw = self.kind, self.raw
        if isinstance(self.problem, PartialDay) and raw is not None:
            into = raw % _PER_DAY["ms"]
            return "facts/schema", (
                f"a date64 value of {raw:,} milliseconds from 1970-01-01 is not a whole day ({into:,} ms into "
                f"the day, which a date would drop); dates are whole days: write it as a date32 date, or as a "
                f"timestamp where a time of day is meant"
            )
        if kind is not None and raw is not None and pa.types.is_timestamp(kind):
            unit = kind.unit
            days = raw / _PER_DAY[unit]
            return "facts/schema", (
                f"timestamp out of range: {raw:,} {_UNIT_WORDS[unit]} from 1970-01-01 ({_year(days)}, column type "
                f"{kind}); timestamps are accepted {ACCEPTED}"
            )
        if kind is not None and raw is not None and (pa.types.is_date32(kind) or pa.types.is_date64(kind)):
            days = raw if pa.types.is_date32(kind) else raw / _PER_DAY["ms"]
            count = f"{raw:,} days" if pa.types.is_date32(kind) else f"{raw:,} milliseconds"
            return "facts/schema", (
                f"date out of range: {count} from 1970-01-01 ({_year(days)}, column type {kind}); "
                f"dates are accepted {ACCEPTED}"
            )
        of = f" of type {kind}" if kind is not None else ""
        return "facts/schema", f"a value{of} Python cannot hold ({_reason(self.problem)})"


def cell_place(column: str, index: int) -> str:
    """Where a table cell is, as each error of one says first: ``column `bundle`, row 3`` (rows
    counted from 1 across the whole input, as a bundle without an id is named `#3`)."""
    return f"column `{column}`, row {index + 1}"


class PartialDay(ValueError):
    """A date64 value that is not a whole number of days: Python's date keeps the day and silently
    drops the rest (Arrow does not check it: its date64 is milliseconds, meant to be whole days)."""


def has_date64(kind: pa.DataType) -> bool:
    """Whether a column of this type holds a date64 anywhere (in a struct, list or dictionary)."""
    if pa.types.is_date64(kind):
        return True
    if pa.types.is_dictionary(kind):
        return has_date64(kind.value_type)
    if pa.types.is_struct(kind):
        return any(has_date64(field.type) for field in kind)
    if is_list(kind):
        return has_date64(kind.value_type)
    return False


def any_partial_day(array: pa.Array) -> bool:
    """Whether any date64 value in `array` (of any number of rows) is not a whole day: checked in
    Arrow, so that a batch of whole days is converted at once, not row by row."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        return any_partial_day(array.dictionary_decode())
    if pa.types.is_date64(kind):
        stored = array.cast(pa.int64())
        whole = pc.multiply(pc.divide(stored, _PER_DAY["ms"]), _PER_DAY["ms"])  # (integer division)
        return bool(pc.any(pc.not_equal(stored, whole)).as_py())
    if pa.types.is_struct(kind):
        return any(any_partial_day(child) for child in array.flatten())
    if is_list(kind):
        return any_partial_day(array.flatten())
    return False


def partial_day(column: pa.Array, name: str, *, whole: bool = False, bundle_id: str | None = None) -> Unreadable | None:
    """The `Unreadable` of the first date64 value of a one-row `column` that is not a whole day."""
    found = _off_day(column, ())
    if found is None:
        return None
    parts, leaf = found
    return Unreadable(name, PartialDay(), whole, parts, leaf.type, _raw(leaf), bundle_id)


def _off_day(array: pa.Array, parts: tuple[Part, ...]) -> tuple[tuple[Part, ...], pa.Array] | None:
    kind = array.type
    if pa.types.is_dictionary(kind):
        return _off_day(array.dictionary_decode(), parts)
    if pa.types.is_date64(kind):
        raw = _raw(array)
        return (parts, array) if raw is not None and raw % _PER_DAY["ms"] else None
    if pa.types.is_struct(kind):
        for field, child in zip(kind, array.flatten(), strict=True):
            found = _off_day(child, (*parts, field.name))
            if found is not None:
                return found
    elif is_list(kind) and array[0].is_valid:
        values = array[0].values
        for i in range(len(values)):
            found = _off_day(values.slice(i, 1), (*parts, i))
            if found is not None:
                return found
    return None


def is_list(kind: pa.DataType) -> bool:
    return bool(pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind))


def _reason(problem: Exception) -> str:
    return " ".join(str(problem).split()) or type(problem).__name__


def _year(days: float) -> str:
    year = 1970 + days / 365.2425
    return f"about year {year:,.0f}" if year >= 1 else f"about {1 - year:,.0f} BCE"


def _skeleton(parts: list[Part]) -> object:
    """A value with the shape the path walks (a list where a part is a position): what json_path
    needs to tell `[0]` from `['0']`."""
    node: object = None
    for part in reversed(parts):
        node = [node] * (part + 1) if isinstance(part, int) else {part: node}
    return node


def located(column: pa.Array, name: str, problem: Exception, *, whole: bool = False,
            bundle_id: str | None = None) -> Unreadable:
    """The `Unreadable` of a one-row `column` whose conversion raised `problem`: the first value in it
    that cannot be converted, with its path, its type and (a date, a timestamp) its raw count."""
    found = _first(column, ())
    if found is None:  # (never: the column raised; said at the column)
        return Unreadable(name, problem, whole, bundle_id=bundle_id)
    parts, leaf, error = found
    return Unreadable(name, error, whole, parts, leaf.type, _raw(leaf), bundle_id)


def _first(array: pa.Array, parts: tuple[Part, ...]) -> tuple[tuple[Part, ...], pa.Array, Exception] | None:
    """The path, the one-value array and the error of the first value of a one-row `array` that
    Python cannot hold; None when it can hold them all."""
    try:
        array.to_pylist()
        return None
    except (ValueError, OverflowError) as error:
        problem: Exception = error
    kind = array.type
    if pa.types.is_dictionary(kind):
        return _first(array.dictionary_decode(), parts)
    if pa.types.is_struct(kind):
        for field, child in zip(kind, array.flatten(), strict=True):  # (flatten: a null struct's fields are null)
            found = _first(child, (*parts, field.name))
            if found is not None:
                return found
    elif is_list(kind):
        values = array[0].values
        for i in range(0 if values is None else len(values)):
            found = _first(values.slice(i, 1), (*parts, i))
            if found is not None:
                return found
    return parts, array, problem


def _raw(leaf: pa.Array) -> int | None:
    """A date's or timestamp's count from 1970-01-01, as stored; None for other types."""
    kind = leaf.type
    if not (pa.types.is_timestamp(kind) or pa.types.is_date32(kind) or pa.types.is_date64(kind)):
        return None
    try:
        number = leaf.cast(pa.int32() if pa.types.is_date32(kind) else pa.int64())[0].as_py()
    except (pa.ArrowException, ValueError, OverflowError):
        return None
    return number if isinstance(number, int) else None
