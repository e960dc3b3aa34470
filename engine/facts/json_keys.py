"""Keys set twice in one JSON object: found and placed, so that no value is silently replaced.

Every JSON decoder we use (msgspec, orjson, the standard library) lets the last of two equal keys
in an object win: `{"month": "2025-03", "month": "2025-04"}` would be decided as April without a
word. YAML fact files refuse it (yaml_loader.py); JSON and JSON Lines refuse it here.

Steps, from cheap to exact:
- `surely_unique`: a test on the bytes for the normal path of a JSON line (typed_intake.py), three
  C calls. It never says "unique" of a line with a duplicate; in doubt it says no, and the
  line takes the untyped path.
- `unique_by_count` (and `unique_given`): the same test for a JSON line of any origin, against
  orjson's writing of what it decodes to.
- `has_duplicate`: the standard library's decoder (in C) with a check of each object's keys.
- `duplicates`: a scan of the text in Python that names each duplicate, the object it is in and
  where both keys are. Run only once a duplicate is known to be there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import orjson

# the tokens that matter for keys: strings, brackets, colons and commas (numbers and words skipped)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]', re.DOTALL)


def surely_unique(line: bytes, canonical: bytes) -> bool:
    """True only when `line` sets no key twice in any object, given `canonical`: orjson's compact
    writing of what the line decoded to (keys as decoded, money as its text).

    Why it is sound: without a backslash in the line, every text in it is written as it reads.
    The line then holds one colon per key, plus those inside its texts. `canonical` holds one per
    key kept, plus those inside the texts kept: decoding drops texts (the values a repeated key
    replaced) and adds none with a colon (money is digits, a date `YYYY-MM-DD` as written). So a
    repeated key leaves the line with more colons than `canonical`; as many means none was
    repeated. (About 3 µs for a 1.6 kB line; a line with a backslash is read by the untyped path,
    which checks exactly.)"""
    return b"\\" not in line and line.count(b":") == canonical.count(b":")


def unique_by_count(text: str) -> bool:
    """True only when `text` sets no key twice in any object: its colons against those of orjson's
    writing of what it decodes to. For a JSON line of any origin (`report` reads lines it did not
    write), where `surely_unique` needs the canonical bytes the caller made.

    Why it is sound: decoding keeps the last of two equal keys and drops the other pair, colon and
    all; it adds no colon, as long as `text` holds no `\\u003a` (or `\\u003A`), a colon once decoded:
    every other escape decodes to a character that is not a colon, and orjson writes a colon in a
    text as a colon. In doubt (such an escape in the line, a value orjson does not read or write,
    such as an integer beyond 64 bits) False: `has_duplicate` then says exactly. About 90 µs for a
    23 kB decision line, where `has_duplicate` takes 135 µs."""
    if not _no_escaped_colon(text):
        return False
    try:
        decoded = orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    return unique_given(text, decoded)


def unique_given(text: str, decoded: object) -> bool:
    """`unique_by_count(text)` for a `text` that orjson has decoded to `decoded` already: the same
    test, without decoding it again (`explain` and `report` read each line before they check it)."""
    if not _no_escaped_colon(text):
        return False
    try:
        canonical = orjson.dumps(decoded)
    except orjson.JSONEncodeError:
        return False
    return canonical.count(b":") == text.count(":")


def _no_escaped_colon(text: str) -> bool:
    """True when no backslash of `text` starts `\\u003a` or `\\u003A` (one that is itself escaped
    says False too: in doubt). The first backslashes are found by `find` (memchr; a decision line
    holds a few): searching for the six characters, or for `\\u`, took 20-65 µs of a 23 kB line,
    as CPython's search stops at every `u` and `a` of the text; past _FEW, that search is cheaper."""
    at = text.find("\\")
    for _ in range(_FEW):
        if at < 0:
            return True
        if text.startswith(("u003a", "u003A"), at + 1):
            return False
        at = text.find("\\", at + 1)
    return at < 0 or ("\\u003a" not in text and "\\u003A" not in text)


_FEW = 64  # backslashes looked at one by one (~0.3 µs each)


class _Repeated(Exception):
    pass


def _unique_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise _Repeated
    return found


def has_duplicate(text: str) -> bool:
    """Whether some object of `text` (JSON the standard library can read) sets a key twice."""
    try:
        json.loads(text, object_pairs_hook=_unique_object, parse_float=str, parse_int=str)
    except _Repeated:
        return True
    except (ValueError, RecursionError):  # not readable JSON: the caller's own reading says why
        return False
    return False


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A key set twice in one object: where the object is, and the offsets of both keys."""

    key: str
    path: tuple[str | int, ...]  # the object's place in the document: keys and list positions
    first: int  # the offset in the text of the first key's opening quote
    again: int  # and of the second's


class _Open:
    """An object or list open at this point of the scan."""

    __slots__ = ("expect_key", "index", "key", "path", "seen")

    def __init__(self, path: tuple[str | int, ...], is_object: bool) -> None:
        self.path = path
        self.seen: dict[str, int] | None = {} if is_object else None  # key -> offset; None: a list
        self.key = ""  # the key whose value comes next (an object)
        self.index = 0  # the position of the item that comes next (a list)
        self.expect_key = is_object

    def slot(self) -> str | int:
        return self.index if self.seen is None else self.key


def duplicates(text: str) -> list[Duplicate]:
    """Every key set twice in an object of `text`, in the order of the second key; the text is
    JSON the standard library reads (`has_duplicate` said so)."""
    found: list[Duplicate] = []
    stack: list[_Open] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        top = stack[-1] if stack else None
        if token == "{" or token == "[":
            stack.append(_Open((*top.path, top.slot()) if top is not None else (), token == "{"))
        elif token == "}" or token == "]":
            stack.pop()
        elif top is None:
            continue  # (a string or a comma outside any container: not JSON the decoder read)
        elif token == ",":
            if top.seen is None:
                top.index += 1
            else:
                top.expect_key = True
        elif token == ":":
            top.expect_key = False
        elif top.expect_key and top.seen is not None:  # a key of the object on top
            key = json.loads(token)
            if key in top.seen:
                found.append(Duplicate(key, top.path, top.seen[key], match.start()))
            else:
                top.seen[key] = match.start()
            top.key = key
    return found


def line_and_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of `offset` in `text`."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
