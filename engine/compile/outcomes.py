"""What evaluating one rule or one code found: the values evaluate.py and the generated code
(codegen_plan.py) both produce, so that either can evaluate a month plan."""

from __future__ import annotations

from typing import Any

from ..decision.model import Reason
from .compiled import CompiledCode

# The trace is recorded compactly while evaluating (tagged tuples that point at compiled
# conditions) and turned into TraceNode values only when someone reads it (JSON, text). Building
# hundreds of frozen nodes per bundle cost more than evaluating the rules; see
# docs/explanation/performance.md. Nothing is lost: the facts are immutable and the definitions
# memoised, so the values a condition read are the same when they are read back.
Compact = tuple[Any, ...]


class RuleOutcome:
    """What evaluation found for one rule. A plain slotted class, not a frozen dataclass: one is
    made for every rule of every bundle, and a frozen dataclass's __init__ costs twice as much.
    Nothing changes one after it is made."""

    __slots__ = ("node", "reasons", "status")

    def __init__(self, status: str, reasons: tuple[Reason, ...], node: Compact | None) -> None:
        self.status = status  # met | unmet | not in effect | overridden
        self.reasons = reasons
        self.node = node


class CodeOutcome:
    """What evaluation found for one code (filled in as it goes; a plain slotted class because
    one is made for every code of every bundle)."""

    __slots__ = ("code", "next_unit", "node", "reasons", "rules_met", "units")

    def __init__(self, code: CompiledCode) -> None:
        self.code = code
        self.reasons: list[Reason] = []
        self.units = 1
        self.next_unit: tuple[int, Reason] | None = None
        self.rules_met: list[str] = []
        self.node: Compact | None = None

    @property
    def valid(self) -> bool:
        return not self.reasons and self.units >= 1


MET = RuleOutcome("met", (), None)  # a rule met, untraced: the same for every rule (nothing changes one)
