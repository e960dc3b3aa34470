"""Checked expressions -> one generated Python function each (the default expression backend).

`CodegenCompiler.compile(expr)` returns a function `f(env) -> value` with exactly the semantics of
`ExprCompiler.compile(expr)` (expr.py): three-valued logic, `UNKNOWN` propagation, the
same evaluation order and short-circuits, the same `env.memo` / `env.items` side effects. It is
one flat function instead of a tree of closures, so a condition costs one Python call instead of
one per node. codegen_writer.py writes the source; this module compiles it. `ExprCompiler` stays
available (`backend="closures"`), and tests/test_codegen.py checks the two against each other.

Why the `exec` below is safe: no policy text ever becomes code.

- Every name that comes from policy text (fact keys, definitions, parameters, switches, list and
  field names, enumeration values) is written only as the `repr()` of an exact `str`, which Python
  reads back as that string literal and nothing else (`codegen_names.text`).
- Literal values are written with `repr()` only for exact `bool`, `str`, `None` and small `int`.
  Every other value (`Decimal`, code sets, nested generated functions) is bound in the namespace
  under a name the generator invents (`_K3`) and never rendered as source.
- The only identifiers in the source are invented by the generator: `env`, the helpers below,
  locals such as `_facts` and `_v1` / `_e2`, constants `_K3`, and a fixed set of attribute names
  (`codegen_names.FIXED_NAMES`, `NUMBERED`). Each is checked (`str.isidentifier`,
  `keyword.iskeyword`, that list) before it is written, and after `compile()` every name the code
  object uses is checked against the same list again.
- The code runs in a fresh namespace holding only the helpers and its constants, with empty
  `__builtins__`: the generated code can call nothing else.

The source of a generated function is kept as `fn.__carepolicy_source__` (see `source_of`);
tracebacks name the policy file and line (`<carepolicy:generated ccm.policy:12>`).
"""

from __future__ import annotations

import functools
from decimal import Decimal
from types import CodeType, MappingProxyType
from typing import Any

from ..check.resolution import Resolution
from ..language import syntax as s
from .codegen_names import FIXED_NAMES, HELPER_NAMES, NUMBERED
from .codegen_selections import selection_source
from .codegen_writer import Writer
from .runtime import UNKNOWN, CodeSet, Fn, _divide, distinct_count, month_end, month_start, shift_months

_MISSING = object()  # a definition not yet in `env.memo`
_month_end_of = functools.lru_cache(maxsize=4096)(month_end)
_shifted = functools.lru_cache(maxsize=4096)(shift_months)


def _cached_month_end(month: Any) -> Any:
    """`month_end`, remembered for plain strings (it is pure; `calendar.monthrange` is not cheap)."""
    return _month_end_of(month) if type(month) is str else month_end(month)


def _cached_shift_months(value: Any, months: Any) -> Any:
    """`shift_months`, remembered for a plain string and int (it is pure)."""
    return _shifted(value, months) if type(value) is str and type(months) is int else shift_months(value, months)


_HELPERS: dict[str, Any] = {
    "_UNKNOWN": UNKNOWN,
    "_MISSING": _MISSING,
    "_EMPTY": MappingProxyType({}),  # an empty mapping no generated code can change
    "_isinstance": isinstance,
    "_dict": dict,
    "_min": min,
    "_max": max,
    "_sum": sum,
    "_distinct_count": distinct_count,
    "_shift_months": _cached_shift_months,
    "_month_start": month_start,
    "_month_end": _cached_month_end,
    "_divide": _divide,
}
assert set(_HELPERS) == set(HELPER_NAMES), "the writer and the namespace must agree on the helpers"


