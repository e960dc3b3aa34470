"""The fact-bundle contract as data: the shipped JSON Schemas, their validators, and the fact types.

`schemas/fact-bundle-v{1,2}.json` are the single source of truth for what a fact bundle may hold;
rules read the latest version (a version 1 bundle is upgraded on read, see `upgrade.py`). The
validator turns jsonschema's errors into our diagnostics (one per problem, pointing at the exact
JSON path), and `fact_types()` reads the `x-carepolicy-type` annotations so the checker knows the
type of every fact without a second, hand-kept list.
"""

from __future__ import annotations

import copy
import datetime
import decimal
import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..diagnostics import Diagnostic, did_you_mean
from ..language.valuetypes import (
    BOOL,
    CODE,
    COUNT,
    DATE,
    MINUTES,
    MONEY,
    MONTH,
    NUMBER,
    PERCENT,
    TEXT,
    EnumType,
    ListType,
    MapType,
    RecordType,
    SetType,
    Type,
    ValueType,
)
from . import fast_check
from .limits import path_of
from .skeleton import skeleton, values

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

Schema = dict[str, Any]
PathPart = str | int | object  # YAML may give non-string keys (`on:` is the boolean True)
Problem = tuple[list[PathPart], str]  # where in a bundle, and what is wrong there

VERSIONS = (1, 2)
LATEST = VERSIONS[-1]  # the version rules read and `fact_types()` describes
XTYPE = "x-carepolicy-type"
READ_AS = "x-carepolicy-read-as"  # a fact read into another on read (upgrade.py)
_SCALARS: dict[str, ValueType] = {
    t.name: t for t in (BOOL, COUNT, NUMBER, MINUTES, MONEY, PERCENT, DATE, MONTH, TEXT, CODE)
}
_METADATA = ("id", "fact_bundle")  # describe the bundle itself; rules never read them
# Version 1 keys a version 2 bundle may not give (v2 states them per program), each with the
# message and the hint of its error; an upgraded version 1 bundle keeps them (see model_schema).
V1_ONLY = "x-carepolicy-version-1-keys"
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
_NUMERAL = re.compile(r"\s*[-+]?\d+(\.\d*)?\s*")  # `'20'`: a number written as text
_YAML_11_NUMBER = re.compile(  # base 60, binary, `_`-grouped: numbers in YAML 1.1, text in YAML 1.2
    r"[-+]?(?:[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|0b[01_]+|[0-9][0-9_]*_[0-9_]*(?:\.[0-9_]*)?)"
)
_YAML_11_BOOLEANS = ("yes", "no", "on", "off", "y", "n")
_DATE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
_PATH_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")  # the keys jsonschema writes as `.key`


@functools.cache
def _schema_text(version: int) -> str:
    """A shipped schema, read through the import system so that it also works from a wheel."""
    name = f"fact-bundle-v{version}.json"
    try:
        return (files("carepolicy.engine.facts") / "schemas" / name).read_text(encoding="utf-8")
    except NotADirectoryError:  # 3.11, editable install, engine/ without __init__.py (ecosystem-notes §1)
        return (Path(__file__).parent / "schemas" / name).read_text(encoding="utf-8")


@functools.cache
def shared_schema(version: int = LATEST) -> Schema:
    """A schema, parsed once and shared by this package: read it, never change it."""
    result: Schema = json.loads(_schema_text(version))
    return result


@functools.cache
def model_schema() -> Schema:
    """What rules read: the latest schema, plus the version 1 keys that an upgraded version 1
    bundle keeps (`consent`, `ccm_start`), so a policy written for version 1 still checks; in a
    version 2 bundle they are never given, so they read as missing. Shared: never change it."""
    latest = shared_schema()
    kept = [key for key in latest.get(V1_ONLY, {}) if key in shared_schema(1)["properties"]]
    if not kept:
        return latest
    properties = {**latest["properties"], **{key: shared_schema(1)["properties"][key] for key in kept}}
    return {**latest, "properties": properties}


def fact_schema(version: int = LATEST) -> Schema:
    """A fact-bundle JSON Schema, for `carepolicy schema` and other tools (a copy the caller may change)."""
    if version not in VERSIONS:
        raise ValueError(f"no fact-bundle version {version}; versions: {', '.join(map(str, VERSIONS))}")
    return copy.deepcopy(shared_schema(version))


@functools.cache
def _validator(version: int) -> Draft202012Validator:
    """One validator, reused: `jsonschema.validate()` per bundle re-checks the schema and is 40x slower.

    The schema is read with `parse_float=Decimal` here, so `multipleOf: 0.01` is Decimal("0.01")
    and the check on Decimal money is exact (a float divisor would raise TypeError on a Decimal).
    No `format` keyword is used today (real calendar dates are checked by `_calendar_errors`, with a
    clearer message); the format checker makes any that is added later count.
    """
    from jsonschema import Draft202012Validator, FormatChecker  # 70 ms to import: only when validating

    schema = json.loads(_schema_text(version), parse_float=decimal.Decimal)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def subschema(schema: Schema, key: PathPart) -> Schema | None:
    """The schema of `key` inside a mapping described by `schema` (None for an unknown key)."""
    found = schema.get("properties", {}).get(key) if isinstance(key, str) else None
    extra = schema.get("additionalProperties")
    if found is None and isinstance(extra, dict):
        found = extra
    return found


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
    if not text.isascii():  # half a UTF-16 pair (JSON's `\\ud800`) is not text UTF-8 can write: spelled so
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= 60 else text[:57] + "..."


