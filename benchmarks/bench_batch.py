"""Benchmark: `carepolicy batch` end to end, JSONL in -> JSONL out, as a pipeline runs it.

    .venv/bin/python benchmarks/bench_batch.py [--records N] [--forms full,compact,none] [--jobs 1,2]
        [--baseline /path/to/old/venv/bin/carepolicy] [--compare /path/to/main/venv/bin/carepolicy]
        [--rss 20000,200000,1000000] [--parquet]

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
peak RSS against input size. --parquet also runs every form and job count with `-o OUT.parquet`
(this install only), right after its JSON Lines run, and prints its CPU against that run's. For
--trace compact it also prints the compact trace's size per decision (median, mean, largest, in
bytes as written). The load average (`uptime`) is printed with every figure: the machine is
shared, so only figures measured together compare. Prints, never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from batch_runs import CPU_SECONDS, LAST_ERROR, digest, load, run, wrapped  # noqa: E402
from bundle_generator import write_input  # noqa: E402


def compact_sizes(output: Path) -> str:
    """Median, mean and largest size of the compact traces in `output`, in bytes as written (the
    canonical JSON of the `trace` value of each line; error records have none)."""
    import statistics

    from carepolicy.engine.jsontext import canonical_bytes

    sizes = []
    with output.open("rb") as lines:
        for line in lines:
            trace = json.loads(line).get("trace")
            if isinstance(trace, dict):
                sizes.append(len(canonical_bytes(trace)))
    if not sizes:
        return "compact trace: no decision with a compact trace"
    return (f"compact trace, bytes per decision over {len(sizes):,}: median {statistics.median(sizes):,.0f}, "
            f"mean {statistics.mean(sizes):,.0f}, largest {max(sizes):,}")


def print_job_ratios(rows: list[tuple[str, float, int, float, str, float]], parents: dict[int, float]) -> None:
    """For each --jobs N > 1 row: its wall-clock ratio to --jobs 1 (meaningful only on idle cores),
    and the ratio its CPU figures allow with a core per process: CPU(1 job) / max(the main
    process's CPU, all the CPU / N), as neither the main process nor the whole can go faster."""
    last_one: dict[str, tuple[float, float]] = {}  # the latest --jobs 1 row of each install and form
    for number, (name, rate, _peak, _per, _when, cpu) in enumerate(rows):
        head, _, jobs = name.rpartition(" --jobs ")
        if jobs == "1":
            last_one[head] = (rate, cpu)
        one = last_one.get(head)
        if jobs != "1" and one is not None:
            bound = max(parents.get(number, 0.0), cpu / int(jobs))
            print(f"{name}: {rate / one[0]:.2f}x --jobs 1 by the wall clock; "
                  f"{one[1] / bound:.2f}x by CPU (each process on a core of its own)")


def loop_overhead(path: Path, records: int) -> None:
    """CPU µs per record of `batch --jobs 1` around deciding: the real loop (reading, counting, the
    writer) with `decide_one` replaced by a fixed line of a compact decision's size; and its parts."""
    from carepolicy.cli import batch_run
    from carepolicy.cli.batch_input import read_work
    from carepolicy.cli.batch_notes import Counts
    from carepolicy.cli.batch_output import LineWriter
    from carepolicy.cli.batch_signals import Stop
    from carepolicy.cli.commands import batch

    part = path.with_name(f"loop-{records}.jsonl")
    with path.open("rb") as full, part.open("wb") as out:
        for _ in range(records):
            out.write(full.readline())
    target = str(path.with_name("loop-out.jsonl"))
    line = b"x" * 23_000 + b"\n"
    fixed = batch_run.Done(line)
    real = batch_run.decide_one
    batch_run.decide_one = lambda _work, _setup, _form: fixed  # type: ignore[assignment, misc]

    def whole() -> int:
        writer = LineWriter(target)
        writer.begin(0, 0)
        counts = Counts(as_left=False)
        stop = Stop()
        stop.immediate = False  # as once the run is set up
        batch._run(batch._counted(read_work([str(part)]), counts, None), writer, None, "compact", 1, counts,  # type: ignore[arg-type]
                   stop)
        writer.close()
        return counts.read

    def reading() -> int:
        return sum(1 for _ in read_work([str(part)]))

    def writing() -> int:
        writer = LineWriter(target)
        writer.begin(0, 0)
        for _ in range(records):
            writer.add(line)
        writer.flush()
        writer.close()
        return records

    print(f"\nthe loop of `batch --jobs 1` around deciding, CPU µs per record, best of 3 ({records:,} records)\n")
    print("| part | µs / record | load |")
    print("|---|---|---|")
    try:
        for name, step in (("whole loop (decide_one replaced by a 23 kB line)", whole),
                           ("reading (read_work)", reading), ("writing 23 kB lines (LineWriter)", writing)):
            best = float("inf")
            for _ in range(3):
                started = time.process_time()
                count = step()
                best = min(best, (time.process_time() - started) / count * 1e6)
            print(f"| {name} | {best:.2f} | {load()} |", flush=True)
    finally:
        batch_run.decide_one = real
        Path(target).unlink(missing_ok=True)
        part.unlink()


def parquet_row(program: list[str], source: Path, form: str, jobs: str, folder: Path,
                records: int) -> tuple[str, float, int, float, str, float]:
    """One run of `batch -o OUT.parquet` (the decisions and OUT.lines.parquet), as a row of the table;
    its bytes per decision are those of both files."""
    out = folder / f"out-{form}-{jobs}.parquet"
    lines = folder / f"out-{form}-{jobs}.lines.parquet"
    seconds, peak, _status = run([*program, "batch", str(source), "--trace", form, "--jobs", jobs, "-o", str(out)])
    size = out.stat().st_size + lines.stat().st_size
    out.unlink()
    lines.unlink()
    return (f"-o .parquet --trace {form} --jobs {jobs}", records / seconds, peak, size / records, load(),
            CPU_SECONDS["last"] / records * 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--forms", default="compact,full,none")
    parser.add_argument("--jobs", default="1,2")
    parser.add_argument("--baseline", help="the `carepolicy` command of the version to compare with")
    parser.add_argument("--compare", help="another `carepolicy` (e.g. a venv of main) run with the same options")
    parser.add_argument("--rss", default="", help="record counts for the RSS-against-size runs, e.g. 20000,200000")
    parser.add_argument("--loop", type=int, default=0, metavar="N",
                        help="also measure, in this process, the batch loop around deciding on N records")
    parser.add_argument("--keep", help="folder for the input and outputs (default: a temporary folder)")
    parser.add_argument("--parquet", action="store_true",
                        help="also write each form and job count as Parquet (-o OUT.parquet), after its JSON Lines run")
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
    # the interpreter's build moves the figures by ~1.2x (docs/explanation/performance.md#which-python)
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]} at {sys.executable}")

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
    installs = [("", wrapped(command[0]))] + ([("compared: ", wrapped(args.compare))] if args.compare else [])
    parents: dict[int, float] = {}  # CPU s / 1,000 of the main process alone, by row
    for form in args.forms.split(","):
        for jobs in args.jobs.split(","):
            outputs: list[str] = []  # their digests
            for label, program in installs:  # one after the other, so both see the same load
                out = folder / f"out-{form}-{jobs}-{len(outputs)}.jsonl"
                argv_run = [*program, "batch", str(main_input), "--trace", form, "--jobs", jobs, "-o", str(out)]
                seconds, peak, _status = run(argv_run)
                name = f"{label}--trace {form} --jobs {jobs}"
                rows.append((name, args.records / seconds, peak,
                             out.stat().st_size / args.records, load(), CPU_SECONDS["last"] / args.records * 1000))
                parents[len(rows) - 1] = CPU_SECONDS["parent"] / args.records * 1000
                if form == "compact" and not outputs:
                    print(compact_sizes(out), flush=True)
                outputs.append(digest(out))
                print(rows[-1], flush=True)
            if len(outputs) == 2:
                verdict = "byte-identical" if outputs[0] == outputs[1] else "DIFFERENT"
                print(f"--trace {form} --jobs {jobs}: output {verdict} to the compared", flush=True)
            if args.parquet:
                jsonl_cpu = rows[-len(installs)][5]  # this install's JSON Lines run, just before
                rows.append(parquet_row(installs[0][1], main_input, form, jobs, folder, args.records))
                parents[len(rows) - 1] = CPU_SECONDS["parent"] / args.records * 1000
                print(rows[-1], flush=True)
                print(f"--trace {form} --jobs {jobs}: Parquet takes {rows[-1][5] / jsonl_cpu:.2f}x the CPU of "
                      f"JSON Lines", flush=True)
    into = "JSONL and Parquet" if args.parquet else "JSONL"
    print(f"\nJSONL -> {into}, {args.records:,} generated bundles, end to end (start-up and policy load included)\n")
    print("| run | decisions/s | × before, same trace | CPU s / 1,000 | of it the main process | peak RSS "
          "| bytes/decision | load |")
    print("|---|---|---|---|---|---|---|---|")
    for number, (name, rate, peak, per, when, cpu) in enumerate(rows):
        form = "full" if ("full" in name or ("--explain" in name and "no-" not in name)) else "none"
        ratio = f"{rate / base[form]:.1f}" if base and ("compact" not in name) else "—"
        if "compact" in name and "full" in base:
            ratio = f"{rate / base['full']:.1f} (vs full)"
        parent = f"{parents[number]:.3f}" if number in parents else "—"
        print(f"| {name} | {rate:,.0f} | {ratio} | {cpu:.3f} | {parent} | {peak / 1024:,.0f} MB | {per:,.0f} "
              f"| {when} |")
    print_job_ratios(rows, parents)
    if args.loop:
        loop_overhead(main_input, args.loop)
    if sizes:
        print("\npeak RSS against input size (--trace compact --jobs 1)\n")
        print("| records | decisions/s | peak RSS | load |")
        print("|---|---|---|---|")
        per_line = max(row[3] for row in rows)  # bytes a decision, the largest of the runs above
        for k in sizes:
            out = folder / f"rss-{k}.jsonl"
            needed, free = k * per_line * 1.05, shutil.disk_usage(folder).free
            if needed > free:  # a run that fills the disk measures nothing (and stops other work)
                print(f"| {k:,} | not run: its output needs ~{needed / 1e9:,.1f} GB, {free / 1e9:,.1f} GB free in "
                      f"{folder} (--keep DIR on a larger disk) | — | {load()} |", flush=True)
                continue
            seconds, peak, status = run([*command, "batch", str(subset(k)), "--jobs", "1", "-o", str(out)])
            if not out.exists():
                out.with_name(out.name + ".partial").unlink(missing_ok=True)
                print(f"| {k:,} | failed (exit {status}: {' '.join(LAST_ERROR)}) | {peak / 1024:,.0f} MB until then "
                      f"| {load()} |", flush=True)
                continue
            out.unlink()
            print(f"| {k:,} | {k / seconds:,.0f} | {peak / 1024:,.0f} MB | {load()} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
