"""A user's program of the Python API, as its pages promise it: `tests/test_quality.py` runs
`mypy --strict` over it (beside the package), so a type hint narrower than the page (`str | bytes`
where bytearray and memoryview are taken) is an error a user would see. Not run: only checked."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

from pyspark.sql import DataFrame

import carepolicy
from carepolicy.spark import decide


def decide_every_way(folder: Path, fees: str) -> list[carepolicy.Result]:
    evaluator = carepolicy.load(folder, switches={"complex_ccm_care_plan": "relaxed"}, fee_schedule=fees,
                                trace=False)
    bundle: Mapping[str, object] = {"month": "2025-03", "time": [{"minutes": 20, "date": date(2025, 3, 4)}],
                                    "beneficiary": {"part_b": True, "deductible_remaining": Decimal("12.50")}}
    results = [evaluator.evaluate(bundle, source=Path("claims.jsonl"), index=3)]

    def rows() -> Iterator[dict[str, object]]:
        yield {"month": "2025-03", "deductible_remaining": 66.13}

    results += evaluator.evaluate_many(rows(), source=os.fsdecode(b"db"))
    results += evaluator.evaluate_many((bundle, bundle))
    # the document's text as str, bytes, bytearray or memoryview (the page's words)
    results += evaluator.evaluate_text('{"month": "2025-03"}', fmt="json")
    results += evaluator.evaluate_text(bytearray(b'{"month": "2025-03"}\n'), fmt="jsonl", source=Path("in.jsonl"))
    results += evaluator.evaluate_text(memoryview(b"month: 2025-03\n"), fmt=None)
    results += evaluator.iter_text(bytearray(b"month: 2025-03\n"), fmt="yaml")
    results += evaluator.iter_text(memoryview(b'{"month": "2025-03"}'), fmt=None)
    return results


def summary(result: carepolicy.Result) -> str:
    decision = result.decision
    if decision is not None:
        owed: Decimal | None = decision.patient_responsibility
        return f"{result.bundle_id}: {[line.code for line in decision.billable]} {owed}"
    problems: tuple[carepolicy.Diagnostic, ...] = result.diagnostics
    return "; ".join(f"{p.code} {p.fact_path} {p.message} {p.help}" for p in problems) + result.jsonl.decode()


def settings() -> str:
    try:
        described = carepolicy.load().describe()
    except carepolicy.PolicyError as error:
        return str(error)
    return f"{described['policy_set_hash']} {carepolicy.engine_version()}"


def decide_on_spark(frame: DataFrame, folder: Path) -> DataFrame:
    return decide(frame, policies=folder, switches={"complex_ccm_care_plan": "relaxed"},
                  fee_schedule=folder / "fees.csv", trace=False, column="value")
