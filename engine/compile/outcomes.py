"""What evaluating one rule or one code found: the values evaluate.py and the generated code
(codegen_plan.py) both produce, so that either can evaluate a month plan."""

from __future__ import annotations

from typing import Any

from ..decision.model import Denial, Reason
from .compiled import CompiledCode

# The trace is recorded compactly while evaluating (tagged tuples that point at compiled
# conditions) and turned into TraceNode values only when someone reads it (JSON, text). Building
# hundreds of frozen nodes per bundle cost more than evaluating the rules; see
# docs/explanation/performance-history.md. Nothing is lost: the facts are immutable and the definitions
# memoised, so the values a condition read are the same when they are read back.
Compact = tuple[Any, ...]


class SharedRecord(tuple[Any, ...]):
    """A trace record made once and shared by every bundle whose outcome it is: the records of
    codegen_plan's prebuilt outcomes (a rule met, a precondition unmet, a code it denies), the
    records the generated code shares between bundles alike (`share_record`), and a month plan's
    records of the rules not in effect. A record like any other to everything that reads the
    trace; the compact trace also keeps what it makes of one in `compact` (evaluation/compact.py:
    the results, letters and names read, the same for every bundle; not the values read, which
    are the bundle's), and the full trace its canonical bytes cut at the values read and the refs
    in `full`, and the bytes of a ref to it in `as_ref` (evaluation/full_trace.py). Bounded: one
    per prebuilt record, `SHARED_PER_OWNER` per rule or code, and those live as long as the
    policy set (a month plan's, as long as the plan)."""

    compact: Any
    full: Any
    as_ref: bytes | None

    def __new__(cls, items: tuple[Any, ...]) -> SharedRecord:
        record = super().__new__(cls, items)
        record.compact = None
        record.full = None
        record.as_ref = None
        return record


SHARED_PER_OWNER = 64  # bound on the records `share_record` keeps for one rule or code (~10 on the benchmark bundles)


def share_record(records: dict[tuple[Any, ...], SharedRecord], key: tuple[Any, ...], record: Compact) -> Compact:
    """`record` (a rule's or code's trace record, of one bundle) as the shared record of `key` in
    `records`, for later bundles with the same key (codegen_shared.py `traced`); itself, unshared,
    once `records` is full."""
    if len(records) >= SHARED_PER_OWNER:
        return record
    return records.setdefault(key, SharedRecord(record))  # (two threads at once: both get the one kept)


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
    one is made for every code of every bundle).

    A code denied by a precondition whose outcome was itself prebuilt (a program without consent,
    say: most codes of most bundles) gets a prebuilt outcome too, shared by every bundle, with its
    `denial` made once (see `gate_denied`). Such an outcome is never changed: `owned()` gives the
    copy to change."""

    __slots__ = ("code", "denial", "next_unit", "node", "reasons", "rules_met", "units")

    def __init__(self, code: CompiledCode) -> None:
        self.code = code
        self.reasons: list[Reason] = []
        self.units = 1
        self.next_unit: tuple[int, Reason] | None = None
        self.rules_met: list[str] = []
        self.node: Compact | None = None
        self.denial: Denial | None = None  # set only on a shared, prebuilt outcome

    @property
    def valid(self) -> bool:
        return not self.reasons and self.units >= 1

    def owned(self) -> CodeOutcome:
        """This outcome, or a private copy of it when it is a shared prebuilt one (to add reasons to)."""
        if self.denial is None:
            return self
        copy = CodeOutcome(self.code)
        copy.reasons, copy.units, copy.node = list(self.reasons), self.units, self.node
        copy.next_unit, copy.rules_met = self.next_unit, list(self.rules_met)
        return copy


def gate_denied(code: CompiledCode, gate: RuleOutcome, node: Compact | None) -> CodeOutcome:
    """The outcome of a code denied by a precondition with this (prebuilt, unmet) outcome: what
    `Evaluation.code` makes, made once per month plan and shared by every bundle."""
    outcome = CodeOutcome(code)
    outcome.reasons.extend(gate.reasons)
    outcome.units = 0
    outcome.node = node
    outcome.denial = Denial(code.header.id, tuple(gate.reasons))
    return outcome


MET = RuleOutcome("met", (), None)  # a rule met, untraced: the same for every rule (nothing changes one)
