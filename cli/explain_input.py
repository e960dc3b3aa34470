"""The decisions `carepolicy explain` reads: a JSON document (one decision, or a JSON list of them as
`evaluate --format json` writes several) or JSON Lines (a `batch` output), from a file or stdin.

JSON Lines is read a line at a time, so that expanding a whole batch output holds one decision, not
the file: read whole, 2,000 compact decisions (46 MB) held 377 MB, about 160 kB a decision, most of
it the file's text three times over (its bytes, its text, its lines). A JSON document is read whole,
as before (it is what `evaluate` writes for a few bundles). Which of the two a file is, is told by
its first line that holds something: a JSON object alone on it is JSON Lines (or, when no other
line holds anything, a document of one decision); anything else is a document. Line ends are read
as text mode reads them (LF, CRLF, and a CR alone each end a line), as they were when the file was
read whole; a byte not in UTF-8 is named by its place in the file. A Parquet file (`batch -o
OUT.parquet`) is read a few rows at a time (explain_parquet.py), each row rebuilt as the JSON line
batch writes for it.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NamedTuple, NoReturn

from .common import fail

NO_DECISIONS_HELP = "give the decisions `evaluate --trace compact` or `batch --trace compact` wrote"
CUT_HELP = ("the last line has no line end: it may be cut short (a batch still running, or interrupted: "
            "its `.partial` output); give the lines before it, or the finished output")


class ReadDecision(NamedTuple):
    """A decision read from DECISION: the file (`path:line` for a JSON line), the JSON path of its
    root (`$[1]` for an item of a JSON list), the value read, the path of a key set twice in it, and
    the bytes of its line (an error record is written through as read when they are canonical)."""

    file: str
    root: tuple[int, ...]
    obj: Any
    repeated: tuple[str | int, ...] | None  # the path of a key set twice in it (the second time)
    text: bytes | None = None  # its line (without the line end); None for an item of a JSON document


class _Line(NamedTuple):
    number: int
    data: bytes
    last: bool  # the file's last line, with no line end after it


def read_decisions(path: str) -> Iterator[ReadDecision]:
    """Every decision of the file at `path` (`-`: stdin), in order; a file that cannot be read, or a
    line that is not JSON, ends the command (usage/input)."""
    if path == "-" and sys.stdin is None:  # `<&-`: as the fact readers word it
        _cannot_read(path, OSError(errno.EBADF, "standard input is closed"))
    if path != "-" and path.lower().endswith(".parquet"):  # read as text, it was `not UTF-8 text (byte 8)`
        from .explain_parquet import parquet_decisions

        yield from (ReadDecision(where, (), obj, None, line) for where, obj, line in parquet_decisions(path))
        return
    try:
        stream = sys.stdin.buffer if path == "-" else Path(path).open("rb")  # noqa: SIM115 — closed below
    except OSError as error:
        _cannot_read(path, error)
    try:
        yield from _from_stream(path, stream)
    finally:
        if path != "-":
            stream.close()


def _from_stream(path: str, stream: IO[bytes]) -> Iterator[ReadDecision]:
    lines = _lines(path, stream)
    seen: list[_Line] = []  # the lines up to the first that holds something
    for line in lines:
        seen.append(line)
        if line.data.strip():
            break
    first = seen[-1] if seen and seen[-1].data.strip() else None
    obj = _json_object(first.data) if first is not None else None
    if first is None or obj is None:  # no line holds anything, or the first is not a JSON object alone
        yield from _document(path, b"".join(map(_raw, seen)) + b"".join(map(_raw, lines)))
        return
    after = next((line for line in lines if line.data.strip()), None)
    if after is None:  # a document of one decision, on one line
        yield ReadDecision(path, (), obj, _first_repeated(first.data, obj), first.data)
        return
    yield ReadDecision(f"{path}:{first.number}", (), obj, _first_repeated(first.data, obj), first.data)
    yield _json_line(path, after)
    for line in lines:  # then every line, one at a time
        if line.data.strip():
            yield _json_line(path, line)


def _lines(path: str, stream: IO[bytes]) -> Iterator[_Line]:
    """The file's lines, decoded as UTF-8 (a byte-order mark at its start dropped), numbered as text
    mode numbers them: a CR alone ends a line too."""
    number = offset = 0
    start = b""
    try:
        for raw in stream:
            if not offset:
                start = raw[:4]  # what not_utf8 needs to tell UTF-16 or a compressed file
            content = raw[:-1] if raw.endswith(b"\n") else raw
            if raw.endswith(b"\n") and content.endswith(b"\r"):
                content = content[:-1]
            bom = not offset and content.startswith(b"\xef\xbb\xbf")  # a Windows editor's, dropped
            if bom:
                content = content[3:]
            at = offset + 3 * bom  # where `content` starts in the file, to name a byte not in UTF-8
            pieces = content.split(b"\r")
            for index, piece in enumerate(pieces):
                number += 1
                try:
                    piece.decode("utf-8")
                except UnicodeDecodeError as error:
                    _not_utf8(path, start, at, error)
                yield _Line(number, piece, not raw.endswith(b"\n") and index == len(pieces) - 1)
                at += len(piece) + 1
            offset += len(raw)
    except OSError as error:
        _cannot_read(path, error)


def _raw(line: _Line) -> bytes:
    return line.data + (b"" if line.last else b"\n")


def _json_object(data: bytes) -> dict[str, Any] | None:
    """The JSON object that is the whole of `data`, or None (not JSON, or not an object)."""
    import orjson
    from carepolicy.engine.jsontext import loads

    try:
        obj = loads(data.decode("utf-8"))
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def _json_line(path: str, line: _Line) -> ReadDecision:
    import orjson
    from carepolicy.engine.jsontext import loads

    text = line.data.decode("utf-8")
    try:
        obj = loads(text)
    except orjson.JSONDecodeError as error:
        # the last line, without its line end, ending too soon: cut short, not edited
        cut = line.last and str(error).startswith("unexpected end of data")
        # orjson says `line 1 column 18384` of the line alone: of line 30, that read as another line
        where = f" at column {error.colno}" if error.doc else ""
        fail("usage/input", f"line {line.number} of `{path}` is not JSON: {error.msg}{where}", file=path,
             help=CUT_HELP if cut else NO_DECISIONS_HELP)
    return ReadDecision(f"{path}:{line.number}", (), obj, _first_repeated(text, obj), line.data)


def _document(path: str, data: bytes) -> Iterator[ReadDecision]:
    """A JSON document read whole (the items of a JSON list, each a decision), or, when the whole is
    not JSON, its lines, each a decision or an error."""
    import orjson
    from carepolicy.engine.jsontext import loads

    text = data.decode("utf-8")  # (each line was decoded already: this cannot fail)
    try:  # one JSON document (`evaluate --format json`), possibly indented
        document = loads(text)
    except orjson.JSONDecodeError as error:
        _not_a_document(path, text, error)
    else:
        repeated = repeated_keys(text)
        if isinstance(document, list):
            for index, item in enumerate(document):
                mine = next((parts[1:] for parts in repeated if parts[0] == index), None)
                yield ReadDecision(path, (index,), item, mine)
        else:
            yield ReadDecision(path, (), document, repeated[0] if repeated else None)
        return
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if line.strip():
            yield _json_line(path, _Line(number, line.encode("utf-8"), number == len(lines)))


def _not_a_document(path: str, text: str, error: ValueError) -> None:
    """A document whose first line is not JSON alone (`[`, an indented decision's `{`) and that
    fails past that line is refused where it fails, at its line and column: read line by line, an
    indented list cut short was `line 1 is not JSON: unexpected end of data at column 2`, of its
    `[`. Anything else is read line by line, each line refused as itself (lines of JSON)."""
    import orjson

    if not isinstance(error, orjson.JSONDecodeError) or not error.doc:  # (nested too deep: said of its line)
        return
    lines = text.split("\n")
    number = next((n for n, line in enumerate(lines, start=1) if line.strip()), 1)
    try:
        orjson.loads(lines[number - 1])
    except orjson.JSONDecodeError:
        if error.lineno <= number:  # it fails on its first line: as that line
            return
    else:
        return
    cut = error.msg.startswith("unexpected end of data")
    fail("usage/input", f"`{path}` is not JSON: {error.msg} at line {error.lineno}, column {error.colno}", file=path,
         help="the file ends before its JSON does: it may be cut short; give the whole file" if cut
         else NO_DECISIONS_HELP)


def repeated_keys(text: str | bytes) -> list[tuple[str | int, ...]]:
    """The JSON path of each key set twice in one object of `text`, the second time. Such a decision
    is refused, as a fact file is: a JSON reader keeps the last value without a word, so the
    decision checked need not be the one another program reads from the line."""
    from carepolicy.engine.facts.json_keys import duplicates, has_duplicate

    text = text.decode("utf-8") if isinstance(text, bytes) else text
    return [(*found.path, found.key) for found in duplicates(text)] if has_duplicate(text) else []


def _first_repeated(text: str | bytes, decoded: object) -> tuple[str | int, ...] | None:
    """The path of the first key set twice in `text`, which decoded to `decoded`, or None. Counted
    first (json_keys.unique_given, on what was decoded already): the exact check decodes the line
    again with the standard library, 0.26 ms of each 23 kB line."""
    from carepolicy.engine.facts.json_keys import unique_given

    text = text.decode("utf-8") if isinstance(text, bytes) else text
    if unique_given(text, decoded):
        return None
    repeated = repeated_keys(text)
    return repeated[0] if repeated else None


def _not_utf8(path: str, start: bytes, at: int, error: UnicodeDecodeError) -> NoReturn:
    from carepolicy.engine.facts.record_errors import not_utf8

    in_file = UnicodeDecodeError(error.encoding, error.object, at + error.start, at + error.end, error.reason)
    fail("usage/input", f"cannot read `{path}`: {not_utf8(start, in_file)}", file=path)


def _cannot_read(path: str, error: OSError) -> NoReturn:
    fail("usage/input", f"cannot read `{path}`: {(error.strerror or str(error)).lower()}", file=path)
