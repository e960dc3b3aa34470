"""YAML fact files: a stream split at its document markers, each document parsed on its own.

The spec forbids `---` and `...` at the start of a line inside any scalar, so splitting there is
exact; each document then costs only itself when it cannot be read. A lone document that is a list
and cannot be parsed is the file's error: none of its records can be told apart.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import chain

import yaml

from ..diagnostics import Diagnostic, FactError
from .bundle import Bundle, BundleError
from .limits import MAX_DOCUMENT_BYTES, MAX_RECORD_BYTES, nested_too_deep, too_large
from .record_errors import (
    HOW_MANY_UNKNOWN,
    JSONL_HELP,
    Line,
    Record,
    checked,
    fail,
    file_start,
    invalid,
    limit_error,
    not_utf8,
    other_encoding,
    padding,
    padding_error,
    record_error,
    span,
    unknown_count,
    unknown_until,
)
from .schema_messages import describe
from .written import Spelling, as_written
from .yaml_loader import DuplicateKey, FactLoader, FactYAMLError, ItemError, load_document, yaml_spelling

_MARKER = re.compile(rb"^(---|\.\.\.)(?=[ \t\r\n]|$)")
_BOM = b"\xef\xbb\xbf"
_BREAK = re.compile(r"\r\n|\r|\n")  # YAML 1.2's line breaks (b-break): CRLF, CR, LF
_OTHER_BREAK = re.compile("[\x85\u2028\u2029]")  # YAML 1.1's other line breaks: text in YAML 1.2
_BREAK_NAMES = {"\x85": "a next-line character", "\u2028": "a line separator", "\u2029": "a paragraph separator"}
_TOP_ID = re.compile(r"^id:[ \t]*['\"]?([A-Za-z0-9_.:/@-]{1,100})['\"]?[ \t]*(?:#.*)?$", re.MULTILINE)


def _yaml_lines(lines: Iterable[Line]) -> Iterator[Line]:
    """The lines as YAML breaks them, numbered as YAML counts them: at LF, CRLF and also a lone CR
    (the file is read in lines that end at LF). Without it, a document written with CR line ends
    was one line: read as a comment when it started with one (no record), and with its `---`
    unseen, two documents were one error record."""
    extra = 0  # the lone CRs so far: each started a line
    for number, line in lines:
        if line is None or b"\r" not in line:
            yield number + extra, line
            continue
        end = 2 if line.endswith(b"\r\n") else 1 if line.endswith((b"\r", b"\n")) else 0
        parts = line[: len(line) - end].split(b"\r")
        for part in parts[:-1]:
            yield number + extra, part + b"\r"
            extra += 1
        yield number + extra, parts[-1] + line[len(line) - end :]


def _yaml_documents(lines: Iterable[Line]) -> Iterator[tuple[int, list[bytes] | None]]:
    """(first line, the document's lines, or None when it is over the size limit) per YAML document.

    A document ends before a `---` line or with a `...` line (kept in it). Directives (`%YAML`,
    `%TAG`) and comments before a `---` belong to the document that `---` starts: split from it,
    a directive was a document of its own (an error record for no input record) and the document
    lost its tag handles."""
    start, size, too_large = 1, 0, False
    chunk: list[bytes] = []
    for number, line in lines:
        if line is not None and line.startswith(_BOM) and _MARKER.match(line[3:]):
            line = line[3:]  # YAML 1.2: a byte-order mark may open any document (`cat a.yaml b.yaml`)
        found = line is not None and _MARKER.match(line)
        marker = found.group(1) if found else None
        if marker == b"---" and (too_large or not _prologue_only(chunk)):
            yield start, None if too_large else chunk
            start, chunk, size, too_large = number, [], 0, False
        if line is None or too_large or size + len(line) > MAX_DOCUMENT_BYTES:
            too_large, chunk = True, []
        else:
            chunk.append(line)
            size += len(line)
            # one record's limit, crossed by a document that is no list: refused before it is parsed
            # (a 60 MB mapping took 5.9 s and 640 MB to parse before the size was looked at)
            if size - len(line) <= MAX_RECORD_BYTES < size and not _may_be_list(chunk):
                too_large, chunk = True, []
        if marker == b"...":  # an explicit end: the next document starts after it
            yield start, None if too_large else chunk
            start, chunk, size, too_large = number + 1, [], 0, False
    if too_large or not _prologue_only(chunk):  # (only comments or directives at the end: no record)
        yield start, None if too_large else chunk


def _may_be_list(chunk: list[bytes]) -> bool:
    """Whether the document in `chunk` may be a list (of bundles, up to MAX_DOCUMENT_BYTES): its
    first content does not show it to be a mapping or a scalar, each one record at most. A tag or
    an anchor there (`!!seq`, `&a`) may be a list's: such a document is measured once it is parsed."""
    for line in chunk:
        text = line.strip()
        if _MARKER.match(text):
            text = text[3:].strip()
        if text and text[:1] not in (b"#", b"%"):
            return text[:1] in (b"-", b"[", b"!", b"&", b"*")
    return True  # (nothing but comments yet)


def _prologue_only(chunk: list[bytes]) -> bool:
    """Whether `chunk` holds only blank lines, comments and directives: what may precede `---`."""
    return all(not (stripped := line.strip()) or stripped[:1] in (b"#", b"%") for line in chunk)


def yaml_stream(lines: Iterable[Line], name: str) -> Iterator[Record]:
    """Each document parsed on its own; a lone document that cannot be parsed is the file's error.
    Padding at the end (NUL or DOS end-of-file bytes on lines of their own) is one error record of
    its own, after the documents' records: in the last document, it made that document (a whole
    list) unreadable for bytes that are no part of it."""
    first, read = file_start(lines)  # the file's first bytes tell a file in another encoding
    spoilt = other_encoding(first, name)
    if spoilt is not None:  # (UTF-16, 32, compressed: the file is one error record, as in JSON Lines)
        yield spoilt
        return
    index = 0
    pending: tuple[int, list[bytes] | None] | None = None
    several = False
    tail: list[Line] = []
    for document in _yaml_documents(_yaml_lines(_padding_held(chain(first, read), tail))):
        if pending is not None:
            several = True
            records = list(_yaml_document(*pending, name, index, alone=False))
            index += len(records)
            yield from records
        pending = document
    if pending is not None:
        for record in _yaml_document(*pending, name, index, alone=not several):
            index += 1
            yield record
    if tail:
        padded = padding_error(b"".join(line or b"" for _number, line in tail), name, tail[0][0], 1, index)
        if padded is not None:
            yield padded


def _padding_held(lines: Iterable[Line], tail: list[Line]) -> Iterator[Line]:
    """The lines, but not those at the end that are only padding (and blank lines after it): those
    are put in `tail` once every line is read."""
    held: list[Line] = []
    for number, line in lines:
        if line is not None and (padding(line) or (held and not line.strip())):
            held.append((number, line))
            continue
        yield from held
        held.clear()
        yield number, line
    tail.extend(held)


def _yaml_document(start: int, chunk: list[bytes] | None, name: str, index: int, *, alone: bool) -> Iterator[Record]:
    if chunk is None:
        yield limit_error(too_large("YAML document"), name, start, 1, index)
        return
    data = b"".join(chunk)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = start + len(_BREAK.findall(data[: exc.start].decode("latin-1")))
        error = record_error("facts/syntax", not_utf8(data, exc), name, line, 1, index)
        how_many = unknown_until(data)  # (UTF-16, compressed: the document's records cannot be told apart)
        diag = error.diagnostics[0] if how_many is None else replace(error.diagnostics[0], help=how_many)
        if how_many is None and _content_start(data.decode("utf-8", "replace"))[:1] in ("-", "["):
            # a list, as one that cannot be parsed: its bundles cannot be told apart (it was counted as one)
            if alone:
                raise FactError([replace(diag, bundle=None, message=diag.message + unknown_count("["),
                                         help=JSONL_HELP)]) from None
            diag = replace(diag, message=f"{diag.message}; no bundle of this document's list was read "
                           f"({HOW_MANY_UNKNOWN})", help=JSONL_HELP)
        yield replace(error, diagnostics=(diag,))
        return
    try:
        declared = _declared_version(text, name) or _other_break(text, name)
        if declared is not None:
            raise declared
        document = load_document(text)  # FactLoader's: a safe loader
    except (yaml.YAMLError, RecursionError) as exc:
        diag = _yaml_diagnostic(exc, name, start, text)
        is_list = _content_start(text)[:1] in ("-", "[")
        if alone and is_list:
            message = diag.message + unknown_count("[")
            raise FactError([replace(diag, message=message, help=diag.help or JSONL_HELP)]) from None
        if is_list:  # one error record stands for the list's bundles: say that their number is unknown
            diag = replace(diag, message=f"{diag.message}; no bundle of this document's list was read "
                           f"({HOW_MANY_UNKNOWN})", help=diag.help or JSONL_HELP)
        elif _DOCUMENT_START in diag.message and _content_start(text)[:1] == "{":
            # JSON Lines given as YAML (`--input-format yaml`): one error record for all its lines,
            # which said only `did not find expected <document start>` and was counted as one record
            diag = replace(diag, message=f"{diag.message}: the document holds more than one value "
                           f"({HOW_MANY_UNKNOWN})", help=_JSON_LINES_HELP)
        found = _TOP_ID.search(text.replace("\r", "\n"))  # (`$` is before a LF only)
        bundle_id = found.group(1) if found else f"#{index + 1}"
        yield BundleError(bundle_id, name, index, (replace(diag, bundle=bundle_id),), found is not None)
        return
    if document is None:  # a document of only comments, or `---` at the end
        return
    if isinstance(document, dict) and len(data) > MAX_RECORD_BYTES:
        yield limit_error(too_large("YAML document"), name, start, 1, index)
        return
    if alone and not isinstance(document, dict | list):
        message = f"a fact file holds a mapping or a list of mappings, found {describe(document)}"
        raise fail("facts/not-a-bundle", message, name)
    spelling: Spelling | None = None
    for position, item in enumerate(document if isinstance(document, list) else [document], start=index):
        if isinstance(item, ItemError):  # an item of the list that cannot be read: its own error record
            bundle_id = item.bundle_id or f"#{position + 1}"
            diag = replace(_yaml_diagnostic(item.error, name, start, text), bundle=bundle_id)
            yield BundleError(bundle_id, name, position, (diag,), bool(item.bundle_id))
        else:
            record = checked(item, name, position)
            if type(record) is not Bundle:  # (its numbers quoted as written: the document composed again)
                spelling = spelling or yaml_spelling(text)
                record = as_written(record, item, spelling, (position - index,) if isinstance(document, list) else ())
            yield record


def _declared_version(text: str, name: str) -> FactYAMLError | None:
    """The error for a `%YAML` directive of another version than 1.2: the writer said that `025` is
    21 and `yes` is true (YAML 1.1), which fact files do not read that way; None when there is none."""
    if "%YAML" not in text:
        return None
    for number, line in enumerate(_BREAK.split(text)):
        if line.startswith("---"):  # directives come before the document's start
            return None
        version = line.split()[1:2] if line.startswith("%YAML") else None
        if version is not None and version != ["1.2"]:
            problem = (f"the document declares YAML {' '.join(version) or '(no version)'}; fact files are read as "
                       "YAML 1.2, where `025` is 25 and `yes` is text: remove the directive or write `%YAML 1.2`")
            return FactYAMLError("facts/syntax", problem, yaml.Mark(name, 0, number, 0, None, 0))
    return None


def _other_break(text: str, name: str) -> FactYAMLError | None:
    """The error for NEL, LS or PS in the text, or None. YAML 1.1 (and libyaml, which the loader
    parses with) breaks lines there, YAML 1.2 reads them as text: `foo<NEL>bar` was read as
    `foo bar`. Either reading may be the wrong one, so the document is refused; written as an
    escape in a double-quoted text (`"\\L"`, `"\\u2028"`), the character is read as written."""
    found = _OTHER_BREAK.search(text) if not text.isascii() else None
    if found is None:
        return None
    char, at = found.group(), found.start()
    before = list(_BREAK.finditer(text, 0, at))
    line, column = len(before), at - (before[-1].end() if before else 0)
    problem = (f"the text holds U+{ord(char):04X} ({_BREAK_NAMES[char]}), a line break to YAML 1.1 and text to "
               f"YAML 1.2; write it as the escape `\\u{ord(char):04x}` in a double-quoted text, or remove it")
    return FactYAMLError("facts/syntax", problem, yaml.Mark(name, at, line, column, None, 0))


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


_DOCUMENT_START = "did not find expected <document start>"  # libyaml's problem after a whole top-level value
_JSON_LINES_HELP = ("its lines look like JSON Lines, one JSON object a line: read them with --input-format jsonl "
                    "(the `.jsonl` extension says so too)")
_PARSER_DEPTH = "exceeded maximum nesting depth"  # libyaml's problem past 1,000 levels (PyYAML's: a RecursionError)
COLON_HELP = "this value holds `: `, which YAML reads as a new key: put the whole value in quotes, e.g."
TAB_HELP = "this line is indented with a tab: YAML indents with spaces only; replace the tab"
QUOTE_HELP = 'YAML reads on to the next `"`, lines below; close the quote on its line'


def _unclosed_quote(lines: list[str], first: int, last: int) -> int | None:
    """The first line in [first, last) with an odd number of double quotes (`\\"` aside), outside
    comments: a quote opened and not closed, which YAML carries on to a later line."""
    for number in range(first, min(last, len(lines))):
        line = lines[number].replace('\\"', "")
        if not line.lstrip().startswith("#") and line.count('"') % 2:
            return number
    return None


def _yaml_diagnostic(exc: BaseException, name: str, start: int, text: str) -> Diagnostic:
    offset = start - 1
    if isinstance(exc, RecursionError):
        limit = nested_too_deep()
        return Diagnostic("facts/limit", limit.message, file=name, help=limit.help)
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1 + offset, mark.column + 1) if mark else (start, 1)
        code = exc.code if isinstance(exc, FactYAMLError) else "facts/syntax"
        problem = exc.problem or exc.context or "unreadable"
        help_text = exc.help if isinstance(exc, FactYAMLError) else None  # (a limit's, made with its message)
        if isinstance(exc, DuplicateKey):  # its message names a line: of the file, as the span's
            message = exc.worded(offset)
        elif problem == _PARSER_DEPTH:  # libyaml's own limit, far past the limit of a record
            limit = nested_too_deep()
            code, message, help_text = "facts/limit", limit.message, limit.help
        else:
            message = problem if isinstance(exc, FactYAMLError) else invalid("YAML", problem)
        diag = Diagnostic(code=code, message=message, span=span(name, line, column), file=name, help=help_text)
        lines = _BREAK.split(text)
        if mark and mark.line < len(lines) and lines[mark.line][mark.column : mark.column + 1] == "\t":
            diag = replace(diag, help=TAB_HELP)  # the character YAML cannot read is invisible: say what it is
        elif problem.startswith("mapping values are not allowed") and mark and not exc.context_mark:
            key = lines[mark.line].split(":", 1)[0].strip(" -")  # `- name: staff 45 min: 99490`: a second `: `
            diag = replace(diag, help=f"{COLON_HELP} {key}: '...'")
        elif mark and exc.context_mark and exc.context_mark.line < mark.line and not isinstance(exc, FactYAMLError):
            # (a syntax error, where YAML may have read on from a quote left open: a FactYAMLError
            # is of a document that parsed, whose quotes were all closed)
            opened = _unclosed_quote(lines, exc.context_mark.line, mark.line)
            if opened is not None:
                help_text = f'line {opened + 1 + offset} opens a `"` that it does not close: {QUOTE_HELP}'
                diag = replace(diag, help=help_text)
        if exc.context and exc.context_mark and exc.problem:
            at = exc.context_mark
            diag = replace(diag, related=((exc.context, span(name, at.line + 1 + offset, at.column + 1)),))
        return diag
    if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.character, int):
        # a character YAML does not allow (a NUL byte, an escape): shown where it is, not as PyYAML
        # words it (`position 20` of `"<unicode string>"`, the document's text)
        before = list(_BREAK.finditer(text, 0, exc.position))
        line, column = start + len(before), exc.position - (before[-1].end() if before else 0) + 1
        message = f"invalid YAML: unacceptable character U+{exc.character:04X} ({exc.reason})"
        return Diagnostic("facts/syntax", message, file=name, span=span(name, line, column))
    return Diagnostic("facts/syntax", f"invalid YAML: {exc}", file=name, span=span(name, start, 1))


def load_yaml_documents(text: str, name: str) -> list[object]:
    """YAML documents read the way fact bundles are (YAML 1.2, exact decimals); for test files."""
    documents: list[object] = []
    lines = iter(enumerate(io.BytesIO(text.encode("utf-8", "surrogatepass")).readlines(), start=1))
    for start, chunk in _yaml_documents(_yaml_lines(lines)):
        try:
            document = b"".join(chunk or []).decode("utf-8")
            documents.append(yaml.load(document, Loader=FactLoader))
        except (yaml.YAMLError, RecursionError) as exc:
            raise FactError([_yaml_diagnostic(exc, name, start, document)]) from None
    return documents
