"""The full trace written from kept pieces (issue 9): what `to_json_bytes(..., trace="full")` writes.

Most top-level records of a decision's trace (~37 of ~47 on the benchmark bundles) are shared
records (outcomes.SharedRecord): made once per month plan, with a fixed result and fixed children.
Only two things inside one differ from bundle to bundle: the values its requirements read, and
what a `ref` child points at (the referenced rule's result, which this bundle decided). So each
shared record's canonical JSON is written once, as a template: byte segments with a hole for each
value read (the `{"as_of"?, "name", "value"}` object `Evaluation._read_json` gives) and for each
`ref` child. Per decision the holes are filled and the record goes to orjson as a `Fragment`:
copied, not rebuilt as ~a dozen dicts and serialised again.

Exactly the bytes of the dict path (`Evaluation.trace_json`, serialised with `OPT_SORT_KEYS`), by
construction: the template is that path's own output for the record, with a unique marker string
in place of each hole, cut at the markers. A marker is used only if it occurs exactly once and no
other text looks like one (policy text could hold one); otherwise the record has no template and
stays on the dict path. What orjson refuses (a lone surrogate, an integer beyond 64 bits) raises
`orjson.JSONEncodeError` from here, and `to_json_bytes` falls back to the dict form as before.

Bounded memory: a template lives on its shared record (`SharedRecord.full`), and the bytes a ref
to it gives on it too (`SharedRecord.as_ref`); those records live as long as the policy set.
Nothing is kept in a table keyed by identity. `Trace.json()` is untouched: it still gives dicts.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import orjson

from ..compile.outcomes import Compact, SharedRecord
from ..compile.runtime import UNKNOWN
from ..decision.trace_nodes import json_value, node_json
from .record_json import Entry, record_json, ref_json

if TYPE_CHECKING:
    from ..compile.compiled import CompiledCostSharing
    from .cost_sharing_trace import CostSummary
    from .rules import Evaluation

_SORTED = orjson.OPT_SORT_KEYS
_MARKER = "\x00carepolicy trace hole "  # + the hole's number + "\x00": no policy text is checked to lack it
_MARKER_BYTES = orjson.dumps(_MARKER)[1:-1]  # as orjson writes it inside a string (\u0000 escaped)
_NONE = ()  # SharedRecord.full when the record has no template: it stays on the dict path

# A hole: (name bytes `"name":"…","value":` of a value read, or None for a ref; the read entry
# (label, kind, reader) or the referenced rule's id; the segment that follows the hole)
Hole = tuple[bytes | None, Any, bytes]
Cut = tuple[bytes, tuple[Hole, ...]]  # (the first segment, the holes in text order)


class Template:
    """A shared record's canonical bytes cut at its holes: `pairs`, (the segment before a hole, the
    hole's key: a read's its label, a ref's `("ref", rule id)`) in text order, then `last`, the
    segment after the last hole with the "," after the record. `holes` says how to write each key
    (the first entry of a label read twice, as the dict path reads it once)."""

    __slots__ = ("holes", "last", "pairs")

    def __init__(self, cut: Cut) -> None:
        first, holes = cut
        keys = [what[0] if name is not None else ("ref", what) for name, what, _after in holes]
        segments = [first, *(after for _name, _what, after in holes)]
        self.pairs = tuple(zip(segments, keys, strict=False))  # each segment but the last
        self.last = segments[-1] + b","
        self.holes: dict[Any, tuple[bytes | None, Any]] = {}
        for key, (name, what, _after) in zip(keys, holes, strict=True):
            self.holes.setdefault(key, (name, what))


_FULL = attrgetter("full")


def full_parts(ev: Evaluation, recorded: Iterable[Compact], tail: list[dict[str, Any]]) -> list[bytes | memoryview]:
    """The canonical bytes of the full trace, `[*map(ev.trace_json, recorded), *tail]` serialised
    with keys sorted: each shared record with a template from it, the others from their dicts.

    In parts for the line's one join (`to_json_bytes`): every record's segments and its holes'
    values, so that the trace's ~40 kB are copied once, not into bytes per record, then into
    orjson's output, then into the line. Each value is written once (a name read by
    several requirements, a rule referred to by several records)."""
    records = recorded if type(recorded) is list else list(recorded)
    try:
        templates: list[Any] = list(map(_FULL, records))  # the usual decision: every record a shared one
    except AttributeError:  # a record of the bundle's own: on the dict path
        templates = [node.full if type(node) is SharedRecord else _NONE for node in records]
    if None in templates:  # a shared record written for the first time: its template made once
        templates = [_made(node) if made is None else made for node, made in zip(records, templates, strict=True)]
    parts: list[bytes | memoryview] = [b"["]
    append = parts.append
    written: dict[Any, bytes] = {}
    for node, template in zip(records, templates, strict=True):
        if template is _NONE:
            parts += (orjson.dumps(ev.trace_json(node), option=_SORTED), b",")
            continue
        for segment, key in template.pairs:
            append(segment)
            value = written.get(key)
            if value is None:
                name, what = template.holes[key]
                value = written[key] = _ref_bytes(ev, what) if name is None else _read_bytes(ev, name, what)
            append(value)
        append(template.last)
    if tail:
        parts.append(memoryview(orjson.dumps(tail, option=_SORTED))[1:])  # its items and the "]"
    elif len(parts) > 1:
        parts[-1] = memoryview(parts[-1])[:-1]  # the last record's "," left off
        parts.append(b"]")
    else:
        parts.append(b"]")
    return parts


def _made(node: SharedRecord) -> Template | tuple[()]:
    made: Template | tuple[()] = _template(node) or _NONE
    node.full = made
    return made


def cost_sharing_json(sharing: CompiledCostSharing, summary: CostSummary, as_of: str | None) -> dict[str, Any]:
    """The cost-sharing node's JSON, as `trace_node_json(cost_sharing_node(...))` gives it, from what the
    compact trace keeps of it (`cost_summary`: its results and the values read), without building
    the node and its clauses' TraceNodes (~35 µs a record). A header-only summary (the sharing
    indeterminate) gives the header-only node."""
    results, entries, values = summary
    header = sharing.header
    obj = node_json("cost sharing", header.id, header.title, header.cites, header.source, results[0])
    if entries:
        written = []
        for (label, kind, _reader), value in zip(entries, values, strict=True):
            read = {"name": label, "value": "missing" if value is UNKNOWN else json_value(value)}
            if kind == "parameter" and as_of:  # trace_node_json leaves out an as_of that is empty
                read["as_of"] = as_of
            written.append(read)
        obj["reads"] = written
    if len(results) > 1:  # the clauses' results, then the sequestration clause's (as cost_sharing_node)
        source = header.source
        children = [
            node_json("clause", f"{pays.payer} pays {pays.share}", pays.text, (), source, result)
            for pays, result in zip(sharing.pays, results[1:], strict=False)
        ]
        if sharing.sequestration is not None:
            children.append(node_json("clause", "sequestration", sharing.sequestration[2], (), source, results[-1]))
        obj["children"] = children
    return obj


def _read_bytes(ev: Evaluation, name: bytes, entry: tuple[str, str, Any]) -> bytes:
    """The bytes of `Evaluation._read_json(entry)`: `{"as_of"?,"name","value"}`, keys sorted."""
    _label, kind, reader = entry
    value = reader(ev.env)
    known = type(value)
    if known is bool or known is int or known is str or value is None:  # the usual values: as json_value leaves them
        value = orjson.dumps(value)
    else:
        value = orjson.dumps("missing" if value is UNKNOWN else json_value(value), option=_SORTED)
    if kind == "parameter":
        return b'{"as_of":' + orjson.dumps(ev.plan.as_of) + b"," + name + value + b"}"
    return b"{" + name + value + b"}"


def _ref_bytes(ev: Evaluation, rule_id: str) -> bytes:
    """The bytes of a `ref` to `rule_id` as `Evaluation.trace_json` writes it: the rule's record as
    this bundle decided it. Kept on that record when it is a shared one (its result is fixed)."""
    node = ev.rule_record(rule_id)
    if type(node) is SharedRecord:
        shared: SharedRecord = node
        if shared.as_ref is None:
            shared.as_ref = _ref_of(node)
        return shared.as_ref
    return _ref_of(node)


def _ref_of(node: Compact) -> bytes:
    written: bytes = orjson.dumps(ref_json(node), option=_SORTED)
    return written


def _template(record: SharedRecord) -> Template | None:
    """The record's template, or None when it has none (see `_cut`)."""
    cut = _cut(record)
    return Template(cut) if cut is not None else None


