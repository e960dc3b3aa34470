"""Benchmark: the compact trace, per record, in `batch`'s stream (printed, never asserted).

    .venv/bin/python benchmarks/bench_compact_trace.py [--input FILE.jsonl] [--records N] [--warm W]

Runs the stages of `carepolicy batch --trace compact` one record after another as batch does
(intake, decide, the compact trace, the rest of the JSON object, the canonical bytes), so that
each stage finds the processor's caches as the others leave them, and adds up the CPU time
(`time.process_time`) of each over N records after W records that warm the memos. The compact
trace stage is `Trace.compact()`: the records walked, the values read (the cost sharing's
included) and folded. The same decisions' compact traces are then made again by the first
algorithm (tests/compact_oracle.py: a walk over every record of every decision) and by this
one, in a loop over the decisions already made, to compare the two on equal terms; the outputs
are checked to be equal. Without `--input`, bundles are generated (bench_evaluate.make_bundles).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/compact_oracle.py and benchmarks/bundle_generator.py

from carepolicy.cli.batch_input import RawRecord, decode  # noqa: E402
from carepolicy.cli.common import decide, prepare  # noqa: E402
from carepolicy.engine.decision import json_form  # noqa: E402
from carepolicy.engine.evaluation import decision_parts  # noqa: E402
from carepolicy.engine.jsontext import canonical_bytes  # noqa: E402

from tests.compact_oracle import oracle_compact_trace  # noqa: E402


def lines_of(path: str | None, count: int) -> list[bytes]:
    if path is not None:
        with open(path, "rb") as file:
            return [line for _, line in zip(range(count), file, strict=False)]
    from benchmarks.bundle_generator import json_line, make_bundles

    return [json_line(bundle).encode() for bundle in make_bundles(count, 20250101)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", default=None, help="JSON Lines of fact bundles (default: generated)")
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--warm", type=int, default=2000)
    args = parser.parse_args()
    print(f"load: {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1/5/15 min)")
    setup = prepare(None, [], None, trace=True)
    lines = lines_of(args.input, args.records + args.warm)
    calls: list[tuple[Any, list[Any], Any]] = []
    made = decision_parts.compact_trace

    def kept(ev: Any, recorded: list[Any], cost: Any) -> dict[str, Any]:
        calls.append((ev, recorded, cost))
        return made(ev, recorded, cost)

    decision_parts.compact_trace = kept  # the arguments kept, for the second measurement
    clock = time.process_time
    stages = dict.fromkeys(("intake", "evaluate", "compact trace", "rest of to_json_obj", "canonical bytes"), 0.0)
    for number, line in enumerate(lines):
        started = clock()
        bundle = decode(RawRecord(args.input or "<generated>", number, number + 1, line))
        decoded = clock()
        decision = decide(bundle, setup)  # type: ignore[arg-type]
        decided = clock()
        decision.trace.compact()
        traced = clock()
        obj = json_form.to_json_obj(decision, trace="compact")  # (makes the compact trace again)
        objected = clock()
        canonical_bytes(obj)
        done = clock()
        if number >= args.warm:
            for stage, spent in zip(stages, (decoded - started, decided - decoded, traced - decided,
                                             objected - traced - (traced - decided), done - objected), strict=True):
                stages[stage] += spent
        if number < args.warm or len(calls) > 2 * 2000:
            calls.clear()
    decision_parts.compact_trace = made
    print(f"in the stream, {args.records} records after {args.warm} to warm, CPU µs a record:")
    for stage, spent in stages.items():
        print(f"  {stage:22} {spent / args.records * 1e6:8.1f}")
    kept_calls = calls[::2]  # one call a decision (to_json_obj made a second)
    for name, fn in (("first algorithm", oracle_compact_trace), ("this version", made)):
        best = float("inf")
        for _run in range(3):
            started = clock()
            for ev, recorded, cost in kept_calls:
                fn(ev, recorded, cost)
            best = min(best, clock() - started)
        print(f"compact_trace alone, {name:16} {best / len(kept_calls) * 1e6:8.1f} µs a decision "
              f"({len(kept_calls)} decisions, best of 3, caches warm)")
    same = all(made(*call) == oracle_compact_trace(*call) for call in kept_calls)
    print(f"the two give the same compact traces: {same}")


if __name__ == "__main__":
    main()
