"""Places in policy text: a source file and a span inside it.

Every AST node and every policy diagnostic carries a `Span`, so an analyst is always pointed
at a file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


def _line_starts(text: str) -> tuple[int, ...]:
    starts = [0]
    at = text.find("\n")
    while at != -1:
        starts.append(at + 1)
        at = text.find("\n", at + 1)
    return tuple(starts)


class LineSource(Protocol):
    """What quoting a span needs of a source: its lines, by 1-based number ('' when unknown)."""

    def line(self, number: int) -> str: ...


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A policy file's name (as shown to users) and its full text.

    Where each line starts is found once, when the file is made: quoting a span (a trace, a
    reason, a diagnostic) then costs the length of the span, not of the file, so a 10,000-rule
    file compiles in linear time. Lines end at `\n` only, as the parser counts them."""

    name: str
    text: str
    _starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_starts", _line_starts(self.text))

    @property
    def line_count(self) -> int:
        """Lines in the file; a final newline does not start another."""
        starts = self._starts
        return len(starts) - 1 if len(starts) > 1 and starts[-1] == len(self.text) else len(starts)

    def line(self, number: int) -> str:
        """The text of 1-based line `number`, without its newline ('' past the end)."""
        if not 0 < number <= self.line_count:
            return ""
        start = self._starts[number - 1]
        end = self._starts[number] - 1 if number < len(self._starts) else len(self.text)
        return self.text[start:end].removesuffix("\r")

    def lines(self, first: int, last: int) -> list[str]:
        """Lines `first` to `last` (1-based, inclusive), those that exist."""
        return [self.line(number) for number in range(max(first, 1), min(last, self.line_count) + 1)]


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
