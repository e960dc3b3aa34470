"""JSON and JSON Lines fact files: msgspec decodes (exact decimals), the standard library words errors.

msgspec with `float_hook=Decimal` reads a JSON line about 3.6x faster than `json.loads` and keeps
every decimal exactly as written; when it refuses a line, the standard library reads it again to
say where and why (its messages carry a column), and to tell a limit crossed from bad syntax.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import chain

import msgspec

from ..diagnostics import Diagnostic, FactError
from .bundle import Bundle, BundleError
from .fast_intake import bundle_id_of
from .format_hints import (
    TRAILING_COMMA,
    YAML_AS_JSON_LINES,
    document_help,
    helped,
    list_line,
    trailing_comma,
    yaml_like,
)
from .json_keys import Duplicate, duplicates, has_duplicate, line_and_column
from .json_parse import NestedTooDeep, number_place, parse_json
from .limits import MAX_DEPTH, MAX_RECORD_BYTES, Limit, digits_limit, digits_message, nested_too_deep, too_large
from .record_errors import (
    HOW_MANY_UNKNOWN,
    JSONL_HELP,
    LINE_SEPARATORS,
    Line,
    Record,
    bundles,
    checked,
    fail,
    file_start,
    invalid,
    limit_error,
    not_utf8,
    not_utf8_place,
    other_encoding,
    padding,
    padding_error,
    padding_tail,
    placed,
    record_error,
    separator_help,
    span,
    syntax,
    unknown_count,
    unmarked_utf16,
    unmarked_utf16_message,
    whole,
)
from .schema_messages import json_path, show
from .typed_intake import JSON_DECODER as JSON_DECODER  # the one exact decoder; named here too, where lines are read
from .typed_intake import typed_record
from .written import as_written, in_document, json_spelling


def json_lines(lines: Iterable[Line], name: str) -> Iterator[Record]:
    for record, _read in lined_json_records(lines, name):
        yield record


def lined_json_records(lines: Iterable[Line], name: str) -> Iterator[tuple[Record, Line | None]]:
    """The records of JSON Lines, each with the line it was read from (None: the first line of a
    file in another encoding, which stands for the whole file); a blank line is no record."""
    held, rest = file_start(lines)  # (a file in another encoding is told by its first bytes)
    spoilt = other_encoding(held, name)
    if spoilt is not None:
        yield spoilt, None
        return
    index = 0
    for number, read in chain(held, rest):
        line = without_mark(read)
        if line is not None and not line.strip():
            continue
        yield json_record(line, name, number, index), (number, line)
        index += 1


def without_mark(line: bytes | None) -> bytes | None:
    """A JSON line without the UTF-8 byte-order mark it starts with, if any: JSON Lines files from a
    Windows tool each start with one, and joined (`cat a.jsonl b.jsonl`) the first record of each
    but the first was an error (`unexpected UTF-8 BOM (decode using utf-8-sig)`). No JSON text is
    changed: a line starts outside any string, where a mark is no character of the record."""
    return line[3:] if line is not None and line.startswith(b"\xef\xbb\xbf") else line


def json_record(line: bytes | str | None, name: str, number: int, index: int) -> Record:
    """One JSON line (bytes as read, or text; None: over the record size) as its bundle or its error."""
    if line is None:
        return limit_error(too_large("line"), name, number, 1, index)
    try:
        typed = typed_record(line, name, index)  # a valid bundle, decoded and checked in C; None: not sure
    except Exception:  # a bug in the typed path must not lose the line: the untyped path reads it, as before
        typed = None
    if typed is not None:
        return typed
    try:
        obj = JSON_DECODER.decode(line)
    except RecursionError:
        return limit_error(nested_too_deep(), name, number, 1, index)
    except (msgspec.DecodeError, UnicodeError, ArithmeticError):  # UnicodeError: text holding a lone surrogate;
        return _json_fallback(line, name, number, index)  # ArithmeticError: an exponent no Decimal holds
    text = line if isinstance(line, str) else line.decode("utf-8")  # (msgspec read it: UTF-8)
    return _finished(obj, text, name, number, index)


def _finished(obj: object, text: str, name: str, number: int, index: int) -> Record:
    """A decoded line's record: a key set twice, else the bundle checked (a JSON list on the line
    says how lists are read); an error record quotes its numbers as the line wrote them."""
    record = repeated_key(obj, text, name, index, number - 1) or list_line(checked(obj, name, index), obj)
    return record if type(record) is Bundle else as_written(record, obj, json_spelling(text))


# the help of a line holding records one after another with a carriage return between them
_CR_ALONE = ("its lines end with a carriage return alone (classic Mac OS): JSON Lines ends each line with "
             f"LF or CRLF, so every record after the first on this line is in this one error record, "
             f"and {HOW_MANY_UNKNOWN} (`batch`'s summary does not count it as one); save the file with LF "
             "line ends")


def _json_fallback(line: bytes | str, name: str, number: int, index: int) -> Record:
    """The standard library's reading of what msgspec refused: its errors say where, and why."""
    raw = line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line  # a line given as text
    padded = padding_error(raw, name, number, 1, index)
    if padded is not None:  # (read as JSON: `invalid JSON: expecting value`, shown as `\x00\x00...`)
        return padded
    try:
        text = raw.rstrip(b"\r\n").decode("utf-8")  # without the line end, an error at the end stays on it
    except UnicodeDecodeError as exc:
        return record_error("facts/syntax", not_utf8(raw, exc), name, number, 1, index)
    try:
        obj = parse_json(text)
    except json.JSONDecodeError as exc:
        error = record_error("facts/syntax", invalid("JSON", exc.msg), name, number, exc.colno, index)
        if exc.msg == "Extra data" and text[: exc.pos].rstrip(" \t").endswith("\r"):  # CR alone between records
            error = replace(error, diagnostics=(replace(error.diagnostics[0], help=_CR_ALONE),))
        elif text[exc.pos : exc.pos + 1] in LINE_SEPARATORS:  # a line break JSON Lines does not know
            help_text = separator_help(text, exc.pos, exc.colno, exc.msg == "Extra data")
            error = replace(error, diagnostics=(replace(error.diagnostics[0], help=help_text),))
        elif exc.msg == "Extra data" and padding(text[exc.pos :].encode()):  # a record, then padding on its line
            what = "a DOS end-of-file byte (0x1A)" if "\x00" not in text[exc.pos :] else "NUL padding"
            help_text = f"the line's record ends before column {exc.colno}; after it is {what}: remove it"
            error = replace(error, diagnostics=(replace(error.diagnostics[0], help=help_text),))
        elif trailing_comma(text, exc):
            error = helped(error, TRAILING_COMMA)
        elif yaml_like(text):  # (YAML given as JSON Lines: each of its lines an error that said only this)
            error = helped(error, YAML_AS_JSON_LINES)
        return error
    except (RecursionError, NestedTooDeep):
        return limit_error(nested_too_deep(), name, number, 1, index)
    except ValueError as exc:  # an integer over 4,300 digits, or an exponent no Decimal holds
        return limit_error(digits_limit(exc), name, number, number_place(text)[1], index)
    return _finished(obj, text, name, number, index)


