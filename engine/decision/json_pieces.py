"""Pieces of a decision's JSON line kept between decisions, already written in canonical form.

Evaluation shares its `Reason` and `Denial` objects between records (the bounded memos of
compile/policy_set.py): a batch's ~33 denials per record are nearly all the same few thousand
objects. So `to_json_bytes` writes each denial once, as the parts of its canonical JSON, keeps the
parts on the denial, and joins the parts of a record's denials into the line. They are the bytes
orjson writes for the denial's JSON object (keys sorted, the same separators), so the line is
byte-identical to writing the whole object.

Where the parts are kept: on the objects themselves (`Reason.written`, `Denial.written`, fields
outside equality and hashing). They are a pure function of the object's fields, so they can never
go stale, and they are freed with the object: the ~3 denials per record made fresh take theirs
with them, and the shared ones are as many as the memos keep (10,000 each). (A previous try kept
each denial's bytes in a table by identity: 211 MB, as the fresh denials churned it; a table by
identity also has to hold its objects, so that an id is not reused.)

Why parts, not each denial's bytes: the parts repeat. A reason is in many denials, and every denial
of one code shares its `{"code":…,"reasons":[`. So a denial keeps a tuple of references (~100
bytes) and a reason its bytes (~500). Measured with tracemalloc after 20,000 records: whole bytes
per denial, 15 MB for 10,400 denials; the parts, 1.8 MB (and 2.9 MB for 5,900 reasons). Every kept
piece is a concatenation of exactly its size: orjson's own results keep a 4 kB buffer (23 MB for
the 5,900 reasons kept as orjson returned them).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, Protocol

import orjson

from .citations import cite_tag, is_assumption

__all__ = [
    "DenialWritten",
    "ReasonWritten",
    "cites_mask",
    "denial_written",
    "engine_json",
    "exact_bytes",
    "mask_tags",
    "reason_written",
    "switches_json",
    "tag_mask",
]

# (a reason's JSON object in canonical bytes; the tags it cites as a tag mask)
ReasonWritten = tuple[bytes, int]
# (the parts of a denial's JSON object and the "," after it, in order: joined, a list of denials
# has one "," too many, after its last; the tags its reasons cite as a tag mask)
DenialWritten = tuple[tuple[bytes, ...], int]

# Each cite tag has a bit, so that the tags of a record's ~33 denials are collected by or-ing ~33
# ints (in C: functools.reduce) rather than by adding ~300 strings to a set. Never cleared (masks
# kept on objects refer to it); it grows only with the distinct tags of the policies loaded in the
# process (94 for the shipped library), each tag a short string.
_BIT_OF_TAG: dict[str, int] = {}
_TAG_OF_BIT: list[str] = []  # the tag of bit i, at index i
_NEW_TAGS = threading.Lock()  # two threads must not give two tags the same bit


def tag_mask(tags: Iterable[str]) -> int:
    """The mask of some tags (see _BIT_OF_TAG)."""
    mask = 0
    for tag in tags:
        bit = _BIT_OF_TAG.get(tag)
        if bit is None:
            with _NEW_TAGS:
                bit = _BIT_OF_TAG.get(tag)
                if bit is None:
                    bit = _BIT_OF_TAG[tag] = 1 << len(_TAG_OF_BIT)
                    _TAG_OF_BIT.append(tag)
        mask |= bit
    return mask


# the mask of a tuple of cites: the shipped library has ~60 distinct tuples; bounded all the same
_MASK_OF_CITES: dict[tuple[str, ...], int] = {}


def cites_mask(cites: tuple[str, ...]) -> int:
    """The mask of the tags of some cites (an `assumption` is no source: DecisionContext.tags)."""
    found = _MASK_OF_CITES.get(cites)
    if found is None:
        found = tag_mask(cite_tag(c) for c in cites if not is_assumption(c))
        if len(_MASK_OF_CITES) < _PARTS_LIMIT:  # (bounded like the parts below)
            _MASK_OF_CITES[cites] = found
    return found


# The tags of one byte of a mask, by the byte's place and value (`place << 8 | value`): a mask is
# read a byte at a time. A bit at a time cost four operations on a big int per tag (~25 tags a
# decision, whose `sources` most often are not among those kept: DecisionContext.sources_json).
# A function of _TAG_OF_BIT, whose bits never change; at most 256 entries per 8 tags.
_TAGS_OF_BYTE: dict[int, tuple[str, ...]] = {}


def mask_tags(mask: int) -> list[str]:
    """The tags of a mask, in the order of their bits."""
    tags: list[str] = []
    for place, value in enumerate(mask.to_bytes((mask.bit_length() + 7) >> 3, "little")):
        if value:
            found = _TAGS_OF_BYTE.get(place << 8 | value)
            if found is None:
                found = tuple(_TAG_OF_BIT[place << 3 | bit] for bit in range(8) if value >> bit & 1)
                _TAGS_OF_BYTE[place << 8 | value] = found
            tags += found
    return tags


class ReasonShape(Protocol):
    """What a denial's reason shows (decision.model.Reason; a protocol so that this base module
    needs nothing of the model, which imports it)."""

    @property
    def rule(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def cites(self) -> tuple[str, ...]: ...
    @property
    def source(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def written(self) -> ReasonWritten | None: ...


class DenialShape(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def reasons(self) -> tuple[ReasonShape, ...]: ...
    @property
    def unit(self) -> int | None: ...
    @property
    def with_code(self) -> str | None: ...
    @property
    def written(self) -> DenialWritten | None: ...


def reason_written(reason: ReasonShape) -> ReasonWritten:
    """The reason's JSON object (`json_form._reason`) in canonical bytes, written from parts:
    `{"cites":[…],"reason":` + its words + `,"rule":…,"source":…,"title":…}`, and the tags it cites
    (those of DecisionContext.tags), written once and kept on the reason. Raises
    orjson.JSONEncodeError for what orjson cannot write (the caller then writes the line the old way)."""
    written = reason.written
    if written is None:
        # ~3 reasons a record are new ones: the kept parts are looked up here, a call only when one
        # is not kept yet; one join (orjson's own result would keep its 4 kB buffer, measured with
        # tracemalloc), not two concatenations
        cites = reason.cites
        rule = _RULE_PARTS.get((reason.rule, reason.source, reason.title))
        text = b"".join(
            (
                _CITES_PARTS.get(cites) or _cites_part(cites),
                orjson.dumps(reason.text),
                rule or _rule_part(reason.rule, reason.source, reason.title),
            )
        )
        mask = _MASK_OF_CITES.get(cites)
        written = (text, cites_mask(cites) if mask is None else mask)
        object.__setattr__(reason, "written", written)  # a cache outside equality: see the module
    return written


def denial_written(denial: DenialShape) -> DenialWritten:
    """The denial's JSON object (as `json_form.to_json_obj` writes it) as its canonical parts and a ",":
    `{"code":…,"reasons":[`, the reasons' bytes with "," between, `],"unit":…,"with":…},`, and
    the tags its reasons cite (what `sources` lists: see DecisionContext.sources_of), kept on it."""
    written = denial.written
    if written is None:
        # one loop over the reasons, the parts looked up inline: ~4 denials a record are new ones
        parts: list[bytes] = [_CODE_PARTS.get(denial.code) or _code_part(denial.code)]
        mask = 0
        for reason in denial.reasons:
            text, tags = reason.written or reason_written(reason)
            parts += (text, b",")
            mask |= tags
        unit = _unit_part(denial.unit, denial.with_code)
        if len(parts) > 1:
            parts[-1] = unit  # in place of the "," after the last reason
        else:
            parts.append(unit)
        written = (tuple(parts), mask)
        object.__setattr__(denial, "written", written)
    return written


# The parts shared by many reasons and denials, each written once: by cites, by rule (with its
# source and title), by code, by unit and with-code. Bounded by what the policies declare (and by
# _PARTS_LIMIT each, past which a part is written anew each time).
_CITES_PARTS: dict[tuple[str, ...], bytes] = {}
_RULE_PARTS: dict[tuple[str, str, str], bytes] = {}
_CODE_PARTS: dict[str, bytes] = {}
_UNIT_PARTS: dict[tuple[type, int | None, str | None], bytes] = {}  # (the type: True == 1, but not as JSON)
_PARTS_LIMIT = 4_096


def _kept(table: dict[Any, bytes], key: Any, part: bytes) -> bytes:
    if len(table) < _PARTS_LIMIT:
        table[key] = part
    return part


def _cites_part(cites: tuple[str, ...]) -> bytes:
    found = _CITES_PARTS.get(cites)
    return found or _kept(_CITES_PARTS, cites, b'{"cites":' + orjson.dumps(list(cites)) + b',"reason":')


def _rule_part(rule: str, source: str, title: str) -> bytes:
    key = (rule, source, title)
    found = _RULE_PARTS.get(key)
    if found is None:
        found = b',"rule":' + orjson.dumps(rule) + b',"source":' + orjson.dumps(source)
        found = _kept(_RULE_PARTS, key, found + b',"title":' + orjson.dumps(title) + b"}")
    return found


def _code_part(code: str) -> bytes:
    found = _CODE_PARTS.get(code)
    return found or _kept(_CODE_PARTS, code, b'{"code":' + orjson.dumps(code) + b',"reasons":[')


def _unit_part(unit: int | None, with_code: str | None) -> bytes:
    key = (type(unit), unit, with_code)
    found = _UNIT_PARTS.get(key)
    if found is None:
        found = b'],"unit":' + orjson.dumps(unit) + b',"with":' + orjson.dumps(with_code) + b"},"
        found = _kept(_UNIT_PARTS, key, found)
    return found


def exact_bytes(written: bytes) -> bytes:
    """A copy of exactly its size of what orjson wrote, to be kept (orjson's own result keeps the
    buffer it was written in: see the module; `b"" + written` would be the same object)."""
    return written[:1] + written[1:]


# The last engine and switches written, with their bytes: a batch's decisions share them (the
# switches by identity: the setup's one tuple). One entry each, replaced (not grown) by another.
_ENGINE: tuple[str, str, bytes] = ("", "", b"")
_SWITCHES: tuple[tuple[tuple[str, str], ...], bytes] = ((), b"{}")


def engine_json(name: str, version: str) -> bytes:
    """The decision's `engine` member, `{"name":…,"version":…}`, in canonical bytes."""
    global _ENGINE
    kept = _ENGINE  # (one read: another thread may replace it meanwhile)
    if kept[0] == name and kept[1] == version and kept[2]:
        return kept[2]
    written = exact_bytes(orjson.dumps({"name": name, "version": version}, option=orjson.OPT_SORT_KEYS))
    _ENGINE = (name, version, written)
    return written


def switches_json(switches: tuple[tuple[str, str], ...]) -> bytes:
    """The decision's `switches` member (a dict of the pairs) in canonical bytes."""
    global _SWITCHES
    kept = _SWITCHES
    if kept[0] is switches:
        return kept[1]
    written = exact_bytes(orjson.dumps(dict(switches), option=orjson.OPT_SORT_KEYS))
    _SWITCHES = (switches, written)
    return written
