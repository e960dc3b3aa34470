"""Decisions as Arrow tables: engine-neutral, for Parquet files (`batch`) and Spark (`carepolicy.spark`).

    batches_out = evaluate_arrow_batches(evaluator, batches_in)   # RecordBatch in, RecordBatch out

Input (arrow_bundles.py): either a column `bundle` holding one JSON bundle per row (string or
binary), or the bundle's own columns (`month`, `beneficiary` as a struct, `time` as a list of
structs, ...), which a struct column `bundle` may also hold.

Output (DECISIONS, one row per input row, in order; docs/reference/arrow-schema.md): the record's
position, its bundle id and status, the decision's scalar columns, money as decimal(18, 2), the
billable lines, denials and alternatives as nested lists, and the trace as JSON text. Nothing is
lost: `decision_json_obj(row)` rebuilds the CLI's JSON for a row, byte for byte once serialised,
and `lines_table` flattens the billable lines into one row per line.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from os import PathLike
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from carepolicy.engine import Diagnostic, PolicySet
from carepolicy.engine.decision.json_form import money_text
from carepolicy.engine.printable import utf8_text
from carepolicy.evaluator import Evaluator, shown, source_name
from carepolicy.record_outcomes import ErrorRecord, Record, Setup, record_json_obj

# the input side (rows as fact bundles) lives in arrow_bundles.py; named here too, where callers
# (parquet.py, spark.py, the tests) have always found them
from .arrow_bundles import BUNDLE_COLUMN as BUNDLE_COLUMN
from .arrow_bundles import UnreadColumnsWarning as UnreadColumnsWarning
from .arrow_bundles import bundles_from_batches as bundles_from_batches
from .arrow_bundles import unread_columns_note
from .partition_ids import Named

MONEY = pa.decimal128(18, 2)
_TEXTS = pa.list_(pa.string())
SHARES = pa.struct([(name, MONEY) for name in ("deductible", "coinsurance", "medicare", "beneficiary", "medigap",
                                                "medicaid", "medicare_after_sequestration")]
                   + [("note", pa.string())])
LINE = pa.struct([("code", pa.string()), ("units", pa.int32()), ("practitioner", pa.string()), ("allowed", MONEY),
                  ("price_source", pa.string()), ("shares", SHARES), ("decided_by", _TEXTS), ("cites", _TEXTS)])
REASON = pa.struct([("rule", pa.string()), ("title", pa.string()), ("cites", _TEXTS), ("source", pa.string()),
                    ("reason", pa.string())])
DENIAL = pa.struct([("code", pa.string()), ("unit", pa.int32()), ("with", pa.string()),
                    ("reasons", pa.list_(REASON))])
ALTERNATIVE = pa.struct([("codes", pa.list_(pa.struct([("code", pa.string()), ("units", pa.int32())]))),
                         ("total_allowed", MONEY), ("patient_responsibility", MONEY), ("why_not", pa.string()),
                         ("withdraw", _TEXTS)])
WITHDRAWAL = pa.struct([("code", pa.string()), ("practitioner", pa.string()), ("month", pa.string()),
                        ("status", pa.string()), ("bundled_into", pa.string()), ("reasons", pa.list_(REASON))])
_TOTALS = ("allowed", "medicare", "beneficiary", "medigap", "medicaid")
DECISIONS = pa.schema(
    [("record", pa.int64()), ("bundle_id", pa.string()), ("source", pa.string()), ("status", pa.string()),
     ("error", pa.string()), ("decision_format", pa.int32()), ("decision_id", pa.string()),
     ("engine_name", pa.string()), ("engine_version", pa.string()), ("policy_set_hash", pa.string()),
     ("facts_hash", pa.string()), ("month", pa.string()), ("switches", pa.map_(pa.string(), pa.string())),
     ("billable", pa.list_(LINE)), ("denied", pa.list_(DENIAL)), ("alternatives", pa.list_(ALTERNATIVE)),
     ("withdraw", pa.list_(WITHDRAWAL))]
    + [(f"total_{name}", MONEY) for name in _TOTALS]
    + [("totals_note", pa.string()), ("patient_responsibility", MONEY), ("notes", _TEXTS),
       ("active_programs", _TEXTS), ("sources", pa.string()), ("trace", pa.string())]
)


def _compact(value: object) -> str:
    """JSON as the CLI writes a line: keys sorted, no spaces, UTF-8 text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# ------------------------------------------------------------------------------------------ output
def _money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def record_row(record: Record, index: int) -> dict[str, Any]:
    """One output row (DECISIONS), made from the record's JSON object so the columns are the JSON's values."""
    return row_from_json_obj(record_json_obj(record), index)


