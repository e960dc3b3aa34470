"""Fee schedules a user supplies: the one place their entries are checked and turned into a FeeSchedule.

A fee schedule gives, per billing code, an `allowed` amount (money, whole cents) or the total `rvu`
(priced with the conversion factor in effect, docs/language.md "Pricing"). It comes from a CSV
(`--fee-schedule`, `load_fee_schedule` below) or from a policy case's `fee_schedule:`
(policy_cases.py). Both hand their entries, as written, to `build_fee_schedule`, so both accept
and refuse exactly the same values:

- a value is a number: an int, a Decimal (the YAML loader reads `1.87` exactly, engine/facts.py) or
  plain decimal text (`60.00`, a CSV cell; no `$`, no thousands separators); never a bool;
- finite and not negative; an `allowed` amount in whole cents (like `fee_schedule_override` in a bundle);
- its code is a billing code (five digits or capital letters, as in the fact bundle), given once per column.

The digest identifies the schedule in `decision_id`: the sha256 of its name and its entries in a
canonical order, so the same schedule, however it was written down, gives the same digest.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic, PolicyError
from ..facts.limits import MAX_DIGITS, MAX_MONEY
from ..facts.record_errors import not_utf8
from .pricing import FeeSchedule

COLUMNS = ("allowed", "rvu")
_CODE = re.compile(r"[0-9A-Z]{5}")  # the fact bundle's code pattern (fee_schedule_override)
# The most RVUs a code may have: about $100,000 (MAX_MONEY, the most any amount of a fact bundle may
# be) at a conversion factor near $33. A sanity limit of this engine's intake (an assumption), not a
# CMS rule: the reference (shared/domain/cms-rules.md) states no bound on RVUs
MAX_RVU = Decimal(3000)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")  # plain decimal text: `66.13`, `1.87`, `2`


@dataclass(frozen=True, slots=True)
class FeeEntry:
    """One value of a fee schedule, as written: `at` says where, for messages (`line 3`, `fee_schedule.rvu.99490`)."""

    column: str  # "allowed" or "rvu"
    code: object
    value: object
    at: str


def build_fee_schedule(name: str, entries: Iterable[FeeEntry]) -> FeeSchedule:
    """The FeeSchedule of these entries; raises PolicyError naming every bad entry."""
    values: dict[str, dict[str, Decimal]] = {column: {} for column in COLUMNS}
    first_at: dict[tuple[str, str], str] = {}
    problems: list[Diagnostic] = []

    def problem(code: str, entry: FeeEntry, text: str, help: str | None = None) -> None:
        problems.append(Diagnostic(code, f"{entry.at}: {text}", file=name, fact_path=entry.column, help=help))

    for entry in entries:
        if entry.column not in values:
            raise ValueError(f"unknown fee schedule column {entry.column!r}")  # a caller's mistake, not the user's
        code = _code(entry.code)
        if code is None:
            problem(
                "fee-schedule/code",
                entry,
                f"`{_show(entry.code)}` is not a billing code",
                help="a code is five digits or capital letters, such as 99490 or G0506",
            )
            continue
        amount, why = _number(entry.value)
        if amount is None:
            problem("fee-schedule/value", entry, f"`{_show(entry.value)}` {why}")
            continue
        if entry.column == "allowed" and _decimal_places(amount) > 2:
            problem(
                "fee-schedule/value",
                entry,
                f"`{_show(entry.value)}` has more than two decimal places",
                help="an allowed amount is money, in whole cents",
            )
            continue
        beyond = _beyond(entry.column, amount)
        if beyond is not None:  # priced as written, 10^40 was billed, and 10^5000 an internal error
            problem("fee-schedule/value", entry, f"`{_show(entry.value)}` {beyond}")
            continue
        earlier = first_at.get((entry.column, code))
        if earlier is not None:
            problem("fee-schedule/code", entry, f"a second `{entry.column}` for {code} (the first is at {earlier})")
            continue
        first_at[(entry.column, code)] = entry.at
        values[entry.column][code] = amount
    if problems:
        raise PolicyError(problems)
    return FeeSchedule(name, values["allowed"], values["rvu"], _digest(name, values))


def misplaced_cells(name: str, header: Sequence[str], rows: Iterable[Mapping[str | None, Any]]) -> list[Diagnostic]:
    """The CSV's cells without a column of their own (csv.DictReader rows: the cells past the header's
    are a list under None): a row with more cells than the header (a decimal comma, `66,13`, would be
    read as 66.00) and a column named twice (the last would win) would lose a cell without a word.
    Empty cells and unnamed columns past the data, as spreadsheets export them, lose nothing."""
    problems = [
        Diagnostic("fee-schedule/columns", f"`{name}` names the column `{column}` twice", file=name)
        for column in sorted({column for column in header if column and header.count(column) > 1})
    ]
    problems += [
        Diagnostic(
            "fee-schedule/columns",
            f"line {number}: {len(header) + len(row[None])} cells, but the header names {len(header)} columns",
            file=name,
            help="write amounts with a decimal point (66.13), and quote a cell that holds a comma",
        )
        for number, row in enumerate(rows, start=2)
        if any(cell.strip() for cell in row.get(None) or ())  # (empty cells past the header lose nothing)
    ]
    return problems


def _code(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, str | int) else ""
    return text if _CODE.fullmatch(text) else None


def _number(value: object) -> tuple[Decimal | None, str]:
    """The value as an exact Decimal, or None and why not."""
    if isinstance(value, bool) or value is None:
        return None, "is not a number"
    if isinstance(value, Decimal | int):
        number = Decimal(value)
    elif isinstance(value, float):  # a Python caller's float: its shortest text, as facts.py does
        number = Decimal(float.__repr__(value))  # not repr(): numpy's float64 writes `np.float64(66.13)`
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        number = Decimal(value.strip())
    else:
        return None, "is not a number"
    if not number.is_finite():
        return None, "is not a finite number"
    if number < 0:
        return None, "is negative"
    return number, ""


def _beyond(column: str, amount: Decimal) -> str | None:
    """Why a value no fee schedule can hold is refused, as a fact bundle's amounts are."""
    if column == "allowed" and amount > MAX_MONEY:
        return f"is more than any fee (at most {MAX_MONEY:,})"
    if column == "rvu" and amount > MAX_RVU:
        return f"is more RVUs than this engine accepts for a code (at most {MAX_RVU:,})"
    if _decimal_places(amount) > MAX_DIGITS:
        return f"has more than {MAX_DIGITS} decimal places"
    return None


