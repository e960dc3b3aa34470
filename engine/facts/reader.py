"""Loading fact bundles: fact files in, validated and normalised bundles (or their diagnostics) out.

A file is parsed whole, then split into bundles, and each bundle is validated on its own, so one bad
bundle never hides the others. Only a file that cannot be read or parsed at all raises `FactError`.
The contract is fact bundle v1; its JSON Schema (see `fact_schema.py`) decides what is valid.

Numbers are read exactly: YAML and JSON decimals become `Decimal` from their source text, never via
float, because a patient's share is computed to the cent. Dates stay ISO strings, like months (YAML
would otherwise make `2025-03-04` a `datetime.date` but leave `2025-03` as text).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import yaml

from ..diagnostics import Diagnostic, FactError, sort_diagnostics
from ..jsontext import canonical_bytes
from ..source import Span
from .schema import (
    XTYPE,
    PathPart,
    Problem,
    Schema,
    describe,
    fact_schema,
    fact_types,
    json_path,
    schema_diagnostics,
    shared_schema,
    show,
    subschema,
)

__all__ = [
    "Bundle",
    "BundleError",
    "fact_schema",
    "fact_types",
    "load_fact_file",
    "load_fact_text",
    "validate_bundle",
]

_FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}


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


# --- reading files -------------------------------------------------------------------------------


def load_fact_file(path: str | Path) -> list[Bundle | BundleError]:
    """Every bundle in a fact file, in file order; the format follows the extension (`-` is stdin, YAML).

    An unknown extension is read as YAML, which also reads JSON (`/dev/fd/63` from a shell has none).
    """
    if str(path) == "-":
        return load_fact_text(sys.stdin.read(), name="<stdin>", fmt="yaml")
    path = Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: tolerate a byte-order mark from Windows editors
    except FileNotFoundError:
        raise _fail("facts/io", f"cannot read `{name}`: no such file", name) from None
    except UnicodeDecodeError as exc:
        raise _fail("facts/io", f"cannot read `{name}`: not UTF-8 text (byte {exc.start})", name) from None
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise _fail("facts/io", f"cannot read `{name}`: {reason}", name) from None
    return load_fact_text(text, name=name, fmt=_FORMATS.get(path.suffix.lower(), "yaml"))


def load_fact_text(text: str, *, name: str, fmt: str) -> list[Bundle | BundleError]:
    """Every bundle in `text` (`fmt`: "yaml", "json" or "jsonl"); `name` is shown in diagnostics."""
    if fmt == "jsonl":
        return _load_json_lines(text, name)
    if fmt == "json":
        documents = [_parse_json(text, name)]
    elif fmt == "yaml":
        documents = _parse_yaml(text, name)
    else:
        raise ValueError(f"unknown fact format {fmt!r} (expected 'yaml', 'json' or 'jsonl')")
    items = _split(documents, name)
    return [validate_bundle(item, source=name, index=index) for index, item in enumerate(items)]


def _split(documents: list[object], name: str) -> list[object]:
    """The bundles of a file: one mapping, a list of them, or a YAML stream of either."""
    present = [doc for doc in documents if doc is not None]  # `---` at the end makes an empty document
    if not present:
        raise _fail("facts/empty", f"`{name}` holds no fact bundles", name)
    if len(present) == 1 and not isinstance(present[0], dict | list):
        message = f"a fact file holds a mapping or a list of mappings, found {describe(present[0])}"
        raise _fail("facts/not-a-bundle", message, name)
    items: list[object] = []
    for doc in present:
        items.extend(doc if isinstance(doc, list) else [doc])
    return items


def _load_json_lines(text: str, name: str) -> list[Bundle | BundleError]:
    """One bundle per line; a line that is not JSON spoils only its own bundle."""
    results: list[Bundle | BundleError] = []
    # split on "\n" only: str.splitlines() would also split at U+2028, which JSON strings may hold
    for lineno, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        index = len(results)
        try:
            obj = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            bundle_id = f"#{index + 1}"
            diag = replace(_syntax_error("JSON", exc.msg, name, lineno, exc.colno), bundle=bundle_id)
            results.append(BundleError(bundle_id, name, index, (diag,)))
            continue
        results.append(validate_bundle(obj, source=name, index=index))
    if not results:
        raise _fail("facts/empty", f"`{name}` holds no fact bundles", name)
    return results


def _parse_json(text: str, name: str) -> object:
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise FactError([_syntax_error("JSON", exc.msg, name, exc.lineno, exc.colno)]) from None


def _parse_yaml(text: str, name: str) -> list[object]:
    try:
        return list(yaml.load_all(text, Loader=_FACT_LOADER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        diag = _syntax_error("YAML", exc.problem or exc.context or "unreadable", name, line, column)
        if exc.context and exc.context_mark and exc.problem:
            at = exc.context_mark
            diag = replace(diag, related=((exc.context, _span(name, at.line + 1, at.column + 1)),))
        raise FactError([diag]) from None
    except yaml.YAMLError as exc:  # e.g. a control character: no position to point at
        raise _fail("facts/syntax", f"invalid YAML: {exc}", name) from None


def _syntax_error(kind: str, problem: str, name: str, line: int, column: int) -> Diagnostic:
    message = f"invalid {kind}: {problem[:1].lower()}{problem[1:]}"
    return Diagnostic(code="facts/syntax", message=message, span=_span(name, line, column), file=name)


def _span(name: str, line: int, column: int) -> Span:
    return Span(name, line, column, line, column + 1)


def _fail(code: str, message: str, name: str) -> FactError:
    return FactError([Diagnostic(code=code, message=message, file=name)])


# --- YAML without its surprises ------------------------------------------------------------------


def _yaml_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    """A YAML float as a Decimal, from the scalar's own text: `66.13` stays exactly 66.13."""
    text = str(loader.construct_scalar(cast(yaml.ScalarNode, node))).replace("_", "")
    negative = text.startswith("-")
    body = text.lstrip("+-")
    if body.lower() in (".inf", ".nan"):  # kept, so that validation can name it
        value = Decimal(body[1:])
    elif ":" in body:  # YAML 1.1 base 60: `1:30.5` is 90.5
        value = Decimal(0)
        for digits in body.split(":"):
            value = value * 60 + Decimal(digits)
    else:
        value = Decimal(body)
    return -value if negative else value


