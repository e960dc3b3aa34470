"""Values that are well-formed but no patient-month can have, and the entries a month does not count.

One practitioner's minutes in a month beyond the minutes that month can have (its days' and the hour
clocks may go back in it), or on one day beyond the 1,500 minutes of the longest day (25 hours, when
clocks go back), more days of device data than the service month has, and an amount of money above
`MAX_MONEY` (beyond any fee of the fee schedule by a factor of hundreds) are `facts/impossible`
errors; a time entry dated outside the service month is not an error, but the decision's notes
name it. Run on a bundle that passed the limits (limits.py) and the schema.
"""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from .limits import (
    CLOCKS_BACK_MINUTES,
    LONGEST_DAY_MINUTES,
    MAX_MONEY,
    MAX_NOTES,
    MINUTES_PER_DAY,
    Problem,
    Where,
    path_of,
    shortened,
)


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


def month_bound(month: object) -> int:
    """The most minutes one practitioner can spend in `month`: its days' and the hour clocks may go
    back in it (a bundle does not say its time zone; 44,700 for a 31-day month)."""
    return month_minutes(month) + CLOCKS_BACK_MINUTES


def impossible_values(bundle: Mapping[str, Any], money_paths: list[tuple[Where, Any]]) -> Iterator[Problem]:
    """Well-formed values that no real month has: run on a bundle that passed the schema.

    A practitioner's minutes are added up per month: those of the entries dated in it (and of the
    undated ones, in the service month), against the minutes that month can have (`month_bound`); and
    per day, those of a named practitioner's entries dated that day, against the 1,500 of the
    longest day (one entry is said once: the month's problem when it crosses both). The entries without a practitioner
    are not added up per day: they may be several people's. The days of device data
    (`rpm.device_days`) against the days of the service month."""
    for where, amount in money_paths:
        if isinstance(amount, int | Decimal) and amount > MAX_MONEY:
            yield path_of(where), f"`{shortened(str(amount))}` is more than any fee (at most {MAX_MONEY:,} per amount)"
    service_month = bundle.get("month")
    totals: dict[tuple[object, object], int] = {}  # (practitioner, month): the minutes so far
    per_day: dict[tuple[str, str], int] = {}  # (named practitioner, date): the minutes so far
    for i, entry in enumerate(bundle.get("time") or ()):
        if not (type(entry) is dict or isinstance(entry, Mapping)) or not isinstance(entry.get("minutes"), int):
            continue
        who = entry.get("practitioner")  # None: the entries without one (not the practitioner "None")
        key = (who if type(who) is str or who is None else str(who), entry_month(entry.get("date"), service_month))
        month = key[1]
        available = month_bound(month)
        before = totals.get(key, 0)
        total = totals[key] = before + entry["minutes"]
        if before <= available < total:
            whose = ("the entries without a practitioner have" if who is None
                     else f"practitioner `{shortened(str(who))}` has")  # (an id of 2,000 characters: its start)
            message = (
                f"{whose} {total:,} minutes in {month} up to this entry, more than the {available:,} minutes "
                f"the month can have ({available // MINUTES_PER_DAY} days, and the hour clocks may go back)"
            )
            yield ["time", i, "minutes"], message
            continue
        date = entry.get("date")
        if type(who) is str and isinstance(date, str) and len(date) == 10:
            before = per_day.get((who, date), 0)
            total = per_day[who, date] = before + entry["minutes"]
            if before <= LONGEST_DAY_MINUTES < total:
                message = (f"practitioner `{shortened(who)}` has {total:,} minutes on {date} up to this entry, more "
                           f"than the {LONGEST_DAY_MINUTES:,} minutes a day can have (25 hours, when clocks go back)")
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
    a word: the decision's `notes` name each one, the first `MAX_NOTES`, and count the rest.
    """
    month = bundle.get("month")
    named = 0
    for i, entry in enumerate(bundle.get("time") or ()):
        date = entry.get("date") if type(entry) is dict or isinstance(entry, Mapping) else None
        if isinstance(date, str) and isinstance(month, str) and not date.startswith(month + "-"):
            named += 1
            if named > MAX_NOTES:  # counted, not named: the count is exact, the entries are in the bundle
                continue
            who = entry.get("practitioner")  # shortened past 60 characters: a note per entry, up to 100
            what = f"{entry.get('minutes')} minutes of {entry.get('service')} by `{shortened(str(who))}`"
            where = f"time[{i}] ({what}) is dated {date}, outside the service month {month}"
            yield where + ": not counted in the month's minutes"
    if named > MAX_NOTES:
        yield (f"{named - MAX_NOTES:,} more time entries are dated outside the service month {month}: not counted "
               f"in the month's minutes (a decision names at most {MAX_NOTES} of them)")