def json_value(value: str | bytes, name: str, index: int, where: str | None = None) -> Record:
    """A JSON value of a table's column (Arrow, Parquet; bytes from a binary one) read as a JSON line
    is, with the same limits and errors; a table has no lines, so an error says where it is in the
    value instead of a span. `where` (the cell's column and row) starts the message of each error of
    the value's own text: its syntax, size and nesting, a key set twice, a value that is no bundle.
    An error of a fact in it is said at its fact path, as in any format."""
    if _over_record_size(value):
        return _limit_error(too_large("value"), name, index, where)
    try:
        typed = typed_record(value, name, index)  # as in json_record: a valid bundle, decoded and checked in C
    except Exception:  # a bug in the typed path must not lose the row: the untyped path reads it
        typed = None
    if typed is not None:
        return typed
    try:
        text = value if isinstance(value, str) else value.decode("utf-8")
    except UnicodeDecodeError as exc:  # never read with replacement characters: that changes the facts
        return _value_error("facts/syntax", not_utf8(exc.object, exc), name, index, where)
    try:
        obj = parse_json(text)
    except json.JSONDecodeError as exc:
        message = f"{invalid('JSON', exc.msg)} ({in_cell(exc.lineno, exc.colno)})"
        error = _value_error("facts/syntax", message, name, index, where)
        return helped(error, TRAILING_COMMA) if trailing_comma(text, exc) else error  # (as a JSON line's)
    except (RecursionError, NestedTooDeep):
        return _limit_error(nested_too_deep(), name, index, where)
    except ValueError as exc:  # an integer over 4,300 digits, or an exponent no Decimal holds
        line, column = number_place(text)
        return _limit_error(digits_limit(exc), name, index, where, f" ({in_cell(line, column)})")
    repeated = repeated_key(obj, text, name, index, None)
    if repeated is not None:
        return placed(repeated, where)
    record = checked(obj, name, index)
    if not isinstance(obj, dict):
        return placed(record, where)  # (not a mapping: the value's error)
    return record if type(record) is Bundle else as_written(record, obj, json_spelling(text))


