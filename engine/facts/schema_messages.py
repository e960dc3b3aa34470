"""What a bundle that breaks the fact-bundle schema is told: jsonschema's errors as our diagnostics.

`schema_diagnostics` validates one bundle against its version's schema (schema.py) and turns each
of jsonschema's errors into a `facts/schema` diagnostic in our words, one per problem, pointing at
the exact JSON path (`$.time[0].minutes`), with advice for the usual mistakes of a hand-written
YAML file (an unquoted code, `on:` read as true); it adds the dates that have the right shape
but do not exist. `json_path`, `show` and `describe` are the way the fact readers write a value or
a place in a bundle in any message. It is apart from schema.py, the contract as data (the
schemas and the fact types the checker and the fast readers use), because this is the wording of
problems: past the fast check (`fast_check.is_valid`), all of it runs only for a bundle that has one.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..diagnostics import Diagnostic, did_you_mean
from ..printable import utf8_text
from . import fast_check
from .limits import path_of, shortened
from .plain_copy import Foreign
from .schema import LATEST, V1_ONLY, VERSIONS, XTYPE, PathPart, Schema, _schema_text, shared_schema
from .skeleton import skeleton, values

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

Problem = tuple[list[PathPart], str]  # where in a bundle, and what is wrong there

_EXPECTED = {  # what a value of each type looks like, for "expected ..., found ..." messages
    "boolean": "true or false",
    "count": "a whole number",
    "minutes": "a whole number of minutes",
    "number": "a number",
    "percent": "a percentage",
    "money": "an amount of money such as `257.00`",
    "date": "a date `YYYY-MM-DD`",
    "month": "a month `YYYY-MM`",
    "text": "text",
    "code": "a billing code of five letters or digits such as `99490`",
    "set": "a service or a list of services",
    "object": "a mapping",
    "array": "a list",
}
_BOOL_KEY_HELP = "YAML reads an unquoted `on`, `off`, `yes` or `no` as true or false; put the key in quotes"
_QUOTE_CODE_HELP = "put the code in quotes, e.g. `'99490'`, so that YAML keeps it as text"
_QUOTE_TEXT_HELP = ("put the text in quotes as it is written, e.g. `'00123'`: unquoted, it is a number, "
                    "and a number has no leading zeros")
_NUMERAL = re.compile(r"\s*[-+]?\d+(\.\d*)?\s*")  # `'20'`: a number written as text
_YAML_11_NUMBER = re.compile(  # base 60, binary, `_`-grouped: numbers in YAML 1.1, text in YAML 1.2
    r"[-+]?(?:[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|0b[01_]+|[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?)"
)
_YAML_11_BOOLEANS = ("yes", "no", "on", "off", "y", "n")
_DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
_PATH_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")  # the keys jsonschema writes as `.key`


@functools.cache
def _validator(version: int) -> Draft202012Validator:
    """One validator, reused: `jsonschema.validate()` per bundle re-checks the schema and is 40x slower.

    The schema is read with `parse_float=Decimal` here, so `multipleOf: 0.01` is Decimal("0.01")
    and the check on Decimal money is exact (a float divisor would raise TypeError on a Decimal).
    No `format` keyword is used today (real calendar dates are checked by `_calendar_errors`, with a
    clearer message); the format checker makes any that is added later count.
    """
    from jsonschema import Draft202012Validator, FormatChecker  # 70 ms to import: only when validating

    schema = _by_name(json.loads(_schema_text(version), parse_float=decimal.Decimal))
    return Draft202012Validator(schema, format_checker=FormatChecker())


def _by_name(schema: Any) -> Any:
    """The schema with the `properties` of every mapping in the order of their names: jsonschema
    looks at them in that order, so problems are found in nearly the order of their paths
    (`$.rpm` before `$.time`), and a reading that stops at the problem past the cap
    (`schema_diagnostics`) has found nearly the first by path. Valid or not is unchanged."""
    if isinstance(schema, list):
        return [_by_name(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    named = schema.get("properties")
    out = {key: _by_name(value) for key, value in schema.items() if key != "properties"}
    if isinstance(named, dict):  # (keys are fact names: plain sorting is their paths' order)
        out["properties"] = {key: _by_name(named[key]) for key in sorted(named)}
    return out


def json_path(parts: Sequence[PathPart], root: object) -> str:
    """`$.time[0].minutes`, in jsonschema's notation, for the value reached from `root` by `parts`.

    Walks `root` to tell mapping keys from list indexes: YAML keys need not be strings
    (`99490:` is the int 99490, `on:` is True), so a part's type alone cannot say which it is.
    """
    out, node = "$", root
    for part in parts:
        if isinstance(node, list | tuple):
            out += f"[{part}]"
        elif isinstance(part, str) and _PATH_NAME.fullmatch(part):
            out += f".{part}"
        else:
            out += "['" + show(part).replace("\\", "\\\\").replace("'", "\\'") + "']"
        if isinstance(node, Mapping):
            node = node.get(part)  # None past a missing key (`required`): nothing further to walk
        elif isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return out


def show(value: object) -> str:
    """User input as it would be written in a fact file, for use inside backticks."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "{…}"
    if isinstance(value, list | tuple):
        return "[…]"
    text = str(value)
    text = utf8_text(text)  # half a UTF-16 pair (JSON's `\\ud800`) is not text UTF-8 can write: spelled so
    return shortened(text)


