"""Benchmark: reading + validating fact bundles, µs per bundle, before and after the fast paths.

    .venv/bin/python benchmarks/bench_facts.py [--bundles N] [--seed S] [--runs R]

Writes N generated, schema-valid bundles (bench_evaluate.make_bundles) as JSON Lines and as a YAML
stream, then reads each file with `iter_records` (read + limits + validation + normalisation) in
these configurations of the same reader:

  stdlib+jsonschema  json.loads(parse_float=Decimal) and jsonschema only: the path before the change
  msgspec+jsonschema msgspec decoding (exact decimals), jsonschema only
  msgspec+compiled   msgspec decoding, jsonschema-rs first (jsonschema only for invalid bundles): today

Each figure is the best of R runs (time.perf_counter), printed, never asserted. State `uptime`
with any figure you quote: the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_evaluate import make_bundles  # a sibling script, not a package


class _StdlibDecoder:
    """The standard library behind msgspec's `decode` interface."""

    def decode(self, line: bytes) -> object:
        return json.loads(line, parse_float=Decimal)


@contextmanager
def configured(decoder: str, validator: str) -> Iterator[None]:
    from carepolicy.engine.facts import fast_check, json_records

    saved = (json_records.JSON_DECODER, fast_check.is_valid)
    if decoder == "stdlib":
        json_records.JSON_DECODER = _StdlibDecoder()  # type: ignore[assignment]
    if validator == "jsonschema":
        fast_check.is_valid = lambda *args: False
    try:
        yield
    finally:
        json_records.JSON_DECODER, fast_check.is_valid = saved


def as_json(value: object) -> object:
    """Decimals as JSON numbers (their float's shortest repr is the same text: two decimal places)."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(item) for item in value]
    return value


def best_of(runs: int, work: Callable[[], int]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundles", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=20250101)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    from carepolicy.engine import Bundle, iter_records

    bundles = make_bundles(args.bundles, args.seed)
    with tempfile.TemporaryDirectory() as folder:
        jsonl = Path(folder) / "bundles.jsonl"
        jsonl.write_text("".join(json.dumps(as_json(b)) + "\n" for b in bundles), encoding="utf-8")
        size = jsonl.stat().st_size

        def read_all(path: Path) -> int:
            valid = sum(isinstance(r, Bundle) for r in iter_records(path))
            assert valid == args.bundles, f"{args.bundles - valid} generated bundles were not valid"
            return valid

        print(f"{args.bundles:,} bundles, {size / args.bundles:,.0f} bytes each as JSON; best of {args.runs}")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
        print(f"{'configuration':<22}{'µs per bundle':>15}{'bundles/s':>12}")
        baseline = None
        for decoder, validator in (("stdlib", "jsonschema"), ("msgspec", "jsonschema"), ("msgspec", "compiled")):
            with configured(decoder, validator):
                read_all(jsonl)  # warm: imports, compiled validator
                seconds = best_of(args.runs, lambda: read_all(jsonl))
            per = seconds / args.bundles * 1e6
            baseline = baseline or per
            name = f"{decoder}+{validator}"
            print(f"{name:<22}{per:>15,.1f}{args.bundles / seconds:>12,.0f}   ({baseline / per:.1f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
