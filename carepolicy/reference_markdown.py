"""Small Markdown helpers for the generated reference pages (kept apart so each generator stays short)."""

from __future__ import annotations

import html


def cell(text: object) -> str:
    """Text safe inside a Markdown table cell or list item: one line, no raw HTML, no column breaks."""
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


def fence(text: str, language: str = "text") -> list[str]:
    """A fenced code block long enough that no backtick run inside can close it."""
    longest = max((len(run) for run in text.split("`") if not run), default=0)
    ticks = "`" * max(3, longest + 3)
    return [f"{ticks}{language}", text.rstrip("\n"), ticks]
