"""Benchmark: writing the decision line in the stream, the kept pieces against the old construction
(printed, never asserted).

    .venv/bin/python benchmarks/bench_line.py [--records N] [--warm W] [--input in.jsonl] [--forms none,compact,full]
    .venv/bin/python benchmarks/bench_line.py --trace-alone      # the full trace's writing alone

Reads the bundles as `batch` does (one JSON line each, `cli.batch_input.decode`), decides each one
and writes it at once, as `batch` does, so that each write finds the CPU caches as the stream
leaves them. Records alternate: the even ones are written the old way (a fresh JSON object,
`to_json_obj`, serialised whole by `canonical_bytes`), the odd ones by `to_json_bytes` (denials,
reasons and sources from the pieces kept on the shared objects: engine/decision/json_pieces.py).
So both halves see the same load, the same decisions' mix and the same warm-up; the first W
records are not counted. CPU µs per record (`time.process_time`), with the load average: the
machine is shared, only figures of one run compare.
With --trace-alone, only the full trace is written, the same way: the dict path (`Trace.json()`,
serialised whole) against the kept templates of the shared records (`Trace.json_parts()`,
engine/evaluation/full_trace.py), joined (`to_json_bytes` joins them into the line).
Bundles: the first W + N lines of --input, or generated ones (bench_batch's JSON lines of
bench_evaluate's generator, seed 20250101).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from itertools import islice
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from carepolicy.cli.batch_input import RawRecord, decode  # noqa: E402
from carepolicy.cli.common import Setup, decide, prepare  # noqa: E402
from carepolicy.engine.decision.json_form import to_json_bytes, to_json_obj  # noqa: E402
from carepolicy.engine.decision.model import Decision  # noqa: E402
from carepolicy.engine.jsontext import canonical_bytes  # noqa: E402


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def lines(count: int, source: str | None) -> list[bytes]:
    if source is not None:
        with open(source, "rb") as handle:
            return [line.rstrip(b"\n") for line in islice(handle, count)]
    from bundle_generator import json_line, make_bundles

    return [json_line(item).encode() for item in make_bundles(count, 20250101)]


def write_trace(decision: Decision, pieces: int) -> bytes:
    """The full trace alone: from dicts (`pieces` 0) or from the kept templates (1)."""
    assert decision.trace is not None
    parts = decision.trace.json_parts() if pieces else None
    if parts is not None:
        return b"".join(parts)
    return canonical_bytes(decision.trace.json())


def measure(
    raw: list[bytes], warm: int, form: str, setup: Setup, trace_alone: bool = False
) -> tuple[float, float, int]:
    """(old µs, new µs, bytes) per record, over the records after the first `warm`."""
    spent = [0.0, 0.0]
    counted = [0, 0]
    size = 0
    clock = time.process_time
    for index, line in enumerate(raw):
        decision = decide(decode(RawRecord("<bench>", index, index + 1, line)), setup)
        assert isinstance(decision, Decision)
        half = index % 2
        started = clock()
        if trace_alone:
            out = write_trace(decision, half)
        else:
            out = to_json_bytes(decision, trace=form) if half else canonical_bytes(to_json_obj(decision, trace=form))
        took = clock() - started
        if index >= warm:
            spent[half] += took
            counted[half] += 1
            size += len(out)
    return (spent[0] / counted[0] * 1e6, spent[1] / counted[1] * 1e6, size // (counted[0] + counted[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=6000)
    parser.add_argument("--warm", type=int, default=3000)
    parser.add_argument("--input", help="a JSON Lines file of bundles")
    parser.add_argument("--forms", default="none,compact,full")
    parser.add_argument("--trace-alone", action="store_true", help="time the full trace's writing alone")
    args = parser.parse_args()
    raw = lines(args.records + args.warm, args.input)
    print(f"{args.records} records after {args.warm}, CPU µs per record written in the stream ({load()})")
    if args.trace_alone:
        old, new, size = measure(raw, args.warm, "full", prepare(None, [], None, trace=True), trace_alone=True)
        print(
            f"  the full trace alone: dicts {old:6.1f}   kept templates {new:6.1f}   ({new / old:.2f}×, "
            f"{size:,} bytes a trace)"
        )
        print(load())
        return
    for form in args.forms.split(","):
        setup = prepare(None, [], None, trace=form != "none")
        old, new, size = measure(raw, args.warm, form, setup)
        print(
            f"  --trace {form:<8} old construction {old:6.1f}   kept pieces {new:6.1f}   ({new / old:.2f}×, "
            f"{size:,} bytes a line)"
        )
    print(load())


if __name__ == "__main__":
    main()