def describe(value: object) -> str:
    """A found value in words: `a list`, text `abc`, `5`; a value of another type by its type (a
    `Foreign` stands in the checked copy for a caller's value of a type no fact has: by the type it was)."""
    if isinstance(value, Foreign):
        return _described_type(value.kind)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"text `{show(value)}`"
    if not isinstance(value, int | float | decimal.Decimal | bool | None):  # a Python caller's object
        return _described_type(type(value))  # named by its type: its repr may be anything (an address, a numpy wrapper)
    return f"`{show(value)}`"


class TableValue:
    """Stands for a table's value of a kind no fact is and Python holds as another kind (the Arrow
    readers put it in a bundle): a map cell is a list of key-value pairs, an interval a tuple, which
    a message called `a list`. Each subclass says what the value was, and what to give instead."""

    __slots__ = ()
    words = "a table value"
    help: str | None = None


class TableMap(TableValue):
    __slots__ = ()
    words = "a map (key-value pairs)"
    help = ("a map is not read as a mapping or a list: give a mapping as a struct column (its fields named "
            "as the facts), a list as a list column, or the bundle as JSON text")


class TableInterval(TableValue):
    __slots__ = ()
    words = "an interval (months, days and nanoseconds)"
    help = "no fact is an interval: give minutes as a whole number, dates as `YYYY-MM-DD` text or a date column"


def _described_type(kind: type) -> str:
    if issubclass(kind, TableValue):
        return kind.words
    if issubclass(kind, bytes | bytearray):  # a binary column of a table (Arrow, Parquet), or a caller's bytes
        return "binary data, not text"
    if issubclass(kind, datetime.datetime):  # a table's timestamp column (not a date, whose text is its value)
        return "a timestamp"
    if issubclass(kind, datetime.time | datetime.timedelta):  # a table's time-of-day or duration column
        return "a time of day" if issubclass(kind, datetime.time) else "a duration"
    return f"a `{kind.__module__}.{kind.__qualname__}` value"


def _one_of(values: Sequence[object]) -> str:
    return ", ".join(f"`{show(v)}`" for v in values)


