"""The outcomes and trace records generated code shares between bundles (codegen_plan.py): made once
per compiled rule or code and bound as constants, so that months with the same rules share one
generated function (its constants are the same objects). Each is kept in the compiled set's
`prebuilt_outcomes` with the rule or code it belongs to, so that its id stays its own."""

from __future__ import annotations

from typing import Any

from .codegen_names import text
from .codegen_writer import Writer
from .outcomes import MET, CodeOutcome, Compact, RuleOutcome, SharedRecord, gate_denied


class SharedOutcomes:
    """A mixin of PlanWriter: its prebuilt outcomes and shared trace records."""

    compiled: Any
    plan: Any

    def unmet_outcomes(self, rule: Any, requirement: Any, condition: Any) -> tuple[RuleOutcome, RuleOutcome]:
        """The outcome of a one-condition rule whose condition is false, without and with its trace."""
        key = ("unmet", id(rule))
        found = self.compiled.prebuilt_outcomes.get(key)
        if found is None:
            reasons = (self.compiled.fixed_reason(rule.header, requirement),)
            child = ("requirement", rule.header, condition, requirement.location, False)
            traced = RuleOutcome("unmet", reasons, SharedRecord(("rule", rule.header, "unmet", (child,))))
            found = self.compiled.prebuilt_outcomes[key] = (RuleOutcome("unmet", reasons, None), traced, rule)
        return found[0], found[1]

    def wrapped_unmet(self, rule: Any, other_id: str) -> list[tuple[RuleOutcome, RuleOutcome]]:
        """For a rule that only requires `other_id`: each prebuilt unmet outcome of that rule (untraced,
        traced) with this rule's own outcome for it, made once (and kept as this rule's prebuilt pair)."""
        other = self.plan.rules.get(other_id)
        found = self.compiled.prebuilt_outcomes.get(("unmet", id(other))) if other is not None else None
        if found is None:
            return []
        key = ("unmet", id(rule))
        mine = self.compiled.prebuilt_outcomes.get(key)
        if mine is None:
            reasons = found[0].reasons
            traced = RuleOutcome("unmet", reasons, SharedRecord(("rule", rule.header, "unmet", (("ref", other_id),))))
            mine = self.compiled.prebuilt_outcomes[key] = (RuleOutcome("unmet", reasons, None), traced, rule)
        return [(found[0], mine[0]), (found[1], mine[1])]

    def met_outcomes(self, rule: Any) -> tuple[RuleOutcome, RuleOutcome]:
        """A rule's outcome when met, without and with its trace record (one pair per compiled rule)."""
        key = ("met", id(rule))
        found = self.compiled.prebuilt_outcomes.get(key)
        if found is None:
            held: list[Compact] = []
            for requirement in rule.requirements:
                for condition in requirement.conditions:
                    if condition.rule is not None:
                        held.append(("ref", condition.rule))
                    else:
                        held.append(("requirement", rule.header, condition, requirement.location, True))
            traced = RuleOutcome("met", (), SharedRecord(("rule", rule.header, "met", tuple(held))))
            found = self.compiled.prebuilt_outcomes[key] = (MET, traced, rule)  # the rule kept: its id stays its
        return found[0], found[1]

    def gate_denied(self, code: Any, gate: RuleOutcome, node: Compact | None) -> CodeOutcome:
        """One shared outcome per (code, gate outcome), for every month: so that months whose
        codes are the same share one generated function (its constants are the same objects)."""
        key = ("gate denied", id(code), id(gate))
        found = self.compiled.prebuilt_outcomes.get(key)
        if found is None:  # the code kept too: its id stays its own (the gate outcome is kept already)
            found = self.compiled.prebuilt_outcomes[key] = (gate_denied(code, gate, node), None, code)
        shared: CodeOutcome = found[0]
        return shared

    def prebuilt_unmet(self, gate_id: str) -> list[tuple[RuleOutcome, bool]]:
        """The prebuilt unmet outcomes of a precondition in effect (untraced, then traced), if it has them."""
        rule = self.plan.rules.get(gate_id)
        found = self.compiled.prebuilt_outcomes.get(("unmet", id(rule))) if rule is not None else None
        return [] if found is None else [(found[0], False), (found[1], True)]

    def gate_record(self, code: Any, gate_id: str) -> SharedRecord:
        """The trace record of a code that precondition `gate_id` denied: the same for every bundle."""
        key = ("gate record", id(code), gate_id)
        found = self.compiled.prebuilt_outcomes.get(key)
        if found is None:
            result = f"not evaluated: precondition {gate_id} not met"
            record = SharedRecord(("code", code.header, result, (("ref", gate_id),)))
            found = self.compiled.prebuilt_outcomes[key] = (record, None, code)
        shared: SharedRecord = found[0]
        return shared

    def traced(
        self, w: Writer, owner: Any, kind: str, header: str, result: str, children: str, values: list[str]
    ) -> None:
        """`_n = ` the trace record of a rule or code evaluated for this bundle, shared: the record
        is fixed by its result and by which of its conditions' values are True and which unknown
        (all a requirement's result says; its children are its conditions and refs, in order), so
        bundles alike get the same `SharedRecord`, whose compact and full trace are made once
        (outcomes.py). Keyed by `is` tests, not by the values: `1 == True`, but 1 is `not met`.
        Evaluating costs about the same: the key is built instead of the children tuples."""
        records = w.const(self.shared_records(owner)).text
        w.line(f"_k = ({result}, {''.join(f'{v} is True, {v} is _UNKNOWN, ' for v in values)})")
        w.line(f"_n = {records}.get(_k) or _share({records}, _k, ({text(kind)}, {header}, _k[0], {children}))")

    def shared_records(self, owner: Any) -> dict[tuple[Any, ...], Any]:
        """The shared trace records of a compiled rule or code, by key (see `traced`): one dict for
        every month, so that months share the generated function (its constants are the same)."""
        key = ("shared records", id(owner))
        found = self.compiled.prebuilt_outcomes.get(key)
        if found is None:  # the rule or code kept too: its id stays its own
            found = self.compiled.prebuilt_outcomes[key] = ({}, None, owner)
        records: dict[tuple[Any, ...], Any] = found[0]
        return records
