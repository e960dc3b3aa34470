"""The engine's one canonical JSON text: keys sorted, `,`/`:` separators, UTF-8, non-ASCII as is.

Decisions (`to_json(..., indent=None)`, `evaluate --format jsonl`, `batch`), error records and the
facts hash are written with it. orjson writes this form several times faster than `json.dumps`
(measured on the benchmark decisions with the full trace: 323 → 42 µs per decision) and gives the
same bytes; `json.dumps` stays as the fallback for what orjson refuses (integers beyond 64 bits,
nesting deeper than 254), so no value that `json.dumps` could write is lost. tests/test_jsontext.py
holds the two to the same bytes over generated decisions and awkward values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

_SORTED = orjson.OPT_SORT_KEYS
TOO_DEEP = "depth limit exceeded"  # orjson's words for JSON nested deeper than it reads (1,024 levels)


def canonical_bytes(obj: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """`obj` as canonical JSON in UTF-8. Raises `TypeError`/`ValueError` for what is not JSON, and
    `UnicodeEncodeError` for a string that is not Unicode text (a lone surrogate)."""
    try:
        return orjson.dumps(obj, default=default, option=_SORTED)
    except orjson.JSONEncodeError:
        return stdlib_bytes(obj, default)


def escaped_bytes(obj: Any) -> bytes:
    """`canonical_bytes(obj)`, or, for an `obj` holding text that is not Unicode (a lone surrogate,
    which no UTF-8 file can hold), the same JSON with every non-ASCII character as a `\\u` escape:
    the one line `batch` can write for it (an error record of a file whose name is not UTF-8)."""
    try:
        return canonical_bytes(obj)
    except ValueError:  # (UnicodeEncodeError)
        return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("ascii")


def stdlib_bytes(obj: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """The same text through `json.dumps` (the reference the orjson path is tested against)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=default)
    return text.encode("utf-8")


def canonical_text(obj: Any, default: Callable[[Any], Any] | None = None) -> str:
    return canonical_bytes(obj, default).decode("utf-8")


def loads(text: bytes | str) -> Any:
    """JSON text as Python values (orjson). What orjson refuses and JSON allows, a lone surrogate
    escaped (`"in\\udcff.jsonl"`: the error record of a file whose name is not UTF-8, as
    `json.dumps` writes it), is read with `json.loads`; text that is not JSON raises orjson's error,
    and so does JSON nested deeper than orjson reads (`json.loads` would recurse until RecursionError)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        try:
            return json.loads(text, parse_constant=_not_json)
        except ValueError:
            raise error from None
        except RecursionError:  # nested past Python's recursion limit: refused as orjson refuses it, not a traceback
            raise (error if str(error).startswith(TOO_DEEP) else orjson.JSONDecodeError(TOO_DEEP, "", 0)) from None


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
