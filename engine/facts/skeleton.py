"""Where in a bundle the values of one kind are: the schema reduced to the paths that lead to them.

The checks after validation (real calendar dates, amounts of money, integer facts read exactly)
each need only a few values of a bundle. Walking the whole bundle beside its schema for each one
cost more than validating it; a skeleton, built once per schema and kind, is walked instead and
visits only the parts that can hold such a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Skeleton = dict[str, Any]  # {key: Skeleton | True}; "*": any other key; "[]": a list's items
Where = tuple[Any, Any] | None  # (parent, key), as in limits.py
ITEMS, OTHER = "[]", "*"

_CACHE: dict[tuple[int, str], Skeleton | bool] = {}


def skeleton(schema: Mapping[str, Any], kind: str, wanted: Callable[[Mapping[str, Any]], object]) -> Skeleton | bool:
    """The skeleton of `schema` for the values whose schema satisfies `wanted` (cached by schema and kind).

    A leaf is what `wanted` returned for its schema (True, or a mark such as "money").
    """
    key = (id(schema), kind)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = _build(schema, wanted) or False
    return found


def _build(schema: Mapping[str, Any], wanted: Callable[[Mapping[str, Any]], object]) -> Any:
    mark = wanted(schema)
    if mark:
        return mark
    found: Skeleton = {}
    for key, sub in (schema.get("properties") or {}).items():
        part = _build(sub, wanted)
        if part:
            found[key] = part
    for key, mark in (("additionalProperties", OTHER), ("items", ITEMS)):
        sub = schema.get(key)
        part = _build(sub, wanted) if isinstance(sub, Mapping) else None
        if part:
            found[mark] = part
    return found or None


def values(shape: Skeleton | bool, value: object) -> list[tuple[Where, Any]]:
    """(where, value) of every value the skeleton leads to, in a checked bundle (plain dicts and lists).

    `where` is a (parent, key) chain: `limits.path_of(where)` makes it a path, only when needed.
    """
    found: list[tuple[Where, Any]] = []
    _collect(shape, value, None, found)
    return found


def _collect(shape: Any, value: object, where: Where, found: list[tuple[Where, Any]]) -> None:
    if shape is True or type(shape) is str:
        found.append((where, value))
    elif not shape:
        return
    elif type(value) is dict:
        other = shape.get(OTHER)
        for key, item in value.items():
            sub = shape.get(key, other) if type(key) is str else other
            if sub:
                _collect(sub, item, (where, key), found)
    elif type(value) is list:
        items = shape.get(ITEMS)
        if items:
            for i, item in enumerate(value):
                _collect(items, item, (where, i), found)