def in_cell(line: int, column: int) -> str:
    """Where in a table cell's JSON text an error is: its line and column are the cell's own, which a
    bare `(line 1, column 22)` did not say (a reader looked for line 1 of the Parquet file)."""
    return f"line {line}, column {column} of the cell"


def _over_record_size(value: str | bytes) -> bool:
    """More bytes than a JSON line may have, counted in UTF-8 (text is encoded only when it could be)."""
    if isinstance(value, bytes) or len(value) > MAX_RECORD_BYTES:
        return len(value) > MAX_RECORD_BYTES
    return len(value) * 4 > MAX_RECORD_BYTES and len(value.encode("utf-8", "surrogatepass")) > MAX_RECORD_BYTES


def _limit_error(limit: Limit, name: str, index: int, where: str | None, after: str = "") -> BundleError:
    """`_value_error` of a limit crossed, with its help; `after` follows its message (where in the cell)."""
    return _value_error("facts/limit", limit.message + after, name, index, where, limit.help)


def _value_error(code: str, message: str, name: str, index: int, where: str | None,
                 help_text: str | None = None) -> BundleError:
    bundle_id = f"#{index + 1}"
    message = message if where is None else f"{where}: {message}"
    diag = Diagnostic(code, message, file=name, bundle=bundle_id, help=help_text)
    return BundleError(bundle_id, name, index, (diag,))


def repeated_key(obj: object, text: str, name: str, index: int, lines_before: int | None) -> BundleError | None:
    """The error record of the bundle `obj`, decoded from `text`, when `text` sets a key twice in
    one object (None: it does not). See `duplicate_error` for `lines_before`."""
    if not has_duplicate(text):
        return None
    return duplicate_error(duplicates(text)[0], obj, obj, text, name, index, lines_before)


def duplicate_error(
    found: Duplicate, obj: object, root: object, text: str, name: str, index: int, lines_before: int | None
) -> BundleError:
    """`found` as the `facts/duplicate-key` error record of the bundle `obj` (read with the last
    value kept), inside `root`, what `text` decoded to. `text` starts on line `lines_before + 1` of
    the file `name`; None: it is a value in a table (Arrow, Parquet), and the columns are its own."""
    line, column = line_and_column(text, found.again)
    first_line, first_column = line_and_column(text, found.first)
    if first_line != line and lines_before is not None:
        where = f"line {first_line + lines_before}"
    else:
        where = f"column {first_column}" if lines_before is not None else in_cell(first_line, first_column)
    given = isinstance(obj, dict) and isinstance(obj.get("id"), str)
    bundle_id = bundle_id_of(obj, index) if isinstance(obj, dict) else f"#{index + 1}"
    diag = Diagnostic(
        "facts/duplicate-key",
        f"key `{show(found.key)}` appears twice in one object (first at {where})",
        fact_path=json_path((*found.path, found.key), root),
        file=name,
        bundle=bundle_id,
        help="keep the one value that is meant: a JSON reader would keep the last without a word",
    )
    if lines_before is not None:
        first = span(name, first_line + lines_before, first_column)
        related = ((f"`{show(found.key)}` first set here", first),)
        diag = replace(diag, span=span(name, line + lines_before, column), related=related)
    return BundleError(bundle_id, name, index, (diag,), given)


