"""Every quick benchmark script still runs and prints its figures (on tiny inputs).

Benchmarks are printed, never asserted (benchmarks/README.md), so nothing else would notice one
that no longer runs: `bench_compact_trace.py` without `--input` failed for a whole version (it wrote
the generated bundles' Decimal money with a JSON writer that refuses Decimal). These runs check
that each script finishes, with the default (generated) input, and prints the line that carries
its figures; they assert nothing about the figures themselves. The slow ones (the HTTP service,
Spark, the report forms) are left out: they start servers or a JVM.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# (script, tiny arguments, a text its report always prints)
RUNS = [
    ("bench_compact_trace.py", ["--records", "30", "--warm", "5"], "the two give the same compact traces: True"),
    ("bench_line.py", ["--records", "30", "--warm", "6", "--forms", "compact"], "kept pieces"),
    ("bench_line.py", ["--records", "30", "--warm", "6", "--trace-alone"], "kept templates"),
    ("bench_stages.py", ["--records", "30", "--warm", "6"], "  full "),
    ("bench_evaluate_stream.py", ["--records", "30", "--warm", "5", "--runs", "1"], "in the stream:"),
    ("bench_write.py", ["--records", "30"], "bytes per line"),
    ("bench_facts.py", ["--bundles", "30", "--runs", "1"], "typed"),
    ("bench_check.py", ["--rules", "20", "--bundles", "10"], "first decision"),
    ("bench_fmt.py", ["--rules", "20"], "format_text"),
    ("bench_batch.py", ["--records", "40", "--forms", "compact,none", "--jobs", "1"], "| --trace none --jobs 1 |"),
    ("bench_batch.py", ["--records", "40", "--forms", "none", "--jobs", "1", "--loop", "30"], "| whole loop"),
    ("bench_batch.py", ["--records", "40", "--forms", "none", "--jobs", "1", "--parquet"],
     "| -o .parquet --trace none --jobs 1 |"),
    # 300 records: more than two chunks of 64, so that --jobs 2 starts its workers
    ("bench_jobs.py", ["--records", "300", "--forms", "none", "--pairs", "1"], "--trace none: by the wall clock"),
]


@pytest.mark.parametrize(("script", "args", "expected"), RUNS, ids=[f"{run[0]} {' '.join(run[1])}" for run in RUNS])
def test_benchmark_runs_and_reports(script: str, args: list[str], expected: str, tmp_path: Path) -> None:
    if script in ("bench_batch.py", "bench_jobs.py"):
        args = [*args, "--keep", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    assert expected in result.stdout, f"{script} did not print {expected!r}:\n{result.stdout[-3000:]}"
