"""Base bundles for policy test cases: a case names a base and writes only what differs.

A case file may hold, next to `cases:`, a mapping `bases:` of name -> a full fact bundle. Base
names are shared by every case file of the folder (a name declared twice is an error). A case
with `base: NAME` gives in `facts:` only its changes, merged onto the base:

- a mapping is merged key by key, recursively (`beneficiary: {dual_status: qmb}` changes one
  field and keeps the others);
- anything else replaces the base's value whole: a scalar, `null`, and a **list** (lists are
  never merged item by item: `time:` lists every entry of the case);
- the string `<absent>` removes the key, for a fact the case must not have at all (`null` is a
  value of its own in a fact bundle, so it cannot mean "remove").

A case without `base` gives the whole bundle in `facts`, as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ABSENT = "<absent>"


def merge(base: Any, change: Any) -> Any:
    """`change` applied to `base` as documented above; neither argument is modified."""
    if not isinstance(base, Mapping) or not isinstance(change, Mapping):
        return change
    merged = dict(base)
    for key, value in change.items():
        if value == ABSENT:
            merged.pop(key, None)
        else:
            merged[key] = merge(base.get(key), value) if key in base else _without_absent(value)
    return merged


def _without_absent(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_absent(v) for k, v in value.items() if v != ABSENT}
    return value


def difference(base: Any, target: Any) -> Any:
    """The smallest change that `merge(base, change) == target` turns `base` into `target`.

    Used to rewrite full bundles in the base form (tools/rebase_cases.py); `merge` proves it.
    """
    if not isinstance(base, Mapping) or not isinstance(target, Mapping):
        return target
    change: dict[str, Any] = {}
    for key, value in target.items():
        if key not in base:
            change[key] = value
        elif base[key] != value or type(base[key]) is not type(value):
            change[key] = difference(base[key], value)
    for key in base:
        if key not in target:
            change[key] = ABSENT
    return change
