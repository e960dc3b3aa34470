"""Bundles for the pipeline tests (Python API, service, Arrow/Parquet, Spark), and their JSON text.

The bundles are the benchmark's generated ones, plus a few that are not valid, so that every layer
is compared with the CLI on decisions and on error records alike.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from benchmarks.bench_evaluate import make_bundles

_NUMBER = re.compile(r'"@decimal:([-0-9.]+)"')


def dumps(bundle: Any) -> str:
    """One bundle as compact JSON, Decimal money written as its exact text (`66.10`, not `66.1`)."""
    text = json.dumps(bundle, separators=(",", ":"), default=lambda d: f"@decimal:{d}" if isinstance(d, Decimal)
                      else str(d))
    return _NUMBER.sub(r"\1", text)


INVALID = (
    {"id": "bad-month", "month": "2025-13"},
    {"id": "unknown-key", "month": "2025-03", "beneficiary": {"part_b": True, "colour": "red"}},
    {"month": "2025-03", "time": [{"minutes": "twenty"}]},
)


def mixed_bundles(count: int, seed: int = 12) -> list[dict[str, Any]]:
    """`count` generated bundles with the INVALID ones spread among them."""
    bundles: list[dict[str, Any]] = make_bundles(count, seed)
    for offset, bad in enumerate(INVALID):
        bundles.insert(min(len(bundles), 3 + 7 * offset), dict(bad))
    return bundles


def jsonl(bundles: list[dict[str, Any]]) -> str:
    return "".join(dumps(b) + "\n" for b in bundles)


def as_read(bundles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The bundles as a JSON reader gives them back (`Decimal("0")` was written `0`, and reads as an int)."""
    return [json.loads(dumps(b), parse_float=Decimal) for b in bundles]
