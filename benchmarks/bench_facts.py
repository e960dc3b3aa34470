"""Benchmark: reading + validating fact bundles, µs per bundle, before and after the fast paths.

    .venv/bin/python benchmarks/bench_facts.py [--bundles N] [--seed S] [--runs R] [--jsonl FILE]

Writes N generated, schema-valid bundles (bench_evaluate.make_bundles) as JSON Lines and as a YAML
stream, then reads each file with `iter_records` (read + limits + validation + normalisation) in
these configurations of the same reader:

  stdlib+jsonschema  json.loads(parse_float=Decimal) and jsonschema only: the path before the change
  msgspec+jsonschema msgspec decoding (exact decimals), jsonschema only
  msgspec+compiled   msgspec decoding, jsonschema-rs first (jsonschema only for invalid bundles)
  msgspec+typed      msgspec decoding into the schema's types for a JSON line (typed_intake.py)

Then the path `batch` takes for each JSON line (`json_records.json_record`, bytes in, `Bundle`
out), in CPU time per line (time.process_time: other work on a shared machine does not count):

  untyped  msgspec to dicts, jsonschema-rs, fast_intake's walk (before the typed path)
  typed    msgspec decoding straight into the schema's types (typed_intake.py): today

Each figure is the best of R runs, printed, never asserted. State `uptime` with any figure you
quote: the machine is shared.
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

from bundle_generator import make_bundles  # a sibling module, not a package


class _StdlibDecoder:
    """The standard library behind msgspec's `decode` interface."""

    def decode(self, line: bytes) -> object:
        return json.loads(line, parse_float=Decimal)


@contextmanager
def configured(decoder: str, validator: str) -> Iterator[None]:
    from carepolicy.engine.facts import fast_check, json_records

    saved = (json_records.JSON_DECODER, fast_check.is_valid, json_records.typed_record)
    if decoder == "stdlib":
        json_records.JSON_DECODER = _StdlibDecoder()  # type: ignore[assignment]
    if validator == "jsonschema":
        fast_check.is_valid = lambda *args: False
    if validator != "typed":  # the untyped paths: every line decoded to dicts first
        json_records.typed_record = lambda *args: None  # type: ignore[assignment]
    try:
        yield
    finally:
        json_records.JSON_DECODER, fast_check.is_valid, json_records.typed_record = saved


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
    parser.add_argument("--jsonl", type=Path, help="time only the per-line path, on the first N lines of this file")
    args = parser.parse_args(argv)
    if args.jsonl:
        with args.jsonl.open("rb") as stream:
            lines = [line for _, line in zip(range(args.bundles), stream, strict=False)]
        print(f"{len(lines):,} lines of {args.jsonl}")
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
        print_line_costs(lines, args.runs)
        return 0

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
        configurations = (
            ("stdlib", "jsonschema"), ("msgspec", "jsonschema"), ("msgspec", "compiled"), ("msgspec", "typed")
        )  # fmt: skip
        for decoder, validator in configurations:
            with configured(decoder, validator):
                read_all(jsonl)  # warm: imports, compiled validator
                seconds = best_of(args.runs, lambda: read_all(jsonl))
            per = seconds / args.bundles * 1e6
            baseline = baseline or per
            name = f"{decoder}+{validator}"
            print(f"{name:<22}{per:>15,.1f}{args.bundles / seconds:>12,.0f}   ({baseline / per:.1f}x)")
        lines = jsonl.read_bytes().splitlines(keepends=True)
        print_line_costs(lines, args.runs)
    return 0


def print_line_costs(lines: list[bytes], runs: int) -> None:
    """CPU µs per JSON line of `json_record`, as `batch` calls it, with and without the typed path."""
    from carepolicy.engine.facts import json_records

    def read_lines() -> int:
        record = json_records.json_record
        return sum(1 for number, line in enumerate(lines, 1) if record(line, "bench", number, number - 1))

    print(f"per JSON line as batch reads it (CPU time, best of {runs})")
    saved = json_records.typed_record
    baseline = None
    for name in ("untyped", "typed"):
        if name == "untyped":
            json_records.typed_record = lambda *args: None  # type: ignore[assignment]
        try:
            read_lines()  # warm: the compiled validator, the typed decoders
            best = float("inf")
            for _ in range(runs):
                started = time.process_time()
                read_lines()
                best = min(best, time.process_time() - started)
        finally:
            json_records.typed_record = saved
        per = best / len(lines) * 1e6
        baseline = baseline or per
        print(f"{name:<22}{per:>15,.1f}{len(lines) / best:>12,.0f}   ({baseline / per:.1f}x)")


if __name__ == "__main__":
    raise SystemExit(main())
