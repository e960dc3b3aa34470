"""The input side of `batch`: every input record, one at a time, never the whole input at once.

JSON Lines files are read line by line and each line is handed on undecoded (`RawRecord`): it is
decoded and validated where it is evaluated, in a worker process with `--jobs`, so reading stays
cheap in the process that writes the output. YAML and JSON files are read whole by the engine's
reader (a YAML stream or a JSON array is one document; they are small next to a JSONL pipeline
input) and their bundles handed on one by one. When the engine's reader gives bundles lazily this
module keeps its interface: `read_work` yields the records in input order, one `Work` each.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, TypeAlias

from .common import ErrorRecord, Item, read_inputs

if TYPE_CHECKING:
    from carepolicy.engine import Bundle, BundleError

_JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One line of a JSON Lines file, not decoded yet."""

    source: str
    index: int  # the record's place in its file, from 0
    lineno: int
    text: str


Work: TypeAlias = "Item | RawRecord"


def read_work(paths: Sequence[str]) -> Iterator[Work]:
    """Every input record of every path, in order; an unreadable file is one error record."""
    for path in paths:
        if path != "-" and path.lower().endswith(_JSONL_SUFFIXES):
            yield from _json_lines(path)
        else:
            yield from read_inputs([path])


def _json_lines(path: str) -> Iterator[Work]:
    try:
        stream = open(path, "rb")  # noqa: SIM115 — closed below; bytes: split at b"\n" only, as JSON wants
    except OSError:
        yield from read_inputs([path])  # the reader words the error as for any other input
        return
    index = 0
    with stream:
        for lineno, line in enumerate(stream, start=1):
            if lineno == 1 and line.startswith(b"\xef\xbb\xbf"):  # a byte-order mark from a Windows editor
                line = line[3:]
            if not line.strip():
                continue
            try:
                yield RawRecord(path, index, lineno, line.rstrip(b"\r\n").decode("utf-8"))
            except UnicodeDecodeError as exc:  # spoils only its own record
                yield _syntax_error(path, index, lineno, exc.start + 1, f"not UTF-8 text (byte {exc.start + 1})")
            index += 1
    if index == 0:
        yield _file_error(path, "facts/empty", f"`{path}` holds no fact bundles")


def _file_error(path: str, code: str, message: str) -> ErrorRecord:
    from carepolicy.engine import Diagnostic

    return ErrorRecord(None, path, (Diagnostic(code=code, message=message, file=path),))


def _syntax_error(source: str, index: int, lineno: int, column: int, problem: str) -> BundleError:
    """The error record of a line that is not JSON, worded as the engine's reader words it."""
    from carepolicy.engine import BundleError, Diagnostic
    from carepolicy.engine.source import Span

    bundle_id = f"#{index + 1}"
    where = Span(source, lineno, column, lineno, column + 1)
    message = f"invalid JSON: {problem[:1].lower()}{problem[1:]}"
    diag = Diagnostic("facts/syntax", message, span=where, file=source, bundle=bundle_id)
    return BundleError(bundle_id, source, index, (diag,))


def decode(record: RawRecord) -> Bundle | BundleError:
    """One JSON line as a validated bundle, or the error that stands in its place."""
    from carepolicy.engine.facts.reader import validate_bundle

    try:
        obj = json.loads(record.text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        return _syntax_error(record.source, record.index, record.lineno, exc.colno, exc.msg)
    except (ValueError, RecursionError) as exc:  # an integer of thousands of digits, nesting too deep
        return _syntax_error(record.source, record.index, record.lineno, 1, str(exc))
    return validate_bundle(obj, source=record.source, index=record.index)


def record_id(work: Work) -> str | None:
    """The bundle id the output line of this record carries (what `--resume` checks)."""
    from carepolicy.engine import Bundle, BundleError

    if isinstance(work, RawRecord):
        fallback = f"#{work.index + 1}"
        try:
            obj = json.loads(work.text, parse_float=Decimal)
        except (ValueError, RecursionError):
            return fallback
        raw = obj.get("id") if isinstance(obj, dict) else None
        return raw if isinstance(raw, str) and raw else fallback
    if isinstance(work, Bundle | BundleError):
        return work.id
    return work.bundle_id


__all__ = ["RawRecord", "Work", "decode", "read_work", "record_id"]
