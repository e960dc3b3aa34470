"""Reporting diagnostics on stderr: the one place the commands print a problem.

Below both `common.py` (loading the policy set, reading inputs) and `output.py` (an output that
cannot be written), which report through it. The engine is imported inside the functions so that
importing this module (for `--help`) stays cheap.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from carepolicy.engine import Diagnostic
    from carepolicy.engine.source import LineSource


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return "NO_COLOR" not in os.environ and callable(isatty) and bool(isatty())


def report(diagnostics: Iterable[Diagnostic], sources: Mapping[str, LineSource] | None = None) -> None:
    """Diagnostics to stderr, in the one rendering the engine defines."""
    from carepolicy.engine import render_text

    items = list(diagnostics)
    if not items:
        return
    shown = dict(sources or {})
    shown.update({k: v for k, v in fact_sources(items, skip=shown).items() if k not in shown})
    click.echo(render_text(items, shown, color=use_color(sys.stderr)), err=True, nl=False)


_AROUND = 1_000  # characters read past a span's column: enough for the quoted window


@dataclass(frozen=True, slots=True)
class QuotedLines:
    """The lines of a fact file that diagnostics point at (each read up to a little past the span),
    not the file: a batch's input may be gigabytes, and the summary quotes one line of it."""

    lines: Mapping[int, str]

    def line(self, number: int) -> str:
        return self.lines.get(number, "")


def fact_sources(diagnostics: Iterable[Diagnostic], skip: Container[str] = ()) -> dict[str, LineSource]:
    """The lines of the fact files that diagnostics point into, so the rendering can quote them."""
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
            found[name] = QuotedLines(_read_lines(Path(name), columns))
        except OSError:
            continue
    return found


def _read_lines(path: Path, columns: Mapping[int, int]) -> dict[int, str]:
    """Lines `columns` names of `path` (its keys), each read up to `_AROUND` characters past its
    column; one pass that stops after the last, holding one line's start at a time."""
    lines: dict[int, str] = {}
    last = max(columns)
    with path.open("rb") as stream:
        for number in range(1, last + 1):
            limit = 4 * (columns.get(number, 0) + _AROUND)  # UTF-8: at most 4 bytes a character
            data = stream.readline(limit)
            if not data:
                break
            rest = data
            while not rest.endswith(b"\n"):  # skip what is past the limit, without holding it
                rest = stream.readline(limit)
                if not rest:
                    break
            if number in columns:
                text = data.decode("utf-8", errors="replace").rstrip("\n").removesuffix("\r")
                lines[number] = text.removeprefix("\ufeff") if number == 1 else text
    return lines


def diagnostic(code: str, message: str, *, help: str | None = None, file: str | None = None) -> Diagnostic:
    from carepolicy.engine import Diagnostic

    return Diagnostic(code, message, file=file, help=help)