def _make_loader() -> type[yaml.SafeLoader]:
    """The C loader when libyaml is present (about 8x faster), minus the timestamp resolver."""
    base = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    loader = cast("type[yaml.SafeLoader]", type("FactLoader", (base,), {}))
    loader.yaml_implicit_resolvers = {
        first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in base.yaml_implicit_resolvers.items()
    }
    loader.add_constructor("tag:yaml.org,2002:float", _yaml_decimal)
    return loader


_FACT_LOADER = _make_loader()


# --- one bundle ----------------------------------------------------------------------------------


def validate_bundle(obj: object, *, source: str, index: int) -> Bundle | BundleError:
    """Check one loaded bundle against the contract and normalise it; never raises for bad facts."""
    raw_id = obj.get("id") if isinstance(obj, Mapping) else None
    bundle_id = raw_id if isinstance(raw_id, str) and raw_id else f"#{index + 1}"
    if not isinstance(obj, Mapping):
        message = f"expected a fact bundle (a mapping), found {describe(obj)}"
        diag = Diagnostic("facts/not-a-bundle", message, fact_path="$", file=source, bundle=bundle_id)
        return BundleError(bundle_id, source, index, (diag,))
    problems: list[Problem] = []
    raw = cast("dict[str, Any]", _plain(obj, [], problems))
    diagnostics = [
        Diagnostic("facts/schema", message, fact_path=json_path(path, obj), file=source, bundle=bundle_id)
        for path, message in problems
    ]
    diagnostics.extend(schema_diagnostics(raw, source=source, bundle=bundle_id))
    if diagnostics:
        return BundleError(bundle_id, source, index, sort_diagnostics(diagnostics))
    data = cast("dict[str, Any]", _normalize(shared_schema(), raw))
    return Bundle(bundle_id, source, index, raw["month"], data, _facts_hash(raw))


def _plain(value: object, path: list[PathPart], problems: list[Problem]) -> object:
    """A JSON-shaped copy of what a caller handed in: mappings become dicts, tuples lists, floats Decimal.

    Lets Python callers pass floats, tuples or an earlier `Bundle.data`. A float becomes the Decimal of
    its shortest text (`repr`), so 66.13 is 66.13. Infinities and NaN are reported here and replaced
    by 0, so no later check does arithmetic on them.
    """
    if isinstance(value, Mapping):
        return {key: _plain(item, [*path, key], problems) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, [*path, i], problems) for i, item in enumerate(value)]
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal) and not value.is_finite():
        problems.append((path, f"`{show(value)}` is not a finite number"))
        return 0
    return value


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
    return hashlib.sha256(canonical_bytes(raw, default=_decimal_text)).hexdigest()  # orjson: same bytes


def _decimal_text(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON: {value!r}")


def load_yaml_documents(text: str, name: str) -> list[object]:
    """YAML documents read the way fact bundles are (dates as text, exact decimals); for test files."""
    return _parse_yaml(text, name)