def constants_key(constants: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two sets of bound constants interchangeable, for caching generated functions.

    Code sets and numbers are compared by value (the writer makes a fresh one each time it meets
    the same literal); anything else (compiled headers, conditions, other generated functions) by
    identity, because the compiled set makes each of those once.
    """
    key: list[Any] = []
    for value in constants.values():
        if type(value) is frozenset:
            key.append(("set", tuple(sorted(repr(v) for v in value))))
        elif type(value) is CodeSet:
            key.append(("codes", tuple(sorted(repr(v) for v in value.exact)), value.ranges))
        elif type(value) is Decimal:
            key.append(("decimal", str(value)))
        else:
            key.append(("object", id(value)))
    return tuple(key)


def source_of(fn: Fn) -> str | None:
    """The Python source of a generated function (None for a closure), for debugging."""
    source = getattr(fn, "__carepolicy_source__", None)
    return source if isinstance(source, str) else None


def check_names(code: CodeType, extra_names: frozenset[str] = frozenset()) -> None:
    """Every name the compiled code uses is one the generator invented (checked again after compile)."""
    for name in (*code.co_names, *code.co_varnames, *code.co_cellvars, *code.co_freevars):
        if name not in FIXED_NAMES and name not in extra_names and not NUMBERED.fullmatch(name):
            raise AssertionError(f"unexpected name in generated code: {name!r}")
    for const in code.co_consts:
        if isinstance(const, CodeType):
            check_names(const, extra_names)


def compile_checked(
    source: str, name: str, where: str, constants: dict[str, Any], *, extra_names: frozenset[str] = frozenset()
) -> Any:
    """Compile generated source, check every name it uses, and return its function `name`.

    `constants` are the values the source refers to by invented names; with the helpers they are
    the only things the code can reach (its `__builtins__` is empty).
    """
    code = compile(source, f"<carepolicy:generated {where}>", "exec", dont_inherit=True)
    check_names(code, extra_names)
    namespace: dict[str, Any] = {"__builtins__": {}, **_HELPERS, **constants}
    exec(code, namespace)  # only defines the function; the module docstring says why this is safe
    fn = namespace[name]
    fn.__carepolicy_source__ = source
    return fn


class CodegenCompiler:
    """Turns checked expressions into generated functions; a drop-in for `ExprCompiler`."""

    def __init__(self, resolution: Resolution) -> None:
        self.resolution = resolution
        # the same source with the same constants is compiled once (a fact read in many conditions)
        self._cache: dict[tuple[str, tuple[Any, ...]], Fn] = {}
        # the ids of the conditions tested once per bundle (codegen_selections.py; set by the
        # compiled policy set, which sees every expression), and the function of each by id
        self.selections: frozenset[int] = frozenset()
        self._selection_fns: dict[int, tuple[s.Expr, Fn]] = {}

    @property
    def functions(self) -> int:
        """How many functions were generated and compiled."""
        return len(self._cache)

    def writer(self) -> Writer:
        """A writer for one generated function of this compiler's policy set."""
        return Writer(self.resolution, self.compile, self.selections, self.selection)

    def selection(self, condition: s.Expr, list_name: str) -> Fn:
        """The function that tests `condition` on every entry of `list_name` once per bundle
        (codegen_selections.py), made once per condition (the condition kept: its id stays its own)."""
        found = self._selection_fns.get(id(condition))
        if found is None:
            writer = self.writer()  # (a condition may start with another kept one)
            source = selection_source(writer, list_name, condition)
            where = f"{condition.span.source}:{condition.span.line}"
            fn: Fn = compile_checked(source, "_carepolicy_expr", where, writer.constants)
            found = self._selection_fns[id(condition)] = (condition, fn)
        return found[1]

    def compile(self, expr: s.Expr) -> Fn:
        writer = self.writer()
        source = writer.function(expr)
        key = (source, constants_key(writer.constants))
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        span = getattr(expr, "span", None)
        where = f"{span.source}:{span.line}" if span is not None else "?"
        fn: Fn = compile_checked(source, "_carepolicy_expr", where, writer.constants)
        self._cache[key] = fn
        return fn
