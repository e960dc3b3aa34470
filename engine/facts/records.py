"""Reading fact files lazily: one `Bundle` or `BundleError` per input record, in order.

`iter_records` holds no more than the record it is on for JSON Lines and YAML streams, so a batch
over millions of records runs in flat memory, and a record that cannot be read (bad syntax, a limit
crossed, not UTF-8) becomes that record's `BundleError` while the others are still read. A single
JSON document or YAML list is read whole (up to `MAX_DOCUMENT_BYTES`); if it cannot be parsed, no
record of it can be told from another, and `FactError` says so (JSON Lines avoids that: see
docs/reference/fact-limits.md).

A YAML stream is split at its document markers (`---`, `...` at the start of a line; the spec forbids
them inside any scalar) and each document is parsed on its own, so one bad document spoils only itself.
"""

from __future__ import annotations

import io
import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import msgspec
import yaml

from ..diagnostics import Diagnostic, FactError
from ..source import Span
from .bundle import Bundle, BundleError, validate_bundle
from .limits import MAX_DEPTH, MAX_DIGITS, MAX_DOCUMENT_BYTES, MAX_RECORD_BYTES
from .schema import describe
from .yaml_loader import FactLoader, FactYAMLError

INPUT_FORMATS = ("yaml", "json", "jsonl")
_EXTENSIONS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_MARKER = re.compile(rb"^(---|\.\.\.)(?=[ \t\r\n]|$)")
_TOP_ID = re.compile(r"^id:[ \t]*['\"]?([A-Za-z0-9_.:/@-]{1,100})['\"]?[ \t]*(?:#.*)?$", re.MULTILINE)
_JSON_DECODER = msgspec.json.Decoder(float_hook=Decimal)  # decimals from their text: money stays exact

Record = Bundle | BundleError
Line = tuple[int, bytes | None]  # (line number, the line; None when it is over MAX_RECORD_BYTES)


def input_format_of(path: str | Path) -> str | None:
    """The format an extension names, or None (detect it from the text)."""
    return _EXTENSIONS.get(Path(path).suffix.lower())


def iter_records(
    source: str | Path | IO[bytes] | IO[str], input_format: str | None = None, *, name: str | None = None
) -> Iterator[Record]:
    """Every record of a fact file or stream, read lazily, in order.

    `source` is a path (`-` is standard input), or an open stream (bytes or text). `input_format` is
    "yaml", "json" or "jsonl"; None takes it from the extension, and detects it from the first line
    when there is none (stdin, `/dev/fd/63`). Raises `FactError` (on the first `next`, or at the end
    for a file without records) only when the file as a whole cannot be read.
    """
    if input_format is not None and input_format not in INPUT_FORMATS:
        raise ValueError(f"unknown fact format {input_format!r} (expected 'yaml', 'json' or 'jsonl')")
    if isinstance(source, str | Path) and str(source) != "-":
        shown = name or str(source)
        return _from_path(Path(source), input_format or input_format_of(source), shown)
    if isinstance(source, str | Path):
        stream: IO[Any] = sys.stdin
        shown = name or "<stdin>"
    else:
        stream, shown = source, name or getattr(source, "name", None) or "<stream>"
    return _from_stream(_binary(stream), input_format, str(shown))


def _from_path(path: Path, fmt: str | None, name: str) -> Iterator[Record]:
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        raise _fail("facts/io", f"cannot read `{name}`: no such file", name) from None
    except OSError as exc:
        raise _fail("facts/io", f"cannot read `{name}`: {(exc.strerror or str(exc)).lower()}", name) from None
    return _closing(stream, _from_stream(stream, fmt, name))


def _closing(stream: IO[bytes], records: Iterator[Record]) -> Iterator[Record]:
    with stream:
        try:
            yield from records
        except OSError as exc:  # e.g. a directory, or a read error half-way
            raise _fail("facts/io", f"cannot read `{stream.name}`: {(exc.strerror or str(exc)).lower()}", "") from None


def _binary(stream: IO[Any]) -> IO[bytes]:
    if isinstance(stream, io.TextIOBase):
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            return buffer
        return io.BytesIO(stream.read().encode("utf-8", "surrogatepass"))
    return stream


