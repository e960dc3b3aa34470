"""The fact-bundle contract as data: the shipped JSON Schemas and the fact types.

`schemas/fact-bundle-v{1,2}.json` are the single source of truth for what a fact bundle may hold;
rules read the latest version (a version 1 bundle is upgraded on read, see `upgrade.py`).
`fact_types()` reads the `x-carepolicy-type` annotations so the checker knows the type of every
fact without a second, hand-kept list. What a bundle that breaks the schema is told (the
validator, and its errors as our diagnostics) is in `schema_messages.py`.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

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

Schema = dict[str, Any]
PathPart = str | int | object  # YAML may give non-string keys (`on:` is the boolean True)

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


def subschema(schema: Schema, key: PathPart) -> Schema | None:
    """The schema of `key` inside a mapping described by `schema` (None for an unknown key)."""
    found = schema.get("properties", {}).get(key) if isinstance(key, str) else None
    extra = schema.get("additionalProperties")
    if found is None and isinstance(extra, dict):
        found = extra
    return found


def wants_date(path: list[PathPart]) -> bool:
    """Whether the value at `path` in a bundle is a date in some version's schema: there a Python
    caller's `datetime.date` is read as its `YYYY-MM-DD` text, as an Arrow date is (limits.py)."""
    return any(node.get(XTYPE) == DATE.name for node in _nodes_at(path))


def wants_integer(path: list[PathPart]) -> bool:
    """Whether the value at `path` in a bundle is a whole number in some version's schema (`minutes`,
    a count): there a Decimal written without a point, `Decimal("20")`, is the int its text writes."""
    return any(node.get("type") == "integer" for node in _nodes_at(path))


def _nodes_at(path: list[PathPart]) -> Iterator[Schema]:
    """The schema of the value at `path`, in each version whose schema has one there."""
    for version in VERSIONS:
        node: Schema | None = shared_schema(version)
        for part in path:
            if node is None:
                break
            node = node.get("items") if isinstance(part, int) and node.get("type") == "array" else subschema(node, part)
        if node is not None:
            yield node


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
