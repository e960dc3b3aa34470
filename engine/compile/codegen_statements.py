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

    __slots__ = ("boolean", "fallback", "guard", "known", "literal", "text", "value")

    def __init__(self, text: str, *, known: bool = False, literal: bool = False) -> None:
        self.text = text
        self.known = known  # never UNKNOWN, so `is _UNKNOWN` tests can be left out
        self.literal = literal  # a literal in the source: `x is ...` on it would be a SyntaxWarning
        # For a local assigned `FALLBACK if GUARD else VALUE` (or `VALUE` alone, guard None) by
        # `guarded` (FALLBACK `_UNKNOWN`) or `otherwise`: its parts, so that a test of it can be
        # written on them (`inline`). `boolean`: VALUE is always exactly True or False (a
        # comparison, `in`, `not`, `is`).
        self.guard: str | None = None
        self.value: str | None = None
        self.fallback = "_UNKNOWN"
        self.boolean = False

    def rhs(self) -> str:
        """What the local was assigned (for an atom with `value`)."""
        return f"{self.fallback} if {self.guard} else {self.value}" if self.guard else f"{self.value}"


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
        self.last: Atom | None = None  # the atom the last `guarded` assigned (see `inline`)

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

    def guarded(self, code: str, *atoms: Atom, known: bool = True, boolean: bool = False) -> Atom:
        """`code`, or UNKNOWN when any of `atoms` is (the rule of every operator).

        Worked out once per block: the operators are pure (on the same locals, which are assigned
        once, the same value, or the same exception the first time), so the same code in the same
        block (`x >= 20` in three requirements of a code) reuses the local of the first."""
        test = " or ".join(f"{a.text} is _UNKNOWN" for a in atoms if not a.known)
        key = ("\0expr", test, code)  # a key no path can be: path parts are identifiers
        seen = self.scopes[-1].get(key)
        if seen is not None:
            self.last = None
            return seen
        atom = self.assign(f"_UNKNOWN if {test} else {code}" if test else code, known=known and not test)
        atom.guard, atom.value, atom.boolean = test or None, code, boolean
        self.scopes[-1][key] = self.last = atom
        return atom

    def inline(self, atom: Atom) -> tuple[str | None, str, str] | None:
        """(guard, value, fallback) of `atom` when it was assigned by the statement just written and
        is read nowhere else (so the caller tests its parts instead: no local, no conditional
        expression); that statement is taken back. None otherwise."""
        if atom is not self.last or atom.value is None or not atom.boolean:
            return None
        if not self.lines or self.lines[-1] != "    " * self.depth + f"{atom.text} = {atom.rhs()}":
            return None
        self.lines.pop()
        key = ("\0expr", atom.guard or "", atom.value)  # (as `guarded` keeps it: no longer there to reuse)
        if self.scopes[-1].get(key) is atom:
            del self.scopes[-1][key]
        self.last = None
        return atom.guard, atom.value, atom.fallback

    @staticmethod
    def holds(parts: tuple[str | None, str, str], want: str) -> str:
        """An expression true exactly when the value `inline` gave the `parts` of is `want`
        ("True" or "False"): VALUE is a bool, and FALLBACK stands for it when GUARD holds."""
        guard, value, fallback = parts
        test = value if want == "True" else f"not ({value})"  # (`or` / `and` bind looser than VALUE)
        if guard is None:
            return test
        return f"{guard} or {test}" if fallback == want else f"not ({guard}) and {test}"

    def none_is_unknown(self, atom: Atom) -> Atom:
        self.line(f"if {atom.text} is None:")
        self.line(f"    {atom.text} = _UNKNOWN")
        return atom
