"""One fact bundle: validated against the contract and normalised, or the reasons it cannot be.

Numbers are exact: decimals are `Decimal` from their source text, never via float, because a
patient's share is computed to the cent. Dates stay ISO strings, like months.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from ..diagnostics import Diagnostic, sort_diagnostics
from .limits import PathPart, Problem, impossible_values, plain_copy
from .schema import XTYPE, Schema, describe, json_path, schema_diagnostics, shared_schema, subschema
from .upgrade import bundle_version, upgrade_v1


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class BundleError:
    """A bundle that cannot be evaluated, with every problem found in it (sorted, never empty)."""

    id: str
    source: str
    index: int
    diagnostics: tuple[Diagnostic, ...]


def validate_bundle(obj: object, *, source: str, index: int) -> Bundle | BundleError:
    """Check one loaded bundle against the contract and normalise it; never raises for bad facts."""
    if not isinstance(obj, Mapping):
        bundle_id = f"#{index + 1}"
        message = f"expected a fact bundle (a mapping), found {describe(obj)}"
        diag = Diagnostic("facts/not-a-bundle", message, fact_path="$", file=source, bundle=bundle_id)
        return BundleError(bundle_id, source, index, (diag,))
    problems: list[Problem] = []
    raw = cast("dict[str, Any]", plain_copy(obj, [], problems))
    raw_id = raw.get("id")  # from the checked copy: an id too long or not text is never shown
    bundle_id = raw_id if isinstance(raw_id, str) and raw_id else f"#{index + 1}"
    diagnostics = [_fact_diagnostic("facts/limit", path, msg, obj, source, bundle_id) for path, msg in problems]
    version = bundle_version(raw)
    if not diagnostics:
        diagnostics.extend(schema_diagnostics(raw, source=source, bundle=bundle_id, version=version))
    if not diagnostics:
        money = list(_typed(shared_schema(), raw, [], "money"))
        found = impossible_values(raw, money)
        diagnostics.extend(_fact_diagnostic("facts/impossible", p, msg, raw, source, bundle_id) for p, msg in found)
    if diagnostics:
        return BundleError(bundle_id, source, index, sort_diagnostics(diagnostics))
    latest = upgrade_v1(raw) if version == 1 else raw  # v1 stays accepted: read as the v2 it means
    data = cast("dict[str, Any]", _normalize(shared_schema(), latest))
    return Bundle(bundle_id, source, index, raw["month"], data, _facts_hash(raw))


def _fact_diagnostic(
    code: str, path: list[PathPart], message: str, root: object, source: str, bundle: str
) -> Diagnostic:
    return Diagnostic(code, message, fact_path=json_path(path, root), file=source, bundle=bundle)


def _typed(
    schema: Schema | None, value: object, path: list[PathPart], xtype: str
) -> Iterator[tuple[list[PathPart], Any]]:
    """Every value of one `x-carepolicy-type` in a valid bundle, with its path."""
    if schema is None:
        return
    if schema.get(XTYPE) == xtype:
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _typed(subschema(schema, key), item, [*path, key], xtype)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from _typed(schema["items"], item, [*path, i], xtype)


def _normalize(schema: Schema | None, value: object) -> object:
    """The evaluator's view of a valid bundle: money as Decimal, a service set as a tuple, lists as tuples."""
    xtype = schema.get(XTYPE) if schema else None
    if xtype == "money" and isinstance(value, int | Decimal):
        return Decimal(value)
    if xtype == "set":
        return tuple(value) if isinstance(value, list) else (value,)
    if isinstance(value, dict):
        return {key: _normalize(subschema(schema, key) if schema else None, v) for key, v in value.items()}
    if isinstance(value, list):
        items = schema.get("items") if schema else None
        return tuple(_normalize(items, item) for item in value)
    return value


def _facts_hash(raw: object) -> str:
    """sha256 of the canonical JSON of the bundle as loaded; Decimals are written as their text."""
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_decimal_text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _decimal_text(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON: {value!r}")
