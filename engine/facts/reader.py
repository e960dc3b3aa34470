"""Loading fact bundles: fact files in, validated and normalised bundles (or their diagnostics) out.

The lazy reader is `records.iter_records`; this module keeps the list-returning entry points that
callers had before it. Each bundle is validated on its own, so one bad bundle never hides the others;
only a file that cannot be read or parsed at all raises `FactError`. See `yaml_loader.py` for how
YAML is read (the 1.2 core schema, no duplicate keys, no aliases) and `limits.py` for the limits.
"""

from __future__ import annotations

import io
from pathlib import Path

from .bundle import Bundle, BundleError, validate_bundle
from .records import INPUT_FORMATS, iter_records, load_yaml_documents
from .schema import fact_schema, fact_types

__all__ = [
    "INPUT_FORMATS",
    "Bundle",
    "BundleError",
    "fact_schema",
    "fact_types",
    "iter_records",
    "load_fact_file",
    "load_fact_text",
    "load_yaml_documents",
    "validate_bundle",
]


def load_fact_file(path: str | Path, input_format: str | None = None) -> list[Bundle | BundleError]:
    """Every bundle in a fact file, in file order (`-` is stdin); the format follows the extension.

    Without an extension the format is detected from the first line. Prefer `iter_records` for large
    files: it holds one record at a time.
    """
    return list(iter_records(path, input_format))


def load_fact_text(text: str, *, name: str, fmt: str) -> list[Bundle | BundleError]:
    """Every bundle in `text` (`fmt`: "yaml", "json" or "jsonl"); `name` is shown in diagnostics."""
    if fmt not in INPUT_FORMATS:
        raise ValueError(f"unknown fact format {fmt!r} (expected 'yaml', 'json' or 'jsonl')")
    return list(iter_records(io.BytesIO(text.encode("utf-8", "surrogatepass")), fmt, name=name))