def row_from_json_obj(obj: Mapping[str, Any], index: int,
                      text: Callable[[object], str] = _compact) -> dict[str, Any]:
    """One output row from a record's JSON object (a decision or an error record, as `batch` writes it);
    `text(value)` writes a decision's `sources` and `trace` as `_compact` does (arrow_lines.compact_text)."""
    if "error" in obj:
        return {"record": index, "bundle_id": _utf8(obj["bundle_id"]), "source": _utf8(obj["source"]),
                "status": "error", "error": _utf8(_compact(obj["error"]))}
    row: dict[str, Any] = {
        "record": index, "bundle_id": obj["bundle_id"], "source": None, "status": "decided",
        "decision_format": obj["decision_format"], "decision_id": obj["decision_id"],
        "engine_name": obj["engine"]["name"], "engine_version": obj["engine"]["version"],
        "policy_set_hash": obj["policy_set_hash"], "facts_hash": obj["facts_hash"], "month": obj["month"],
        "switches": obj["switches"],
        "billable": [{**line, "allowed": _money(line["allowed"]), "shares": _shares(line["shares"])}
                     for line in obj["billable"]],
        "denied": obj["denied"],
        "alternatives": [{**alt, "total_allowed": _money(alt["total_allowed"]),
                          "patient_responsibility": _money(alt["patient_responsibility"])}
                         for alt in obj["alternatives"]],
        "withdraw": obj.get("withdraw"),
        "totals_note": obj["totals"]["note"],
        "patient_responsibility": _money(obj["patient_responsibility"]),
        "notes": obj.get("notes"),
        "active_programs": obj.get("active_programs"),
        "sources": text(obj["sources"]) if "sources" in obj else None,
        "trace": text(obj["trace"]) if "trace" in obj else None,
    }
    row.update({f"total_{name}": _money(obj["totals"][name]) for name in _TOTALS})
    return row


def _utf8(text: str | None) -> str | None:
    """Text an Arrow string can hold: a lone surrogate (a JSON escape such as `\\ud800` quoted in a
    message or kept as an id, a file name that is not UTF-8) as its escape, as the JSON Lines
    output writes it; in the `error` column's JSON that escape reads back as the same character."""
    return None if text is None else utf8_text(text)


