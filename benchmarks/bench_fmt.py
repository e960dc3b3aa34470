"""`carepolicy fmt` time, end to end as a user runs it: the shipped policies, and a generated file.

Runs `carepolicy fmt --check` in a fresh process over the shipped policies (start-up, reading,
parsing three times: the input, the layout's token stream, the output's check), then times
`format_text` in process on one generated file of N rules. CPU seconds are printed beside
wall-clock seconds: on a shared machine the CPU figure is the one to compare. Printed, never
asserted.

    .venv/bin/python benchmarks/bench_fmt.py
    .venv/bin/python benchmarks/bench_fmt.py --rules 1000 4000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from carepolicy.engine.language.format import format_text

ROOT = Path(__file__).resolve().parent.parent


def generated(rules: int) -> str:
    parts = ['policy bench "Generated rules"\n  source S1 "A source"\n']
    for i in range(rules):
        parts.append(
            f'rule bench.r{i} "Rule {i}" cite S1 "§{i}" effective 2020-01-01..\n'
            f"  requires minutes >= {i % 60} min and (a.b{i % 7} or not c)\n    else \"why {i}\" # note\n"
        )
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, nargs="+", default=[1000, 4000])
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    command = [sys.executable, "-m", "carepolicy.cli", "fmt", "--check", "--policies", str(ROOT / "policies")]
    wall = time.perf_counter()
    before = os.times()
    subprocess.run(command, check=True, capture_output=True)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    print(f"fmt --check, shipped policies (process): {time.perf_counter() - wall:6.2f} s wall, {cpu:6.2f} s CPU")
    format_text('policy warm "Warm up"\n', "warm.policy")
    for rules in args.rules:
        text = generated(rules)
        wall, cpu0 = time.perf_counter(), time.process_time()
        format_text(text, "bench.policy")
        print(f"format_text, {rules:>6} rules ({len(text) / 1e6:.2f} MB): "
              f"{time.perf_counter() - wall:6.2f} s wall, {time.process_time() - cpu0:6.2f} s CPU")


if __name__ == "__main__":
    main()
