"""What the fact-file readers share: record types, their error records, and whole-document reading."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace

from ..diagnostics import Diagnostic, FactError
from ..source import Span
from .bundle import Bundle, BundleError, validate_bundle
from .limits import DOCUMENT_HELP, MAX_DOCUMENT_BYTES, Limit

Record = Bundle | BundleError
Line = tuple[int, bytes | None]  # (line number, the line; None when it is over MAX_RECORD_BYTES)


JSONL_HELP = "JSON Lines (one bundle per line, `.jsonl`) keeps one bad record from hiding the others"


# byte-order marks of the encodings a fact file is most often saved in by mistake (UTF-32 first:
# its little-endian mark begins with UTF-16's)
_OTHER_ENCODINGS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def utf16_or_32(data: bytes) -> str | None:
    """"UTF-16" or "UTF-32" when `data` starts with that encoding's byte-order mark, else None."""
    for mark, encoding in _OTHER_ENCODINGS:
        if data.startswith(mark):
            return encoding
    return None


# the code units of a line end in UTF-16 (LF, CR; little- and big-endian), skipped when its byte
# order is told: a file that starts with a blank line (`\n` then a bundle) starts with one, and the
# pattern of its NUL bytes is that of the text after it
_UTF16_BREAKS = frozenset((b"\n\x00", b"\r\x00", b"\x00\n", b"\x00\r"))
_UNITS_TOLD = 8  # the code units of text (line ends aside) that tell the byte order
_BYTES_TOLD = 1024  # and the bytes looked at for them: _START_LINES blank lines of CRLF are 256


def unmarked_utf16(start: bytes) -> str | None:
    """"LE" or "BE" when `start`, the first bytes of a file, are UTF-16 text of ASCII characters
    without a byte-order mark (a NUL byte after, or before, each character: `{\\x00"\\x00`), else
    None. Its code units are read from the file's first byte, its line ends skipped: split at each
    LF byte, a little-endian file that starts with a blank line has a second line that starts with
    the NUL byte of the LF (`\\x00{\\x00"...`, which looked big-endian), and a big-endian one has a
    first line `\\x00\\n` (too short to tell: then nothing was said). Its NUL bytes are UTF-8 too, so
    no decoding fails: each line was only `expecting value`."""
    units: list[bytes] = []
    for at in range(0, min(len(start), _BYTES_TOLD) - 1, 2):  # (a whole JSON document may be given)
        unit = start[at : at + 2]
        if unit not in _UTF16_BREAKS:
            units.append(unit)
            if len(units) == _UNITS_TOLD:
                break
    if len(units) < 2:
        return None
    if all(0 < unit[0] < 0x80 and unit[1] == 0 for unit in units):
        return "LE"
    if all(unit[0] == 0 and 0 < unit[1] < 0x80 for unit in units):
        return "BE"
    return None


def unmarked_utf16_message(order: str) -> str:
    return f"not UTF-8 text: it looks like UTF-16 ({order}) without a byte-order mark; save it as UTF-8"


# said by an error record that stands for records that could not be told apart (`batch`'s summary
# then does not count it as one record: cli/batch_notes.py looks for it)
HOW_MANY_UNKNOWN = "how many it holds is unknown"


# what str.splitlines and many editors take for a line break, but JSON does not (LF and CR are
# JSON's whitespace): a line holding one is refused at it, which said only `extra data`
LINE_SEPARATORS = {"\u2028": "U+2028 LINE SEPARATOR", "\u2029": "U+2029 PARAGRAPH SEPARATOR",
               "\x85": "U+0085 NEXT LINE", "\x0b": "a vertical tab (U+000B)", "\x0c": "a form feed (U+000C)",
               "\x1c": "U+001C FILE SEPARATOR", "\x1d": "U+001D GROUP SEPARATOR", "\x1e": "U+001E RECORD SEPARATOR"}


