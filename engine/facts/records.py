"""Reading fact files lazily: one `Bundle` or `BundleError` per input record, in order.

`iter_records` holds no more than the record it is on for JSON Lines and YAML streams, so a batch
over millions of records runs in flat memory, and a record that cannot be read (bad syntax, a limit
crossed, not UTF-8) becomes that record's `BundleError` while the others are still read. A single
JSON document or YAML list is read whole (up to `MAX_DOCUMENT_BYTES`); if it cannot be parsed, no
record of it can be told from another, and `FactError` says so (JSON Lines avoids that: see
docs/reference/fact-input.md). The formats live in `json_records.py` and `yaml_records.py`.

`placed_json_lines` reads JSON Lines as `iter_records` does and says where each record's line is, so
that one record can be read again from its place (`json_line_at`) without holding the others.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import msgspec

from ..diagnostics import FactError
from .json_records import JSON_DECODER, json_document, json_lines, json_record, lined_json_records
from .limits import MAX_DOCUMENT_BYTES, MAX_RECORD_BYTES
from .record_errors import Line, Record, fail

__all__ = [
    "INPUT_FORMATS",
    "LinePlace",
    "detected_format",
    "input_format_of",
    "iter_records",
    "json_line_at",
    "load_yaml_documents",
    "placed_json_lines",
]

INPUT_FORMATS = ("yaml", "json", "jsonl")
_EXTENSIONS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def input_format_of(path: str | Path) -> str | None:
    """The format an extension names, or None (detect it from the text)."""
    return _EXTENSIONS.get(Path(path).suffix.lower())


def iter_records(
    source: str | Path | IO[bytes] | IO[str], input_format: str | None = None, *, name: str | None = None
) -> Iterator[Record]:
    """Every record of a fact file or stream, read lazily, in order.

    `source` is a path (`-` is standard input), or an open stream (bytes or text). `input_format` is
    "yaml", "json" or "jsonl"; None takes it from the extension, and detects it from the first line
    that is not blank when there is none (stdin, `/dev/fd/63`). Raises `FactError` (on the first `next`, or at the end
    for a file without records) only when the file as a whole cannot be read.
    """
    if input_format is not None and input_format not in INPUT_FORMATS:
        raise ValueError(f"unknown fact format {input_format!r} (expected 'yaml', 'json' or 'jsonl')")
    if isinstance(source, str | Path) and str(source) != "-":
        shown = name or str(source)
        return _from_path(Path(source), input_format or input_format_of(source), shown)
    if isinstance(source, str | Path):
        return _from_stdin(name or "<stdin>", input_format)
    shown = name or getattr(source, "name", None) or "<stream>"
    return _from_stream(_binary(source), input_format, str(shown))


def _from_stdin(name: str, fmt: str | None) -> Iterator[Record]:
    """Standard input's records; closed (`cmd <&-`: no `sys.stdin` at all) or not readable (open
    for writing only), it is a file that cannot be read (facts/io), as for a path."""
    if sys.stdin is None:
        raise fail("facts/io", f"cannot read `{name}`: standard input is closed", name)
    try:
        yield from _from_stream(_binary(sys.stdin), fmt, name)
    except OSError as exc:
        raise fail("facts/io", f"cannot read `{name}`: {(exc.strerror or str(exc)).lower()}", name) from None


def _from_path(path: Path, fmt: str | None, name: str) -> Iterator[Record]:
    stream = _open(path, name)
    return _closing(stream, _from_stream(stream, fmt, name), name)


def _open(path: Path, name: str) -> IO[bytes]:
    try:
        return path.open("rb")
    except FileNotFoundError:
        raise fail("facts/io", f"cannot read `{name}`: no such file", name) from None
    except OSError as exc:
        raise fail("facts/io", f"cannot read `{name}`: {(exc.strerror or str(exc)).lower()}", name) from None


def _closing(stream: IO[bytes], records: Iterator[Record], name: str) -> Iterator[Record]:
    with stream:
        try:
            size = opened_size(stream)
            yield from records
        except OSError as exc:  # e.g. a directory, or a read error half-way: named as every facts/io is
            raise fail("facts/io", f"cannot read `{name}`: {(exc.strerror or str(exc)).lower()}", name) from None
        cut = cut_short(stream, size, name)
        if cut is not None:
            raise fail("facts/io", cut, name)


def opened_size(stream: IO[bytes]) -> int | None:
    """The size of a regular file, as it is opened (None: a pipe, a device, a stream without a file)."""
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def cut_short(stream: IO[bytes], size: int | None, name: str) -> str | None:
    """What to say when the file ended, once read, before the size it had when opened: it was cut
    short (truncated, rewritten) while it was read, and the records past its new end were not read,
    how many unknown; at a line's end, nothing else showed it (the run ended well, one record a line
    of a file that was no longer the one given). None: it was read to its end."""
    now = None if size is None else opened_size(stream)  # (its size now: a reader may stop early on purpose)
    if size is None or now is None or now >= size:
        return None
    return (f"cannot read `{name}` to its end: it was cut to {now:,} bytes while it was read "
            f"({size:,} bytes when it was opened); the records after that are not read, how many is unknown")


def _binary(stream: IO[Any]) -> IO[bytes]:
    if isinstance(stream, io.TextIOBase):
        buffer = getattr(stream, "buffer", None)
        if buffer is not None:
            return buffer
        return io.BytesIO(stream.read().encode("utf-8", "surrogatepass"))
    return stream


def _lines(stream: IO[bytes], longest: int = MAX_RECORD_BYTES, number: int = 0) -> Iterator[Line]:
    """The stream's lines (bytes, `\\n` kept), None for one longer than `longest` bytes without its
    line end (LF or CRLF); a BOM is dropped. `number`: the lines already read from the stream (they
    were the first lines)."""
    while True:
        # the longest line with a CRLF, and on the first line a BOM (3 bytes): a line read only in
        # part (no LF at its end) is then longer than `longest` even once its BOM is dropped
        line = stream.readline(longest + (5 if number == 0 else 2))
        if not line:
            return
        number += 1
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):  # a byte-order mark from a Windows editor
            line = line[3:]
        end = 2 if line.endswith(b"\r\n") else 1 if line.endswith(b"\n") else 0
        if len(line) - end > longest:
            # a preallocated file's NUL tail is one long "line": kept as one NUL byte (and its line
            # end), so that it is said to be padding, not a line too long, without holding it
            padded = not line.rstrip(b"\r\n").strip(b"\x00\x1a")
            while line and not line.endswith(b"\n"):  # skip the rest of it without holding it
                line = stream.readline(longest)
                padded = padded and not line.rstrip(b"\r\n").strip(b"\x00\x1a")
            yield number, b"\x00" + line[len(line.rstrip(b"\r\n")):] if padded else None
        else:
            yield number, line


# a JSON document (or a YAML flow list) is often one line: its limit is the document's
_LIMITS = {"json": MAX_DOCUMENT_BYTES, "yaml": MAX_DOCUMENT_BYTES, "jsonl": MAX_RECORD_BYTES}


def _from_stream(stream: IO[bytes], fmt: str | None, name: str) -> Iterator[Record]:
    detected = fmt is None
    if fmt is None:
        fmt, lines = _detected(stream)
    else:
        lines = _lines(stream, _LIMITS[fmt])
    count = 0
    if fmt == "jsonl":
        records = json_lines(lines, name)
    elif fmt == "json":
        records = _said_detected(json_document(lines, name)) if detected else json_document(lines, name)
    else:
        from .yaml_records import yaml_stream  # here: JSON input never imports PyYAML (load_yaml_documents)

        records = yaml_stream(lines, name)
    for record in records:
        count += 1
        yield record
    if count == 0:
        raise fail("facts/empty", f"`{name}` holds no fact bundles", name)


def _detected(stream: IO[bytes]) -> tuple[str, Iterator[Line]]:
    """The format of a stream, from its first line that is not blank (and, when that line opens an
    object but is not one, the next: see below), and all its lines.

    That line is read with the limit of a whole document: a JSON list on one line of more than a
    record's bytes was a line too long, and so detected as YAML. Blank lines before it (held as a
    count, not as text) are blank lines of any format."""
    blanks = 0
    first: Line | None = None
    lines = _lines(stream, MAX_DOCUMENT_BYTES)
    for first in lines:
        if first[1] is None or first[1].strip():
            break
        blanks += 1
    else:
        first = None
    fmt = _detect(first)
    held = [] if first is None else [first]
    if fmt == "json" and first is not None and first[1] is not None and first[1].lstrip().startswith(b"{"):
        # a first line that opens an object but is not one whole object: a JSON document, or JSON
        # Lines whose first record is bad (cut short, not UTF-8, a lone surrogate, ...). The next
        # line that holds something tells them apart: one that opens an object at its very start
        # is the next record (a JSON document's nested values are indented, and its members are
        # keys, which cannot open with `{`)
        for line in lines:
            held.append(line)
            if line[1] is None or line[1].strip():
                break
        if len(held) > 1 and (held[-1][1] or b"").startswith(b"{"):
            fmt = "jsonl"
    if fmt == "jsonl":  # a JSON line over the record size: its record's error, as any other line
        held = [(number, None if len((line or b"").rstrip(b"\r\n")) > MAX_RECORD_BYTES else line)
                for number, line in held]
    read = blanks + len(held)
    return fmt, _chain(blanks, held, _lines(stream, _LIMITS[fmt], read))


def _chain(blanks: int, held: list[Line], rest: Iterator[Line]) -> Iterator[Line]:
    yield from ((number, b"\n") for number in range(1, blanks + 1))
    yield from held
    yield from rest


DETECTED_JSON_HELP = (
    "the format was taken from the first line, which starts like JSON; "
    "if the file is YAML (a `{...}` flow mapping), give the format: --input-format yaml"
)


def _said_detected(records: Iterator[Record]) -> Iterator[Record]:
    """A JSON document's syntax error, when JSON was only guessed from the first line: the help
    says so, and how to name the format (YAML's flow mappings start with `{` too)."""
    try:
        yield from records
    except FactError as error:
        if [d.code for d in error.diagnostics] != ["facts/syntax"]:
            raise
        first = error.diagnostics[0]
        hint = f"{DETECTED_JSON_HELP}. {first.help}" if first.help else DETECTED_JSON_HELP
        raise FactError([replace(first, help=hint)]) from None


def _detect(first: Line | None) -> str:
    """JSON Lines when the first line is a whole JSON object, JSON when it opens one or a list, else YAML."""
    text = first[1].strip() if first is not None and first[1] is not None else b""
    if text.startswith(b"{"):
        # JSON Lines whose lines end with CR alone are one "line": its first record, up to the first
        # CR, tells them from a JSON document (one read as such was refused whole, with a help
        # that said to try YAML, and counted as a file that could not be read)
        head = text.split(b"\r", 1)[0]
        try:
            return "jsonl" if isinstance(JSON_DECODER.decode(head), dict) else "json"
        except (msgspec.DecodeError, ArithmeticError):  # (an exponent no Decimal holds: not read, as bad syntax)
            return "json"
    return "json" if text.startswith(b"[") else "yaml"


# --------------------------------------------------------------------------------------------- places


@dataclass(frozen=True, slots=True)
class LinePlace:
    """Where a JSON line is in its file: the `length` bytes at `offset` (after a byte-order mark)
    are the line as it was read, its line end included; `number` is its line number."""

    offset: int
    length: int
    number: int


def placed_json_lines(path: str | Path, name: str | None = None) -> Iterator[tuple[Record, LinePlace | None]]:
    """Every record of the JSON Lines file at `path`, as `iter_records(path, "jsonl")` reads them,
    each with the place of its line (None: a line over the record size, or the first line of a file
    in another encoding, which are never a bundle). Raises `FactError` as `iter_records` does."""
    shown = name or str(path)
    stream = _open(Path(path), shown)
    with stream:
        try:
            yield from _placed(stream, shown)
        except OSError as exc:  # (a directory, or a read error half-way), worded as `_closing` words it
            raise fail("facts/io", f"cannot read `{shown}`: {(exc.strerror or str(exc)).lower()}", shown) from None


def _placed(stream: IO[bytes], name: str) -> Iterator[tuple[Record, LinePlace | None]]:
    records = 0
    for record, read in lined_json_records(_lines(stream, MAX_RECORD_BYTES), name):
        records += 1
        line = None if read is None else read[1]
        # `_lines` has read exactly this line when it yields one it kept (a BOM of line 1 dropped
        # from `line`, not from the file), and nothing more until the next: it ends where the stream is now
        place = None if read is None or line is None else LinePlace(stream.tell() - len(line), len(line), read[0])
        yield record, place
    if not records:
        raise fail("facts/empty", f"`{name}` holds no fact bundles", name)


def json_line_at(stream: IO[bytes], name: str, place: LinePlace, index: int) -> Record:
    """The record of the line at `place` of `stream` (seekable), read again as `placed_json_lines`
    read it; `index` is the record's (`Bundle.index`), which names a bundle without an id."""
    stream.seek(place.offset)
    return json_record(stream.read(place.length), name, place.number, index)


def detected_format(stream: IO[bytes]) -> str:
    """The format `iter_records` takes a stream without a format to be in (reads its first lines)."""
    return _detected(stream)[0]


def load_yaml_documents(text: str, name: str) -> list[object]:
    """YAML documents read the way fact bundles are (YAML 1.2, exact decimals); for test files.

    yaml_records.py is imported on the first call, not with this module: PyYAML takes ~12 ms to
    import, and a batch of JSON lines, the usual input, never reads YAML."""
    from .yaml_records import load_yaml_documents as load

    return load(text, name)
