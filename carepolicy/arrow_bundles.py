"""Arrow rows as fact bundles: the input side of `carepolicy.arrow` (Parquet files in `batch`, Spark).

Input: either a column `bundle` holding one JSON bundle per row (string or binary), or the bundle's
own columns (`month`, `beneficiary` as a struct, `time` as a list of structs, ...), which a struct
column `bundle` may also hold. A table cannot tell a null from a missing field, so with columns a
null field is left out of the bundle. Each row becomes what the fact reader makes of a record (a
Bundle, or the BundleError that says why not): a cell that cannot be read is the error of its row.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Sequence

import pyarrow as pa

from carepolicy.engine import Bundle, BundleError, Diagnostic
from carepolicy.engine.facts.json_records import json_value
from carepolicy.engine.facts.limits import MAX_DEPTH, MAX_TEXT
from carepolicy.engine.facts.reader import validate_bundle
from carepolicy.engine.facts.record_errors import placed
from carepolicy.engine.facts.schema import VERSIONS, shared_schema
from carepolicy.engine.facts.schema_messages import TableInterval, TableMap, json_path

from .arrow_cells import Unreadable, any_partial_day, cell_place, has_date64, is_list, located, partial_day

BUNDLE_COLUMN = "bundle"
_TEXT_TYPES = (pa.string(), pa.large_string(), *([pa.string_view()] if hasattr(pa, "string_view") else []))


def bundles_from_batches(
    batches: Iterable[pa.RecordBatch], *, source: str, column: str = BUNDLE_COLUMN, start: int = 0
) -> Iterator[Bundle | BundleError]:
    """Each row as the fact reader makes it: a validated Bundle, or the BundleError that says why not.

    Rows are numbered from `start` (a bundle without an id is `#n`, n = its number + 1).
    """
    index = start
    for batch in batches:
        yield from _guarded(batch, source, column, index)
        index += batch.num_rows


def _guarded(batch: pa.RecordBatch, source: str, column: str, start: int) -> Iterator[Bundle | BundleError]:
    """The batch's rows (`_batch_rows`); what raises while they are read (a bug, or a RecursionError
    on a type nested deeper than Python recurses) is not the end of the batch, whose other rows
    had no output: the rows not yet read are read again one at a time, and a row that raises
    alone is its own error."""
    done = 0
    try:
        for item in _batch_rows(batch, source, column, start):
            yield item
            done += 1
    except Exception as error:
        if batch.num_rows == 1 and done == 0:
            names = batch.schema.names
            named = column if column in names else None
            if named is None and isinstance(error, RecursionError) and names:  # (the deepest column failed)
                named = max(names, key=lambda name: _depth(batch.schema.field(name).type))
            yield _unread_row(error, source, start, named)
            return
        for row in range(done, batch.num_rows):
            yield from _guarded(batch.slice(row, 1), source, column, start + row)


def _depth(kind: pa.DataType) -> int:
    """How deep a type nests (1: not nested), counted without recursion: it is the recursion that failed."""
    deepest, stack = 0, [(kind, 1)]
    while stack:
        kind, depth = stack.pop()
        deepest = max(deepest, depth)
        if pa.types.is_dictionary(kind):
            stack.append((kind.value_type, depth))
        else:
            stack.extend((kind.field(i).type, depth + 1) for i in range(kind.num_fields))
    return deepest


# the column's Arrow type itself nests past what Python can read (a list of lists 1,200 deep): every
# row of it is refused, a null one too, so the help is about how the table was made, not the row
_TYPE_DEPTH_HELP = ("the column's type nests far deeper than a bundle (4 levels), so no row of it can be read: "
                    "make the table of the bundle's own columns, or of one column of JSON text, one bundle a row")


def _unread_row(error: Exception, source: str, index: int, column: str | None) -> BundleError:
    bundle_id = f"#{index + 1}"
    where = cell_place(column, index) if column is not None else f"row {index + 1}"
    if isinstance(error, RecursionError):
        code, help = "facts/limit", _TYPE_DEPTH_HELP
        message = f"{where}: nested too deeply to be read (a bundle nests at most {MAX_DEPTH} levels)"
    else:
        code, help = "facts/internal", "this is a bug in carepolicy; please report it with the row that caused it"
        message = f"{where}: internal error while reading: {type(error).__name__}: {error}".rstrip(": ")[:300]
    return BundleError(bundle_id, source, index, (Diagnostic(code, message, file=source, bundle=bundle_id, help=help),))


def _batch_rows(batch: pa.RecordBatch, source: str, column: str, start: int) -> Iterator[Bundle | BundleError]:
    index = start
    names = batch.schema.names
    repeated = next((name for i, name in enumerate(names) if name in names[:i]), None)
    if repeated is not None:  # a key set twice in every row: refused, as in JSON
        for _ in range(batch.num_rows):
            yield _repeated_column(repeated, repeated != column, source, index)
            index += 1
    elif column in names:
        kind = batch.column(column).type
        maps = _is_map(kind)
        for value in _json_cells(batch.column(column), column):
            if isinstance(value, bytes) and not value.isascii():  # (checked first: said at its column)
                value = _utf8_or_unreadable(value, column)
            if isinstance(value, Unreadable):
                yield value.error(source, index)
            elif maps and value is not None:
                yield _map_cell(source, index, cell_place(column, index))
            else:
                yield _from_json(value, kind, source, index, cell_place(column, index))
            index += 1
    else:
        row_type = pa.struct(list(batch.schema))
        for row in _table_rows(batch):
            if isinstance(row, Unreadable):
                yield row.error(source, index)
            else:
                yield validate_bundle(_present(row, row_type), source=source, index=index)
            index += 1


def unread_fact_columns(names: Sequence[str], column: str = BUNDLE_COLUMN) -> list[str]:
    """The columns beside a `column` of bundles that are named as a top-level fact (`month`, `id`):
    never read, as no column beside it is (the bundle holds the facts). Tables keep such columns for
    joins and partitions, so they are not refused; they are noted (`unread_columns_note`), as a value
    that differs from the bundle's would otherwise pass unseen."""
    if column not in names:
        return []
    facts = {key for version in VERSIONS for key in shared_schema(version)["properties"]}
    return [name for name in names if name != column and name in facts]


