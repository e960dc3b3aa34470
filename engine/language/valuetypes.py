"""The typed values of the rule language and of the fact bundle.

Types carry units, so the checker can refuse `20 min + $5` before anything runs. At run time the
values are plain Python: minutes and counts are `int`, money, numbers and percents are `Decimal`
(percent as a fraction: 20% is Decimal("0.20")), dates are ISO strings `YYYY-MM-DD` and months
`YYYY-MM` (ISO strings compare correctly as text, which keeps evaluation cheap), enumerations and
codes are `str`, sets are `frozenset`, lists of records are tuples of dicts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ValueType:
    """A scalar type, named as analysts know it."""

    name: str

    def __str__(self) -> str:
        return self.name


BOOL = ValueType("boolean")
COUNT = ValueType("count")
NUMBER = ValueType("number")
MINUTES = ValueType("minutes")
MONEY = ValueType("money")
PERCENT = ValueType("percent")
DATE = ValueType("date")
MONTH = ValueType("month")
TEXT = ValueType("text")
CODE = ValueType("code")
CALENDAR_SPAN = ValueType("calendar span")  # `12 months`, `3 years`: only for date arithmetic
RECORD = ValueType("record")  # a group of facts such as `tcm_period`: only `is missing` / `is present`
ANY = ValueType("any")  # an unknown type after an earlier error; never reported twice


@dataclass(frozen=True, slots=True)
class EnumType:
    """A closed set of bare-word values, e.g. `dual_status` in {none, qmb, slmb, qi, full_benefit}."""

    name: str
    values: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name} ({', '.join(self.values)})"


@dataclass(frozen=True, slots=True)
class SetType:
    """A set of values of one type: `{clinical_staff, billing_practitioner}`, a code set."""

    element: Type

    def __str__(self) -> str:
        return f"set of {self.element}"


@dataclass(frozen=True, slots=True)
class RecordType:
    """A record's fields, e.g. one entry of `time[]`."""

    name: str
    fields: tuple[tuple[str, Type], ...]

    def field(self, name: str) -> Type | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class ListType:
    """A list of records, e.g. `time` or `chronic_conditions`; used with count/sum/any ... where."""

    item: RecordType

    def __str__(self) -> str:
        return f"list of {self.item}"


@dataclass(frozen=True, slots=True)
class MapType:
    """A mapping from codes to values, e.g. `fee_schedule_override`."""

    key: Type
    value: Type

    def __str__(self) -> str:
        return f"map of {self.key} to {self.value}"


Type = ValueType | EnumType | SetType | RecordType | ListType | MapType

ORDERED = (COUNT, NUMBER, MINUTES, MONEY, PERCENT, DATE, MONTH)


def comparable(left: Type, right: Type) -> bool:
    """Whether `left = right` (and, for ordered types, `<`) is meaningful."""
    if ANY in (left, right):
        return True
    if isinstance(left, EnumType) and isinstance(right, EnumType):
        return bool(set(left.values) & set(right.values))
    if {left, right} <= {COUNT, NUMBER}:
        return True
    return left == right