def _lines(stream: IO[bytes]) -> Iterator[Line]:
    """The stream's lines (bytes, `\\n` kept), none longer than a record may be; a BOM is dropped."""
    number = 0
    while True:
        line = stream.readline(MAX_RECORD_BYTES + 1)
        if not line:
            return
        number += 1
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):  # a byte-order mark from a Windows editor
            line = line[3:]
        if len(line) > MAX_RECORD_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # skip the rest of it without holding it
                line = stream.readline(MAX_RECORD_BYTES)
            yield number, None
        else:
            yield number, line


def _from_stream(stream: IO[bytes], fmt: str | None, name: str) -> Iterator[Record]:
    lines = _lines(stream)
    if fmt is None:
        first = next(lines, None)
        fmt = _detect(first)
        lines = _chain(first, lines)
    count = 0
    if fmt == "jsonl":
        records = _json_lines(lines, name)
    elif fmt == "json":
        records = _json_document(lines, name)
    else:
        records = _yaml_stream(lines, name)
    for record in records:
        count += 1
        yield record
    if count == 0:
        raise _fail("facts/empty", f"`{name}` holds no fact bundles", name)


def _chain(first: Line | None, rest: Iterator[Line]) -> Iterator[Line]:
    if first is not None:
        yield first
    yield from rest


def _detect(first: Line | None) -> str:
    """JSON Lines when the first line is a whole JSON object, JSON when it opens one or a list, else YAML."""
    text = first[1].strip() if first is not None and first[1] is not None else b""
    if text.startswith(b"{"):
        try:
            return "jsonl" if isinstance(_JSON_DECODER.decode(text), dict) else "json"
        except msgspec.DecodeError:
            return "json"
    return "json" if text.startswith(b"[") else "yaml"


# --- JSON ---------------------------------------------------------------------------------------


def _json_lines(lines: Iterable[Line], name: str) -> Iterator[Record]:
    index = 0
    for number, line in lines:
        if line is not None and not line.strip():
            continue
        yield _json_record(line, name, number, index)
        index += 1


def _json_record(line: bytes | None, name: str, number: int, index: int) -> Record:
    if line is None:
        return _record_error("facts/limit", _too_large("line"), name, number, 1, index)
    try:
        obj = _JSON_DECODER.decode(line)
    except RecursionError:
        return _record_error("facts/limit", f"nested more than {MAX_DEPTH} levels deep", name, number, 1, index)
    except msgspec.DecodeError:
        return _json_fallback(line, name, number, index)
    return validate_bundle(obj, source=name, index=index)


def _json_fallback(line: bytes, name: str, number: int, index: int) -> Record:
    """The standard library's reading of what msgspec refused: its errors say where, and why."""
    try:
        text = line.rstrip(b"\r\n").decode("utf-8")  # without the line end, an error at the end stays on it
    except UnicodeDecodeError as exc:
        return _record_error("facts/syntax", f"not UTF-8 text (byte {exc.start + 1})", name, number, 1, index)
    try:
        obj = _parse_json(text)
    except json.JSONDecodeError as exc:
        return _record_error("facts/syntax", _invalid("JSON", exc.msg), name, number, exc.colno, index)
    except (RecursionError, _NestedTooDeep):
        return _record_error("facts/limit", f"nested more than {MAX_DEPTH} levels deep", name, number, 1, index)
    except ValueError as exc:  # an integer over 4,300 digits
        return _record_error("facts/limit", _digits_message(exc), name, number, 1, index)
    return validate_bundle(obj, source=name, index=index)


class _NestedTooDeep(Exception):
    pass


def _parse_json(text: str) -> object:
    depth = max(text.count("[", 0, 20_000), text.count("{", 0, 20_000))  # cheap bound before recursing
    if depth > 4 * MAX_DEPTH and _max_depth(text) > MAX_DEPTH:
        raise _NestedTooDeep
    return json.loads(text, parse_float=Decimal, parse_int=_json_int)


def _max_depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _json_int(text: str) -> int:
    if len(text.lstrip("-").lstrip("0")) > MAX_DIGITS:
        raise ValueError(f"a number with {len(text.lstrip('-'))} digits")
    return int(text)


