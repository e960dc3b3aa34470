"""What sharing a decision's costs gives (`CostResult`: the shares, their note) and the block's
trace: its node (each clause's result and the values it read), built only when a trace is read, and
what the compact trace keeps of it without building the node (`cost_summary`, read by compact.py and
full_trace.py). The arithmetic: cost_sharing.py and line_shares.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ..compile.compiled import CompiledCostSharing
from ..compile.month_plan import MonthPlan
from ..compile.runtime import UNKNOWN, Env
from ..decision.model import Shares
from ..decision.trace_nodes import Read, TraceNode
from ..frozen_init import dict_init

# (the cost-sharing node's result then each clause's; what it reads, `CompiledCostSharing.reads`
# itself, or () for a header-only node; the value of each, or UNKNOWN)
CostSummary = tuple[list[str], tuple[tuple[str, str, Any], ...], list[Any]]


# made for every record: one dict update fills it (frozen_init.py)
@dict_init
@dataclass(frozen=True)
class CostResult:
    shares: tuple[Shares | None, ...]
    note: str | None
    # The trace node, built only when the trace is read (most of a batch's traces never are
    # turned into nodes: they are written as JSON, or not at all). Everything it reads is immutable.
    node: Callable[[], TraceNode] | None
    # What the compact trace keeps of that node, without building it (evaluation/compact.py)
    summary: Callable[[], CostSummary] | None = None
    # the assumptions the priced lines' shares rest on (cost_sharing.py, `_assumed`), quoted on them
    cites: tuple[str, ...] = ()


def cost_result(
    sharing: CompiledCostSharing,
    shares: list[Shares | None],
    undetermined: str | None,
    applies: tuple[Any, ...] | None,
    plan: MonthPlan,
    traced: Env | None,
    cites: tuple[str, ...] = (),
) -> CostResult:
    """The shares with their note, and (when `traced`, the bundle's Env) the trace's node and summary."""
    about = _note_subject(shares)
    if undetermined is not None:
        result = f"indeterminate: {undetermined}"
        note = f"{about} {result}"
        if traced is None:
            return CostResult(tuple(shares), note, None, cites=cites)
        header_only: CostSummary = ([result], (), [])
        return CostResult(tuple(shares), note, partial(header_node, sharing, result), lambda: header_only, cites)
    unknown = next((sh.note for sh in shares if sh is not None and sh.note), None)
    if traced is None:
        return CostResult(tuple(shares), None if unknown is None else f"{about} {unknown}", None, cites=cites)
    result = "shared" if unknown is None else f"indeterminate: {unknown}"
    node = partial(cost_sharing_node, sharing, applies, traced, plan, result)
    summary = partial(cost_summary, sharing, applies, traced, result)
    return CostResult(tuple(shares), None if unknown is None else f"{about} {unknown}", node, summary, cites)


def _note_subject(shares: list[Shares | None]) -> str:
    """What an undecided note is about: the patient's responsibility, unless every line says what
    the beneficiary owes (a QMB owes nothing, §7.2) and only another payer's share is undecided."""
    if shares and all(sh is not None and sh.beneficiary is not None for sh in shares):
        return "payer shares"
    return "patient responsibility"


def clauses_apply(sharing: CompiledCostSharing, env: Env) -> tuple[Any, ...]:
    """Whether each `pays` clause applies to this bundle (True, False or UNKNOWN), in clause order."""
    # (a list made, then the tuple: a generator's resumption per clause cost more, ~10 clauses a decision)
    return tuple([True if (v := p.when(env)) is True else (UNKNOWN if v is UNKNOWN else False) for p in sharing.pays])


def header_node(sharing: CompiledCostSharing, result: str) -> TraceNode:
    header = sharing.header
    return TraceNode("cost sharing", header.id, header.title, header.cites, header.source, result)


def cost_sharing_node(
    sharing: CompiledCostSharing, applies: Sequence[Any] | None, env: Env, plan: MonthPlan, result: str
) -> TraceNode:
    if applies is None:
        applies = clauses_apply(sharing, env)
    reads = [
        Read(
            label,
            "missing" if (value := reader(env)) is UNKNOWN else value,
            plan.as_of if kind == "parameter" else None,
        )
        for label, kind, reader in sharing.reads
    ]
    children = tuple(
        TraceNode("clause", f"{p.payer} pays {p.share}", p.text, (), sharing.header.source, _clause_result(applied))
        for p, applied in zip(sharing.pays, applies, strict=True)
    )
    if sharing.sequestration is not None:
        _rate, _when, text = sharing.sequestration
        cut = _sequestration_result(sharing, env)
        children += (TraceNode("clause", "sequestration", text, (), sharing.header.source, cut),)
    return TraceNode(
        "cost sharing",
        sharing.header.id,
        sharing.header.title,
        sharing.header.cites,
        sharing.header.source,
        result,
        tuple(reads),
        children,
    )


def _clause_result(applied: Any) -> str:
    return "applies" if applied is True else ("unknown" if applied is UNKNOWN else "does not apply")


# `_clause_result` of each value `clauses_apply` gives (True, False or UNKNOWN: nothing else), looked
# up in C for the compact trace's ~10 clauses a decision, not a call each
_RESULT_OF_APPLIED = {applied: _clause_result(applied) for applied in (True, False, UNKNOWN)}


def _sequestration_result(sharing: CompiledCostSharing, env: Env) -> str:
    assert sharing.sequestration is not None
    _rate, when, _text = sharing.sequestration
    return _clause_result(when(env))


def cost_summary(sharing: CompiledCostSharing, applies: Sequence[Any] | None, env: Env, result: str) -> CostSummary:
    """What `cost_sharing_node` would show, as the compact trace keeps it: the results and the values read."""
    if applies is None:
        applies = clauses_apply(sharing, env)
    values = [reader(env) for _label, _kind, reader in sharing.reads]
    results = [result, *map(_RESULT_OF_APPLIED.__getitem__, applies)]
    if sharing.sequestration is not None:  # the last clause, as in `cost_sharing_node`
        results.append(_sequestration_result(sharing, env))
    return results, sharing.reads, values
