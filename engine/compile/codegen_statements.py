"""The statements of one generated function body, the level below what each expression writes.

Indentation and blocks, fresh numbered locals, constants bound by invented names, the `env`
attributes read once at the top, literals (written with `repr()` only for exact `bool`, `str`,
`None` and small `int`; anything else is bound as a constant, never rendered), and the UNKNOWN
guard every operator uses. The expression writer (codegen_writer.py) and the month-plan writer
(codegen_plan.py) write their statements through these.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .codegen_names import identifier
from .runtime import UNKNOWN

_SMALL_INT = 10**15


class Atom:
    """A value the generated code can read any number of times: a local, a constant or a literal."""

    __slots__ = ("known", "literal", "text")

    def __init__(self, text: str, *, known: bool = False, literal: bool = False) -> None:
        self.text = text
        self.known = known  # never UNKNOWN, so `is _UNKNOWN` tests can be left out
        self.literal = literal  # a literal in the source: `x is ...` on it would be a SyntaxWarning


class StatementWriter:
    """The body of one generated function, written one statement at a time.

    `scopes` holds, for each open block, what was read on every path to it: the expression writer
    reuses those fact reads (facts do not change while a bundle is evaluated).
    """

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 1
        self.count = 0
        self.constants: dict[str, Any] = {}
        self.hoisted: set[str] = set()
        self.scopes: list[dict[tuple[str, ...], Atom]] = [{}]

    def line(self, code: str) -> None:
        self.lines.append("    " * self.depth + code)

    @contextmanager
    def block(self, header: str) -> Iterator[None]:
        """The statements written inside run under `header` (an `if` / `elif` / `else` / `for` line)."""
        self.line(header)
        self.depth += 1
        self.scopes.append(dict(self.scopes[-1]))
        try:
            yield
        finally:
            self.scopes.pop()
            self.depth -= 1

    def fresh(self, prefix: str) -> str:
        self.count += 1
        return identifier(f"{prefix}{self.count}")

    def const(self, value: Any) -> Atom:
        name = self.fresh("_K")
        self.constants[name] = value
        return Atom(name, known=value is not UNKNOWN)

    def env(self, attribute: str) -> str:
        self.hoisted.add(attribute)
        return identifier(f"_{attribute}")

    def assign(self, code: str, *, known: bool = False) -> Atom:
        name = self.fresh("_v")
        self.line(f"{name} = {code}")
        return Atom(name, known=known)

    def var(self, atom: Atom) -> str:
        """A local holding the atom, for `is` tests (a literal is first copied into one)."""
        return self.assign(atom.text, known=atom.known).text if atom.literal else atom.text

    def literal(self, value: object) -> Atom:
        if value is None or type(value) in (bool, str) or (type(value) is int and abs(value) < _SMALL_INT):
            code = repr(value)
            return Atom(f"({code})" if code.startswith("-") else code, known=True, literal=True)
        return self.const(value)  # Decimal and anything else: bound by name, never rendered

    def guarded(self, code: str, *atoms: Atom, known: bool = True) -> Atom:
        """`code`, or UNKNOWN when any of `atoms` is (the rule of every operator)."""
        test = " or ".join(f"{a.text} is _UNKNOWN" for a in atoms if not a.known)
        if not test:
            return self.assign(code, known=known)
        return self.assign(f"_UNKNOWN if {test} else {code}")

    def none_is_unknown(self, atom: Atom) -> Atom:
        self.line(f"if {atom.text} is None:")
        self.line(f"    {atom.text} = _UNKNOWN")
        return atom
