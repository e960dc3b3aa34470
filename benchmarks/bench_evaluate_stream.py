"""Benchmark: the evaluation stage of `carepolicy batch`, CPU per record, alone and in the stream.

    .venv/bin/python benchmarks/bench_evaluate_stream.py [--input FILE.jsonl] [--records N] [--warm W] [--runs R]

Decodes the first W + N lines of a JSON Lines file of fact bundles (default: N + W bundles of the
bench_batch.py generator, seed 20250101, written to a temporary file) with batch's own intake
(`cli.batch_input.decode`), evaluates every bundle once so that the month plans (generated per
month on first use) and the memos are warm, then measures the CPU time (`time.process_time`) of
`cli.common.decide` (-> `engine.api.evaluate`, trace recorded) per record, two ways:

  tight loop   the N bundles evaluated one after another, best of R runs;
  in the stream each evaluation followed by what batch does next with the decision (the compact
               trace's `to_json_obj` and the canonical JSON bytes), timed alone: the figure that
               counts, because the other stages leave the processor's caches filled with their own
               code and data (a stage timed in a tight loop looks faster than it is in batch).

CPU time, not wall-clock time: the machine is shared. The load average is printed with the
figures; only figures measured together compare. Prints, never asserts.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bundle_generator import write_input  # noqa: E402


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", help="a JSON Lines file of fact bundles (default: generated)")
    parser.add_argument("--records", type=int, default=5000, help="records measured (default 5,000)")
    parser.add_argument("--warm", type=int, default=2000, help="records decoded and evaluated first, not measured")
    parser.add_argument("--runs", type=int, default=3, help="tight-loop runs; the best is printed")
    args = parser.parse_args(argv)

    from carepolicy.cli.batch_input import RawRecord, decode
    from carepolicy.cli.common import decide, prepare
    from carepolicy.engine.decision import json_form
    from carepolicy.engine.jsontext import canonical_bytes

    wanted = args.records + args.warm
    with tempfile.TemporaryDirectory() as folder:
        path = Path(args.input) if args.input else Path(folder) / "in.jsonl"
        if not args.input:
            write_input(path, wanted)  # (seeded: the same bundles every run)
        with path.open("rb") as stream:
            lines = [line for _, line in zip(range(wanted), stream, strict=False)]
    setup = prepare(None, [], None, trace=True)
    records = [decode(RawRecord(str(path), i, i + 1, line.rstrip(b"\n"))) for i, line in enumerate(lines)]
    measured = records[args.warm :]
    for record in records:  # month plans generated, memos filled
        decide(record, setup)
    clock = time.process_time
    count = len(measured)

    best = float("inf")
    for _ in range(args.runs):
        gc.collect()
        started = clock()
        for record in measured:
            decide(record, setup)
        best = min(best, clock() - started)

    gc.collect()
    in_stream = 0.0
    for record in measured:
        started = clock()
        decision = decide(record, setup)
        in_stream += clock() - started
        canonical_bytes(json_form.to_json_obj(decision, trace="compact"))

    print(f"evaluate (cli.common.decide, trace recorded), {count:,} records after {args.warm:,} warm; {load()}")
    print(f"  tight loop, best of {args.runs}:  {best / count * 1e6:7.1f} µs CPU per record")
    print(f"  in the stream:           {in_stream / count * 1e6:7.1f} µs CPU per record (to_json_obj + bytes between)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
