"""The trace has two forms: TraceNode values (text, explain) and JSON written straight from what
evaluation recorded (`Trace.json`, the fast path of `to_json`). They must say the same thing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from carepolicy.engine import PolicySet, evaluate, load_policies
from carepolicy.engine.decision.trace_nodes import trace_node_json
from carepolicy.engine.facts.reader import Bundle, validate_bundle

ROOT = Path(__file__).resolve().parents[1]


def _bench_module() -> ModuleType:
    """benchmarks/bench_evaluate.py generates varied, schema-valid bundles; reuse its generator."""
    spec = importlib.util.spec_from_file_location("bench_evaluate", ROOT / "benchmarks" / "bench_evaluate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_evaluate", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def shipped() -> PolicySet:
    return load_policies(None)


@pytest.fixture(scope="module")
def bundles() -> list[Bundle]:
    raw: list[dict[str, Any]] = _bench_module().make_bundles(400, 7)
    loaded = [validate_bundle(item, source="<generated>", index=i) for i, item in enumerate(raw)]
    valid = [item for item in loaded if isinstance(item, Bundle)]
    assert len(valid) == len(raw)
    return valid


def test_json_written_from_the_record_equals_the_json_of_the_nodes(shipped: PolicySet, bundles: list[Bundle]) -> None:
    compared = 0
    for bundle in bundles:
        fast = evaluate(shipped, bundle).trace
        slow = evaluate(shipped, bundle).trace
        assert fast is not None
        assert slow is not None
        assert fast.json() == [trace_node_json(node) for node in slow], bundle.id
        compared += len(slow)
    assert compared > 10 * len(bundles)  # the traces are not trivially empty


def test_json_after_the_nodes_were_built_is_the_same(shipped: PolicySet, bundles: list[Bundle]) -> None:
    for bundle in bundles[:50]:
        trace = evaluate(shipped, bundle).trace
        assert trace is not None
        before = trace.json()
        assert len(trace) > 0  # builds the nodes; json() then converts them
        assert trace.json() == before