def separator_help(text: str, pos: int, column: int, after_record: bool) -> str:
    """The help of a line refused at a character other tools take for a line break (`after_record`:
    where the line's record ended, so what follows it may be more records)."""
    said = (f"at column {column} is {LINE_SEPARATORS[text[pos]]}, which JSON does not allow outside a string: "
            "JSON Lines ends a line with LF (or CRLF) only")
    if not after_record or not text[pos + 1 :].strip():
        return f"{said}; remove it"
    return (f"{said}, so anything after it on this line is in this one error record, and {HOW_MANY_UNKNOWN} "
            "(`batch`'s summary does not count it as one); end each record's line with LF")


# said by the error record of a line that is no record at all, only the padding old tools and
# preallocated files leave (`batch`'s summary counts it as no input record: cli/batch_notes.py)
STANDS_FOR_NONE = "this error record stands for no input record"
_DOS_EOF, _NUL = b"\x1a", b"\x00"


def padding(line: bytes) -> tuple[str, str] | None:
    """(message, help) when `line`, its line end and blanks aside, is only DOS end-of-file bytes
    (Ctrl-Z, 0x1A) or only NUL bytes (with 0x1A among them, if any), else None."""
    body = line.strip(b" \t\r\n")
    if not body or body.strip(_DOS_EOF + _NUL):
        return None
    if not body.strip(_DOS_EOF):
        return ("a DOS end-of-file byte (Ctrl-Z, 0x1A), not a record",
                f"old DOS and Windows tools end a text file with it; {STANDS_FOR_NONE}: remove it "
                "(JSON and YAML hold no raw 0x1A byte: `tr -d '\\032'` removes only these)")
    return ("NUL padding (only 0x00 bytes), not a record",
            "the unwritten rest of a preallocated file, or of a write that did not finish: records meant to "
            f"be here may be missing, check what wrote the file; {STANDS_FOR_NONE}")


def padding_error(data: bytes, name: str, line: int, column: int, index: int) -> BundleError | None:
    """The error record of `data` when it is only padding (see `padding`), else None."""
    padded = padding(data)
    if padded is None:
        return None
    error = record_error("facts/syntax", padded[0], name, line, column, index)
    return replace(error, diagnostics=(replace(error.diagnostics[0], help=padded[1]),))


def padding_tail(data: bytes) -> int:
    """Where the padding that ends `data` starts (NUL and DOS end-of-file bytes, with blanks and line
    ends among them), or len(data): none. A JSON document or YAML stream followed by it was refused
    whole (`unacceptable character`, `extra data`): none of its records was read."""
    body = len(data.rstrip(b" \t\r\n" + _DOS_EOF + _NUL))
    return body if padding(data[body:]) else len(data)


# the magic numbers of the compressions an export is most often saved with (`claims.jsonl` that is
# gzip's output, or `claims.jsonl.gz`): read as text, each LF byte of the data ends a "line"
_COMPRESSIONS = ((b"\x1f\x8b", "gzip"), (b"\x28\xb5\x2f\xfd", "zstd"), (b"\xfd7zXZ\x00", "xz"))


# a Parquet file piped to stdin, or named otherwise (`batch` reads Parquet only from a `.parquet` file)
PARQUET_NOTE = ("it is a Parquet file (it starts with `PAR1`), which is read only from a file whose name ends "
                "in `.parquet`: give it that name")


def compressed(data: bytes) -> str | None:
    """"gzip", "zstd" or "xz" when `data` starts with that compression's magic number, else None."""
    for magic, kind in _COMPRESSIONS:
        if data.startswith(magic):
            return kind
    return None


def not_utf8(data: bytes, error: UnicodeDecodeError) -> str:
    """`not UTF-8 text (byte N)`, and what the text is when its first bytes say so (a UTF-16 file,
    a compressed one)."""
    message = f"not UTF-8 text (byte {error.start + 1})"
    encoding = utf16_or_32(data)
    if encoding:
        return f"{message}: it is {encoding} (it starts with a {encoding} byte-order mark); save it as UTF-8"
    kind = compressed(data)
    if kind:
        return f"{message}: it is {kind}-compressed; decompress it first (`{kind} -dc FILE | carepolicy ... -`)"
    if data.startswith(b"PAR1"):
        return f"{message}: {PARQUET_NOTE}"
    return message


