"""The fact-bundle schemas as msgspec types: a JSON line decoded against them is checked in C.

Built once per schema version from the shipped JSON Schema, never written by hand, so the contract
keeps one source of truth. The types are at least as strict as the schema plus the reader's limits
(limits.py), never less: a bundle they accept is one the precise path accepts too, and anything
they refuse goes to the untyped path unchanged, which words the error. Where the schema has a
keyword this builder does not translate, `Unsupported` is raised and the typed path is not used at
all (tests/test_typed_intake.py shows that the shipped schemas build).

What is stricter than the schema, on purpose (the precise path decides those bundles):
- a pattern's final `$` is `\\Z` (Python's `$` also matches before a final newline);
- a date (`x-carepolicy-type: date`) is msgspec's `datetime.date`, parsed in C: exactly
  `YYYY-MM-DD` in ASCII digits and a real calendar date (years 0001-9999), which `to_builtins`
  writes back as the very same text (tests/test_typed_intake.py holds it to the schema's pattern
  and `datetime.date.fromisoformat` over every day of several centuries' worth of years);
- a pattern that is only a choice of plain words (`^(ccm|pcm)$`) is a `Literal` of those words:
  the same texts, looked up rather than searched;
- text is at most `MAX_TEXT` characters and whole numbers stay below 10^`MAX_DIGITS` (limits.py);
- money is `msgspec.Raw`, decoded and checked afterwards (typed_intake.py): msgspec's `Decimal`
  type would also take text such as `"5"`, which the schema refuses.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union

import msgspec

from .incomplete import needing_every_field
from .limits import MAX_DEPTH, MAX_DIGITS, MAX_TEXT
from .schema import XTYPE, shared_schema

_LARGEST = 10**MAX_DIGITS - 1
_ANNOTATIONS = frozenset({"title", "description", "$schema", "$id"})
# the schemas' date pattern: every text msgspec's `datetime.date` takes, it takes
_DATE_PATTERNS = ("^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",)
_DATE_LENGTH = 10  # YYYY-MM-DD
# a pattern that is only a choice of plain words, anchored at both ends (after `$` became `\\Z`)
_WORDS = re.compile(r"\^(?:\(([0-9A-Za-z_]+(?:\|[0-9A-Za-z_]+)*)\)|([0-9A-Za-z_]+))\\Z")


class Unsupported(Exception):
    """A schema keyword (or combination) the builder does not translate: the typed path is off."""


@functools.cache
def bundle_type(version: int) -> Any:
    """The msgspec type of a bundle of this contract version (cached: built once per process)."""
    # list entries must give the fields the rules need (incomplete.py): a bundle with an entry
    # that lacks one is left to the precise path, whose notes name it
    schema = needing_every_field(shared_schema(version))
    if _depth(schema) >= MAX_DEPTH:
        raise Unsupported("the schema nests deeper than a record may")
    return _model(schema, f"V{version}")


def _model(schema: Mapping[str, Any], name: str) -> Any:
    unknown = [key for key in schema if key not in _KNOWN and key not in _ANNOTATIONS and not key.startswith("x-")]
    if unknown:
        raise Unsupported(f"{name}: {unknown}")
    if schema.get(XTYPE) == "money":
        if schema.get("type") != "number" or schema.get("minimum") != 0 or schema.get("multipleOf") != 0.01:
            raise Unsupported(f"{name}: money that is not a non-negative number of cents")
        return msgspec.Raw  # checked after decoding (typed_intake.money)
    if "uniqueItems" in schema and schema.get(XTYPE) != "set":
        raise Unsupported(f"{name}: uniqueItems outside a set")  # only sets are checked after decoding
    if "enum" in schema or "const" in schema:
        return _literal(schema, name)
    kinds = schema.get("type")
    if kinds is None:
        raise Unsupported(f"{name}: no type")
    alternatives = [_one(kind, schema, name) for kind in ([kinds] if isinstance(kinds, str) else kinds)]
    return alternatives[0] if len(alternatives) == 1 else Union[tuple(alternatives)]  # noqa: UP007


_KNOWN = frozenset(
    {"type", "enum", "const", "pattern", "maxLength", "minimum", "maximum", "multipleOf", "items", "uniqueItems",
     "properties", "additionalProperties", "required", "propertyNames"}
)  # fmt: skip


def _literal(schema: Mapping[str, Any], name: str) -> Any:
    options = list(schema["enum"]) if "enum" in schema else [schema["const"]]
    extra = set(schema) - _ANNOTATIONS - {"enum", "const"}
    if any(not key.startswith("x-") for key in extra):
        raise Unsupported(f"{name}: an enum with other keywords")
    if not all(option is None or type(option) in (str, int) for option in options):
        raise Unsupported(f"{name}: an enum of other values")
    return Literal[tuple(options)]


def _one(kind: str, schema: Mapping[str, Any], name: str) -> Any:
    if kind == "null":
        return type(None)
    if kind == "boolean":
        return bool
    if kind == "string":
        return _text(schema, name)
    if kind == "integer":
        low = max(schema.get("minimum", -_LARGEST), -_LARGEST)
        high = min(schema.get("maximum", _LARGEST), _LARGEST)
        if type(low) is not int or type(high) is not int:
            raise Unsupported(f"{name}: a bound that is not a whole number")
        return Annotated[int, msgspec.Meta(ge=low, le=high)]
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        return tuple[_model(schema["items"], name + "_item"), ...]  # type: ignore[misc]
    if kind == "object":
        return _record(schema, name)
    raise Unsupported(f"{name}: type {kind}")


def _text(schema: Mapping[str, Any], name: str) -> Any:
    pattern = schema.get("pattern")
    length = min(schema.get("maxLength", MAX_TEXT), MAX_TEXT)
    if schema.get(XTYPE) == "date":
        if pattern not in _DATE_PATTERNS:
            raise Unsupported(f"{name}: a date with another pattern")
        # msgspec's own date (see the top): the pattern and a real calendar date, checked in C
        # without calling a regex per date (which cost about a microsecond each)
        if length < _DATE_LENGTH:
            raise Unsupported(f"{name}: a date shorter than a date")
        return datetime.date
    if isinstance(pattern, str) and pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    words = _WORDS.fullmatch(pattern) if isinstance(pattern, str) else None
    if words is not None:  # `^(ccm|pcm)$`: the few texts it takes, looked up in C rather than searched
        options = tuple(word for word in (words.group(1) or words.group(2)).split("|") if len(word) <= length)
        if not options:
            raise Unsupported(f"{name}: no text the pattern takes is short enough")
        return Literal[options]
    if pattern is None:
        return Annotated[str, msgspec.Meta(max_length=length)]
    return Annotated[str, msgspec.Meta(max_length=length, pattern=pattern)]


def _record(schema: Mapping[str, Any], name: str) -> Any:
    properties = schema.get("properties")
    extra = schema.get("additionalProperties")
    if properties and extra is False:
        required = set(schema.get("required", ()))
        if not required <= set(properties):
            raise Unsupported(f"{name}: a required key that is not a property")
        # the fields in the order of their keys, so a record's dict comes sorted: the facts hash
        # sorts every dict's keys, and orjson sorts a sorted one in a single pass
        keys = sorted(properties)
        fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
        for i, key in enumerate(keys):
            kind = _model(properties[key], f"{name}_{key}")
            fields.append((f"f{i}", kind) if key in required else (f"f{i}", kind, msgspec.UNSET))
        rename = {f"f{i}": key for i, key in enumerate(keys)}
        # gc=False: a decoded record holds no cycles; kw_only: required fields may follow optional ones
        return msgspec.defstruct(name, fields, rename=rename, forbid_unknown_fields=True, kw_only=True, gc=False)
    names = schema.get("propertyNames")
    if not properties and isinstance(extra, Mapping) and isinstance(names, Mapping) and "required" not in schema:
        if names.get("type") != "string" or set(names) - _ANNOTATIONS - {"type", "pattern", "maxLength", XTYPE}:
            raise Unsupported(f"{name}: keys that are not plain text")
        return dict[_text(names, name + "_key"), _model(extra, name + "_value")]  # type: ignore[misc]
    raise Unsupported(f"{name}: an object that is neither a closed record nor a map with named keys")


def _depth(schema: Mapping[str, Any]) -> int:
    """How deep a value the schema allows can nest (each object or array is one level)."""
    below = [_depth(sub) for sub in (schema.get("properties") or {}).values()]
    below += [_depth(schema[key]) for key in ("items", "additionalProperties") if isinstance(schema.get(key), Mapping)]
    kinds = schema.get("type")
    nests = any(kind in ("object", "array") for kind in ([kinds] if isinstance(kinds, str) else kinds or ()))
    return int(nests) + max(below, default=0)
