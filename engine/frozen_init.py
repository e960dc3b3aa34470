"""`dict_init`: a frozen dataclass's `__init__` that fills the instance in one dict update.

A frozen dataclass's generated `__init__` sets each field with `object.__setattr__`, one call a
field; the results made for every record of a batch (a decision has 18 fields; reasons, denials,
lines, shares, prices, bundles) paid that on every record. This `__init__` takes the same
parameters, in the same order with the same defaults, and sets every field with one
`self.__dict__.update(...)` (callgrind, `carepolicy batch --trace compact`: -2.5% instructions a
record over nine classes, session 31). The class keeps `@dataclass(frozen=True)` (without slots:
the update needs the instance dict), so type checkers, equality, hashing, repr and `replace` are
the dataclass's own; only `__init__` is replaced. tests/test_model_init.py holds each to its fields.

The function is written from the fields and compiled once a class, as `dataclasses` writes its
own: every name is checked to be an identifier, and defaults are passed in by name, never as text.
"""

from __future__ import annotations

import dataclasses
import keyword
from typing import Any, TypeVar

T = TypeVar("T")


def dict_init(cls: type[T]) -> type[T]:
    """Replace the `__init__` of the frozen dataclass `cls` with one that sets every field (those
    outside `__init__` to their defaults) in one dict update."""
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__slots__"):
        raise TypeError(f"{cls.__name__}: dict_init needs a dataclass without slots")
    parameters: list[str] = []
    values: list[str] = []
    defaults: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.name.isidentifier() or keyword.iskeyword(f.name) or f.name.startswith("_default_"):
            raise TypeError(f"{cls.__name__}: field name {f.name!r} cannot be a parameter")
        if f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: dict_init does not take a default_factory")
        default = f"_default_{f.name}"
        if f.default is not dataclasses.MISSING:
            defaults[default] = f.default
        if not f.init:
            if f.default is dataclasses.MISSING:  # the dataclass leaves it unset; one update cannot
                raise TypeError(f"{cls.__name__}.{f.name}: dict_init needs a default for a field outside __init__")
            values.append(f"{f.name}={default}")
            continue
        parameters.append(f"{f.name}={default}" if f.default is not dataclasses.MISSING else f.name)
        values.append(f"{f.name}={f.name}")
    source = f"def __init__(self, {', '.join(parameters)}):\n    self.__dict__.update({', '.join(values)})\n"
    namespace: dict[str, Any] = dict(defaults)
    exec(compile(source, f"<dict_init of {cls.__qualname__}>", "exec"), namespace)  # (every name checked above)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