def _digits_message(exc: ValueError) -> str:
    return f"{exc}; fact files allow at most {MAX_DIGITS} digits"


def _json_document(lines: Iterable[Line], name: str) -> Iterator[Record]:
    data = _whole(lines, name, "JSON")
    try:
        text = data.decode("utf-8")
        document = _parse_json(text)
    except UnicodeDecodeError as exc:
        raise _fail("facts/io", f"cannot read `{name}`: not UTF-8 text (byte {exc.start + 1})", name) from None
    except json.JSONDecodeError as exc:
        diag = _syntax(_invalid("JSON", exc.msg) + _unknown_count(text), name, exc.lineno, exc.colno)
        raise FactError([replace(diag, help=_JSONL_HELP)]) from None
    except (RecursionError, _NestedTooDeep):
        raise _fail("facts/limit", f"`{name}` is nested more than {MAX_DEPTH} levels deep", name) from None
    except ValueError as exc:
        raise _fail("facts/limit", _digits_message(exc), name) from None
    yield from _bundles([document], name)


_JSONL_HELP = "JSON Lines (one bundle per line, `.jsonl`) keeps one bad record from hiding the others"


def _unknown_count(text: str) -> str:
    return "; no record of the file was read (how many it holds is unknown)" if text.lstrip()[:1] in "[-" else ""


def _whole(lines: Iterable[Line], name: str, kind: str) -> bytes:
    parts: list[bytes] = []
    size = 0
    for _number, line in lines:
        if line is None or size + len(line) > MAX_DOCUMENT_BYTES:
            message = f"`{name}` is larger than {MAX_DOCUMENT_BYTES:,} bytes, the limit for one {kind} document"
            raise FactError([Diagnostic("facts/limit", message, file=name, help=_JSONL_HELP)])
        parts.append(line)
        size += len(line)
    return b"".join(parts)


def _bundles(documents: list[object], name: str, start: int = 0) -> Iterator[Record]:
    """The bundles of parsed documents: a mapping is one, a list holds several."""
    index = start
    for document in documents:
        for item in document if isinstance(document, list) else [document]:
            yield validate_bundle(item, source=name, index=index)
            index += 1


# --- YAML ---------------------------------------------------------------------------------------


def _yaml_documents(lines: Iterable[Line]) -> Iterator[tuple[int, list[bytes] | None]]:
    """(first line, the document's lines, or None when it is over the size limit) per YAML document."""
    start, size, too_large = 1, 0, False
    chunk: list[bytes] = []
    for number, line in lines:
        marker = line is not None and _MARKER.match(line)
        if marker and (chunk or too_large):
            yield start, None if too_large else chunk
            start, chunk, size, too_large = number, [], 0, False
        if line is None or too_large or size + len(line) > MAX_DOCUMENT_BYTES:
            too_large, chunk = True, []
            continue
        if marker and marker.group(1) == b"...":  # an explicit end: the next document starts after it
            yield start, [*chunk, line]
            start, chunk, size = number + 1, [], 0
            continue
        chunk.append(line)
        size += len(line)
    if chunk or too_large:
        yield start, None if too_large else chunk


def _yaml_stream(lines: Iterable[Line], name: str) -> Iterator[Record]:
    """Each document parsed on its own; a lone document that cannot be parsed is the file's error."""
    index = 0
    pending: tuple[int, list[bytes] | None] | None = None
    several = False
    for document in _yaml_documents(lines):
        if pending is not None:
            several = True
            records = list(_yaml_document(*pending, name, index, alone=False))
            index += len(records)
            yield from records
        pending = document
    if pending is not None:
        yield from _yaml_document(*pending, name, index, alone=not several)


