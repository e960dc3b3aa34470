"""Benchmark: policy load/check/compile time and evaluation throughput (see benchmarks/README.md).

    .venv/bin/python benchmarks/bench_evaluate.py [--bundles N] [--policies DIR] [--seed S] [--runs R]

Generates N varied, schema-valid fact bundles from a seeded `random.Random` (the same seed gives
the same bundles), then measures, single-threaded and in-process:

  (a) policy load + check + compile, cold (first in the process) and warm (best of R), with the
      checker's own stage timings (`CheckResult.timings`) and the cost of building every month plan
  (b) decisions/s with the full trace
  (c) decisions/s without the trace
  (d) decisions/s end to end: YAML text -> load + schema validation -> evaluate -> `to_json`
  (e) CPU time of `evaluate` per bundle, month plans and memos warm (`time.process_time`, best
      of R): the figure to compare on a shared machine, where wall-clock time is noise

Every throughput figure is the best of R runs over all N bundles (`time.perf_counter`). This is a
script, not a test: it prints figures and asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling bundle_generator.py, however imported

# make_bundle is re-exported (`as`): the tests import the generator from here, where it was written
from bundle_generator import MONTHS, SEED, make_bundles, to_yaml
from bundle_generator import make_bundle as make_bundle

# --------------------------------------------------------------------------- timing


@dataclass(frozen=True, slots=True)
class Timing:
    best: float
    runs: tuple[float, ...]


def best_of(runs: int, work: Callable[[], object]) -> Timing:
    """The fastest of `runs` timed calls of `work` (garbage collected before each, not during)."""
    times = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return Timing(min(times), tuple(times))


def cpu_best_of(runs: int, work: Callable[[], object]) -> float:
    """The least CPU time (this process's, `time.process_time`) of `runs` calls of `work`: other
    processes on a shared machine slow the clock on the wall, much less this one's CPU time."""
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.2f} ms"


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:10,.0f} /s  ({seconds / count * 1e6:7.1f} µs each)"


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--bundles", type=int, default=10_000, help="how many fact bundles (default 10000)")
    parser.add_argument("--policies", default=None, help="a policy folder (default: the shipped policies)")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed for the bundles")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the best is reported")
    args = parser.parse_args(argv)
    if args.bundles < 1 or args.runs < 1:
        parser.error("--bundles and --runs must be at least 1")

    # (a) cold: the first load in this process pays for the imports, the grammar and the fact schema
    started = time.perf_counter()
    import carepolicy.engine as engine
    from carepolicy.engine.api import read_policy_texts
    from carepolicy.engine.check import check
    from carepolicy.engine.compile.policy_set import CompiledPolicySet
    from carepolicy.engine.facts.reader import validate_bundle
    from carepolicy.engine.facts.schema import fact_types
    from carepolicy.engine.language.parse import parse_text
    from carepolicy.engine.source import SourceFile
    import_seconds = time.perf_counter() - started

    started = time.perf_counter()
    try:
        policies = engine.load_policies(args.policies)
    except engine.PolicyError as error:
        print(f"the policy set does not check cleanly ({len(error.diagnostics)} errors); "
              "try `--policies DIR` with a working set", file=sys.stderr)
        print(engine.render_text(error.diagnostics[:10], {}), file=sys.stderr, end="")
        return 1
    cold_load = time.perf_counter() - started
    warm_load = best_of(args.runs, lambda: engine.load_policies(args.policies))

    # the same pipeline, stage by stage (warm), so each step has its own figure
    stage_times: dict[str, list[float]] = {"read": [], "parse": [], "check": [], "compile": []}
    check_timings: tuple[tuple[str, float], ...] = ()
    best_check = float("inf")
    for _ in range(args.runs):
        gc.collect()
        t0 = time.perf_counter()
        _root, texts = read_policy_texts(args.policies)
        t1 = time.perf_counter()
        parsed = tuple(parse_text(text, name) for name, text in texts)
        t2 = time.perf_counter()
        checked = check(parsed, fact_types())
        t3 = time.perf_counter()
        sources = {name: SourceFile(name, text) for name, text in texts}
        CompiledPolicySet.build(checked, sources, policies.policy_hash)
        t4 = time.perf_counter()
        for key, seconds in zip(stage_times, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            stage_times[key].append(seconds)
        if t3 - t2 < best_check:
            best_check, check_timings = t3 - t2, checked.timings
    fresh = engine.load_policies(args.policies)
    started = time.perf_counter()
    for month in MONTHS:
        fresh.compiled.plan(month)
    plan_seconds = time.perf_counter() - started

    # the bundles: generated, written as YAML, validated once for (b) and (c)
    started = time.perf_counter()
    raw = make_bundles(args.bundles, args.seed)
    yaml_text = to_yaml(raw)
    generate_seconds = time.perf_counter() - started
    loaded = [validate_bundle(item, source="<bench>", index=i) for i, item in enumerate(raw)]
    bundles = [item for item in loaded if isinstance(item, engine.Bundle)]
    invalid = [item for item in loaded if isinstance(item, engine.BundleError)]
    if invalid:
        print(f"{len(invalid)} generated bundles are not schema-valid; the first:", file=sys.stderr)
        print(engine.render_text(invalid[0].diagnostics, {}), file=sys.stderr, end="")
        return 1
    count = len(bundles)

    # first pass, untimed: builds every month plan, and records what the decisions look like
    outcome: Counter[str] = Counter()
    billed: Counter[str] = Counter()
    for bundle in bundles:
        decision = engine.evaluate(policies, bundle)
        outcome["billable" if decision.billable else "nothing billable"] += 1
        outcome["with alternatives"] += bool(decision.alternatives)
        outcome["not priced"] += decision.totals.allowed is None
        billed.update(line.code for line in decision.billable)

    def evaluate_all(trace: bool, form: str = "") -> Callable[[], None]:
        """Decide every bundle. The engine records the trace while deciding and writes it out on
        request: `form` "json" also writes it as JSON-ready objects (what `to_json` and `batch`
        use), "nodes" as the TraceNode tree (what the text explanation uses)."""
        def run() -> None:
            for bundle in bundles:
                decision = engine.evaluate(policies, bundle, trace=trace)
                if decision.trace is not None:
                    if form == "json":
                        decision.trace.json()
                    elif form == "nodes":
                        len(decision.trace)
        return run

    def end_to_end(trace: bool) -> Callable[[], None]:
        """What `carepolicy batch [--no-explain]` does per record: load + validate, decide, one JSON line."""
        def run() -> None:
            for item in engine.load_fact_text(yaml_text, name="<bench>.yaml", fmt="yaml"):
                if isinstance(item, engine.Bundle):
                    engine.to_json(engine.evaluate(policies, item, trace=trace), indent=None)
        return run

    def load_only() -> None:
        engine.load_fact_text(yaml_text, name="<bench>.yaml", fmt="yaml")

    def serialise(decisions: list[engine.Decision], indent: int | None) -> Callable[[], None]:
        def run() -> None:
            for decision in decisions:
                engine.to_json(decision, indent=indent)
        return run

    traced = best_of(args.runs, evaluate_all(trace=True))
    traced_json = best_of(args.runs, evaluate_all(trace=True, form="json"))
    traced_nodes = best_of(args.runs, evaluate_all(trace=True, form="nodes"))
    untraced = best_of(args.runs, evaluate_all(trace=False))
    cpu_traced = cpu_best_of(args.runs, evaluate_all(trace=True))
    cpu_untraced = cpu_best_of(args.runs, evaluate_all(trace=False))
    e2e = best_of(args.runs, end_to_end(trace=True))
    e2e_untraced = best_of(args.runs, end_to_end(trace=False))
    loading = best_of(args.runs, load_only)
    decisions = [engine.evaluate(policies, bundle) for bundle in bundles]
    for decision in decisions:  # build every trace now, so that the to_json figures are serialisation only
        len(decision.trace or ())
    json_compact = best_of(args.runs, serialise(decisions, None))
    json_indented = best_of(args.runs, serialise(decisions, 2))
    json_bytes = sorted(len(engine.to_json(d, indent=None).encode()) for d in decisions)

    # ---------------------------------------------------------------- report
    load_avg = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print("carepolicy evaluation benchmark")
    print(f"  python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus, "
          f"load average {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f} (at the end)")
    print(f"  policies: {policies.root} ({len(policies.sources)} files, hash {policies.policy_hash[:12]}), "
          f"engine {engine.engine_version()}")
    print(f"  bundles: {count:,} (seed {args.seed}; {len(yaml_text) / 1e6:.1f} MB of YAML, generated in "
          f"{generate_seconds:.2f} s), best of {args.runs} runs each")
    print(f"  decisions: {', '.join(f'{k} {v:,}' for k, v in sorted(outcome.items()))}")
    print(f"  codes billed: {', '.join(f'{k} {v:,}' for k, v in sorted(billed.items())) or 'none'}")
    print(f"  decision JSON with trace, one line: median {json_bytes[len(json_bytes) // 2] / 1000:.1f} kB, "
          f"largest {json_bytes[-1] / 1000:.1f} kB")
    print()

    def line(label: str, value: str, note: str = "") -> None:
        print(f"  {label:<46} {value}{'   ' + note if note else ''}")

    print("(a) policy load + check + compile (in-process)")
    line("import carepolicy.engine", ms(import_seconds))
    line("first load_policies() (cold)", ms(cold_load), "includes grammar build, fact schema, caches")
    line("load_policies() (warm, best)", ms(warm_load.best))
    for key, values in stage_times.items():
        line(f"  {key}", ms(min(values)))
    print(f"  check stages (CheckResult.timings of the best check run, {ms(best_check).strip()} in all):")
    for name, seconds in check_timings:
        line(f"    {name}", ms(seconds))
    line(f"month plans, all {len(MONTHS)} months (once per set)", ms(plan_seconds))
    print()
    print("(b)-(d) throughput, one thread")
    line("(b) evaluate, full trace recorded", rate(count, traced.best), "every rule, requirement and value it read")
    line("    ... and the trace written as JSON objects", rate(count, traced_json.best), "what to_json / batch add")
    line("    ... and the trace built as TraceNode tree", rate(count, traced_nodes.best), "what the text form adds")
    line("(c) evaluate, no trace", rate(count, untraced.best))
    line("(d) end to end, trace (batch)", rate(count, e2e.best), "YAML + schema + evaluate + to_json line")
    line("(d) end to end, no trace (batch --no-explain)", rate(count, e2e_untraced.best))
    line("    YAML load + schema validation alone", rate(count, loading.best))
    line("    to_json, one line (batch, jsonl)", rate(count, json_compact.best))
    line("    to_json, indented (evaluate --format json)", rate(count, json_indented.best),
         "pure-Python encoder: json uses its C encoder only without indent")
    print()
    print("(e) CPU time per bundle, evaluate alone, month plans and memos warm (process_time, best of runs)")
    line("evaluate, trace recorded", f"{cpu_traced / count * 1e6:7.1f} µs CPU", "the evaluation stage's figure")
    line("evaluate, no trace", f"{cpu_untraced / count * 1e6:7.1f} µs CPU")
    print()
    print(f"(f) every figure is for ONE core: the benchmark and the engine are single-threaded. This machine has "
          f"{os.cpu_count()} cpus;\n    independent bundles parallelise across processes (each loads the policy set "
          f"once).")
    print()
    rows = [
        ("policy load + check + compile, cold", f"{cold_load * 1000:.1f} ms"),
        ("policy load + check + compile, warm", f"{warm_load.best * 1000:.1f} ms"),
        ("  parse", f"{min(stage_times['parse']) * 1000:.1f} ms"),
        ("  check", f"{min(stage_times['check']) * 1000:.1f} ms"),
        ("  compile", f"{min(stage_times['compile']) * 1000:.1f} ms"),
        ("decisions/s, full trace recorded", f"{count / traced.best:,.0f}"),
        ("decisions/s, full trace as JSON objects", f"{count / traced_json.best:,.0f}"),
        ("decisions/s, no trace", f"{count / untraced.best:,.0f}"),
        ("evaluate CPU µs/bundle, trace recorded (warm)", f"{cpu_traced / count * 1e6:.1f}"),
        ("evaluate CPU µs/bundle, no trace (warm)", f"{cpu_untraced / count * 1e6:.1f}"),
        ("decisions/s, end to end, trace", f"{count / e2e.best:,.0f}"),
        ("decisions/s, end to end, no trace", f"{count / e2e_untraced.best:,.0f}"),
        ("bundles/s, YAML load + validation", f"{count / loading.best:,.0f}"),
        ("threads", "1"),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"| {'measure':<{width}} | {'value':>12} |")
    print(f"|{'-' * (width + 2)}|{'-' * 14}|")
    for label, value in rows:
        print(f"| {label:<{width}} | {value:>12} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