def json_document(lines: Iterable[Line], name: str) -> Iterator[Record]:
    data = whole(lines, name, "JSON")
    end = padding_tail(data)
    count = 0
    # a document of only blanks (an empty export named `.json`) holds no records: `facts/empty`, as an
    # empty YAML or JSON Lines file, where parsing it said `invalid JSON: expecting value` at 1:1
    body = data[:end] if data[:end].strip(b" \t\r\n") else b""
    for record in _json_document(body, name) if body else ():
        count += 1
        yield record
    if end < len(data):  # the records are read, and the padding after them is said as what it is
        first = len(data) - len(data[end:].lstrip(b" \t\r\n"))  # its first byte
        line = data.count(b"\n", 0, first) + 1
        column = first - data.rfind(b"\n", 0, first)
        padded = padding_error(data[end:], name, line, column, count)
        assert padded is not None  # (padding_tail found padding there)
        yield padded


def _json_document(data: bytes, name: str) -> Iterator[Record]:
    order = unmarked_utf16(data)
    if order is not None:  # (its NUL bytes decode: the parser said only `expecting property name`)
        raise fail("facts/io", f"cannot read `{name}`: {unmarked_utf16_message(order)}", name)
    try:
        text = data.decode("utf-8")
        document = parse_json(text)
    except UnicodeDecodeError as exc:  # (at its line and column: a JSON document may be many lines long)
        at = not_utf8_place(data, exc)
        message = f"cannot read `{name}`: {not_utf8(data, exc)}"
        raise FactError([Diagnostic("facts/io", message, span=None if at is None else span(name, *at),
                                    file=name)]) from None
    except json.JSONDecodeError as exc:
        diag = syntax(invalid("JSON", exc.msg) + unknown_count(text), name, exc.lineno, exc.colno)
        raise FactError([replace(diag, help=document_help(text, exc))]) from None
    except (RecursionError, NestedTooDeep):  # (not parsed: the file's records cannot be told apart, as above)
        message = f"`{name}` is nested more than {MAX_DEPTH} levels deep" + unknown_count(text)
        raise FactError([Diagnostic("facts/limit", message, file=name, help=JSONL_HELP)]) from None
    except ValueError as exc:
        message = digits_message(exc) + unknown_count(text)
        place = span(name, *number_place(text))
        raise FactError([Diagnostic("facts/limit", message, span=place, file=name, help=JSONL_HELP)]) from None
    spelling = json_spelling(text)  # (the text read again only for an error record: its numbers as written)
    if not has_duplicate(text):
        for record in bundles([document], name):
            yield record if type(record) is Bundle else in_document(record, document, spelling)
        return
    # a key set twice spoils only the bundle it is in: the first such key of each is its error
    items = document if isinstance(document, list) else [document]
    spoilt: dict[int, Duplicate] = {}
    for found in duplicates(text):
        position = found.path[0] if isinstance(document, list) and found.path else 0
        if isinstance(position, int):
            spoilt.setdefault(position, found)
    for position, item in enumerate(items):
        found_in = spoilt.get(position)
        yield (
            in_document(checked(item, name, position), document, spelling)
            if found_in is None
            else duplicate_error(found_in, item, document, text, name, position, 0)
        )