def describe(value: object) -> str:
    """A found value in words: `a list`, text `abc`, `5`."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"text `{show(value)}`"
    if not isinstance(value, int | float | decimal.Decimal | bool | None):  # a Python caller's object
        kind = type(value)  # named by its type: its repr may be anything (an address, a numpy wrapper)
        return f"a `{kind.__module__}.{kind.__qualname__}` value"
    return f"`{show(value)}`"


def _one_of(values: Sequence[object]) -> str:
    return ", ".join(f"`{show(v)}`" for v in values)


def _type_help(xtype: str | None, value: object) -> str | None:
    if xtype == "code" and isinstance(value, int) and not isinstance(value, bool):
        return _QUOTE_CODE_HELP
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
    return None


def _messages(error: ValidationError) -> Iterator[tuple[list[PathPart], str, str | None]]:
    """(path, message, help) for one jsonschema error, in our message style."""
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
        yield parts, f"expected {wanted}, found {describe(value)}", _type_help(xtype, value)
    elif keyword == "enum":
        options = rule
        names = [option for option in options if isinstance(option, str)]  # not `null`
        tip = did_you_mean(value, names) if isinstance(value, str) else None
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


def schema_diagnostics(instance: object, *, source: str, bundle: str, version: int = LATEST) -> list[Diagnostic]:
    """Every problem with one bundle (already a plain JSON-shaped value), as `facts/schema` diagnostics.

    Validation runs in a Decimal context that never traps, so a huge amount (whose
    `multipleOf` quotient overflows the precision) is reported instead of crashing the run.
    """
    found: list[tuple[list[PathPart], str, str | None]] = []
    schema = shared_schema(version)
    if not fast_check.is_valid(_schema_text(version), schema, instance):  # most bundles stop here
        with decimal.localcontext() as ctx:
            ctx.prec = 60
            ctx.traps[decimal.InvalidOperation] = False
            for error in _validator(version).iter_errors(instance):
                found.extend(_messages(error))
    found.extend((path, message, None) for path, message in _calendar_errors(schema, instance))
    unique = {(json_path(path, instance), message): tip for path, message, tip in found}
    return [
        Diagnostic(code="facts/schema", message=message, fact_path=path, file=source, bundle=bundle, help=tip)
        for (path, message), tip in unique.items()
    ]


@functools.cache
def _fact_types() -> dict[str, Type]:
    types: dict[str, Type] = {}
    enums: dict[str, EnumType] = {}
    for name, schema in model_schema()["properties"].items():
        if name not in _METADATA and READ_AS not in schema:
            _collect(name, name, schema, types, enums)
    return types


@functools.cache
def read_as() -> dict[str, str]:
    """Facts a bundle may give that rules read under another name (`prior_claims` -> `claims`).

    They are accepted in bundles and folded into the other fact on read (upgrade.py), so a rule
    cannot name them: one list is the one source of truth."""
    return {name: schema[READ_AS] for name, schema in shared_schema()["properties"].items() if READ_AS in schema}


def fact_types() -> dict[str, Type]:
    """The type of every fact, by dotted path (`beneficiary.part_b`), read from the schema's annotations.

    Records inside lists are reached through their `ListType` (`time` -> list of `time` records),
    not as `time.minutes`, because a rule can only read them one item at a time.
    """
    return dict(_fact_types())


def _collect(path: str, name: str, schema: Schema, out: dict[str, Type], enums: dict[str, EnumType]) -> None:
    if "properties" in schema:  # a nested mapping: its fields are facts of their own
        for key, sub in schema["properties"].items():
            _collect(f"{path}.{key}", key, sub, out, enums)
    else:
        out[path] = _type_of(name, schema, enums)


def _type_of(name: str, schema: Schema, enums: dict[str, EnumType]) -> Type:
    xtype = schema.get(XTYPE)
    if xtype == "enum":
        enum_name = schema.get("x-carepolicy-enum", name)
        values = tuple(v for v in schema["enum"] if v is not None)
        known = enums.setdefault(enum_name, EnumType(enum_name, values))
        if known.values != values:
            raise ValueError(f"schema: enumeration `{enum_name}` is defined twice with different values")
        return known
    if xtype == "set":
        return SetType(_type_of(name, schema["items"], enums))
    if xtype is not None:
        return _SCALARS[xtype]
    if isinstance(schema.get("items"), dict):
        fields = schema["items"]["properties"].items()
        return ListType(RecordType(name, tuple((key, _type_of(key, sub, enums)) for key, sub in fields)))
    if isinstance(schema.get("additionalProperties"), dict):
        key_type = _type_of(name, schema["propertyNames"], enums)
        return MapType(key_type, _type_of(name, schema["additionalProperties"], enums))
    raise ValueError(f"schema: property `{name}` has no `{XTYPE}` annotation")
