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
from typing import TYPE_CHECKING, Any

import orjson
from orjson import Fragment

from ..compile.outcomes import Compact, SharedRecord
from ..compile.runtime import UNKNOWN
from ..decision.trace_nodes import TraceNode, json_value, node_json, trace_node_json
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
Template = tuple[bytes, tuple[Hole, ...]]  # (the first segment, the holes in text order)


def full_pieces(ev: Evaluation, recorded: Iterable[Compact], tail: Iterable[TraceNode]) -> list[Any]:
    """The full trace as `Evaluation.trace_json` and `trace_node_json` give it, for orjson: each
    shared record with a template as a Fragment of its canonical bytes, the others as dicts."""
    reads: dict[str, bytes] = {}  # a name read by several requirements is read and written once
    refs: dict[str, bytes] = {}  # a ref to a record of the bundle's own, written once
    out: list[Any] = []
    for node in recorded:
        if type(node) is SharedRecord:
            template = node.full
            if template is None:
                template = node.full = _template(node) or _NONE
            if template is not _NONE:
                first, holes = template
                parts = [first]
                for name, what, after in holes:
                    if name is None:
                        written = refs.get(what)
                        if written is None:
                            written = refs[what] = _ref_bytes(ev, what)
                    else:
                        written = reads.get(what[0])
                        if written is None:
                            written = reads[what[0]] = _read_bytes(ev, name, what)
                    parts.append(written)
                    parts.append(after)
                out.append(Fragment(b"".join(parts)))
                continue
        out.append(ev.trace_json(node))
    out.extend(trace_node_json(node) for node in tail)
    return out


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
