"""The full trace written from kept pieces (issue 9): what `to_json_bytes(..., trace="full")` writes.

Most top-level records of a decision's trace (~37 of ~47 on the benchmark bundles) are shared
records (outcomes.SharedRecord): made once per month plan, with a fixed result and fixed children.
Only two things inside one differ from bundle to bundle: the values its requirements read, and
what a `ref` child points at (the referenced rule's result, which this bundle decided). So each
shared record's canonical JSON is written once, as a template: byte segments with a hole for each
value read (its value; for a parameter the whole `{"as_of", "name", "value"}` object
`Evaluation._read_json` gives, the month's `as_of` not being the record's) and for each `ref`
child. Per decision each hole's value is written once and the segments and values go, in parts,
into the line's one join (`to_json_bytes`): not rebuilt as ~a dozen dicts and serialised again.
(The dict path writes a label read by several requirements as its first read: were one label a
parameter in one record and not in another, the trace is written on the dict path, `_KindsDiffer`.)

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

# A hole: (b"" for the value of a value read, the name bytes `"name":"…","value":` for a parameter
# read whole, or None for a ref; the read entry (label, kind, reader) or the referenced rule's id;
# the segment that follows the hole)
Hole = tuple[bytes | None, Any, bytes]
Cut = tuple[bytes, tuple[Hole, ...]]  # (the first segment, the holes in text order)


class Template:
    """A shared record's canonical bytes cut at its holes: `pairs`, (the segment before a hole, the
    hole's key, `_key`) in text order, then `last`, the segment after the last hole with the ","
    after the record. `holes` says how to write each key: (name, what, the key the same label
    would have in the other form, see `_KindsDiffer`), the first entry of a label read twice."""

    __slots__ = ("holes", "last", "pairs")

    def __init__(self, cut: Cut) -> None:
        first, holes = cut
        keys = [_key(name, what) for name, what, _after in holes]
        segments = [first, *(after for _name, _what, after in holes)]
        self.pairs = tuple(zip(segments, keys, strict=False))  # each segment but the last
        self.last = segments[-1] + b","
        self.holes: dict[Any, tuple[bytes | None, Any, Any]] = {}
        for key, (name, what, _after) in zip(keys, holes, strict=True):
            other = None if name is None else (what[0] if name else ("as_of", what[0]))
            self.holes.setdefault(key, (name, what, other))


class _KindsDiffer(Exception):
    """One label read as a parameter (whole, with its as_of) and as another kind (its value) in one
    decision: the dict path writes both as the first read, so the trace is written on it."""


def _key(name: bytes | None, what: Any) -> Any:
    """A hole's key in a decision's written values: a value read's label, `("as_of", label)` for a
    parameter read whole, `("ref", rule id)` for a ref (keys of different forms never meet)."""
    if name is None:
        return ("ref", what)
    return ("as_of", what[0]) if name else what[0]


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
    try:
        return _parts(ev, records, templates, tail)
    except _KindsDiffer:  # (never in the shipped policies) the dict path, whole
        return [orjson.dumps([*map(ev.trace_json, records), *tail], option=_SORTED)]


def _parts(ev: Evaluation, records: list[Compact], templates: list[Any], tail: list[dict[str, Any]]) -> list[Any]:
    parts: list[bytes | memoryview] = [b"["]
    append = parts.append
    written: dict[Any, bytes] = {}
    env = ev.env
    dumps = orjson.dumps
    for node, template in zip(records, templates, strict=True):
        if template is _NONE:
            parts += (orjson.dumps(ev.trace_json(node), option=_SORTED), b",")
            continue
        for segment, key in template.pairs:
            append(segment)
            value = written.get(key)
            if value is None:  # the first hole of its key in the decision (~56 of ~100 on the benchmark bundles)
                name, what, other = template.holes[key]
                if name is None:
                    value = _ref_bytes(ev, what)
                else:
                    if other in written:
                        raise _KindsDiffer
                    value = what[2](env)
                    known = type(value)
                    if known is bool or known is int or known is str or value is None:  # as json_value leaves them
                        value = dumps(value)
                    else:
                        value = dumps("missing" if value is UNKNOWN else json_value(value), option=_SORTED)
                    if name:  # a parameter, read whole
                        value = b'{"as_of":' + dumps(ev.plan.as_of) + b"," + name + value + b"}"
                written[key] = value
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

    def read_hole(entry: Entry) -> Any:
        if entry[1] == "parameter":  # the whole object: its as_of is the month's
            return hole(b'"name":' + orjson.dumps(entry[0]) + b',"value":', entry)
        return {"name": entry[0], "value": hole(b"", entry)}

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
