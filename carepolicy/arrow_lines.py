"""`batch`'s decision lines as rows of the DECISIONS table, without making Python objects of the denials.

A decision line (the JSON `batch` writes) is ~23 kB with `--trace compact`, ~21 kB of it the
denials. Parsed whole with `json.loads` and handed to `RecordBatch.from_pylist`, the denials'
dicts and lists were most of the Parquet writer's time (benchmark bundles, 20,000 records:
`batch -o OUT.parquet` took 2.5-2.7x the CPU of `-o OUT.jsonl`). Here the denials are cut out of
the line as JSON text and read, 64 rows at a time, by Arrow's own JSON reader straight into the
`denied` column; the rest of the line (~2 kB, the sources and the trace) is decoded by msgspec
and made a row as before, its sources and trace written back to text by orjson.

The cut relies on how `engine/decision/json_form.to_json_bytes` (and `canonical_bytes`) write a
decision: keys sorted, no spaces, so its members run `..., "decision_id", "denied", "engine", ...`,
and nothing before `denied` nor inside it has a key `denied` or `engine`. A line that does not
cut so (an error record, a line with a `\\u` escape in its denials, or a float anywhere, whose
text orjson may write otherwise than json.dumps) is parsed whole, as before; so is a batch of rows
whose denials Arrow's reader refuses.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import msgspec
import orjson
import pyarrow as pa
import pyarrow.json as pa_json

from carepolicy.record_outcomes import ErrorRecord

from .arrow import DECISIONS, decisions_batch, row_from_json_obj

_DENIED_KEY = b',"denied":['
_AFTER_DENIED = b'],"engine":{'
DENIED_INDEX = DECISIONS.get_field_index("denied")
NO_DENIALS = b"{}\n"  # a row whose `denied` is null in the table (an error row), as the reader's input
_DENIED_ONLY = pa.schema([DECISIONS.field("denied")])
_PARSE = pa_json.ParseOptions(explicit_schema=_DENIED_ONLY, unexpected_field_behavior="ignore")
# one thread: `batch` gives the machine's cores to its own workers (--jobs); a block as large as a
# batch's lines, so that they are read as one block
_READ = pa_json.ReadOptions(use_threads=False, block_size=1 << 26)


class _Float(Exception):
    """A float in the line: its text is json.dumps's, which orjson does not always write (`1e-07`, `1e-7`)."""


def _refuse_float(text: str) -> Any:
    raise _Float(text)


# msgspec reads as json.loads does (integers of any size too), and tells of each float it meets
_FLOATLESS = msgspec.json.Decoder(float_hook=_refuse_float)


def compact_text(value: object) -> str:
    """`arrow._compact(value)` (json.dumps, keys sorted, no spaces, UTF-8 text) through orjson, which
    writes the same text several times faster for a value without floats (as `split_row` reads
    them); what orjson refuses (an integer beyond 64 bits) is json.dumps's."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    except orjson.JSONEncodeError:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def has_escape(text: bytes) -> bool:
    """Whether `text` holds a `\\u` escape. Each `\\` is found by memchr and the byte after it
    looked at: `b"\\u" in text` steps through every `u` of the text (~20 µs for a decision's
    21 kB of denials, against ~3 µs here for the five or so backslashes of a benchmark line)."""
    at = text.find(b"\\")
    while at >= 0:
        if text[at + 1 : at + 2] == b"u":
            return True
        at = text.find(b"\\", at + 2)
    return False


def split_row(line: bytes | memoryview, index: int) -> tuple[dict[str, Any], bytes]:
    """The row of a decision line, and its denials as one line of JSON for `with_denials` (with the
    row's `denied` null); a line not cut so (see above) is the row parsed whole, and NO_DENIALS."""
    data = bytes(line)
    start = data.find(_DENIED_KEY)
    end = data.find(_AFTER_DENIED, start) if start > 0 else -1
    if end > 0:
        denials = data[start + len(_DENIED_KEY) - 1 : end + 1]
        if not has_escape(denials):  # an escape may be a lone surrogate: the row parsed whole refuses it as before
            try:
                obj = _FLOATLESS.decode(data[:start] + data[end + 1 :])
            except (msgspec.DecodeError, _Float):
                obj = None
            if isinstance(obj, dict) and "error" not in obj and "denied" not in obj:
                obj["denied"] = None
                return row_from_json_obj(obj, index, compact_text), b'{"denied":' + denials + b"}\n"
    return row_from_json_obj(json.loads(data), index), NO_DENIALS


def with_denials(batch: pa.RecordBatch, denials: list[bytes]) -> pa.RecordBatch | None:
    """`batch` (made from `split_row`'s rows) with its `denied` column read from `denials`, one line
    a row; an error row's (a decision refused as a row, too) stays null. None when the lines must
    be parsed whole instead: Arrow's reader refused the denials, or a row parsed whole has its own."""
    if all(item is NO_DENIALS for item in denials):
        return batch
    if batch.column(DENIED_INDEX).null_count != batch.num_rows:  # (a rare line, parsed whole, has denials)
        return None
    statuses = batch.column("status").to_pylist()
    text = b"".join(NO_DENIALS if status == "error" else item for status, item in zip(statuses, denials, strict=True))
    try:
        read = pa_json.read_json(io.BytesIO(text), read_options=_READ, parse_options=_PARSE)
    except (pa.ArrowException, ValueError):
        return None
    if read.num_rows != batch.num_rows:  # (a line break inside the denials: not JSON batch wrote)
        return None
    return batch.set_column(DENIED_INDEX, DECISIONS.field("denied"), read.column(0).combine_chunks())


def rows_of(lines: list[bytes], first: int,
            source_of: Callable[[int], str]) -> tuple[pa.RecordBatch, list[ErrorRecord]]:
    """The DECISIONS batch of `lines` (records `first`, `first` + 1, ...), and the error records
    standing in it for decisions the table cannot hold (`arrow.decisions_batch`; `source_of` names
    a record's input). The writer holds a batch's lines as they came (bytes) and they are cut
    (`split_row`) here, together; should Arrow's reader refuse the denials, each line is parsed
    whole, as they all were once."""
    rows, denials = zip(*(split_row(line, first + at) for at, line in enumerate(lines)), strict=True)
    batch, refused = decisions_batch(list(rows), source_of)
    made = with_denials(batch, list(denials))
    if made is None:  # (rare: see with_denials)
        whole = [row_from_json_obj(json.loads(line), first + at) for at, line in enumerate(lines)]
        made, refused = decisions_batch(whole, source_of)
    return made, refused
