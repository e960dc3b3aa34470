"""Check and evaluation time against the number of rules: both should grow linearly.

Generates a policy folder of N rules (each with a condition on the month's minutes, a few
requiring the rule before them, every tenth required by a code) for each N given, then times, end
to end as `carepolicy check` and `carepolicy evaluate` do it: reading and parsing the files,
checking, compiling, and evaluating a batch of bundles (a month plan is made on the first bundle
of each month). CPU seconds are printed beside wall-clock seconds: on a shared machine the CPU
figure is the one to compare. Printed, never asserted.

    .venv/bin/python benchmarks/bench_check.py                 # 1,000 and 10,000 rules
    .venv/bin/python benchmarks/bench_check.py --rules 1000 2000 4000 8000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from carepolicy.engine import check_policies, evaluate, load_policies
from carepolicy.engine.facts.reader import Bundle, validate_bundle

HEADER = 'policy bench{n} "Generated rules"\n'
CODES_PER_FILE = 50


def policy_files(rules: int, per_file: int | None = None) -> dict[str, str]:
    """`rules` rules in files of `per_file` (default: one file); rule i requires rule i-1 when i % 7 == 1; every tenth
    rule is required by one of 50 codes per file (codes 9xxxx are generated, never real CPT)."""
    files: dict[str, str] = {}
    per_file = per_file or rules
    for first in range(0, rules, per_file):
        out = [HEADER.format(n=first // per_file)]
        if first == 0:
            out[0] += '  source S1 "a source"\n'
            out.append(
                'define ccm_minutes "CCM minutes" cite S1 "generated" = sum time.minutes where time.service = ccm\n'
            )
        last = min(rules, first + per_file)
        for i in range(first, last):
            chain = f"\n  requires r{i - 1}" if i % 7 == 1 and i > first else ""
            out.append(
                f'rule r{i} "Rule {i}" cite S1 "generated"\n'
                f"  requires consent.documented and ccm_minutes >= {i % 60} min"
                f"{chain}\n"
            )
        tenth = [i for i in range(first, last) if i % 10 == 0]
        for n, chunk in enumerate(tenth[j::CODES_PER_FILE] for j in range(CODES_PER_FILE)):
            if chunk:
                code = f"{90000 + (first // per_file) * CODES_PER_FILE + n:05d}"
                requires = "".join(f"\n  requires r{i}" for i in chunk)
                out.append(f'code {code} "Code {code}" cite S1 "generated"{requires}\n')
        files[f"rules_{first // per_file:03d}.policy"] = "".join(out)
    return files


def bundles(count: int) -> list[Bundle]:
    out = []
    for i in range(count):
        facts = {
            "month": f"2025-{1 + i % 12:02d}",
            "beneficiary": {
                "part_b": True,
                "dual_status": "none",
                "medigap_plan": None,
                "deductible_remaining": Decimal(0),
            },
            "practitioner": {"id": "P1", "kind": "physician", "new_patient": False, "last_visit": "2024-11-02"},
            "consent": {
                "documented": i % 5 != 0,
                "practitioner": "P1",
                "date": "2023-01-10",
                "method": "verbal",
                "service": "ccm",
            },
            "time": [{"practitioner": "P1", "by": "clinical_staff", "minutes": i % 70, "service": "ccm"}],
            "other_claims_this_month": [],
        }
        bundle = validate_bundle(facts, source="bench", index=i)
        assert isinstance(bundle, Bundle), bundle
        out.append(bundle)
    return out


class Clock:
    """CPU seconds of this process (what the work costs, whatever else the machine runs) and
    wall-clock seconds (what the user waits), from one start."""

    def __init__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def lap(self) -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        spent = (cpu - self.cpu, wall - self.wall)
        self.cpu, self.wall = cpu, wall
        return spent


def measure(rules: int, batch: list[Bundle], per_file: int | None) -> dict[str, tuple[float, float]]:
    with tempfile.TemporaryDirectory() as folder:
        for name, text in policy_files(rules, per_file).items():
            Path(folder, name).write_text(text, encoding="utf-8")
        clock = Clock()
        result, _sources, diagnostics = check_policies(folder)
        checked = clock.lap()
        errors = [d for d in diagnostics if d.is_error]
        assert result is not None, errors[:3]
        assert not errors, errors[:3]
        clock.lap()
        policies = load_policies(folder)
        loaded = clock.lap()
        evaluate(policies, batch[0], trace=False)  # the month plan of the first month
        first = clock.lap()
        for bundle in batch:
            evaluate(policies, bundle, trace=True)
        decided = clock.lap()
    return {
        "check (read, parse, check)": checked,
        "load (check again + compile)": loaded,
        "first decision (month plan)": first,
        f"{len(batch)} decisions over 12 months": decided,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--bundles", type=int, default=200)
    parser.add_argument("--per-file", type=int, default=None, help="rules per file (default: all in one file)")
    args = parser.parse_args()
    batch = bundles(args.bundles)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"python {sys.version.split()[0]}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    results = {rules: measure(rules, batch, args.per_file) for rules in args.rules}
    names = list(next(iter(results.values())))
    print(f"{'CPU seconds (wall)':36}" + "".join(f"{f'{r:,} rules':>18}" for r in results))
    for name in names:
        cells = (f"{results[r][name][0]:.2f} ({results[r][name][1]:.2f})" for r in results)
        print(f"{name:36}" + "".join(f"{cell:>18}" for cell in cells))


if __name__ == "__main__":
    main()
