"""The fact-bundle reference page, generated from the JSON Schemas the engine validates against.

One table per schema version (`engine/facts/schemas/fact-bundle-v*.json`): every field's path,
JSON type, carepolicy type and description. Built by the docs' mkdocs hook, so the page cannot
drift from the schemas.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib.resources import files
from typing import Any

from .reference_markdown import cell


def schema_texts() -> list[tuple[str, str]]:
    """(file name, text) of every shipped fact-bundle schema, in version order."""
    folder = files("carepolicy.engine.facts").joinpath("schemas")
    names = [e.name for e in folder.iterdir() if re.fullmatch(r"fact-bundle-v\d+\.json", e.name)]
    names.sort(key=lambda n: int(re.sub(r"\D", "", n)))
    return [(n, folder.joinpath(n).read_text(encoding="utf-8")) for n in names]


def _json_type(node: dict[str, Any]) -> str:
    if "const" in node:
        return f"const {json.dumps(node['const'])}"
    if "enum" in node:
        return "one of " + ", ".join(json.dumps(v) for v in node["enum"])
    kind = node.get("type", "")
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def fields(node: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, bool, dict[str, Any]]]:
    """Every field under an object schema, depth first, as (dotted path, required, schema); lists as `name[]`."""
    required = set(node.get("required", ()))
    for name, child in node.get("properties", {}).items():
        path = f"{prefix}{name}"
        yield path, name in required, child
        if "properties" in child:
            yield from fields(child, path + ".")
        items = child.get("items")
        if isinstance(items, dict) and "properties" in items:
            yield from fields(items, path + "[].")


def schema_page() -> str:
    lines = ["# Fact-bundle fields", "",
             "Generated from the JSON Schemas in `engine/facts/schemas/` when the site is built "
             "(`carepolicy schema` prints them). See [Reading fact files](fact-input.md) for how bundles are read.",
             ""]
    for name, text in schema_texts():
        schema = json.loads(text)
        lines += [f"## {schema.get('title', name)}", "", f"`{name}`: {cell(schema.get('description', ''))}", "",
                  "| field | JSON type | carepolicy type | description |", "|---|---|---|---|"]
        for path, required, node in fields(schema):
            name = f"`{path}`" + (" (required)" if required else "")
            columns = (_json_type(node), node.get("x-carepolicy-type", ""), node.get("description", ""))
            lines.append(f"| {name} | " + " | ".join(cell(c) for c in columns) + " |")
        lines.append("")
    return "\n".join(lines)
