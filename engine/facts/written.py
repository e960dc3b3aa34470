"""Numbers in error messages as they were written, not as the Decimal read from them prints.

A number is read as a Decimal from its text, exactly, but a Decimal prints in its own form:
`1e27` as `1E+27`, `1.0e3` as `1.0E+3`, `2.5e-3` as `0.0025`, and YAML's `035` is the int 35.
An error that quoted it (`` `1E+27` is too large ``) quoted what the user never wrote. So once an
error record of a text input is made (a JSON line or document, a table's JSON cell, a YAML
document), each of its messages that quotes the number at its fact path quotes the number's own
text instead: the JSON token, the YAML scalar. This runs only for error records, never for a valid
bundle. A value given without text (a Python mapping, a typed Arrow column) is quoted as the value
it is: a Decimal by its own text, a float by Python's (limits.py). The YAML scalars are found by
`yaml_spelling` in yaml_loader.py, so that reading JSON does not import PyYAML.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from .bundle import Bundle, BundleError
from .limits import shortened
from .schema_messages import show

Part = str | int
Record = Bundle | BundleError
Spelling = Callable[[list[Part]], str | None]  # the text of the number at a path, None: not known

# one step of a fact path as json_path writes it: `.name`, `[3]`, `['99490']` (with `\\` and `\'`)
_STEP = re.compile(r"\.([A-Za-z][A-Za-z0-9_]*)|\[([0-9]+)\]|\['((?:[^'\\]|\\.)*)'\]")
_ESCAPED = re.compile(r"\\(.)")


def path_parts(fact_path: str) -> list[Part] | None:
    """The steps of a fact path (`$.time[0]['99490']`: "time", 0, "99490"), or None: not one."""
    if not fact_path.startswith("$"):
        return None
    parts: list[Part] = []
    at = 1
    while at < len(fact_path):
        step = _STEP.match(fact_path, at)
        if step is None:
            return None
        name, index, quoted = step.groups()
        parts.append(int(index) if index is not None else name if name is not None else _ESCAPED.sub(r"\1", quoted))
        at = step.end()
    return parts


def _value_at(root: object, parts: Sequence[Part]) -> object:
    """The value `parts` leads to in a bundle as read (a key by its text as paths show it: a YAML
    key may be a number), or None."""
    node = root
    for part in parts:
        if isinstance(node, Mapping):
            if part in node:
                node = node[part]
                continue
            node = next((item for key, item in node.items() if show(key) == part), None)
        elif isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node


def _said(value: object) -> str | None:
    """How a message quotes the number `value` (None: it is no number)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        return None
    return float.__repr__(value) if isinstance(value, float) else str(value)


def as_written(record: Record, bundle: object, spelling: Spelling, prefix: Sequence[Part] = ()) -> Record:
    """`record`, the error record of `bundle`, with each number its messages quote at their fact
    paths quoted as `spelling` says it was written (`prefix`: the bundle's place in the document
    `spelling` reads, in a list of bundles); as it was where that is not known. (A valid bundle,
    as it is: the callers do not call this for one.)"""
    if not isinstance(record, BundleError):
        return record
    diagnostics = []
    for diag in record.diagnostics:
        parts = path_parts(diag.fact_path) if diag.fact_path and "`" in diag.message else None
        said = _said(_value_at(bundle, parts)) if parts is not None else None
        text = spelling([*prefix, *parts]) if parts is not None and said is not None else None
        if said is not None and text is not None and text != said:
            diag = replace(diag, message=diag.message.replace(f"`{shortened(said)}`", f"`{shortened(text)}`"))
        diagnostics.append(diag)
    return replace(record, diagnostics=tuple(diagnostics))


def in_document(record: Record, document: object, spelling: Spelling) -> Record:
    """The record of a bundle of a JSON document (a mapping, or a list of them), an error record's
    numbers quoted as written."""
    if not isinstance(record, BundleError):
        return record
    if isinstance(document, list):
        return as_written(record, document[record.index], spelling, (record.index,))
    return as_written(record, document, spelling)


class _Token(str):
    """A JSON number's text, as it stands in the document (a string value is a plain str)."""

    __slots__ = ()


def json_spelling(text: str) -> Spelling:
    """The spelling of the numbers of the JSON `text`, read again (once) only when first asked."""
    read: list[object] = []

    def spelled(parts: list[Part]) -> str | None:
        if not read:
            try:
                read.append(json.loads(text, parse_float=_Token, parse_int=_Token, parse_constant=_Token))
            except (ValueError, RecursionError):  # (read before as JSON: never, but then nothing is known)
                read.append(None)
        found = _value_at(read[0], parts)
        return str(found) if isinstance(found, _Token) else None

    return spelled
