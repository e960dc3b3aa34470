"""Places in policy text: a source file and a span inside it.

Every AST node and every policy diagnostic carries a `Span`, so an analyst is always pointed
at a file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A policy file's name (as shown to users) and its full text."""

    name: str
    text: str

    def line(self, number: int) -> str:
        """The text of 1-based line `number`, without its newline ('' past the end)."""
        lines = self.text.splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""


@dataclass(frozen=True, slots=True)
class Span:
    """A region of a source file: 1-based line and column of its start and end."""

    source: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"

    @property
    def location(self) -> str:
        """`file:line`, the short form used in traces."""
        return f"{self.source}:{self.line}"


NO_SPAN = Span("<builtin>", 0, 0, 0, 0)
