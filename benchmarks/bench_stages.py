"""Benchmark: where one record's time goes in `carepolicy batch`, per trace form, on batch's own
path (printed, never asserted).

    .venv/bin/python benchmarks/bench_stages.py [--input FILE.jsonl] [--records N] [--warm W]
        [--forms none,compact,full]

For each trace form, the first W + N lines of a JSON Lines file of fact bundles (default: bundles
of the bench_batch.py generator, seed 20250101) go through the three calls `batch` makes for a
record (cli/batch_run.py `decide_one`), one record after another, each timed alone with
`time.process_time` (CPU, not wall clock: the machine is shared):

  intake    cli.batch_input.decode: the line decoded and validated into a bundle
  decide    cli.common.decide: the evaluation, with the trace recorded unless the form is `none`
  line      engine.decision.json_form.to_json_bytes: the decision's line, with the form's trace

The first W records warm the month plans and the memos and are not counted. It then prints the
sum, the rate that sum allows (a ceiling for the command, which also reads, writes and starts
up), and what each issue-9 target leaves a record: 100 µs for 10,000/s, 200 µs for 5,000/s.
Records are timed one after another, so that each stage finds the processor's caches as the
others leave them (a stage timed in a loop of its own looks faster than it is in `batch`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_line import lines as read_lines  # noqa: E402  (the same bundles as bench_line.py)
from bench_line import load  # noqa: E402
from carepolicy.cli.batch_input import RawRecord, decode  # noqa: E402
from carepolicy.cli.common import ErrorRecord, decide, prepare  # noqa: E402
from carepolicy.engine.decision.json_form import to_json_bytes  # noqa: E402

STAGES = ("intake", "decide", "line")
TARGETS = {"compact": 10_000, "full": 5_000}  # issue 9: decisions a second, one process


def measure(raw: list[bytes], warm: int, form: str) -> tuple[dict[str, float], int]:
    """CPU µs a record of each stage over the records after the first `warm`, and their number."""
    setup = prepare(None, [], None, trace=form != "none")
    spent = dict.fromkeys(STAGES, 0.0)
    clock = time.process_time
    counted = 0
    for index, line in enumerate(raw):
        started = clock()
        bundle = decode(RawRecord("<bench>", index, index + 1, line))
        decoded = clock()
        decision = decide(bundle, setup)
        decided = clock()
        if isinstance(decision, ErrorRecord):
            raise SystemExit(f"record {index + 1} is not a valid bundle: the benchmark needs valid ones")
        to_json_bytes(decision, trace=form, end=b"\n")
        written = clock()
        if index >= warm:
            counted += 1
            spent["intake"] += decoded - started
            spent["decide"] += decided - decoded
            spent["line"] += written - decided
    return {stage: total / counted * 1e6 for stage, total in spent.items()}, counted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", help="a JSON Lines file of fact bundles (default: generated)")
    parser.add_argument("--records", type=int, default=5000, help="records measured (default 5,000)")
    parser.add_argument("--warm", type=int, default=2000, help="records decided first, not measured (default 2,000)")
    parser.add_argument("--forms", default="none,compact,full", help="trace forms, in order (default: all three)")
    args = parser.parse_args(argv)
    raw = read_lines(args.records + args.warm, args.input)
    print(f"CPU µs a record in batch's stream, {args.records:,} records after {args.warm:,} ({load()})")
    print(f"  {'--trace':<9}" + "".join(f"{stage:>9}" for stage in STAGES) + f"{'sum':>9}  at most   target")
    for form in args.forms.split(","):
        figures, counted = measure(raw, min(args.warm, len(raw) - 1), form)
        total = sum(figures.values())
        target = TARGETS.get(form)
        wanted = f"{target:,}/s = {1e6 / target:.0f} µs" if target else "-"
        print(f"  {form:<9}" + "".join(f"{figures[s]:9.1f}" for s in STAGES)
              + f"{total:9.1f}  {1e6 / total:,.0f}/s  {wanted}   ({counted:,} records)")
    print(f"  ({load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