class UnreadColumnsWarning(UserWarning):
    """The Python API's and Spark's form of `batch`'s note on fact-named columns beside the JSON
    column (`unread_columns_note`): a warning, as the rows' decisions are as without those columns."""


def unread_columns_note(names: Sequence[str], what: str, column: str = BUNDLE_COLUMN) -> str | None:
    """The note on the columns of `what` (a Parquet file, the batch, the DataFrame) with these `names`
    that are named as facts beside the JSON `column` and not read, or None when there are none: one
    text for `batch` (on stderr), `evaluate_arrow_batches` and Spark's `decide` (as a warning)."""
    unread = unread_fact_columns(names, column)
    if not unread:
        return None
    named = ", ".join(f"`{name}`" for name in unread)
    return (f"{what}: {'column' if len(unread) == 1 else 'columns'} {named} not read: the `{column}` column "
            "holds each row's facts, and the other columns are ignored")


def _repeated_column(name: str, is_fact: bool, source: str, index: int) -> BundleError:
    bundle_id = f"#{index + 1}"
    help = "keep the one column that is meant: a table reader would keep the last"
    diag = Diagnostic("facts/duplicate-key", f"column `{name}` appears twice in the table", file=source,
                      fact_path=json_path([name], {}) if is_fact else None, bundle=bundle_id, help=help)
    return BundleError(bundle_id, source, index, (diag,))


def _is_map(kind: pa.DataType) -> bool:
    return bool(pa.types.is_map(kind.value_type if pa.types.is_dictionary(kind) else kind))


_MAP_HELP = "give each bundle as JSON text (Spark: `to_json`) or as a struct column, its fields named as the facts"


def _map_cell(source: str, index: int, where: str) -> BundleError:
    """A cell of a map column of bundles (Spark's `from_json(..., MapType)`): Arrow gives it as a list
    of key-value pairs, which was `found a list`. A map is not read as a bundle: its keys are
    one type, its values another (all text, say), and it may hold a key twice."""
    bundle_id = f"#{index + 1}"
    message = f"{where}: expected a fact bundle (a mapping), found a map (key-value pairs), which is not read as one"
    diag = Diagnostic("facts/not-a-bundle", message, file=source, fact_path="$", bundle=bundle_id, help=_MAP_HELP)
    return BundleError(bundle_id, source, index, (diag,))


