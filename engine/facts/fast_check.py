"""The first pass of validation: a compiled Draft 2020-12 validator (jsonschema-rs) says "valid" fast.

Most bundles are valid, and for them jsonschema (pure Python) costs most of a batch's time. The
compiled validator answers valid-or-not for a fraction of that; only when it says "not valid" (or
cannot take the value at all, e.g. a YAML key that is not text) does jsonschema run, to word each
error. The two must agree on what is valid, so the compiled pass is trusted only where it sees
the same values: jsonschema-rs reads numbers as floats, which is exact here because the reader's
limits allow at most 15 significant digits (limits.py), and it counts `20.0` as an integer where
jsonschema does not, so the integer facts are checked to be Python ints on the way (an exact,
cheap walk of only the parts of the schema that hold integers).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from .skeleton import skeleton, values


@functools.cache
def _compiled(schema_text: str) -> Any:
    import json

    import jsonschema_rs  # imported on first use: 0.1 s, paid only by commands that validate

    return jsonschema_rs.Draft202012Validator(json.loads(schema_text))


def compiled_valid(schema_text: str, instance: object) -> bool:
    """The compiled validator's answer alone (False also when it cannot take the value); the caller
    keeps the integer facts to Python ints (fast_intake.py does, in its walk)."""
    try:
        return bool(_compiled(schema_text).is_valid(instance))
    except (ValueError, TypeError, OverflowError):  # a non-text key, a value it cannot convert
        return False


def is_valid(schema_text: str, schema: Mapping[str, Any], instance: object) -> bool:
    """True when the instance is certainly valid; False means "ask jsonschema" (it may still be valid)."""
    try:
        valid = bool(_compiled(schema_text).is_valid(instance))
    except (ValueError, TypeError, OverflowError):  # a non-text key, a value it cannot convert
        return False
    integers = values(skeleton(schema, "integer", _integer), instance)
    return valid and all(type(value) is int or value is None for _, value in integers)


def _integer(schema: Mapping[str, Any]) -> bool:
    kinds = schema.get("type")
    return kinds == "integer" or (isinstance(kinds, list) and "integer" in kinds)
