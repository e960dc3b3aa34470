"""carepolicy: rules-as-code for Medicare care-management billing.

The Python API for pipelines (docs/guides/python-api.md):

    import carepolicy

    evaluator = carepolicy.load()                 # load, check and compile the policy set once
    result = evaluator.evaluate(bundle_mapping)   # a Result: .ok, .decision, .diagnostics, .jsonl
    results = evaluator.evaluate_many(bundles)    # lazily, one Result per bundle

The names are imported on first use (PEP 562), so `import carepolicy.cli` for `carepolicy --help`
does not pay for the engine. `carepolicy.engine` is the lower-level API; `carepolicy.arrow`,
`carepolicy.spark` and `carepolicy.service` are the Arrow/Parquet, Spark and HTTP layers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from carepolicy.engine import Decision, Diagnostic, PolicyError, engine_version
    from carepolicy.evaluator import Evaluator, Result, load

__all__ = ["Decision", "Diagnostic", "Evaluator", "PolicyError", "Result", "engine_version", "load"]

_HOMES = {
    "Decision": "carepolicy.engine",
    "Diagnostic": "carepolicy.engine",
    "PolicyError": "carepolicy.engine",
    "engine_version": "carepolicy.engine",
    "Evaluator": "carepolicy.evaluator",
    "Result": "carepolicy.evaluator",
    "load": "carepolicy.evaluator",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'carepolicy' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
