"""One fact bundle: validated against the contract and normalised, or the reasons it cannot be.

Numbers are exact: decimals are `Decimal` from their source text, never via float, because a
patient's share is computed to the cent. Dates stay ISO strings, like months.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from ..diagnostics import Diagnostic, sort_diagnostics
from ..frozen_init import dict_init
from ..jsontext import canonical_bytes
from .fast_intake import bundle_id_of, fast_bundle
from .impossible import impossible_values
from .incomplete import entry_notes
from .limits import LOOKED_FOR, MAX_DIAGNOSTICS, LimitProblem, PathPart, Problem
from .plain_copy import plain_copy
from .schema import XTYPE, model_schema, shared_schema
from .schema_messages import describe, json_path, schema_diagnostics
from .skeleton import ITEMS, OTHER, skeleton, values
from .upgrade import bundle_version, fold_claims, fold_tcm_period, upgrade_v1


# made for every record: one dict update fills it (frozen_init.py)
@dict_init
@dataclass(frozen=True)
class Bundle:
    """One valid fact bundle, ready for evaluation.

    `data` is normalised: money is `Decimal`, `consent.service` is a tuple, lists are tuples, dates
    and months are ISO strings. Treat it as read-only. `facts_hash` identifies the facts as loaded,
    so a decision can be traced back to exactly the input it was made from.
    """

    id: str
    source: str
    index: int
    month: str
    data: Mapping[str, Any]
    facts_hash: str
    notes: tuple[str, ...] = ()  # what was read but does not count, e.g. time dated outside the month


@dataclass(frozen=True, slots=True)
class BundleError:
    """A bundle that cannot be evaluated, with every problem found in it (sorted, never empty).

    `id` is the bundle's own `id` when it could be read (`id_given`), else the reader's name for it,
    its position `#n`: a caller that names bundles otherwise (Spark: by partition) renames exactly
    those, as text alone cannot tell them apart (a bundle may give itself the id `#3`)."""

    id: str
    source: str
    index: int
    diagnostics: tuple[Diagnostic, ...]
    id_given: bool = False


def validate_bundle(obj: object, *, source: str, index: int, parsed: bool = False) -> Bundle | BundleError:
    """Check one loaded bundle against the contract and normalise it; never raises for bad facts.
    `parsed`: `obj` was read from a file's text (plain_copy says what that changes)."""
    if not isinstance(obj, Mapping):
        bundle_id = f"#{index + 1}"
        message = f"expected a fact bundle (a mapping), found {describe(obj)}"
        diag = Diagnostic("facts/not-a-bundle", message, fact_path="$", file=source, bundle=bundle_id)
        return BundleError(bundle_id, source, index, (diag,))
    if type(obj) is dict:  # the normal path: one walk (fast_intake.py); None when it is not sure
        fast = fast_bundle(obj, index)
        if fast is not None:
            bundle_id, month, data, notes = fast
            return Bundle(bundle_id, source, index, month, data, _facts_hash(obj), notes)
    return validate_precisely(obj, source=source, index=index, parsed=parsed)


def validate_precisely(
    obj: Mapping[Any, Any], *, source: str, index: int, parsed: bool = False
) -> Bundle | BundleError:
    """Every check, one after the other, each wording its errors: the path of any bundle the fast
    path is not sure of, and the reference the fast path is tested against."""
    problems: list[LimitProblem] = []
    unreadable: list[Problem] = []  # a caller's mapping that raised when read (facts/io)
    copied = plain_copy(obj, problems, unreadable, parsed=parsed)
    raw = cast("dict[str, Any]", copied if isinstance(copied, dict) else {})  # (None: `obj` itself was unreadable)
    # from the checked copy, where an id over a limit (too long, a lone surrogate) is replaced by "":
    # such an id is never shown, and is not the empty id a bundle may give
    spoilt = any(path == ["id"] for path, _ in problems)
    given = not spoilt and isinstance(raw.get("id"), str)
    bundle_id = bundle_id_of(raw, index) if given else f"#{index + 1}"
    # paths are found in the copy, not in `obj`: a caller's mapping is read once (a second reading may
    # raise); of each kind of problem, the first LOOKED_FOR found are all that are worded (_listed)
    diagnostics = [
        _fact_diagnostic("facts/limit", p, limit.message, raw, source, bundle_id, limit.help)
        for p, limit in problems[:LOOKED_FOR]
    ]
    diagnostics.extend(
        _fact_diagnostic("facts/io", path, msg, raw, source, bundle_id) for path, msg in unreadable[:LOOKED_FOR]
    )
    version = bundle_version(raw)
    if not diagnostics:
        diagnostics.extend(schema_diagnostics(raw, source=source, bundle=bundle_id, version=version, most=LOOKED_FOR))
    if not diagnostics:
        money = list(values(skeleton(shared_schema(version), "money", _is_money), raw))
        found = itertools.islice(impossible_values(raw, money), LOOKED_FOR)
        diagnostics.extend(_fact_diagnostic("facts/impossible", p, msg, raw, source, bundle_id) for p, msg in found)
    if diagnostics:
        return BundleError(bundle_id, source, index, _listed(sort_diagnostics(diagnostics), source, bundle_id), given)
    # v1 stays accepted: read as the v2 it means (a v2 bundle giving v1's `consent` was refused above)
    latest = fold_claims(fold_tcm_period(upgrade_v1(raw) if version == 1 else raw))
    data = cast("dict[str, Any]", _normalize(skeleton(model_schema(), "normal", _normal_form), latest))
    notes = entry_notes(raw)
    return Bundle(bundle_id, source, index, raw["month"], data, _facts_hash(raw), notes)


