"""Evaluate one patient-month bundle against a compiled policy set: rules, codes, exclusions.

This module answers "which codes are valid, and why not"; `coding.py` then picks the coding and
builds the decision. Rules are evaluated at most once per bundle; every unmet requirement is kept,
so a denial lists all of them (billing teams fix everything in one pass). Two parts of `Evaluation`
are mixins of their own: the words of a denial (`reasons.py`) and an add-on's units (`units.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..compile.compiled import CompiledCode, CompiledRequirement, Condition, Header
from ..compile.month_plan import MonthPlan
from ..compile.outcomes import CodeOutcome, Compact, RuleOutcome
from ..compile.policy_set import CompiledPolicySet
from ..compile.runtime import UNKNOWN, Env
from ..decision.model import Reason
from ..decision.trace_nodes import Read, TraceNode, fresh_json, json_value
from .claims import claims_on_file
from .reasons import ReasonWriter
from .record_json import record_json, ref_json
from .units import UnitCounter


class Evaluation(ReasonWriter, UnitCounter):
    """One bundle, one month: holds the environment and the memo of rule outcomes."""

    def __init__(
        self,
        compiled: CompiledPolicySet,
        plan: MonthPlan,
        facts: Mapping[str, Any],
        switches: Mapping[str, str],
        *,
        trace: bool,
    ) -> None:
        self.compiled = compiled
        self.plan = plan
        self.trace = trace
        self.env = Env(facts, plan.month, plan.params, switches, compiled.defines)
        self.me = (facts.get("practitioner") or {}).get("id", "")
        self.program = plan.program
        self._rules: dict[str, RuleOutcome] = {}
        self._exception_targets = plan.exception_targets
        self._reads_json: dict[str, dict[str, Any]] = {}
        self._on_file: tuple[Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]] | None = None

    def claims_on_file(self) -> tuple[Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]]:
        """This month's and earlier months' claims that count (claims.py), read once per bundle:
        the exclusions, the bundlings and the add-ons' bases all ask."""
        found = self._on_file
        if found is None:
            found = self._on_file = claims_on_file(self.env.facts)
        return found

    # ------------------------------------------------------------ exceptions
    def overridden_by(self, target: str) -> Header | None:
        if target not in self._exception_targets:
            return None
        for exception in self.plan.exceptions:
            if exception.target == target and (exception.when is None or exception.when(self.env) is True):
                return exception.header
        return None

    # ------------------------------------------------------------ rules
    def rule(self, rule_id: str) -> RuleOutcome:
        outcome = self._rules.get(rule_id)
        if outcome is None:
            outcome = self._rules[rule_id] = self._evaluate_rule(rule_id)
        return outcome

    def rule_record(self, rule_id: str) -> Compact:
        """The trace record of a rule evaluated (what a `ref` to it points at)."""
        node = self._rules[rule_id].node
        assert node is not None
        return node

    def rule_nodes(self) -> list[Compact]:
        """The trace of every rule evaluated, in the order first needed (each rule once)."""
        return [o.node for o in self._rules.values() if o.node is not None]

    def _evaluate_rule(self, rule_id: str) -> RuleOutcome:
        if self.program is not None:  # the codegen backend: the rule's own generated function
            generated = self.program.rules.get(rule_id)
            if generated is not None:
                outcome: RuleOutcome = generated(self)
                return outcome
        rule = self.plan.rules.get(rule_id)
        if rule is None:  # the same outcome for every bundle of the month: made once per plan
            untraced, traced = self.plan.not_in_effect_outcomes[rule_id]
            return traced if self.trace else untraced
        exception = self.overridden_by(rule_id)
        if exception is not None:
            node = self._node("rule", rule.header, f"does not apply: exception {exception.id}")
            return RuleOutcome("overridden", (), node)
        reasons, children, _ = self.requirements(rule.header, rule.requirements)
        status = "unmet" if reasons else "met"
        return RuleOutcome(status, tuple(reasons), self._node("rule", rule.header, status, children=children))

    def requirements(
        self, owner: Header, requirements: tuple[CompiledRequirement, ...]
    ) -> tuple[list[Reason], list[Compact], list[str]]:
        reasons: list[Reason] = []
        children: list[Compact] = []
        rules_met: list[str] = []
        env, trace, memo = self.env, self.trace, self._rules
        for requirement in requirements:
            for condition in requirement.conditions:
                if condition.rule is not None:
                    outcome = memo.get(condition.rule) or self.rule(condition.rule)  # most are memoised
                    if outcome.reasons:
                        reasons.extend(outcome.reasons)
                    elif outcome.status == "met":
                        rules_met.append(condition.rule)
                    if trace:  # each rule appears once in the trace; requirers point at it
                        children.append(("ref", condition.rule))
                    continue
                value = condition.fn(env)  # type: ignore[misc]  # an expression condition always has fn
                if value is not True:
                    reasons.append(self._reason(owner, requirement, condition, value))
                if trace:
                    children.append(("requirement", owner, condition, requirement.location, value))
        return reasons, children, rules_met

    def reads(self, condition: Condition) -> tuple[Read, ...]:
        env, as_of = self.env, self.plan.as_of
        return tuple(
            Read(
                label, "missing" if (value := reader(env)) is UNKNOWN else value, as_of if kind == "parameter" else None
            )
            for label, kind, reader in condition.reads
        )

    # ------------------------------------------------------------ codes
    def codes(self) -> tuple[dict[str, CodeOutcome], dict[str, CodeOutcome]]:
        """Every code of the plan by code, in the plan's order, and the valid ones among them (as
        `CodeOutcome.valid` says); the generated function when there is one."""
        if self.program is not None:
            found: tuple[dict[str, CodeOutcome], dict[str, CodeOutcome]] = self.program.codes(self)
            return found
        outcomes = {code.header.id: self.code(code) for code in self.plan.codes}
        return outcomes, {code: outcome for code, outcome in outcomes.items() if outcome.valid}

    def code(self, code: CompiledCode) -> CodeOutcome:
        outcome = CodeOutcome(code)
        for gate_id in self.plan.preconditions.get(code.decl.program or "", ()):
            gate = self._rules.get(gate_id) or self.rule(gate_id)
            if gate.status == "unmet":
                outcome.reasons.extend(gate.reasons)
                outcome.units = 0
                if self.trace:
                    result = f"not evaluated: precondition {gate_id} not met"
                    outcome.node = self._node("code", code.header, result, [("ref", gate_id)])
                return outcome
        reasons, children, rules_met = self.requirements(code.header, code.requirements)
        outcome.reasons.extend(reasons)
        outcome.rules_met.extend(rules_met)
        if code.counts_units:
            self.units_of(outcome)
        if self.trace:
            outcome.node = self._node("code", code.header, self.code_status(outcome), children=children)
        return outcome

    @staticmethod
    def code_status(outcome: CodeOutcome) -> str:
        """The result a code's trace node shows, e.g. `valid, 2 units`."""
        status = "valid" if outcome.valid else "not valid"
        if outcome.code.counts_units and outcome.units:
            status += f", {outcome.units} unit{'s' if outcome.units > 1 else ''}"
        return status

    # ------------------------------------------------------------ claims
    def claim_conflicts(self) -> dict[str, list[Reason]]:
        """Codes ruled out by claims on file (exclusions, exclusive groups): this month's claims,
        and for exclusions `in any month` earlier months' too. Only claims that count do."""
        this_month, earlier = self.claims_on_file()
        hits: dict[str, list[Reason]] = {}
        if earlier and self.plan.earlier_claims_matter:
            self._earlier_claim_conflicts(earlier, hits)
        if not this_month:
            return hits
        claims = this_month
        exclusions = self.plan.exclusions
        # (exclusion, claim) pairs in declaration order, then claim order: the order reasons are listed in
        pairs = sorted(
            (index, number)
            for number, claim in enumerate(claims)
            for index in self.compiled.exclusions_of_claim(self.plan, claim.get("code"))
        )
        for index, number in pairs:
            exclusion, claim = exclusions[index], claims[number]
            if exclusion.bundles:  # a bundled claim is withdrawn or kept by the coding strategy (coding.py)
                continue
            if self._who(exclusion.who, claim) and self.overridden_by(exclusion.header.id) is None:
                reason = self._claim_reason(exclusion.header, claim)  # the same words for every code it rules out
                for code in exclusion.subject_order:
                    _add_reason(hits, code, reason)
        for group in self.plan.groups:
            for claim in claims:
                if claim.get("code") in group.codes and (
                    group.scope == "beneficiary" or claim.get("practitioner") == self.me
                ):
                    reason = self._claim_reason(group.header, claim)
                    for code in group.codes:
                        _add_reason(hits, code, reason)
        return hits

    def _earlier_claim_conflicts(self, earlier: Sequence[Mapping[str, Any]], hits: dict[str, list[Reason]]) -> None:
        """Exclusions `in any month`: claims of earlier months rule codes out too."""
        plan, compiled = self.plan, self.compiled
        # which exclusions each claim's code is in, from the set's memo (a range test per claim and
        # exclusion otherwise): claim codes repeat across bundles
        matched = [compiled.exclusions_of_claim(plan, claim.get("code")) for claim in earlier]
        # (picked out of the plan's exclusions once per plan)
        for index, exclusion in zip(plan.any_month_indexes, plan.any_month_exclusions, strict=True):
            if self.overridden_by(exclusion.header.id) is not None:
                continue
            for claim, found in zip(earlier, matched, strict=True):
                if index in found and self._who(exclusion.who, claim):
                    reason = self._claim_reason(exclusion.header, claim, f"in {claim.get('month')}")
                    for code in exclusion.subject_order:
                        _add_reason(hits, code, reason)

    def _who(self, who: str, claim: Mapping[str, Any]) -> bool:
        same = claim.get("practitioner") == self.me
        return who == "any" or (who == "same") == same

    # ------------------------------------------------------------ trace
    def _node(self, kind: str, header: Header, result: str, children: list[Compact] | None = None) -> Compact | None:
        return (kind, header, result, tuple(children or ())) if self.trace else None

    def materialize(self, node: Compact) -> TraceNode:
        """A compact trace record as the TraceNode that decisions show."""
        tag = node[0]
        if tag == "requirement":
            _tag, owner, condition, location, value = node
            result = "met" if value is True else ("unknown" if value is UNKNOWN else "not met")
            return TraceNode("requirement", owner.id, condition.text, (), location, result, self.reads(condition))
        if tag == "ref":
            outcome = self._rules[node[1]]
            assert outcome.node is not None
            header = outcome.node[1]
            return TraceNode("rule ref", header.id, header.title, (), header.source, outcome.node[2])
        kind, header, result, children = node
        return TraceNode(
            kind,
            header.id,
            header.title,
            header.cites,
            header.source,
            result,
            children=tuple(self.materialize(child) for child in children),
        )

    def trace_json(self, node: Compact) -> dict[str, Any]:
        """A compact trace record in its JSON form, exactly as `trace_node_json(materialize(node))`.

        Serialising traces is the main cost of a batch with explanations, so this skips the
        TraceNode values; the trace golden tests hold the two forms to the same bytes."""
        written: dict[str, Any] = record_json(node, self._read_json, self._ref_json)
        return written

    def _ref_json(self, rule_id: str) -> dict[str, Any]:
        node = self.rule_record(rule_id)
        return ref_json(node)

    def _read_json(self, entry: tuple[str, str, Any]) -> dict[str, Any]:
        label, kind, reader = entry
        found = self._reads_json.get(label)
        if found is None:  # a name read by several conditions is read (and converted) once
            value = reader(self.env)
            found = {"name": label, "value": "missing" if value is UNKNOWN else json_value(value)}
            if kind == "parameter":
                found["as_of"] = self.plan.as_of
            self._reads_json[label] = found
        value = found["value"]
        if type(value) is dict or type(value) is list:  # (a record read whole): each output its own, as
            return {**found, "value": fresh_json(value)}  # to_json_obj promises; the cache is not the caller's
        return dict(found)


def _add_reason(hits: dict[str, list[Reason]], code: str, reason: Reason) -> None:
    """`reason` among the claim reasons of `code`, once: two claims on file alike (the same code,
    practitioner and status, say a claim sent twice) give the same words, which a denial listed
    twice (644 of the denials of 20,000 benchmark bundles had a reason twice)."""
    found = hits.setdefault(code, [])
    if reason not in found:  # (a few reasons at most: a list, compared field by field)
        found.append(reason)