def _type_help(xtype: str | None, value: object) -> str | None:
    if xtype == "code" and isinstance(value, int) and not isinstance(value, bool):
        return _QUOTE_CODE_HELP
    if xtype == "text" and isinstance(value, int | decimal.Decimal) and not isinstance(value, bool):
        return _QUOTE_TEXT_HELP  # an id such as an MRN, `00123`: YAML reads the number 123
    numeric = xtype in ("count", "minutes", "money", "number")
    whole = xtype in ("count", "minutes")
    if whole and isinstance(value, decimal.Decimal) and value.is_finite() and value == value.to_integral_value():
        # `25.0`, `2.5e1`, `1e2`: the value is whole, the way it is written is not
        return f"it is written with a decimal point or an exponent: write it as `{int(value)}`"
    if numeric and isinstance(value, str) and _NUMERAL.fullmatch(value):
        return "write it as a plain number, without quotes"
    if numeric and isinstance(value, str) and _YAML_11_NUMBER.fullmatch(value):
        return "fact files are YAML 1.2, where this is text (not base 60, binary or `_`-grouped): write the number"
    if xtype == "boolean" and isinstance(value, str) and value.lower() in _YAML_11_BOOLEANS:
        return "fact files are YAML 1.2, where only `true` and `false` are booleans"
    if xtype == "date" and isinstance(value, Foreign) and issubclass(value.kind, datetime.datetime):
        return _TIMESTAMP_DATE_HELP
    if isinstance(value, Foreign) and issubclass(value.kind, TableValue):
        return value.kind.help
    return None


# a timestamp (a Python datetime, an Arrow timestamp cell) where a date is wanted: not read as its
# day, which depends on the time zone it is taken in
_TIMESTAMP_DATE_HELP = ("a date is a whole day, and a timestamp's day depends on its time zone: give the date "
                        "in the zone you mean (a `datetime.date`, `.date()` of a datetime; an Arrow date column; "
                        "or `YYYY-MM-DD` text)")


def _null_help(root: Any, parts: Sequence[PathPart]) -> str:
    """The help for `null` given to a fact that has no null: leave an optional key out (a null
    `consent.revoked`, `ccm_start`, `practitioner.specialty` was refused with no word of what to
    write instead), give a required one its value."""
    schema, key = root, parts[-1] if parts else None
    for part in parts[:-1]:
        if not isinstance(schema, dict):
            break
        schema = schema.get("items") if isinstance(part, int) else schema.get("properties", {}).get(part)
    required = schema.get("required", ()) if isinstance(schema, dict) else ()
    if isinstance(key, str) and key not in required:
        return f"`{key}` is optional: leave the key out when there is no value (null is not one here)"
    return "null is not a value here: give the value"