def _decimal_places(number: Decimal) -> int:
    """`60.490` has two places, like `60.49`. Counted, not normalize()d: that rounds to 28 digits,
    so `60.49` with 30 zeros and a 1 after it had two places, and was kept."""
    _sign, digits, exponent = number.as_tuple()
    text = "".join(map(str, digits))
    if not isinstance(exponent, int) or exponent >= 0 or not text.strip("0"):
        return 0
    return max(-exponent - (len(text) - len(text.rstrip("0"))), 0)


def _show(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value).strip() if isinstance(value, str | int | float | Decimal) else type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def _digest(name: str, values: dict[str, dict[str, Decimal]]) -> str:
    entries = (f"{column}\t{code}\t{values[column][code]}" for column in COLUMNS for code in sorted(values[column]))
    lines = [name, *entries]
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]


def load_fee_schedule(path: str | Path) -> FeeSchedule:
    """A CSV with a `code` column and either `allowed` (money) or `rvu` (total RVUs) per row.

    The values are checked, and the digest made, by `build_fee_schedule` (fee_schedule.py), as for
    the `fee_schedule:` of a policy case.
    """
    try:  # utf-8-sig: a spreadsheet's "CSV UTF-8" starts with a byte-order mark, which is no part of `code`
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        if isinstance(error, UnicodeDecodeError):
            reason = not_utf8(error.object, error)
        else:
            reason = (error.strerror or str(error)).lower()
        raise PolicyError(
            [Diagnostic("fee-schedule/unreadable", f"cannot read fee schedule `{path}`: {reason}", file=str(path))]
        ) from None
    reader = csv.DictReader(io.StringIO(text), strict=True)
    header: Sequence[str] | None = None
    rows: list[dict[str | None, Any]] = []  # cells are text; the cells past the header's, a list under None
    try:
        header = reader.fieldnames or ()
        rows.extend(reader)
    except csv.Error as error:  # a quote never closed (it would take in every later row), a huge cell
        line = 1 if header is None else len(rows) + 2
        reason = f"line {line}: {error}"
        raise PolicyError(
            [Diagnostic("fee-schedule/unreadable", f"cannot read fee schedule `{path}`: {reason}", file=str(path))]
        ) from None
    fields = set(header)
    if "code" not in fields or not fields & set(COLUMNS):
        raise PolicyError(
            [
                Diagnostic(
                    "fee-schedule/columns",
                    f"`{path}` needs a `code` column and `allowed` or `rvu`; its header is "
                    + (", ".join(f"`{name}`" for name in reader.fieldnames or ()) or "empty"),
                    file=str(path),
                    help="e.g. a header line `code,allowed` then `99490,66.13` (names in lower case)",
                )
            ]
        )
    if problems := misplaced_cells(str(path), header, rows):
        raise PolicyError(problems)
    entries = [
        FeeEntry(column, row.get("code") or "", raw, f"line {number}")
        for number, row in enumerate(rows, start=2)
        for column in COLUMNS
        if (raw := (row.get(column) or "").strip())  # an empty cell gives no value for that column
    ]
    return build_fee_schedule(str(path), entries)
