"""Benchmark: `carepolicy batch` end to end, JSONL in -> JSONL out, as a pipeline runs it.

    .venv/bin/python benchmarks/bench_batch.py [--records N] [--forms full,compact,none] [--jobs 1,2]
        [--baseline /path/to/old/venv/bin/carepolicy] [--compare /path/to/main/venv/bin/carepolicy]
        [--rss 20000,200000,1000000]

Generates N schema-valid bundles (the generator of bench_evaluate.py, seed 20250101) into one
JSON Lines file, then runs the real command in a subprocess for every trace form and job count and
prints decisions/s (wall clock, including start-up and the policy load), the user+sys CPU seconds
per 1,000 decisions (the process and its workers: steadier than the wall clock on a shared machine),
the peak RSS of the
process and its workers together (sampled from /proc every 50 ms), and the output's bytes per
decision. With --baseline (the `carepolicy` of another install, e.g. a venv of an older commit)
the same input is run through it (`--explain` and `--no-explain`, one process) and each figure gets
its ratio to that run. With --compare (another install of the current format, e.g. main's), every
form and job count is run through it right after, and the two outputs are compared byte for byte.
--rss runs compact/--jobs 1 on the first K records for each K given, for
peak RSS against input size. The load average (`uptime`) is printed with every figure: the machine
is shared, so only figures measured together compare. Prints, never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_evaluate import make_bundle  # noqa: E402

SEED = 20250101


def _number(value: object) -> float:
    assert isinstance(value, Decimal)
    return float(value)  # cents: the float's shortest text is the same digits


def write_input(path: Path, count: int) -> None:
    import random

    rng = random.Random(SEED)
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            out.write(json.dumps(make_bundle(rng, number), default=_number) + "\n")


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of `pid` and its descendants, in kB (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
            for task in Path(f"/proc/{current}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, StopIteration, ValueError):
            continue
    return total


CPU_SECONDS: dict[str, float] = {}  # user+sys of the last run of each row (the process and its workers)


def run(command: list[str]) -> tuple[float, int, int]:
    """(seconds, peak tree RSS in kB, exit status) of one run; its user+sys CPU seconds, workers
    included (they are waited for), in CPU_SECONDS["last"]: less sensitive to load than the wall clock."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _tree_rss_kb(process.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    CPU_SECONDS["last"] = usage.ru_utime + usage.ru_stime
    if process.returncode not in (0, 2):
        sys.stderr.write(process.stderr.read().decode() if process.stderr else "")
    return seconds, peak, process.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--forms", default="compact,full,none")
    parser.add_argument("--jobs", default="1,2")
    parser.add_argument("--baseline", help="the `carepolicy` command of the version to compare with")
    parser.add_argument("--compare", help="another `carepolicy` (e.g. a venv of main) run with the same options")
    parser.add_argument("--rss", default="", help="record counts for the RSS-against-size runs, e.g. 20000,200000")
    parser.add_argument("--keep", help="folder for the input and outputs (default: a temporary folder)")
    args = parser.parse_args(argv)
    command = [str(Path(sys.executable).parent / "carepolicy")]
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-batch-"))
    folder.mkdir(parents=True, exist_ok=True)
    sizes = [int(k) for k in args.rss.split(",") if k]
    count = max([args.records, *sizes])
    source = folder / f"in-{count}.jsonl"
    if not source.exists():
        started = time.perf_counter()
        write_input(source, count)
        print(f"generated {count:,} bundles ({source.stat().st_size / count:,.0f} bytes each) "
              f"in {time.perf_counter() - started:.1f} s")
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")

    def subset(k: int) -> Path:
        if k == count:
            return source
        path = folder / f"in-{k}.jsonl"
        if not path.exists():
            with source.open("rb") as full, path.open("wb") as part:
                for _ in range(k):
                    part.write(full.readline())
        return path

    main_input = subset(args.records)
    rows: list[tuple[str, float, int, float, str, float]] = []
    base: dict[str, float] = {}
    if args.baseline:
        for flag, form in (("--explain", "full"), ("--no-explain", "none")):
            out = folder / f"base-{form}.jsonl"
            seconds, peak, _status = run([args.baseline, "batch", str(main_input), flag, "-o", str(out)])
            rate = args.records / seconds
            base[form] = rate
            rows.append((f"before (715986d) {flag}", rate, peak, out.stat().st_size / args.records, load(),
                         CPU_SECONDS["last"] / args.records * 1000))
            out.unlink()
            print(rows[-1], flush=True)
    installs = [("", command)] + ([("compared: ", [args.compare])] if args.compare else [])
    for form in args.forms.split(","):
        for jobs in args.jobs.split(","):
            outputs = []
            for label, program in installs:  # one after the other, so both see the same load
                out = folder / f"out-{form}-{jobs}-{len(outputs)}.jsonl"
                argv_run = [*program, "batch", str(main_input), "--trace", form, "--jobs", jobs, "-o", str(out)]
                seconds, peak, _status = run(argv_run)
                rows.append((f"{label}--trace {form} --jobs {jobs}", args.records / seconds, peak,
                             out.stat().st_size / args.records, load(), CPU_SECONDS["last"] / args.records * 1000))
                outputs.append(out)
                print(rows[-1], flush=True)
            if len(outputs) == 2:
                same = outputs[0].read_bytes() == outputs[1].read_bytes()
                verdict = "byte-identical" if same else "DIFFERENT"
                print(f"--trace {form} --jobs {jobs}: output {verdict} to the compared", flush=True)
            for out in outputs:
                out.unlink()
    print(f"\nJSONL -> JSONL, {args.records:,} generated bundles, end to end (start-up and policy load included)\n")
    print("| run | decisions/s | × before, same trace | CPU s / 1,000 | peak RSS | bytes/decision | load |")
    print("|---|---|---|---|---|---|---|")
    for name, rate, peak, per, when, cpu in rows:
        form = "full" if ("full" in name or ("--explain" in name and "no-" not in name)) else "none"
        ratio = f"{rate / base[form]:.1f}" if base and ("compact" not in name) else "—"
        if "compact" in name and "full" in base:
            ratio = f"{rate / base['full']:.1f} (vs full)"
        print(f"| {name} | {rate:,.0f} | {ratio} | {cpu:.3f} | {peak / 1024:,.0f} MB | {per:,.0f} | {when} |")
    if sizes:
        print("\npeak RSS against input size (--trace compact --jobs 1)\n")
        print("| records | decisions/s | peak RSS | load |")
        print("|---|---|---|---|")
        for k in sizes:
            out = folder / f"rss-{k}.jsonl"
            seconds, peak, _status = run([*command, "batch", str(subset(k)), "--jobs", "1", "-o", str(out)])
            out.unlink()
            print(f"| {k:,} | {k / seconds:,.0f} | {peak / 1024:,.0f} MB | {load()} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