def not_utf8_place(data: bytes, error: UnicodeDecodeError) -> tuple[int, int] | None:
    """(line, column) of the byte `not_utf8` names, both from 1: lines end at LF, and the column
    counts characters (each byte that is not UTF-8 as one), as an editor shows them. A message
    that names only `byte N` of a file of many lines leaves the reader to count. None when the
    message says what the file is instead (UTF-16, compressed, Parquet): it has no lines to show."""
    if utf16_or_32(data) or compressed(data) or data.startswith(b"PAR1"):
        return None
    offset = error.start
    before = data[:offset]
    line_start = before.rfind(b"\n") + 1
    return before.count(b"\n") + 1, len(before[line_start:].decode("utf-8", "replace")) + 1


def unknown_until(data: bytes) -> str | None:
    """The help of a file that stands as one error record because it is not UTF-8 text as a whole
    (UTF-16, compressed): how many records it holds is unknown until it is; None for other text."""
    if utf16_or_32(data):
        return f"the file stands as one record: {HOW_MANY_UNKNOWN} until it is saved as UTF-8"
    if compressed(data):
        return f"the file stands as one record: {HOW_MANY_UNKNOWN} until it is decompressed"
    if data.startswith(b"PAR1"):  # (read as text, each LF byte of its data ended a "line": an error record each)
        return f"the file stands as one record: {HOW_MANY_UNKNOWN} until it is read as Parquet"
    return None


# the lines read at most to find a file's first that holds more than blanks, line ends and NUL
# bytes: a blank line of UTF-16 is `\x00\n` once split at LF bytes (bounded: those lines are held)
_START_LINES = 64


def file_start(lines: Iterable[Line]) -> tuple[list[Line], Iterator[Line]]:
    """The first lines of a file, up to its first that holds more than blanks, line ends and NUL
    bytes (or `_START_LINES` of them), and an iterator over the lines after them: what
    `other_encoding` reads, before any line is read as a record (chain the two to read them all)."""
    read = iter(lines)
    held: list[Line] = []
    for number, line in read:
        held.append((number, line))
        if line is None or line.removeprefix(_UTF8_MARK).translate(None, _NUL).strip() or len(held) == _START_LINES:
            break
    return held, read


_UTF8_MARK = b"\xef\xbb\xbf"


def other_encoding(held: list[Line], name: str) -> BundleError | None:
    """The one error record of a JSON Lines file or a YAML stream saved as UTF-16 or UTF-32, or
    compressed (gzip, zstd, xz), given its first lines (`file_start`): its first line that is not
    blank starts with that byte-order mark or magic number, or the file's first bytes are UTF-16
    without a mark (NUL bytes beside ASCII ones, read from the file's first byte); or None: a file
    in UTF-8.
    Split at UTF-8's line break, each line of such a file would be an error record of its own (the
    NUL bytes after the last break one more, each LF byte of compressed data one); a YAML stream in
    little-endian UTF-16 or 32 was its document's error and then `NUL padding` for the NUL bytes
    after its last LF (and without a mark, its error was `unacceptable character U+0000`). So the
    file stands as one record (`batch` splits JSON Lines itself: it asks too)."""
    start = b"".join(line for _number, line in held if line is not None)
    order = unmarked_utf16(start)
    if order is not None:  # (as with a mark, but nothing fails to decode: each line was `expecting value`)
        message = unmarked_utf16_message(order)
        saved = f"the file stands as one record: {HOW_MANY_UNKNOWN} until it is saved as UTF-8"
        diag = Diagnostic("facts/syntax", message, span=span(name, held[0][0], 1), file=name, bundle="#1", help=saved)
        return BundleError("#1", name, 0, (diag,))
    number, line = next(((n, read) for n, read in held if read is None or read.removeprefix(_UTF8_MARK).strip()),
                        (0, None))
    if line is None:
        return None
    how_many = unknown_until(line)
    if how_many is None:
        return None
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as exc:
        message = not_utf8(line, exc)
    else:  # (never a byte-order mark of UTF-16 or UTF-32, nor gzip's magic number; a Parquet file's first line may be)
        message = f"not text: {PARQUET_NOTE}" if line.startswith(b"PAR1") else "not UTF-8 text"
    diag = Diagnostic("facts/syntax", message, span=span(name, number, 1), file=name, bundle="#1", help=how_many)
    return BundleError("#1", name, 0, (diag,))


