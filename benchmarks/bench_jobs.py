"""Benchmark: what `batch --jobs N` gives against `--jobs 1`, as the median of paired runs
(printed, never asserted).

    .venv/bin/python benchmarks/bench_jobs.py [--records 50000] [--forms compact,full,none]
        [--jobs 2] [--pairs 5] [--keep DIR]

One run of each gives a ratio that moves by ±0.1x with the machine's load (a shared two-core
virtual machine: docs/explanation/performance.md#the-targets-of-issue-9). So this runs the two
commands in turn, `--pairs` times per trace form, JSON Lines in and out on the bundles of
bench_batch.py (the same generator and seed), and prints for each pair the wall-clock ratio
(`--jobs 1` seconds / `--jobs N` seconds) and the ratio by CPU (as bench_batch.py: CPU(1 job) /
max(the main process's CPU, all the CPU / N)), then their median, smallest and largest. The order
within a pair alternates (1 then N, N then 1) so that a drift of the load does not favour one
side. Every pair's two outputs are compared by their SHA-256.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from batch_runs import CPU_SECONDS, LAST_ERROR, digest, load, run, wrapped  # noqa: E402
from bundle_generator import write_input  # noqa: E402


def timed(program: list[str], source: Path, form: str, jobs: int, out: Path) -> tuple[float, float, float, str]:
    """(wall seconds, CPU seconds of all the processes, CPU seconds of the main process, the output's
    digest) of one run; the output is removed (batch_runs.digest says why)."""
    seconds, _peak, status = run([*program, "batch", str(source), "--trace", form, "--jobs", str(jobs),
                                  "-o", str(out)])
    if status != 0:
        raise SystemExit(f"--trace {form} --jobs {jobs} failed (exit {status}): {' '.join(LAST_ERROR)}")
    return seconds, CPU_SECONDS["last"], CPU_SECONDS["parent"], digest(out)


def spread(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f}x (smallest {min(values):.2f}x, largest {max(values):.2f}x)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=50_000, help="generated bundles (default 50,000)")
    parser.add_argument("--forms", default="compact,full,none", help="trace forms, in order (default: all three)")
    parser.add_argument("--jobs", type=int, default=2, help="the job count compared with one job (default 2)")
    parser.add_argument("--pairs", type=int, default=5, help="paired runs per trace form (default 5)")
    parser.add_argument("--keep", help="folder for the input and outputs (default: a temporary folder)")
    args = parser.parse_args(argv)
    if args.jobs < 2 or args.pairs < 1 or args.records < 1:
        parser.error("--jobs must be at least 2, --pairs and --records at least 1")
    program = wrapped(str(Path(sys.executable).parent / "carepolicy"))
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-jobs-"))
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / f"in-{args.records}.jsonl"
    if not source.exists():
        write_input(source, args.records)
    one_out, many_out = folder / "out-1.jsonl", folder / f"out-{args.jobs}.jsonl"
    print(f"--jobs {args.jobs} against --jobs 1, {args.records:,} records, {args.pairs} pairs per form ({load()})")
    print("\n| --trace | pair | --jobs 1 s | --jobs N s | wall ratio | CPU ratio | load |")
    print("|---|---|---|---|---|---|---|")
    summary = []
    for form in args.forms.split(","):
        walls, cpus = [], []
        for pair in range(args.pairs):
            order = (1, args.jobs) if pair % 2 == 0 else (args.jobs, 1)
            got = {jobs: timed(program, source, form, jobs, one_out if jobs == 1 else many_out) for jobs in order}
            (one_s, one_cpu, _, one_digest), (many_s, many_cpu, many_parent, many_digest) = got[1], got[args.jobs]
            walls.append(one_s / many_s)
            shared = many_cpu / args.jobs  # neither the main process nor the whole can go faster
            cpus.append(one_cpu / (shared if math.isnan(many_parent) else max(many_parent, shared)))
            print(f"| {form} | {pair + 1} | {one_s:.2f} | {many_s:.2f} | {walls[-1]:.2f}x | {cpus[-1]:.2f}x "
                  f"| {load()} |", flush=True)
            if one_digest != many_digest:
                print(f"| {form} | outputs of --jobs 1 and --jobs {args.jobs} DIFFER | | | | | |", flush=True)
        summary.append(f"--trace {form}: by the wall clock {spread(walls)}; by CPU {spread(cpus)}")
    print()
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