def _shares(shares: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if shares is None else {k: v if k == "note" else _money(v) for k, v in shares.items()}


def records_to_batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist(rows, schema=DECISIONS)


_UNFIT = (pa.ArrowException, OverflowError, TypeError, ValueError)
_MONEY_BEYOND = Decimal(10) ** 16  # decimal(18, 2) holds up to 9,999,999,999,999,999.99
UNFIT_HELP = ("no real price is this large: check the prices given (a `--fee-schedule` amount?); "
              "JSON Lines output holds any amount")


def decisions_batch(rows: list[dict[str, Any]],
                    source_of: Callable[[int], str]) -> tuple[pa.RecordBatch, list[ErrorRecord]]:
    """The DECISIONS batch of `rows`, and the error records standing in it for rows the table cannot
    hold: a decision with an amount beyond decimal(18, 2) (a fee schedule's absurd price; JSON has no
    such bound) becomes its record's error row (`output/serialise`, as a decision that JSON cannot
    hold does), and the other rows are kept. `source_of(record)` names a record's input."""
    try:
        return records_to_batch(rows), []
    except _UNFIT:
        pass  # (a rare batch: its rows are tried one at a time)
    fitted, refused = [], []
    for row in rows:
        try:
            records_to_batch([row])
        except _UNFIT as problem:
            amount = _beyond(row)
            why = (f"{type(problem).__name__}: {problem}" if amount is None else
                   f"the amount {amount} is beyond the table's money type, decimal(18, 2)")
            source = source_of(row["record"])
            message = f"the decision cannot be written as a row of the decisions table: {why}"
            diag = Diagnostic("output/serialise", message, file=source, bundle=row["bundle_id"], help=UNFIT_HELP)
            refused.append(ErrorRecord(row["bundle_id"], source, (diag,)))
            row = record_row(refused[-1], row["record"])
        fitted.append(row)
    return records_to_batch(fitted), refused


def _beyond(value: object) -> Decimal | None:
    """The first amount of a row decimal(18, 2) cannot hold, if any."""
    if isinstance(value, Decimal):
        return value if abs(value) >= _MONEY_BEYOND else None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next((found for item in items if (found := _beyond(item)) is not None), None)


def evaluate_arrow_batches(
    policies: Evaluator | PolicySet,
    batches: Iterable[pa.RecordBatch] | pa.Table | pa.RecordBatch,
    *,
    column: str | None = None,
    source: str | PathLike[str] = "<arrow>",
) -> Iterator[pa.RecordBatch]:
    """One DECISIONS batch per input batch, row for row. A PolicySet is used with its default switches.

    `batches` are record batches (or tables, read as their batches); a table or one batch given
    alone is read as its batches too. `source` (text or a path) names the rows' input in their
    errors; one of another type raises TypeError here, at the call, not at the first error row.
    The JSON is read from `column`, default `bundle` (without one the batch holds the bundle's own
    columns); a `column` named that a batch does not have raises ValueError, as a bad setting: read
    as bundle columns, every row would be an error that does not name the mistake. Columns beside
    it named as facts (`month`, `id`) are not read: an `UnreadColumnsWarning` says so, once for
    each batch whose columns differ from the batch before it (`batch` notes them on stderr)."""
    if not isinstance(policies, Evaluator | PolicySet):  # (each row was an `eval/internal` error, said to be a bug)
        raise TypeError(f"`policies` is an Evaluator (`carepolicy.load()`) or a PolicySet, not `{shown(policies)}`: "
                        "load them first, `carepolicy.load(folder)` (no folder: the shipped policies)")
    evaluator = policies if isinstance(policies, Evaluator) else Evaluator(Setup(policies, {}, None, True))
    name = source_name(source)  # (an int or bytes failed only at the first error row, its error record written)
    given = batches.to_batches() if isinstance(batches, pa.Table) else [batches] if isinstance(
        batches, pa.RecordBatch) else _iterable(batches)  # (iterated, either would be its columns)
    return decided_batches(evaluator, _record_batches(iter(given)), column=column, source=name, noted=True)


def _iterable(batches: object) -> Iterable[object]:
    """`batches`, refused at the call (TypeError) when it is no iterable of batches: a path (iterated,
    its characters, each `item 1 is a str`), a pandas DataFrame (its column names), a mapping, None."""
    kind = type(batches)
    if kind.__module__.partition(".")[0] == "pandas":
        help = "make it a table first: `pa.Table.from_pandas(frame)`"
    elif isinstance(batches, str | bytes | PathLike):
        help = "to read a Parquet file: `pyarrow.parquet.ParquetFile(path).iter_batches()`"
    elif isinstance(batches, Mapping) or not isinstance(batches, Iterable):
        help = "make a batch of the bundles: `pa.record_batch({'bundle': texts})`"
    else:
        return batches
    raise TypeError(f"`batches` is Arrow record batches or a table, not `{shown(batches)}`: {help}")


def _record_batches(batches: Iterator[object]) -> Iterator[pa.RecordBatch]:
    """The batches; a Table among them as its batches (its columns are chunked, which the reading
    of a row's columns does not take). Anything else (a JSON text, a dict) failed on its first
    attribute (`'str' object has no attribute 'schema'`), and is refused by its type instead."""
    for number, batch in enumerate(batches, 1):
        if isinstance(batch, pa.Table):
            yield from batch.to_batches()
        elif isinstance(batch, pa.RecordBatch):
            yield batch
        else:
            raise TypeError(f"`batches` holds Arrow record batches (or tables); item {number} is a "
                            f"`{type(batch).__name__}`: make a batch of the bundles, "
                            "`pa.record_batch({'bundle': texts})`")


def decided_batches(evaluator: Evaluator, batches: Iterable[pa.RecordBatch], *, column: str | None, source: str,
                    noted: bool, named: Named | None = None) -> Iterator[pa.RecordBatch]:
    """`evaluate_arrow_batches`, with the warning on columns not read only when `noted`: Spark's
    `decide` warns on the driver, where it is seen, not again in each task. `named` renames each
    bundle or error record before it is decided (Spark's partition ids, partition_ids.py)."""
    index = 0
    names: list[str] | None = None
    for batch in batches:
        if column is not None:
            missing_column(column, batch.schema.names, "the batch")
        if noted and batch.schema.names != names:
            names = batch.schema.names
            note = unread_columns_note(names, "the batch", column or BUNDLE_COLUMN)
            if note is not None:  # (stack: this generator, the caller's `next`)
                warnings.warn(note, UnreadColumnsWarning, stacklevel=2)
        rows = []
        for item in bundles_from_batches([batch], source=source, column=column or BUNDLE_COLUMN, start=index):
            item = item if named is None else named(item)
            rows.append(_decided_row(evaluator.decide(item).record, index, source))
            index += 1
        yield decisions_batch(rows, lambda _record: source)[0]


def missing_column(column: str, names: list[str], what: str) -> None:
    """Raise ValueError when `column`, named as the JSON column, is not among `names`."""
    if column not in names:
        have = ", ".join(f"`{name}`" for name in names) or "none"
        raise ValueError(f"no column `{column}` in {what} (its columns: {have}): name the column that "
                         "holds the JSON bundles, or leave `column` out to read the bundle's own columns")


def _decided_row(record: Record, index: int, source: str) -> dict[str, Any]:
    """The record's row; a decision whose JSON form fails (a bug in a writer) is its `output/serialise`
    error row, as `batch` makes it its error record: one row must not end the batch (a Spark task)."""
    try:
        return record_row(record, index)
    except Exception as error:
        if isinstance(record, ErrorRecord):
            raise  # (an error record's JSON is plain text and lists: nothing here can fail)
        from carepolicy.record_outcomes import serialise_error

        return record_row(serialise_error(error, record, source), index)


def lines_table(decisions: pa.Table | pa.RecordBatch) -> pa.Table:
    """One row per billable line: the record, bundle id and month, then the line's own fields."""
    table = decisions if isinstance(decisions, pa.Table) else pa.Table.from_batches([decisions])
    billable = table.column("billable").combine_chunks()
    parents = pc.list_parent_indices(billable)
    lines = pc.list_flatten(billable)
    keys = {name: pc.take(table.column(name), parents) for name in ("record", "bundle_id", "month")}
    fields = {name: lines.field(name) for name in LINE.names}
    return pa.table({**keys, **fields})


# ------------------------------------------------------------------------------------------ back to JSON
def decision_json_obj(row: Mapping[str, Any]) -> dict[str, Any]:
    """The CLI's JSON object for one output row (Arrow `to_pylist()` or Spark `Row.asDict(recursive=True)`)."""
    if row["status"] == "error":
        error = json.loads(row["error"])
        return {"bundle_id": _unescaped(row["bundle_id"], error, "bundle"),
                "source": _unescaped(row["source"], error, "file"), "error": error}
    obj: dict[str, Any] = {
        "decision_format": row["decision_format"], "decision_id": row["decision_id"],
        "engine": {"name": row["engine_name"], "version": row["engine_version"]},
        "policy_set_hash": row["policy_set_hash"], "facts_hash": row["facts_hash"], "bundle_id": row["bundle_id"],
        "month": row["month"], "switches": dict(row["switches"] or {}),
        "billable": [{**_plain(line), "allowed": money_text(line["allowed"]),
                      "shares": None if line["shares"] is None else
                      {k: v if k == "note" else money_text(v) for k, v in _plain(line["shares"]).items()}}
                     for line in row["billable"]],
        "denied": [_plain(denial) for denial in row["denied"]],
        "alternatives": [{**_plain(alt), "total_allowed": money_text(alt["total_allowed"]),
                          "patient_responsibility": money_text(alt["patient_responsibility"])}
                         for alt in row["alternatives"]],
        "totals": {**{name: money_text(row[f"total_{name}"]) for name in _TOTALS}, "note": row["totals_note"]},
        "patient_responsibility": money_text(row["patient_responsibility"]),
    }
    if row.get("withdraw") is not None:
        obj["withdraw"] = [_plain(claim) for claim in row["withdraw"]]
    if row["notes"] is not None:
        obj["notes"] = list(row["notes"])
    if row["active_programs"] is not None:
        obj["active_programs"] = list(row["active_programs"])
    if row["sources"] is not None:
        obj["sources"] = json.loads(row["sources"])
    if row["trace"] is not None:
        obj["trace"] = json.loads(row["trace"])
    return obj


def _unescaped(text: str | None, error: list[dict[str, Any]], key: str) -> str | None:
    """An error row's `bundle_id` or `source` as the record had it: a lone surrogate it held is an
    escape in the column (`_utf8`), and the diagnostics, exact JSON, name the same id or file."""
    named = {diag.get(key) for diag in error}
    if len(named) == 1 and isinstance(original := named.pop(), str) and _utf8(original) == text:
        return original
    return text


def _plain(value: Any) -> Any:
    """Spark Rows and Arrow dicts alike as plain dicts and lists."""
    if hasattr(value, "asDict"):
        value = value.asDict(recursive=True)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def decision_json_line(row: Mapping[str, Any]) -> str:
    """`decision_json_obj` as the one JSON line `evaluate --format jsonl` writes (without the newline);
    one that is not Unicode text (a lone surrogate in an error row) is escaped, as the CLI writes it."""
    obj = decision_json_obj(row)
    text = _compact(obj)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return text
