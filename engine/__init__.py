"""carepolicy engine: text -> parse -> AST -> checked policy set -> compiled form -> decision + trace.

The public API is re-exported here; everything else is an implementation detail.
"""

from .api import (
    PolicySet,
    check_policies,
    engine_version,
    evaluate,
    evaluate_all,
    load_fee_schedule,
    load_policies,
    resolve_switches,
)
from .decision.json_form import to_json, to_json_obj
from .decision.model import Decision
from .diagnostics import Diagnostic, FactError, PolicyError, render_json, render_text
from .facts.reader import Bundle, BundleError, iter_records, load_fact_file, load_fact_text

__all__ = [
    "Bundle",
    "BundleError",
    "Decision",
    "Diagnostic",
    "FactError",
    "PolicyError",
    "PolicySet",
    "check_policies",
    "engine_version",
    "evaluate",
    "evaluate_all",
    "iter_records",
    "load_fact_file",
    "load_fact_text",
    "load_fee_schedule",
    "load_policies",
    "render_json",
    "render_text",
    "resolve_switches",
    "to_json",
    "to_json_obj",
]
