"""Benchmark: the cost of the decision forms and of `carepolicy report` (printed, never asserted).

    .venv/bin/python benchmarks/bench_forms.py [--records N] [--runs R]

Evaluates the public acceptance scenarios (../shared/acceptance/scenarios.yaml) once, untraced
and traced, then measures, single-threaded and in-process, best of R runs:

  (a) records/s of each form: to_json (with and without the trace), text, summary, csv, claim note
  (b) the JSON `sources` key: to_json with and without the decision's context (what it costs)
  (c) `carepolicy report` end to end (a subprocess, as the user runs it) over N JSON lines built
      from those decisions: lines/s for text and for HTML, and the peak memory (ru_maxrss) of
      the report process, which must not grow with N (the input is streamed)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from carepolicy.engine import Bundle, Decision, evaluate, load_policies, to_json
from carepolicy.engine.decision.explain import render_decision_text
from carepolicy.engine.decision.forms import csv_rows, render_claim_note, render_csv, render_summary
from carepolicy.engine.facts.reader import load_yaml_documents, validate_bundle

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT.parent / "shared" / "acceptance" / "scenarios.yaml"


def best(runs: int, fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} (1/5/15 min)")
    policies = load_policies()
    scenarios = load_yaml_documents(SCENARIOS.read_text(encoding="utf-8"), str(SCENARIOS))[0]
    bundles = [b for s in scenarios if isinstance(b := validate_bundle(s["facts"], source="s", index=0), Bundle)]
    plain: list[Decision] = [evaluate(policies, b, trace=False) for b in bundles]
    traced: list[Decision] = [evaluate(policies, b, trace=True) for b in bundles]
    n = len(bundles)
    forms: dict[str, Callable[[], Any]] = {
        "to_json, no trace": lambda: [to_json(d, indent=None) for d in plain],
        "to_json, no trace, no context (no `sources`)": lambda: [
            to_json(dataclasses.replace(d, context=None), indent=None) for d in plain
        ],
        "to_json, trace": lambda: [to_json(d, indent=None) for d in traced],
        "text": lambda: [render_decision_text(d) for d in plain],
        "text --explain": lambda: [render_decision_text(d, explain=True) for d in traced],
        "summary": lambda: [render_summary(d) for d in plain],
        "csv": lambda: [render_csv(csv_rows(d), header=False) for d in plain],
        "claim note": lambda: [render_claim_note(d, b.data) for d, b in zip(plain, bundles, strict=True)],
    }
    print(f"{n} decisions (the public scenarios), best of {args.runs}:")
    for name, fn in forms.items():
        print(f"  {name:<46} {n / best(args.runs, fn):>10,.0f} records/s")
    lines = [to_json(d, indent=None) for d in plain]
    with tempfile.TemporaryDirectory() as tmp:
        for count in (args.records // 10, args.records):
            path = Path(tmp) / f"d{count}.jsonl"
            with path.open("w", encoding="utf-8") as out:
                for i in range(count):
                    out.write(lines[i % n] + "\n")
            for fmt in ("text", "html"):
                command = [sys.executable, "-m", "carepolicy.cli", "report", str(path), "--format", fmt,
                           "-o", str(Path(tmp) / f"r.{fmt}")]
                started = time.perf_counter()
                subprocess.run(command, check=True)
                seconds = time.perf_counter() - started
                peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
                print(f"  report --format {fmt:<5} {count:>9,} lines: {seconds:6.2f} s"
                      f" ({count / seconds:>9,.0f} lines/s, process included); peak RSS so far {peak:.0f} MB")


if __name__ == "__main__":
    main()
