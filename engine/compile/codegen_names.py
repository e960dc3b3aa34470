"""The names generated source may contain, and the two checks that keep policy text out of it.

Every identifier the generators write (codegen_writer.py, codegen_plan.py) is one they invented:
the helpers codegen.py binds, the hoisted `env` attributes, a few attribute names, and numbered
locals and constants. `identifier` checks each before it is written; `text` writes a string from
policy text (a name, a key) only as its `repr()`, a string literal and never code. codegen.py
checks the compiled code against the same lists again (`check_names`).
"""

from __future__ import annotations

import keyword
import re

HELPER_NAMES = frozenset(
    {"_UNKNOWN", "_MISSING", "_EMPTY", "_isinstance", "_dict", "_min", "_max", "_sum"}
    | {"_distinct_count"}
    | {"_shift_months", "_month_start", "_month_end", "_divide"}
)
# `_facts = env.facts`, read once per call
HOISTED = ("facts", "params", "switches", "memo", "items", "month", "defines", "month_first", "month_last", "selected")
ATTRIBUTES = frozenset({*HOISTED, "compute", "get", "pop", "append"})
FIXED_NAMES = frozenset({*HELPER_NAMES, *(f"_{a}" for a in HOISTED), *ATTRIBUTES, "env", "_carepolicy_expr"})
NUMBERED = re.compile(r"_[veK][0-9]+")  # locals, list entries, constants


def identifier(name: str) -> str:
    """An identifier the generator invented, checked before it is written into source."""
    invented = name in FIXED_NAMES or NUMBERED.fullmatch(name) is not None
    if not (invented and name.isidentifier() and not keyword.iskeyword(name)):
        raise AssertionError(f"not a generated identifier: {name!r}")
    return name


def text(value: object) -> str:
    """A string from policy text (a name, a key), as a string literal: never as code."""
    if type(value) is not str:
        raise AssertionError(f"expected a str, found {type(value).__name__}")
    return repr(value)