def _listed(diagnostics: tuple[Diagnostic, ...], source: str, bundle: str) -> tuple[Diagnostic, ...]:
    """The first MAX_DIAGNOSTICS problems found (in path order), and one that says others were.

    Looking stopped at the first past them (LOOKED_FOR), so how many others there are is not known:
    the message says so rather than give a count that would be a guess."""
    if len(diagnostics) <= MAX_DIAGNOSTICS:
        return diagnostics
    message = (f"more problems in this bundle are not listed: an error record lists at most {MAX_DIAGNOSTICS} "
               f"for one bundle, and reading it stops at problem {LOOKED_FOR}, so the others are not counted")
    hint = "fix the problems listed (the others are often the same one, repeated), then read the bundle again"
    left_out = Diagnostic("facts/limit", message, fact_path="$", file=source, bundle=bundle, help=hint)
    return (*diagnostics[:MAX_DIAGNOSTICS], left_out)


def _fact_diagnostic(
    code: str, path: list[PathPart], message: str, root: object, source: str, bundle: str, help_text: str | None = None
) -> Diagnostic:
    return Diagnostic(code, message, fact_path=json_path(path, root), file=source, bundle=bundle, help=help_text)


def _is_money(schema: Mapping[str, Any]) -> bool:
    return schema.get(XTYPE) == "money"


def _normalize(shape: Any, value: object) -> object:
    """The evaluator's view of a valid bundle: money as Decimal, a service set as a tuple, lists as tuples.

    `shape` is the skeleton of the money and set facts (skeleton.py): plain dict lookups instead of
    resolving the schema at every node, which cost more than validating the bundle.
    """
    kind = type(value)
    if kind is dict:
        shaped = type(shape) is dict
        other = shape.get(OTHER) if shaped else None
        out: dict[Any, object] = {}
        for key, item in value.items():  # type: ignore[attr-defined]
            part = shape.get(key, other) if shaped else None
            leaf = type(item)
            # a plain leaf is kept as it is, without a call: most values of a bundle are
            out[key] = item if part is None and leaf is not dict and leaf is not list else _normalize(part, item)
        return out
    if shape == "set":
        return tuple(cast(list[object], value)) if kind is list else (value,)
    if kind is list:
        items = shape.get(ITEMS) if type(shape) is dict else None
        return tuple(_normalize(items, item) for item in value)  # type: ignore[attr-defined]
    if shape == "money" and (kind is int or kind is Decimal):
        return Decimal(value)  # type: ignore[arg-type]
    return value


def _normal_form(schema: Mapping[str, Any]) -> str | None:
    xtype = schema.get(XTYPE)
    return xtype if xtype in ("money", "set") else None


def _facts_hash(raw: object) -> str:
    """sha256 of the canonical JSON of the bundle as loaded; Decimals are written as their text."""
    return hashlib.sha256(canonical_bytes(raw, default=_decimal_text)).hexdigest()  # orjson: same bytes


def _decimal_text(value: object) -> str | int:
    """A Decimal as the hash writes it: its text, as a JSON string, except a whole number written
    without a point or an exponent (`Decimal(10)`, `Decimal("0")`), which is the int a file's `10`
    is read as: the Python API's `Decimal(0)` and a file's `0` are one amount written alike, so
    they give one facts hash and decision id (they gave two before, found by
    tests/test_input_routes.py). typed_intake.money writes the same."""
    if isinstance(value, Decimal):
        return int(value) if value.is_finite() and value.as_tuple().exponent == 0 else str(value)
    raise TypeError(f"not JSON: {value!r}")