def _yaml_document(start: int, chunk: list[bytes] | None, name: str, index: int, *, alone: bool) -> Iterator[Record]:
    if chunk is None:
        yield _record_error("facts/limit", _too_large("YAML document"), name, start, 1, index)
        return
    data = b"".join(chunk)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = start + data.count(b"\n", 0, exc.start)
        yield _record_error("facts/syntax", f"not UTF-8 text (byte {exc.start + 1})", name, line, 1, index)
        return
    try:
        document = yaml.load(text, Loader=FactLoader)  # FactLoader is a safe loader
    except (yaml.YAMLError, RecursionError) as exc:
        diag = _yaml_diagnostic(exc, name, start)
        is_list = _content_start(text)[:1] in ("-", "[")
        if alone and is_list:
            raise FactError([replace(diag, message=diag.message + _unknown_count("["), help=_JSONL_HELP)]) from None
        found = _TOP_ID.search(text)
        bundle_id = found.group(1) if found else f"#{index + 1}"
        yield BundleError(bundle_id, name, index, (replace(diag, bundle=bundle_id),))
        return
    if document is None:  # a document of only comments, or `---` at the end
        return
    if isinstance(document, dict) and len(data) > MAX_RECORD_BYTES:
        yield _record_error("facts/limit", _too_large("YAML document"), name, start, 1, index)
        return
    if alone and not isinstance(document, dict | list):
        message = f"a fact file holds a mapping or a list of mappings, found {describe(document)}"
        raise _fail("facts/not-a-bundle", message, name)
    yield from _bundles([document], name, index)


def _content_start(text: str) -> str:
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "%")) and not _MARKER.match(stripped.encode()):
            return stripped
        if stripped.startswith("---"):
            rest = stripped[3:].strip()
            if rest and not rest.startswith("#"):
                return rest
    return ""


def _yaml_diagnostic(exc: BaseException, name: str, start: int) -> Diagnostic:
    offset = start - 1
    if isinstance(exc, RecursionError):
        return Diagnostic("facts/limit", f"nested more than {MAX_DEPTH} levels deep", file=name)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1 + offset, mark.column + 1) if mark else (start, 1)
        code = exc.code if isinstance(exc, FactYAMLError) else "facts/syntax"
        problem = exc.problem or exc.context or "unreadable"
        message = problem if isinstance(exc, FactYAMLError) else _invalid("YAML", problem)
        diag = Diagnostic(code=code, message=message, span=_span(name, line, column), file=name)
        if exc.context and exc.context_mark and exc.problem:
            at = exc.context_mark
            diag = replace(diag, related=((exc.context, _span(name, at.line + 1 + offset, at.column + 1)),))
        return diag
    return Diagnostic("facts/syntax", f"invalid YAML: {exc}", file=name, span=_span(name, start, 1))


# --- diagnostics --------------------------------------------------------------------------------


def _invalid(kind: str, problem: str) -> str:
    return f"invalid {kind}: {problem[:1].lower()}{problem[1:]}"


def _too_large(what: str) -> str:
    return f"a {what} of more than {MAX_RECORD_BYTES:,} bytes; fact files allow at most {MAX_RECORD_BYTES:,} per record"


def _record_error(code: str, message: str, name: str, line: int, column: int, index: int) -> BundleError:
    bundle_id = f"#{index + 1}"
    diag = Diagnostic(code, message, span=_span(name, line, column), file=name, bundle=bundle_id)
    return BundleError(bundle_id, name, index, (diag,))


def _syntax(message: str, name: str, line: int, column: int) -> Diagnostic:
    return Diagnostic(code="facts/syntax", message=message, span=_span(name, line, column), file=name)


def _span(name: str, line: int, column: int) -> Span:
    return Span(name, line, column, line, column + 1)


def _fail(code: str, message: str, name: str) -> FactError:
    return FactError([Diagnostic(code=code, message=message, file=name or None)])


def load_yaml_documents(text: str, name: str) -> list[object]:
    """YAML documents read the way fact bundles are (YAML 1.2, exact decimals); for test files."""
    documents: list[object] = []
    lines = iter(enumerate(io.BytesIO(text.encode("utf-8", "surrogatepass")).readlines(), start=1))
    for start, chunk in _yaml_documents(lines):
        try:
            documents.append(yaml.load(b"".join(chunk or []).decode("utf-8"), Loader=FactLoader))
        except (yaml.YAMLError, RecursionError) as exc:
            raise FactError([_yaml_diagnostic(exc, name, start)]) from None
    return documents