def _cut(record: SharedRecord) -> Cut | None:
    """The record's canonical bytes cut at its holes, or None when they cannot be cut safely (a
    marker found other than where it was put) or orjson refuses the record's text."""
    holes: list[tuple[bytes | None, Any]] = []

    def hole(name: bytes | None, what: Any) -> str:
        holes.append((name, what))
        return f"{_MARKER}{len(holes) - 1}\x00"

    def read_hole(entry: Entry) -> str:
        return hole(b'"name":' + orjson.dumps(entry[0]) + b',"value":', entry)

    def ref_hole(rule_id: str) -> str:
        return hole(None, rule_id)

    try:
        text = orjson.dumps(record_json(record, read_hole, ref_hole), option=_SORTED)
    except orjson.JSONEncodeError:
        return None
    if text.count(_MARKER_BYTES) != len(holes):  # policy text that looks like a marker: no template
        return None
    found: list[tuple[int, int, int]] = []  # (where, its length, the hole's number)
    for number in range(len(holes)):
        marker = orjson.dumps(f"{_MARKER}{number}\x00")
        if text.count(marker) != 1:
            return None
        found.append((text.index(marker), len(marker), number))
    if not found:
        return text, ()
    found.sort()
    ends = [where for where, _length, _number in found[1:]] + [len(text)]
    made: list[Hole] = []
    for (where, length, number), end in zip(found, ends, strict=True):
        made.append((*holes[number], text[where + length : end]))
    return text[: found[0][0]], tuple(made)
