"""Benchmark: writing a decision as its JSON line, stage by stage (printed, never asserted).

    .venv/bin/python benchmarks/bench_write.py [--records N] [--input in.jsonl] [--forms compact,full,none]

What `batch` spends on a decision after making it, in CPU µs of this process (`time.process_time`),
policies loaded and month plans made: the trace alone (`Trace.compact()` or `Trace.json()`), the
decision's JSON object (`to_json_obj`, which includes the trace), and the whole line
(`to_json_bytes`: the object and orjson). Each stage gets its own separately evaluated copy of the
same N decisions and writes each once, in order, after N others were written first (the month
plans and the first-use costs), as a long `batch` run does; a stage measured on decisions already
written once would look faster than it is. The machine is shared: the load average is printed
with the figures, and only figures taken in the same run compare.
Bundles: the first 2N lines of --input, or 2N generated ones (bench_evaluate's generator).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bundle_generator import make_bundles  # noqa: E402
from carepolicy.engine import Bundle, Decision, evaluate, load_policies  # noqa: E402
from carepolicy.engine.decision.json_form import to_json_bytes, to_json_obj  # noqa: E402
from carepolicy.engine.facts.bundle import validate_bundle  # noqa: E402


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def bundles(count: int, source: str | None) -> list[Bundle]:
    if source is None:
        raw: list[Any] = make_bundles(count, 20250101)
    else:
        with open(source, encoding="utf-8") as lines:
            raw = [json.loads(line) for line in islice(lines, count)]
    out = []
    for index, item in enumerate(raw):
        bundle = validate_bundle(item, source="<bench>", index=index)
        assert isinstance(bundle, Bundle)
        out.append(bundle)
    return out


def stages(form: str) -> dict[str, Callable[[Decision], object]]:
    found: dict[str, Callable[[Decision], object]] = {}
    if form == "compact":
        found["the compact trace (Trace.compact)"] = lambda d: d.trace.compact() if d.trace is not None else None
    if form == "full":
        found["the full trace (Trace.json)"] = lambda d: d.trace.json() if d.trace is not None else None
    found["to_json_obj"] = lambda d: to_json_obj(d, trace=form)
    found["to_json_bytes (the line)"] = lambda d: to_json_bytes(d, trace=form)
    return found


def cpu_per_item(fn: Callable[[Decision], object], decisions: list[Decision]) -> float:
    started = time.process_time()
    for decision in decisions:
        fn(decision)
    return (time.process_time() - started) / len(decisions) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--input", help="a JSON Lines file of bundles (default: generated)")
    parser.add_argument("--forms", default="compact,full,none")
    args = parser.parse_args()
    policies = load_policies()
    n = args.records
    items = bundles(2 * n, args.input)
    print(f"{n} decisions, each written once after {n} others, CPU µs per decision ({load()})")
    for form in args.forms.split(","):
        traced = form != "none"
        measured = stages(form)
        for decision in [evaluate(policies, b, trace=traced) for b in items[:n]]:
            to_json_bytes(decision, trace=form)
        copies = [[evaluate(policies, b, trace=traced) for b in items[n:]] for _ in measured]
        gc.collect()
        gc.freeze()  # the decisions held for the measurement are not the collector's work in a real run
        print(f"  --trace {form}")
        for (name, fn), decisions in zip(measured.items(), copies, strict=True):
            print(f"    {name:<36} {cpu_per_item(fn, decisions):7.1f}")
        size = sum(len(to_json_bytes(d, trace=form)) for d in copies[0]) // n
        print(f"    {'bytes per line':<36} {size:7,}")
        gc.unfreeze()
        del copies
    print(load())


if __name__ == "__main__":
    main()
