"""What compiled expressions use while they run, in either backend: the values and the Env.

`UNKNOWN` (the value of a missing fact), the `Env` one evaluation reads, code sets for `in`
tests, the calendar arithmetic of months and dates, and division. Both expression backends build
on these (the closures of expr.py, the generated functions of codegen.py, which binds them as its
helpers), and the evaluation reads them on every bundle; they live apart from either backend so
that the product backend and the evaluation do not import the reference one.

Missing facts evaluate to `UNKNOWN`, which propagates through comparisons and arithmetic and is
handled by three-valued `and` / `or` / `not` (see docs/language.md).
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any


class _Unknown:
    """The value of a missing fact; never equal to anything, never true or false."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "unknown"


UNKNOWN: Any = _Unknown()


class Env:
    """What one evaluation reads: the bundle's facts, the month's plan, memoised definitions."""

    __slots__ = (
        "defines", "facts", "items", "memo", "month", "month_first", "month_last", "params", "selected", "switches"
    )

    def __init__(
        self,
        facts: Mapping[str, Any],
        month: str,
        params: Mapping[str, Any],
        switches: Mapping[str, str],
        defines: Mapping[str, Fn],
    ) -> None:
        self.facts = facts
        self.month = month
        self.params = params
        self.switches = switches
        self.defines = defines
        self.memo: dict[str, Any] = {}
        self.items: dict[str, Mapping[str, Any]] = {}
        # a selection's entries and their values, by the generated function that finds them
        # (codegen_selections.py): the same for the whole bundle, so found once
        self.selected: dict[Any, list[tuple[Mapping[str, Any], Any]]] = {}
        # `start of service_month`, `end of service_month`: read by many conditions of every bundle
        self.month_first, self.month_last = (UNKNOWN, UNKNOWN) if month is UNKNOWN else _month_bounds(month)

    def define(self, name: str) -> Any:
        try:
            return self.memo[name]
        except KeyError:
            return self.compute(name)

    def compute(self, name: str) -> Any:
        """Evaluate a definition not yet in the memo, and remember it (generated code has already
        looked in the memo: going through `define` would raise and catch a KeyError each time)."""
        value = self.memo[name] = self.defines[name](self)
        return value


Fn = Callable[[Env], Any]


class CodeSet:
    """Exact codes plus ranges (`90951..90970`), for `in` tests against claim codes."""

    __slots__ = ("exact", "ranges")

    def __init__(self, exact: frozenset[str], ranges: tuple[tuple[str, str], ...]) -> None:
        self.exact = exact
        self.ranges = ranges

    def __contains__(self, code: object) -> bool:
        if code in self.exact:
            return True
        return isinstance(code, str) and any(
            len(code) == len(lo) and lo <= code <= hi and code[0].isdigit() == lo[0].isdigit() for lo, hi in self.ranges
        )

    def __repr__(self) -> str:
        parts = sorted(self.exact) + [f"{lo}..{hi}" for lo, hi in self.ranges]
        return "{" + ", ".join(parts) + "}"


# ---------------------------------------------------------------- calendar helpers (ISO strings)


def month_start(month: str) -> str:
    return f"{month}-01"


def month_end(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{month}-{calendar.monthrange(year, mon)[1]:02d}"


def shift_months(value: str, months: int) -> str:
    """Move a date (`YYYY-MM-DD`) or month (`YYYY-MM`) by whole months; days clamp to month end."""
    year, mon = int(value[:4]), int(value[5:7])
    total = year * 12 + (mon - 1) + months
    new_year, new_mon = divmod(total, 12)
    shifted = f"{new_year:04d}-{new_mon + 1:02d}"
    if len(value) == 7:
        return shifted
    day = min(int(value[8:10]), calendar.monthrange(new_year, new_mon + 1)[1])
    return f"{shifted}-{day:02d}"


@functools.lru_cache(maxsize=4096)  # bounded; a batch spans a few dozen months
def _month_bounds(month: str) -> tuple[str, str]:
    return month_start(month), month_end(month)


def _divide(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        return Decimal(a) / Decimal(b) if b else UNKNOWN
    return a / b if b else UNKNOWN


# ---------------------------------------------------------------- `count distinct`


def distinct_key(value: Any) -> Any:
    """What `count distinct` compares of one value; None for an entry that gives none.

    The one place values are made alike before they are compared. Text is compared as a code is
    read, not as it is typed: without surrounding spaces or dots, in capitals, so one ICD-10 code
    exported as `E11.9`, `E119` or `e11.9` (the dot is only how the code is displayed) is one
    condition and not three (an assumption: cms-rules.md §2.1 counts conditions and says nothing of
    how a code is spelled). Text that is empty once so read gives no value. Other values (counts,
    booleans, dates) are compared as they are."""
    if value is None:
        return None
    if type(value) is str or isinstance(value, str):
        return value.strip().replace(".", "").upper() or None
    return value


def distinct_count(values: list[Any]) -> int:
    """How many different values `values` holds (`count distinct`): each one without a value (an
    entry without the field, `distinct_key`) counts as its own, since two conditions without a code
    may be two conditions; merging unknowns could only make two conditions one."""
    seen: set[Any] = set()
    without = 0
    for value in values:
        key = distinct_key(value)
        if key is None:
            without += 1
        else:
            seen.add(key)
    return len(seen) + without