def _table_rows(batch: pa.RecordBatch) -> list[object]:
    """The batch's rows as dicts; one that cannot be converted is the `Unreadable` of its first
    such value (arrow_cells.py), so that only its own row is an error."""
    given = batch.columns
    columns = [_shortest_floats(column) for column in given]
    if any(new is not old for new, old in zip(columns, given, strict=True)):  # (no columns: the rows stay)
        batch = pa.RecordBatch.from_arrays(columns, names=batch.schema.names)
    if not any(has_date64(column.type) and any_partial_day(column) for column in batch.columns):
        try:
            return batch.to_pylist()  # type: ignore[no-any-return]
        except (ValueError, OverflowError):  # a UnicodeDecodeError is a ValueError
            pass
    return [_table_row(batch.slice(i, 1)) for i in range(batch.num_rows)]


def _table_row(row: pa.RecordBatch) -> object:
    for name, column in zip(row.schema.names, row.columns, strict=True):
        try:
            column.to_pylist()
        except (ValueError, OverflowError) as problem:
            return located(column, name, problem, bundle_id=_row_id(row))
        partial = partial_day(column, name, bundle_id=_row_id(row)) if has_date64(column.type) else None
        if partial is not None:
            return partial
    return row.to_pylist()[0]


def _row_id(row: pa.RecordBatch) -> str | None:
    """The `id` of a one-row batch when it is text that can be read (it names the row's error)."""
    return _id_of(row.column("id")) if "id" in row.schema.names else None


def _struct_id(cell: pa.Array) -> str | None:
    """The `id` field of a one-row struct `bundle` column, as `_row_id`."""
    kind = cell.type
    if not pa.types.is_struct(kind) or kind.get_field_index("id") < 0:
        return None
    return _id_of(cell.flatten()[kind.get_field_index("id")])


def _id_of(column: pa.Array) -> str | None:
    try:
        value = column.to_pylist()[0]
    except (ValueError, OverflowError):
        return None
    return value if isinstance(value, str) and 0 < len(value) <= MAX_TEXT and value.isprintable() else None


def _json_cells(array: pa.Array, column: str) -> list[object]:
    """The cells of a JSON column, text as its bytes: a Parquet writer need not check that a string
    is UTF-8, and each cell is decoded on its own (`json_value`), so one that is not is its row's
    error rather than a UnicodeDecodeError for the whole batch. A column of another type (a struct,
    from `spark.read.json` say) whose cell Python cannot hold is that cell's `Unreadable`."""
    kind = array.type.value_type if pa.types.is_dictionary(array.type) else array.type
    array = array.cast(pa.large_binary()) if kind in _TEXT_TYPES else _shortest_floats(array)
    if not (has_date64(kind) and any_partial_day(array)):  # (a date64 of part of a day: said cell by cell)
        try:
            return array.to_pylist()  # type: ignore[no-any-return]
        except (ValueError, OverflowError):  # (a rare batch: its cells are converted one at a time)
            pass
    return [_cell(array, i, column) for i in range(len(array))]


def _utf8_or_unreadable(value: bytes, column: str) -> bytes | Unreadable:
    """A JSON cell's bytes, or its `Unreadable` when they are not UTF-8: read as a JSON line, the
    error said only `not UTF-8 text (byte 1)`, naming neither the column nor the row."""
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as problem:
        return Unreadable(column, problem, whole=True)
    return value


def _shortest_floats(array: pa.Array) -> pa.Array:
    """`array` with each float32 in it (nested too) as the float64 of the float32's shortest text:
    66.1 kept as a float32 is 66.09999847412109, whose shortest text as a float64 (how a float is
    read) is 66.0999984741211, a value the table never meant: an amount refused for its decimal
    places, or kept so. Read through text, it is 66.1. Another float's or a type Arrow cannot cast
    so is left as it is (a float16's text is not its shortest)."""
    as_text = _float32s_as(array.type, pa.string())
    if as_text is None:
        return array
    try:
        return array.cast(as_text).cast(_float32s_as(array.type, pa.float64()))
    except pa.ArrowException:
        return array