def _messages(error: ValidationError, root: Any = None) -> Iterator[tuple[list[PathPart], str, str | None]]:
    """(path, message, help) for one jsonschema error, in our message style (`root`: the whole
    schema, for what a null's parent requires)."""
    keyword, value, schema = error.validator, error.instance, error.schema
    schema = schema if isinstance(schema, dict) else {}
    rule: Any = error.validator_value  # the keyword's value in the schema, e.g. 0 for `minimum: 0`
    parts: list[PathPart] = list(error.absolute_path)
    xtype = schema.get(XTYPE)
    if "propertyNames" in error.absolute_schema_path:
        parts.append(value)  # point at the offending key itself, not at its mapping
    if keyword == "additionalProperties" and isinstance(value, dict):
        known = schema.get("properties", {})
        replaced = schema.get(V1_ONLY, {})
        for key in sorted((k for k in value if k not in known), key=str):
            if isinstance(key, str) and key in replaced:
                message, tip = replaced[key]
                yield [*parts, key], f"`{key}`: {message}", tip
                continue
            tip = _BOOL_KEY_HELP if isinstance(key, bool) else did_you_mean(str(key), known)
            yield [*parts, key], f"unknown key `{show(key)}`", tip
    elif keyword == "required" and isinstance(value, dict):
        for key in rule:
            if key not in value:
                yield [*parts, key], f"missing required key `{key}`", None
    elif keyword == "type":
        allowed = [rule] if isinstance(rule, str) else rule
        wanted = _EXPECTED.get(xtype or "") or _EXPECTED.get(allowed[0], "a value")
        wanted += " or null" if "null" in allowed else ""
        tip = _type_help(xtype, value)
        if value is None and tip is None and root is not None:
            tip = _null_help(root, parts)
        yield parts, f"expected {wanted}, found {describe(value)}", tip
    elif keyword == "enum":
        options = rule
        names = [option for option in options if isinstance(option, str)]  # not `null`
        tip = did_you_mean(value, names) if isinstance(value, str) else None
        if value is None and root is not None:
            tip = _null_help(root, parts)
        yield parts, f"`{show(value)}` is not one of {_one_of(options)}", tip
    elif keyword in ("pattern", "maxLength") and xtype == "set":
        options = schema["items"]["enum"]
        yield parts, f"`{show(value)}` is not one of {_one_of(options)}", did_you_mean(str(value), options)
    elif keyword in ("pattern", "maxLength"):
        yield parts, f"`{show(value)}` is not {_EXPECTED.get(xtype or '', 'valid')}", None
    elif keyword == "minimum":
        yield parts, f"`{show(value)}` is less than the minimum of {rule}", None
    elif keyword == "maximum":
        yield parts, f"`{show(value)}` is greater than the maximum of {rule}", None
    elif keyword == "multipleOf":
        yield parts, f"`{show(value)}` has more than two decimal places", "amounts of money are in cents"
    elif keyword == "const":
        tip = "this engine reads versions " + " and ".join(map(str, VERSIONS)) + " (`fact_bundle: 1` or `2`)"
        yield parts, f"`{show(value)}` is not a supported version", tip
    elif keyword == "uniqueItems" and isinstance(value, list):
        repeated = sorted({show(v) for i, v in enumerate(value) if v in value[:i]})
        yield parts, f"{_one_of(repeated)} is listed more than once", None
    else:  # a keyword added to the schema later: jsonschema's own words, in our style
        yield parts, error.message[:1].lower() + error.message[1:], None


def _calendar_errors(schema: Schema, value: object) -> Iterator[Problem]:
    """Dates that have the right shape but do not exist (`2025-02-30`): the pattern cannot see that."""
    for where, found in values(skeleton(schema, "date", _is_date), value):
        if isinstance(found, str) and _DATE.fullmatch(found):
            try:
                datetime.date.fromisoformat(found)
            except ValueError:
                yield path_of(where), f"`{found}` is not a calendar date"


def _is_date(schema: Mapping[str, Any]) -> bool:
    return schema.get(XTYPE) == "date"


def schema_diagnostics(
    instance: object, *, source: str, bundle: str, version: int = LATEST, most: int | None = None
) -> list[Diagnostic]:
    """The problems of one bundle (already a plain JSON-shaped value), as `facts/schema` diagnostics:
    every one, or the first `most` found, the looking stopped there (jsonschema made every error
    of a bundle of 80,000 bad entries, 2 s, for an error record that lists 100).

    Validation runs in a Decimal context that never traps, so a huge amount (whose
    `multipleOf` quotient overflows the precision) is reported instead of crashing the run.
    """
    found: dict[tuple[str, str], str | None] = {}  # one problem said twice (two keywords) counts once
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        ctx.traps[decimal.InvalidOperation] = False
        for path, message, tip in _problems(instance, version):
            found[json_path(path, instance), message] = tip  # (a repeat keeps its place, takes the last tip)
            if most is not None and len(found) >= most:
                break  # the generators are dropped unfinished: the rest is never looked for
    return [
        Diagnostic(code="facts/schema", message=message, fact_path=path, file=source, bundle=bundle, help=tip)
        for (path, message), tip in found.items()
    ]


def _problems(instance: object, version: int) -> Iterator[tuple[list[PathPart], str, str | None]]:
    """Each problem as it is found: jsonschema's errors (each in our words), then the dates that
    do not exist; nothing is looked for before it is asked for."""
    schema = shared_schema(version)
    if not fast_check.is_valid(_schema_text(version), schema, instance):  # most bundles stop here
        for error in _validator(version).iter_errors(instance):
            yield from _messages(error, schema)
    for path, message in _calendar_errors(schema, instance):
        yield path, message, None
