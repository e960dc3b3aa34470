"""One line of a batch's output, read for `report` (batch_report.py): decoded into the fields the
report counts, with the types the decision format gives them, and refused when it is not a
decision or an error record, or sets a key twice in one object (a JSON reader would keep the last
value without a word). Split from batch_report.py, which counts what this gives."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import orjson
from msgspec import UNSET, UnsetType

from ..facts.json_keys import duplicates, has_duplicate, unique_by_count, unique_given
from ..facts.schema_messages import json_path, show
from ..jsontext import TOO_DEEP, loads
from ..printable import utf8_text

# The fields the report reads, with the types the decision format gives them: a line is decoded
# into these (msgspec, about 3x faster than json, and it skips the fields not read), so a value of
# another type is refused at its line and JSON path rather than counted as something it is not
# (`true` as $1.00, 1.7 units as 1, a `null` month as a month named `None`). Money is text with two
# decimals, never a JSON number, which would pass through a binary float.
_MONEY_PATTERN = r"^-?[0-9]+\.[0-9]{2}\Z"
Money = Annotated[str, msgspec.Meta(pattern=_MONEY_PATTERN)]
_MONEY_WORDS = (f"`str` matching regex {_MONEY_PATTERN!r}", 'money (text with two decimals, such as "60.49")')


class ReadLine(msgspec.Struct):
    code: str
    units: Annotated[int, msgspec.Meta(ge=0)]
    allowed: Money | None


class ReadTotals(msgspec.Struct):
    allowed: Money | None
    medicare: Money | None
    beneficiary: Money | None
    medigap: Money | None
    medicaid: Money | None


class ReadReason(msgspec.Struct):
    reason: str


class ReadDenial(msgspec.Struct):
    code: str
    reasons: list[ReadReason]


class ReadClaim(msgspec.Struct):
    code: str


class ReadProblem(msgspec.Struct):
    code: str | None = None
    message: str = ""


class Record(msgspec.Struct):
    """A line: an error record when it has `error`, else a decision (which needs the fields below it)."""

    error: list[ReadProblem] | UnsetType = UNSET
    bundle_id: str | None = None
    decision_id: str | None = None  # (with bundle_id, what tells a decision counted twice: report_repeats.py)
    decision_format: int | UnsetType = UNSET  # (every decision has it; a line made by hand may not)
    policy_set_hash: str | UnsetType = UNSET
    source: str | None = None
    month: str | UnsetType = UNSET
    billable: list[ReadLine] | UnsetType = UNSET
    totals: ReadTotals | UnsetType = UNSET
    denied: list[ReadDenial] | UnsetType = UNSET
    withdraw: list[ReadClaim] | None = None  # absent in decisions written before bundling
    notes: list[str] | None = None  # absent in decisions written before notes


DECISION_FIELDS = ("month", "billable", "totals", "denied")
_DECODE = msgspec.json.Decoder(Record).decode



class ReportError(ValueError):
    """A line that is neither a decision nor an error record (the message names the line); `help`
    says what to do when it is more specific than "give the file batch wrote"."""

    def __init__(self, message: str, help: str | None = None) -> None:
        super().__init__(message)
        self.help = help



def _escaped(value: Any) -> Any:
    """`value` with each lone surrogate spelled as its escape (`\\udcff`): the report is UTF-8 text."""
    if isinstance(value, str):
        return utf8_text(value)
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    if isinstance(value, dict):
        return {_escaped(key): _escaped(item) for key, item in value.items()}
    return value


def _fallback(line: str) -> Record:
    """A line msgspec cannot decode: a lone surrogate escaped (an error record naming a file whose
    name is not UTF-8), which json reads, or nesting past the recursion limit, which orjson refuses."""
    parsed = loads(line)
    if not isinstance(parsed, dict):
        raise ValueError("not a JSON object")
    # only the fields read are kept and walked: the others may nest as deep as orjson allows (1,024),
    # deeper than Python's recursion limit
    kept = {key: parsed[key] for key in Record.__struct_fields__ if key in parsed}
    try:
        return msgspec.convert(_escaped(kept), Record)
    except RecursionError:
        raise ValueError(TOO_DEEP) from None


def _record(line: str) -> Record:
    try:
        return _DECODE(line)
    except msgspec.ValidationError as error:  # the line is JSON, of another form (a field's type, say)
        if " - at `" not in str(error):  # the line itself is of another type: `Expected `object`, got `array``
            raise ValueError("not a JSON object") from None
        raise ValueError(str(error).replace(*_MONEY_WORDS)) from None
    except (msgspec.DecodeError, RecursionError) as error:
        try:
            return _fallback(line)
        except msgspec.ValidationError as invalid:
            raise ValueError(str(invalid).replace(*_MONEY_WORDS)) from None
        except ValueError as fallback:  # (orjson's word for nesting too deep, else msgspec's)
            deep = isinstance(error, RecursionError) or str(fallback).startswith(TOO_DEEP)
            raise (fallback if deep else error) from None


REPEATED_KEY_HELP = ("keep the one value that is meant (a JSON reader would keep the last without a word); "
                     "`carepolicy batch` never writes a key twice: the line was edited or made elsewhere")


def _refuse_repeated_key(line: str) -> None:
    """A ReportError when `line` sets a key twice in one object (`{"bundle_id": "a", "bundle_id":
    "b"}`): every JSON reader keeps the last value without a word, so the record counted need not
    be the one the line's maker meant; refused like any line not in the decision format."""
    if unique_by_count(line) or not has_duplicate(line):
        return
    found = duplicates(line)[0]
    where = json_path((*found.path, found.key), loads(line))
    raise ReportError(f"key `{show(found.key)}` appears twice in one object: `{where}`, columns {found.first + 1} "
                      f"and {found.again + 1}", REPEATED_KEY_HELP)


def checked_record(line: str) -> Record:
    """The record of `line`, refused (a ReportError) when the line sets a key twice, from one
    decoding: orjson's, which the key check needs whole (json_keys.unique_given counts its colons
    against the line's), and from which the fields read are then taken (msgspec.convert: the same
    types and checks as the decoder). Decoding the line twice, once with msgspec for the fields
    and once with orjson for the check, made the check cost 2.2-2.7x.

    Any line this does not take as is (not JSON orjson reads, not an object, a `\\u` escape, a key
    perhaps set twice, a field of another type: rare, and mostly refused) is read as before, by
    msgspec's decoder and then the exact key check, so its record, or the error that names it, is
    the same (which error a line gets first, too: a field of another type before a repeated key)."""
    try:
        decoded = orjson.loads(line)
    except orjson.JSONDecodeError:
        decoded = None
    if isinstance(decoded, dict) and unique_given(line, decoded):
        try:
            return msgspec.convert(decoded, Record)  # (the keys not read are passed over, not walked)
        except (msgspec.ValidationError, RecursionError):
            pass  # its message is the decoder's, below
    record = _record(line)
    _refuse_repeated_key(line)  # (after the form: a line not JSON at all says that first)
    return record
