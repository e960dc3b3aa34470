"""Reporting diagnostics on stderr: the one place the commands print a problem.

Below both `common.py` (loading the policy set, reading inputs) and `output.py` (an output that
cannot be written), which report through it. The engine is imported inside the functions so that
importing this module (for `--help`) stays cheap.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

if TYPE_CHECKING:
    from carepolicy.engine import Diagnostic
    from carepolicy.engine.source import SourceFile


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return "NO_COLOR" not in os.environ and callable(isatty) and bool(isatty())


def report(diagnostics: Iterable[Diagnostic], sources: Mapping[str, SourceFile] | None = None) -> None:
    """Diagnostics to stderr, in the one rendering the engine defines."""
    from carepolicy.engine import render_text

    items = list(diagnostics)
    if not items:
        return
    shown = dict(sources or {})
    shown.update({k: v for k, v in fact_sources(items).items() if k not in shown})
    click.echo(render_text(items, shown, color=use_color(sys.stderr)), err=True, nl=False)


def fact_sources(diagnostics: Iterable[Diagnostic]) -> dict[str, SourceFile]:
    """The text of the fact files that diagnostics point into, so the rendering can quote the line."""
    from carepolicy.engine.source import SourceFile

    found: dict[str, SourceFile] = {}
    for diag in diagnostics:
        name = diag.span.source if diag.span is not None else None
        if name is None or name in found or name.startswith("<") or name.endswith(".policy"):
            continue
        try:
            found[name] = SourceFile(name, Path(name).read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            continue
    return found


def diagnostic(code: str, message: str, *, help: str | None = None, file: str | None = None) -> Diagnostic:
    from carepolicy.engine import Diagnostic

    return Diagnostic(code, message, file=file, help=help)