def _float32s_as(kind: pa.DataType, to: pa.DataType) -> pa.DataType | None:
    """`kind` with each float32 in it as `to`; None when it holds none."""
    if pa.types.is_float32(kind):
        return to
    if pa.types.is_dictionary(kind):  # (a dictionary-encoded float32 column: cast to its plain values)
        return _float32s_as(kind.value_type, to)
    if pa.types.is_struct(kind):
        fields = [kind.field(i) for i in range(kind.num_fields)]
        changed = [_float32s_as(field.type, to) for field in fields]
        if all(item is None for item in changed):
            return None
        return pa.struct([field.with_type(item or field.type) for field, item in zip(fields, changed, strict=True)])
    if pa.types.is_map(kind):
        item = _float32s_as(kind.item_type, to)
        return None if item is None else pa.map_(kind.key_type, item)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        value = _float32s_as(kind.value_type, to)
        if value is None:
            return None
        field = kind.value_field.with_type(value)
        if pa.types.is_fixed_size_list(kind):
            return pa.list_(field, kind.list_size)
        return pa.large_list(field) if pa.types.is_large_list(kind) else pa.list_(field)
    return None


def _cell(array: pa.Array, i: int, column: str) -> object:
    cell = array.slice(i, 1)
    try:
        value = array[i].as_py()
    except (ValueError, OverflowError) as problem:
        return located(cell, column, problem, whole=True, bundle_id=_struct_id(cell))
    partial = partial_day(cell, column, whole=True, bundle_id=_struct_id(cell)) if has_date64(cell.type) else None
    return value if partial is None else partial


def _from_json(value: object, kind: pa.DataType, source: str, index: int, where: str) -> Bundle | BundleError:
    """The bundle of a `bundle` cell; `where` (its column and row) starts each error of the cell
    itself (its JSON text, a null), as it does an `Unreadable`'s: `invalid JSON: expecting value`
    named neither. An error of a fact in the bundle is said at its fact path."""
    if isinstance(value, dict):  # a struct column: the bundle's own columns, nested (nulls left out, dates as text)
        return validate_bundle(_present(value, kind), source=source, index=index)
    if not isinstance(value, str | bytes):  # a null cell (or an interval): reported as any non-bundle
        return placed(validate_bundle(_present(value, kind), source=source, index=index), where)
    return json_value(value, source, index, where)  # as a JSON line is read: its limits, its errors


def _present(value: object, kind: pa.DataType | None) -> object:
    """A row as a bundle: null fields left out, Arrow dates as ISO text (the contract's form), and a
    map or an interval (`kind`, the value's Arrow type, says which) as the `TableValue` that names
    it: Python holds a map as a list of key-value pairs and an interval as a tuple, both of which an
    error called `a list`. Without a type (a struct with a field name twice), values are as read."""
    if kind is not None and pa.types.is_dictionary(kind):
        kind = kind.value_type
    if value is None:
        return None
    if kind is not None and pa.types.is_map(kind):
        return TableMap()
    if kind is not None and pa.types.is_interval(kind):
        return TableInterval()
    if isinstance(value, dict):
        return {key: _present(item, _field_type(kind, key)) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        item_type = kind.value_type if kind is not None and _is_list(kind) else None
        return [_present(item, item_type) for item in value]
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.isoformat()  # (a timestamp is no date: its ISO text, offset and all, would pass as text)
    return value


def _field_type(kind: pa.DataType | None, name: str) -> pa.DataType | None:
    """The type of a struct's field `name`; None when it is not one field (named twice, or no struct)."""
    if kind is None or not pa.types.is_struct(kind):
        return None
    index = kind.get_field_index(name)
    return None if index < 0 else kind.field(index).type


def _is_list(kind: pa.DataType) -> bool:
    """A list type, list views too (arrow_cells.is_list reads values, which a list view holds otherwise)."""
    return bool(is_list(kind) or getattr(pa.types, "is_list_view", lambda _: False)(kind)
                or getattr(pa.types, "is_large_list_view", lambda _: False)(kind))
