"""Spark local-mode throughput of `carepolicy.spark.decide`, against `carepolicy batch` on the same bundles.

Generates N bundles (as JSON text in a `bundle` column), then for each `local[K]`:

- a first run (`write.format("noop")`, which evaluates every row and writes nothing), which pays the
  per-executor policy load and every month's plan;
- the best of `--runs` later runs, with the policy set cached in Spark's reused Python workers.

Then the same bundles as a JSON Lines file through `carepolicy batch --trace full --jobs 1` and
`--jobs 2` in a subprocess (start-up and policy load included) and, without them, in-process through
the Python API. Printed, never asserted; the machine's load average is printed with the figures.

    .venv/bin/python benchmarks/bench_spark.py --bundles 4000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from benchmarks.bundle_generator import make_bundles
from tests.pipeline_data import as_read, dumps


def _spark_rates(texts: list[str], cores: int, runs: int) -> tuple[float, float]:
    from pyspark.sql import SparkSession

    from carepolicy.spark import decide

    session = (
        SparkSession.builder.master(f"local[{cores}]").appName("carepolicy-bench")
        .config("spark.ui.enabled", "false").config("spark.log.level", "ERROR")
        .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    try:
        frame = session.createDataFrame([(t,) for t in texts], "bundle string").repartition(cores).cache()
        frame.count()  # the input materialised once, outside the timings
        timings = []
        for _ in range(runs + 1):
            started = time.perf_counter()
            decide(frame).write.format("noop").mode("overwrite").save()
            timings.append(time.perf_counter() - started)
        return len(texts) / timings[0], len(texts) / min(timings[1:])
    finally:
        session.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundles", type=int, default=4000)
    parser.add_argument("--runs", type=int, default=2, help="timed runs after the first, best reported")
    parser.add_argument("--cores", default="1,2", help="the K of each local[K] run, default 1,2")
    args = parser.parse_args(argv)
    os.environ["PYSPARK_PYTHON"] = sys.executable

    bundles = make_bundles(args.bundles, 20250101)
    texts = [dumps(b) for b in bundles]
    print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} (before)")
    print(f"{args.bundles} generated bundles, trace on")
    for cores in (int(c) for c in args.cores.split(",")):
        first, best = _spark_rates(texts, cores, args.runs)
        print(f"spark local[{cores}]: first run {first:,.0f} decisions/s; cached policy set {best:,.0f} decisions/s "
              f"= {best / cores:,.0f} per core")

    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "bundles.jsonl"
        source.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
        for jobs in (1, 2):
            started = time.perf_counter()
            subprocess.run([str(Path(sys.executable).parent / "carepolicy"), "batch", str(source), "-o",
                            str(Path(folder) / "out.jsonl"), "--trace", "full", "--jobs", str(jobs)],
                           check=False, capture_output=True)  # exit 0: every generated bundle is valid
            seconds = time.perf_counter() - started
            print(f"carepolicy batch --trace full --jobs {jobs} (start-up and load included): "
                  f"{args.bundles / seconds:,.0f} decisions/s = {args.bundles / seconds / jobs:,.0f} per core")

    import carepolicy

    evaluator = carepolicy.load()
    readable = as_read(bundles)
    for _ in evaluator.evaluate_many(readable):  # every month's plan built, as in Spark's warm runs
        pass
    started = time.perf_counter()
    for result in evaluator.evaluate_many(readable):
        result.jsonl  # noqa: B018 — the JSON line is part of the work, as in Spark's rows
    api_seconds = time.perf_counter() - started
    print(f"Python API in-process (1 core, mappings -> jsonl bytes): {args.bundles / api_seconds:,.0f} decisions/s")
    print(f"machine: load average {' '.join(f'{v:.2f}' for v in os.getloadavg())} (after)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
