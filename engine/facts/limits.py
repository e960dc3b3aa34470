"""The limits of a fact record, and the values no patient-month can have.

Each limit is far above anything a real bundle needs and low enough that no single record can
exhaust memory or time, or reach a number too large to compute with exactly. Every one is reported
as a clear error on the record that crosses it (docs/reference/fact-input.md, Limits, lists them):

- a record (a JSON line or YAML document) of at most `MAX_RECORD_BYTES`; a whole JSON document or
  YAML list of at most `MAX_DOCUMENT_BYTES` (JSON Lines has no file limit: it is read line by line)
- nesting at most `MAX_DEPTH` deep (a bundle needs 4)
- at most `MAX_VALUES` values (list items and mapping entries) in one bundle: what a record of
  `MAX_RECORD_BYTES` can hold at most, for the bundles that have no size of their own (a mapping
  given to the Python API, one of a JSON document or a YAML list)
- at most `MAX_DIAGNOSTICS` problems listed for one bundle, and one more that says others were
  left out; looking for problems stops at `LOOKED_FOR`, so the others are not counted
- text at most `MAX_TEXT` characters, and only real characters (no lone surrogate such as `\\ud800`,
  which JSON can spell but UTF-8 cannot write)
- numbers with at most `MAX_DIGITS` significant digits, below 10^`MAX_DIGITS` and with at most
  `MAX_DIGITS` decimal places (exact as a float too, which the compiled validator relies on; and a
  number such as `1e-9999999` is neither: as a float it is 0, and as a Decimal it checked as a whole
  number of cents, its remainder below the smallest Decimal there is)

Values that are well-formed but physically impossible are errors as well (impossible.py), with
`MAX_MONEY` and `MINUTES_PER_DAY` from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MAX_RECORD_BYTES = 1_000_000
MAX_DOCUMENT_BYTES = 64_000_000
MAX_DEPTH = 16
MAX_TEXT = 2_000
MAX_DIGITS = 15
MAX_MONEY = Decimal("100000.00")
# list items and mapping entries in one bundle: no record of MAX_RECORD_BYTES holds more (each takes
# two bytes of JSON at least, `0,`); a bundle with no size of its own (one of a JSON document or a YAML
# list, which may be up to MAX_DOCUMENT_BYTES, or a mapping handed to the Python API) is held to it
MAX_VALUES = MAX_RECORD_BYTES // 2
# the problems an error record lists for one bundle: a bundle of 80,000 entries with one unknown key
# each had 80,000 (an error line of 11.7 MB, 80,000 lines on stderr); one more says others were left out
MAX_DIAGNOSTICS = 100
# looking for a bundle's problems stops at the first past the cap: it is enough to say that some are
# not listed, and counting the 80,000 of that bundle took 2.4 s of a record that lists 100
LOOKED_FOR = MAX_DIAGNOSTICS + 1
# the time entries dated outside the service month a decision names one by one (impossible.py
# outside_month_notes); one more note counts the rest. A year's export in each bundle of 80,000
# entries wrote 80,000 notes into every decision of it
MAX_NOTES = 100
MINUTES_PER_DAY = 24 * 60
# the minutes of the longest day, on which clocks go back an hour: one practitioner's minutes on one
# date are impossible past it (impossible.py), on any date, as a bundle does not say its time zone;
# and a month may hold that day, so a month's minutes are impossible past its days' and that hour
LONGEST_DAY_MINUTES = 25 * 60
CLOCKS_BACK_MINUTES = 60

PathPart = str | int | object
Problem = tuple[list[PathPart], str]


@dataclass(frozen=True, slots=True)
class Limit:
    """A limit crossed, as its error says it: the message, and the help that goes with it (what the
    limit is for, and how to bring the record under it). Each is made where its message is, so a
    message never gets another limit's help (the help was chosen from the message's words)."""

    message: str
    help: str


LimitProblem = tuple[list[PathPart], Limit]  # where in a bundle a limit is crossed, and which

# the helps of the limits, which name only what docs/reference/fact-input.md (Limits) gives
# (tests/test_limit_help.py checks that they do)
RECORD_HELP = (
    "a bundle of one patient-month is a few kilobytes: check that each bundle ends its line (bundles joined "
    "without a line break are one record) and that no value holds a whole file"
)
DOCUMENT_HELP = (
    "a JSON document or YAML list is read whole: split the file, or write it as JSON Lines (one bundle per "
    "line, `.jsonl`), which is read line by line and has no file limit"
)
DEPTH_HELP = (
    "a bundle is 4 levels deep: check this value's brackets, and that the record is the bundle itself, not a "
    "bundle inside further lists or mappings"
)
VALUES_HELP = "a bundle holds one patient and one month: split the data into one bundle for each"
TEXT_HELP = "names, ids and codes are short: check that this is the value meant (not a note or a file pasted in)"
SURROGATE_HELP = (
    "it is half of a character (JSON can write `\\ud800`, no UTF-8 file can hold it): write the whole character, "
    "or remove it"
)
DIGITS_HELP = (
    f"numbers are kept exact to {MAX_DIGITS} digits: write the amount with fewer digits (money in dollars and "
    "cents, `257.00`); an id or a code made of digits is text: quote it"
)
FINITE_HELP = "infinity and not-a-number are no amount or count: write the number, or leave the fact out"
CYCLE_HELP = "give a bundle whose mappings and lists do not hold themselves (a JSON or YAML file cannot)"
OTHER_HELP = "the limits of a fact record are listed in docs/reference/fact-input.md (Limits)"


def nested_too_deep() -> Limit:
    """The limit of nesting, as every reader says it (a value past it, or text its parser cannot follow)."""
    return Limit(f"nested more than {MAX_DEPTH} levels deep", DEPTH_HELP)


def too_large(what: str) -> Limit:
    """The limit of a record's size (`what`: a line, a table's value, a YAML document)."""
    return Limit(f"a {what} of more than {MAX_RECORD_BYTES:,} bytes; fact files allow at most {MAX_RECORD_BYTES:,} "
                 "per record", RECORD_HELP)


def digits_limit(exc: ValueError) -> Limit:
    """A number too long to read (`read_decimal`, or an integer over 4,300 digits), as a limit."""
    return Limit(digits_message(exc), DIGITS_HELP)

Where = tuple[Any, PathPart] | None  # (parent, key): a path built only when a problem is reported


def path_of(where: Where) -> list[PathPart]:
    parts: list[PathPart] = []
    while where is not None:
        where, key = where
        parts.append(key)
    return parts[::-1]


def shortened(text: str) -> str:
    """A value's text as a message quotes it: whole up to 60 characters, else its first 57 and `...`."""
    return text if len(text) <= 60 else text[:57] + "..."


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