def unknown_count(text: str) -> str:
    return f"; no record of the file was read ({HOW_MANY_UNKNOWN})" if text.lstrip()[:1] in ("[", "-") else ""


def whole(lines: Iterable[Line], name: str, kind: str) -> bytes:
    parts: list[bytes] = []
    size = 0
    for _number, line in lines:
        if line is None or size + len(line) > MAX_DOCUMENT_BYTES:
            message = f"`{name}` is larger than {MAX_DOCUMENT_BYTES:,} bytes, the limit for one {kind} document"
            raise FactError([Diagnostic("facts/limit", message, file=name, help=DOCUMENT_HELP)])
        parts.append(line)
        size += len(line)
    return b"".join(parts)


def bundles(documents: list[object], name: str, start: int = 0) -> Iterator[Record]:
    """The bundles of parsed documents: a mapping is one, a list holds several."""
    index = start
    for document in documents:
        for item in document if isinstance(document, list) else [document]:
            yield checked(item, name, index)
            index += 1



def checked(obj: object, name: str, index: int, *, parsed: bool = True) -> Record:
    """`validate_bundle`, with anything it raises (a bug) made this record's error, not the file's.
    `parsed`: read from a file's text (every reader here), not a Python caller's mapping."""
    try:
        return validate_bundle(obj, source=name, index=index, parsed=parsed)
    except Exception as error:  # one record's failure must never lose the records after it
        bundle_id = f"#{index + 1}"
        message = f"internal error while reading: {type(error).__name__}: {error}".rstrip(": ")[:300]
        help = "this is a bug in carepolicy; please report it with the record that caused it"
        diag = Diagnostic("facts/internal", message, file=name, bundle=bundle_id, help=help)
        return BundleError(bundle_id, name, index, (diag,))


# --- error records --------------------------------------------------------------------------------


def invalid(kind: str, problem: str) -> str:
    return f"invalid {kind}: {problem[:1].lower()}{problem[1:]}"


def record_error(code: str, message: str, name: str, line: int, column: int, index: int,
                 help_text: str | None = None) -> BundleError:
    bundle_id = f"#{index + 1}"
    diag = Diagnostic(code, message, span=span(name, line, column), file=name, bundle=bundle_id, help=help_text)
    return BundleError(bundle_id, name, index, (diag,))


def limit_error(limit: Limit, name: str, line: int, column: int, index: int) -> BundleError:
    """The error record of a record over a limit, with the limit's help."""
    return record_error("facts/limit", limit.message, name, line, column, index, limit.help)


def placed(record: Record, where: str | None) -> Record:
    """`record`, when it is an error record, with `where` (a table cell's column and row) before the
    message of each of its diagnostics; a bundle, or `where` None, as it is."""
    if where is None or not isinstance(record, BundleError):
        return record
    diagnostics = tuple(replace(diag, message=f"{where}: {diag.message}") for diag in record.diagnostics)
    return replace(record, diagnostics=diagnostics)


def syntax(message: str, name: str, line: int, column: int) -> Diagnostic:
    return Diagnostic(code="facts/syntax", message=message, span=span(name, line, column), file=name)


def span(name: str, line: int, column: int) -> Span:
    return Span(name, line, column, line, column + 1)


def fail(code: str, message: str, name: str) -> FactError:
    return FactError([Diagnostic(code=code, message=message, file=name or None)])


