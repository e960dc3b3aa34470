"""Python's JSON parser, bounded for fact files: no recursion past a depth the limits refuse anyway,
no integer past Python's own conversion limit, and the place of a number too long to read.

The slow path of fact intake (engine/facts/json_records.py): a line or a document the exact
decoder (msgspec, typed_intake.py) refused is read again here, so that its error says what and
where. Every number is read exactly (`read_decimal`), never as a float.
"""

from __future__ import annotations

import json
import re

from .limits import MAX_DEPTH, read_decimal

INT_DIGITS = 4_300  # the longest integer text Python converts by default (sys.get_int_max_str_digits)
_PARSE_DEPTH = 4 * MAX_DEPTH  # a document nested deeper is refused whole, before the parser recurses


class NestedTooDeep(Exception):
    pass


def parse_json(text: str) -> object:
    """The document, unless it nests deeper than the parser should recurse: nesting past MAX_DEPTH
    but within _PARSE_DEPTH is read, and the limits refuse it on its own bundle, with its path."""
    depth = max(text.count("[", 0, 20_000), text.count("{", 0, 20_000))  # cheap bound before recursing
    if depth > _PARSE_DEPTH and _max_depth(text) > _PARSE_DEPTH:
        raise NestedTooDeep
    return json.loads(text, parse_float=read_decimal, parse_int=_json_int)


def _max_depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


# a number the parser cannot read (`_json_int`, `read_decimal`), where a value starts: its ValueError
# carries no place, and the error stood at column 1 of its line (a JSON document's at none)
_UNREADABLE = re.compile(rf"[:\[,][ \t\r\n]*(-?(?:[0-9]{{{INT_DIGITS + 1},}}|[0-9][0-9.]*[eE][-+]?[0-9]{{19,}}))")


def number_place(text: str) -> tuple[int, int]:
    """The line and column (from 1) of the first number too long to read in `text`, else 1, 1."""
    found = _UNREADABLE.search(text)
    if found is None:
        return 1, 1
    at = found.start(1)
    return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)


def _json_int(text: str) -> int:
    """The int of `text`, but not past Python's own limit (it would raise ValueError there, and the
    cost grows with the square of the length). One over the fact limit, MAX_DIGITS, is kept: the
    limits then refuse it on its own bundle, with its path, and the rest of a document is read."""
    if len(text.lstrip("-").lstrip("0")) > INT_DIGITS:
        raise ValueError(f"a number with {len(text.lstrip('-'))} digits")
    return int(text)
