"""Reporting diagnostics on stderr: the one place the commands print a problem.

Below both `common.py` (loading the policy set, reading inputs) and `output.py` (an output that
cannot be written), which report through it. The engine is imported inside the functions so that
importing this module (for `--help`) stays cheap.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, AnyStr, TextIO

import click

if TYPE_CHECKING:
    from carepolicy.engine import Diagnostic
    from carepolicy.engine.source import LineSource


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return "NO_COLOR" not in os.environ and callable(isatty) and bool(isatty())


def report(diagnostics: Iterable[Diagnostic], sources: Mapping[str, LineSource] | None = None, *,
           input_format: str | None = None) -> None:
    """Diagnostics to stderr, in the one rendering the engine defines (`input_format`: --input-format)."""
    from carepolicy.engine import render_text

    items = list(diagnostics)
    if not items:
        return
    shown = dict(sources or {})
    found = fact_sources(items, skip=shown, input_format=input_format)
    shown.update({k: v for k, v in found.items() if k not in shown})
    click.echo(render_text(items, shown, color=use_color(sys.stderr)), err=True, nl=False)


_AROUND = 1_000  # characters read past a span's column: enough for the quoted window


@dataclass(frozen=True, slots=True)
class QuotedLines:
    """The lines of a fact file that diagnostics point at (each read up to a little past the span),
    not the file: a batch's input may be gigabytes, and the summary quotes one line of it."""

    lines: Mapping[int, str]

    def line(self, number: int) -> str:
        return self.lines.get(number, "")


def fact_sources(diagnostics: Iterable[Diagnostic], skip: Container[str] = (),
                 input_format: str | None = None) -> dict[str, LineSource]:
    """The lines of the fact files that diagnostics point into, so the rendering can quote them
    (`input_format`: the files' format as --input-format gives it; None: as the reader takes it)."""
    wanted: dict[str, dict[int, int]] = {}  # file -> line -> the last column to quote
    for diag in diagnostics:
        span = diag.span
        name = span.source if span is not None else None
        if span is None or name is None or name in skip or name.startswith("<") or name.endswith(".policy"):
            continue
        columns = wanted.setdefault(name, {})
        columns[span.line] = max(columns.get(span.line, 0), span.column)
    found: dict[str, LineSource] = {}
    for name, columns in wanted.items():
        try:
            found[name] = QuotedLines(_read_lines(Path(name), columns, input_format))
        except OSError:
            continue
    return found


def _read_lines(path: Path, columns: Mapping[int, int], input_format: str | None = None) -> dict[int, str]:
    """Lines `columns` names of `path` (its keys), each read up to `_AROUND` characters past its
    column; one pass that stops after the last, holding one line's start at a time. The lines are
    numbered as the reader numbers them: at LF for JSON, and for YAML also at a lone CR."""
    with path.open("rb") as stream:
        if _is_yaml(path, stream, input_format):
            # universal newlines break at LF, CRLF and a lone CR: YAML 1.2's line breaks, as
            # engine/facts/yaml_records.py counts them (read at LF, an old-Mac file was one line)
            text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=None)
            lines = _lines_of(text.readline, "\n", columns)
        else:
            found = _lines_of(stream.readline, b"\n", columns)
            lines = {number: data.decode("utf-8", errors="replace") for number, data in found.items()}
    lines = {number: data.rstrip("\n").removesuffix("\r") for number, data in lines.items()}
    if 1 in lines:
        lines[1] = lines[1].removeprefix("\ufeff")
    return lines


def _lines_of(readline: Callable[[int], AnyStr], end: AnyStr, columns: Mapping[int, int]) -> dict[int, AnyStr]:
    lines: dict[int, AnyStr] = {}
    for number in range(1, max(columns) + 1):
        limit = 4 * (columns.get(number, 0) + _AROUND)  # UTF-8: at most 4 bytes a character
        data = readline(limit)
        if not data:
            break
        rest = data
        while not rest.endswith(end):  # skip what is past the limit, without holding it
            rest = readline(limit)
            if not rest:
                break
        if number in columns:
            lines[number] = data
    return lines


def _is_yaml(path: Path, stream: IO[bytes], input_format: str | None) -> bool:
    """Whether the reader reads `path` as YAML: by --input-format, its extension, or else (as
    engine/facts/records.py detects it) unless its first character that is not white space opens
    a JSON object or list. `stream` is left at its start."""
    from carepolicy.engine.facts.records import input_format_of

    fmt = input_format or input_format_of(path)
    if fmt is not None:
        return fmt == "yaml"
    first = b""
    while not first and (block := stream.read(1 << 16)):
        first = (block.removeprefix(b"\xef\xbb\xbf") if stream.tell() == len(block) else block).lstrip()
    stream.seek(0)
    return first[:1] not in (b"{", b"[")


def diagnostic(code: str, message: str, *, help: str | None = None, file: str | None = None) -> Diagnostic:
    from carepolicy.engine import Diagnostic

    return Diagnostic(code, message, file=file, help=help)
