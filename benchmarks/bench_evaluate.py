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
import calendar
import gc
import os
import platform
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml

MONTHS = tuple(f"{year}-{month:02d}" for year in (2024, 2025, 2026) for month in range(1, 13))
SERVICES = ("ccm", "pcm", "apcm", "bhi", "rpm")
CONSENT_SERVICES = ("ccm", "pcm", "apcm", "bhi", "cocm", "rpm", "rtm")
LOGGED_BY = ("clinical_staff", "billing_practitioner", "non_clinical_staff")
DUAL = ("none", "none", "none", "qmb", "slmb", "qi", "full_benefit")
MEDIGAP = (None, None, "A", "B", "C", "D", "F", "G", "K", "L", "M", "N")
KINDS = ("physician", "physician", "physician", "np", "pa", "cns", "cnm", "rn", "fqhc")
CODES = ("99490", "99439", "99491", "99437", "99487", "99489", "99424", "99425", "99426", "99427", "99484",
         "99492", "99493", "99457", "99458", "G0506", "G0511", "G0556", "G0557", "G0558", "G2064", "G2065",
         "99495", "99496", "G0181", "90960")
CONDITIONS = (("diabetes", "E11.9"), ("hypertension", "I10"), ("heart failure", "I50.9"), ("copd", "J44.9"),
              ("ckd stage 3", "N18.30"), ("depression", "F33.1"), ("atrial fibrillation", "I48.91"),
              ("asthma", "J45.909"))
PRACTITIONERS = ("P1", "P1", "P1", "P2", "P3")
SPECIALTIES = ("family_medicine", "internal_medicine", "cardiology", "psychiatry", "nephrology")


# --------------------------------------------------------------------------- bundle generation


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    """A money amount between `low` and `high` dollars, to the cent, exactly."""
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _day(rng: random.Random, month: str) -> str:
    return f"{month}-{rng.randint(1, 28):02d}"


def _month_before(month: str, back: int) -> str:
    year, number = int(month[:4]), int(month[5:])
    index = year * 12 + number - 1 - back
    return f"{index // 12}-{index % 12 + 1:02d}"


def make_bundle(rng: random.Random, number: int) -> dict[str, Any]:
    """One schema-valid fact bundle (fact bundle v1); every optional part is sometimes left out.

    Each bundle has a focus service: most of its time, and usually its consent, are for that
    service. About a third are "clean" (every yes/no fact is nearly always the helpful one), so a
    fair share of decisions bill something and pricing and cost sharing run too; the rest are
    denied for the usual reasons (no consent, too few minutes, wrong staff, no care plan, ...).
    """
    month = rng.choice(MONTHS)
    me = "P1"
    focus = rng.choice(SERVICES)
    clean = rng.random() < 0.35

    def chance(p: float) -> bool:
        """True with probability p (0.99 in a clean bundle)."""
        return rng.random() < (max(p, 0.99) if clean else p)
    bundle: dict[str, Any] = {"fact_bundle": 1, "id": f"b{number:06d}", "month": month}
    bundle["beneficiary"] = {
        "part_b": chance(0.96),
        "dual_status": rng.choice(DUAL),
        "medigap_plan": rng.choice(MEDIGAP),
        "deductible_remaining": rng.choice((Decimal(0), Decimal(0), _money(rng, 0, 257))),
        "medicare_eligible_before_2020": rng.random() < 0.6,
        "medigap_oop_limit_met": rng.random() < 0.1,
    }
    practitioner: dict[str, Any] = {
        "id": me,
        "kind": rng.choice(KINDS[:3] if clean else KINDS),
        "new_patient": not chance(0.94),
        "primary_care_focal_point": chance(0.8),
    }
    if chance(0.9):
        practitioner["last_visit"] = _day(rng, _month_before(month, rng.choice((0, 1, 2, 3, 5, 8, 11, 14, 30))))
    if rng.random() < 0.5:
        practitioner["specialty"] = rng.choice(SPECIALTIES)
    bundle["practitioner"] = practitioner
    if chance(0.9):
        bundle["practice"] = {key: chance(0.93) for key in
                              ("certified_ehr", "access_24_7", "continuity_designated_member",
                               "electronic_care_plan_shared")}
    conditions = []
    for name, icd10 in rng.sample(CONDITIONS, rng.choice((2, 3, 4) if clean else (0, 1, 1, 2, 2, 2, 3, 3, 4, 5))):
        conditions.append({"name": name, "icd10": icd10, "expected_months": rng.choice((3, 6, 12, 24, 60, 60)),
                           "significant_risk": chance(0.8), "pcm_criteria_met": chance(0.5)})
    bundle["chronic_conditions"] = conditions
    consent = rng.random()
    if consent >= 0.1 or clean:  # present (otherwise absent altogether)
        others = [s for s in CONSENT_SERVICES if s != focus]
        services = [focus, *rng.sample(others, rng.randint(0, 2))] if chance(0.85) else \
            rng.sample(others, rng.randint(1, 2))
        rng.shuffle(services)
        record: dict[str, Any] = {
            "documented": chance(0.93),
            "practitioner": me if chance(0.92) else rng.choice(("P2", "P3", None)),
            "date": _day(rng, _month_before(month, rng.randint(0, 24))) if chance(0.95) else None,
            "method": rng.choice(("verbal", "written")),
            "service": services[0] if len(services) == 1 and rng.random() < 0.5 else services,
        }
        if consent < 0.17 and not clean:  # revoked, this month or earlier
            record["revoked"] = _day(rng, _month_before(month, rng.randint(0, 3)))
        bundle["consent"] = record
    if chance(0.9):
        bundle["care_plan"] = {"comprehensive": chance(0.9),
                               "established_or_substantially_revised_this_month": rng.random() < 0.3}
    if rng.random() < 0.85:
        bundle["medical_decision_making"] = rng.choice(("low", "moderate", "moderate", "high"))
    entries = []
    for _ in range(rng.choice((1, 2, 3, 4) if clean else (0, 1, 1, 2, 2, 3, 3, 4, 6))):
        entry: dict[str, Any] = {
            "practitioner": me if chance(0.88) else rng.choice(PRACTITIONERS[3:]),
            "by": rng.choices(LOGGED_BY, weights=(6, 3, 0 if clean else 1))[0],
            "minutes": rng.choice((5, 10, 15, 19, 20, 21, 25, 30, 31, 39, 40, 45, 59, 60, 61, 75, 90, 120)),
            "service": focus if chance(0.75) else rng.choice(SERVICES),
        }
        if rng.random() < 0.85:
            entry["date"] = _day(rng, month if rng.random() < 0.95 else _month_before(month, 1))
        if rng.random() < 0.03:
            entry["also_claimed_for"] = rng.choice(SERVICES)
        entries.append(entry)
    bundle["time"] = entries
    if rng.random() < 0.3:
        bundle["other_claims_this_month"] = [
            {"code": rng.choice(CODES), "practitioner": rng.choice(PRACTITIONERS),
             "status": rng.choice(("paid", "submitted"))}
            for _ in range(rng.randint(1, 3))
        ]
    if rng.random() < 0.4:
        bundle["prior_claims"] = [
            {"code": rng.choice(CODES), "practitioner": rng.choice(PRACTITIONERS),
             "month": _month_before(month, rng.randint(1, 14))}
            for _ in range(rng.randint(1, 4))
        ]
    visit = rng.random()
    if visit < 0.08:
        bundle["initiating_visit"] = None
    elif visit < 0.85:
        bundle["initiating_visit"] = {
            "code": rng.choice(("99213", "99214", "99215", "G0438", "G0439", "99204")),
            "date": _day(rng, _month_before(month, rng.randint(0, 14))),
            "practitioner": me if rng.random() < 0.9 else "P2",
            "ccm_discussed": chance(0.85),
            "extensive_assessment_by_billing_practitioner": rng.random() < 0.2,
        }
        if rng.random() < 0.6:
            bundle["ccm_start"] = _month_before(month, rng.randint(0, 6))
    if rng.random() < 0.1:
        start = _day(rng, _month_before(month, rng.randint(0, 1)))
        bundle["tcm_period"] = {"start": start, "end": _day(rng, month)}
    if rng.random() < (0.9 if focus == "rpm" else 0.2):
        # drawn from 0-31 as before (the same random stream), then no more than the month's days,
        # which intake refuses as impossible (session 18): 0.6% of the bundles changed (no rule reads it)
        days = min(rng.randint(0, 31), calendar.monthrange(int(month[:4]), int(month[5:]))[1])
        bundle["rpm"] = {"device_days": days, "interactive_communication": chance(0.8)}
    if rng.random() < (0.5 if focus == "bhi" else 0.1):
        bundle["cocm"] = {"first_month": rng.random() < 0.3, "psychiatric_consultant": rng.random() < 0.8}
    if rng.random() < 0.15:
        codes = rng.sample(CODES[:22], rng.randint(1, 4))
        bundle["fee_schedule_override"] = {code: _money(rng, 10, 160) for code in codes}
    return bundle


def make_bundles(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [make_bundle(rng, number) for number in range(count)]


class _Dumper(yaml.CSafeDumper):
    """Writes Decimal money as a plain YAML number (`66.13`), the way a user's fact file holds it."""


_Dumper.add_representer(Decimal, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:float",
                                                                               str(value)))


def to_yaml(bundles: Iterable[dict[str, Any]]) -> str:
    return yaml.dump_all(bundles, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


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
    parser.add_argument("--seed", type=int, default=20250101, help="random seed for the bundles")
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
