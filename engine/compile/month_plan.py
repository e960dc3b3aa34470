"""A month plan: everything of a compiled policy set in effect for one service month.

`MonthPlanMaker.make(month)` selects the declarations whose interval contains the month's last day
and resolves every parameter to its value for that day. `CompiledPolicySet.plan(month)` keeps a
plan per month, and makes one only once per period: a month whose last day passes the date tests
of a plan already made takes that plan's content with its own words (`for_month`; periods.py).
What the month prices and shares costs with (`pricing`, RVU tables, `cost sharing`) is compiled
by month_payment.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..decision.model import Denial, Reason
from ..language import syntax as s
from .codegen_plan import MonthProgram
from .compiled import (
    CompiledCode,
    CompiledCostSharing,
    CompiledException,
    CompiledExclusion,
    CompiledGroup,
    CompiledPricing,
    CompiledRule,
    Header,
    RvuPrice,
)
from .month_payment import PaymentSource, compile_cost_sharing, compile_pricing, compile_rvus
from .notes import CompiledNote, compile_notes
from .outcomes import RuleOutcome, SharedRecord
from .periods import DayTests
from .runtime import CodeSet, month_end
from .strategy import CodingStrategy, compile_strategies


class PlanSource(PaymentSource, Protocol):
    """What a month plan is made from (a `CompiledPolicySet`; a protocol, so this module need not
    import the compiler that imports it): what its payment declarations are compiled with
    (month_payment.py's `PaymentSource`, the same methods), and the compiled rules and codes."""

    rules: dict[str, list[tuple[s.Rule, CompiledRule]]]
    codes: dict[str, list[CompiledCode]]
    preconditions: list[tuple[s.Precondition, CompiledRule]]
    backend: str


@dataclass(frozen=True, slots=True)
class MonthPlan:
    """Everything in effect for one service month, parameters resolved for its last day."""

    month: str
    as_of: str
    codes: tuple[CompiledCode, ...]
    codes_not_in_effect: tuple[tuple[str, str], ...]  # (code, its effective intervals)
    not_in_effect_denials: tuple[Denial, ...]  # the same for every bundle of the month: built once
    rules: Mapping[str, CompiledRule]
    rules_not_in_effect: Mapping[str, Header]
    not_in_effect_outcomes: Mapping[str, tuple[RuleOutcome, RuleOutcome]]  # untraced, traced
    preconditions: Mapping[str, tuple[str, ...]]  # program -> ids of its preconditions in effect
    params: Mapping[str, Any]
    exclusions: tuple[CompiledExclusion, ...]
    groups: tuple[CompiledGroup, ...]
    exceptions: tuple[CompiledException, ...]
    exception_targets: frozenset[str]  # the ids the exceptions name
    # for each code: (other code, title, id of the exclusion or None for a group) in declaration
    # order, every pair that may not be billed together (coding.py's conflicts; built once)
    conflict_table: Mapping[str, tuple[tuple[str, str, str | None], ...]]
    cost_sharing: CompiledCostSharing | None
    pricing: CompiledPricing | None
    rvus: Mapping[str, RvuPrice]  # the non-facility amounts (tables without `setting`, or non_facility)
    preference: tuple[str, ...]
    highest_total: bool
    choose: Header | None
    rank: Mapping[str, int]  # a code's place in the default strategy (codes it does not order rank after all)
    strategies: tuple[CodingStrategy, ...] = ()  # switch-selected first, the default last (compile/strategy.py)
    program: MonthProgram | None = None  # the generated rules and codes (codegen backend only)
    earlier_claims_matter: bool = False  # an exclusion `in any month` is in effect: read earlier claims
    any_month_exclusions: tuple[CompiledExclusion, ...] = ()  # those exclusions, in declaration order
    any_month_indexes: tuple[int, ...] = ()  # their places in `exclusions` (CompiledPolicySet.exclusions_of_claim)
    bundles_claims: bool = False  # a `bundling` is in effect: claims on file may be withdrawn
    # parameters with no value this month that are declared `otherwise unknown`: name -> the reason
    unknown_values: Mapping[str, str] = dataclasses.field(default_factory=dict)
    facility_rvus: Mapping[str, RvuPrice] = dataclasses.field(default_factory=dict)  # `setting facility`
    notes: tuple[CompiledNote, ...] = ()  # the `note` declarations in effect (notes.py)
    decision_notes: bool = False  # one of them has no `billing` codes: tested even when nothing is billed


class MonthPlanMaker:
    """Makes the month plans of one compiled set."""

    def __init__(self, compiled: PlanSource) -> None:
        self.compiled = compiled

    def make(self, month: str) -> tuple[MonthPlan, DayTests]:
        """The month's plan, and the date tests it was made of (periods.py: a month that passes
        them alike takes this plan's content, `for_month`)."""
        in_effect = DayTests(month_end(month))
        codes, missing = self._codes(in_effect)
        rules, gates, not_in_effect = self._rules(in_effect)
        params, unknown_values = self._parameters(in_effect)
        live_decls = [d for d in self.compiled.index.declarations() if in_effect(d.effective)]
        choose = self._choose(live_decls)
        exclusions, groups = tuple(self._exclusions(live_decls)), tuple(self._groups(live_decls))
        exceptions = tuple(self._exceptions(live_decls))
        notes = compile_notes(self.compiled, live_decls)
        plan = MonthPlan(
            codes=tuple(codes),
            codes_not_in_effect=tuple(missing),
            rules=rules,
            rules_not_in_effect=not_in_effect,
            preconditions={program: tuple(ids) for program, ids in gates.items()},
            params=params,
            exclusions=exclusions,
            groups=groups,
            exceptions=exceptions,
            exception_targets=frozenset(e.target for e in exceptions),
            earlier_claims_matter=any(e.any_month for e in exclusions),
            any_month_exclusions=tuple(e for e in exclusions if e.any_month),
            any_month_indexes=tuple(i for i, e in enumerate(exclusions) if e.any_month),
            bundles_claims=any(e.bundles for e in exclusions),
            unknown_values=unknown_values,
            facility_rvus=compile_rvus(self.compiled, live_decls, "facility"),
            conflict_table=_conflict_table(groups, exclusions),
            cost_sharing=compile_cost_sharing(self.compiled, live_decls, in_effect),
            pricing=compile_pricing(self.compiled, live_decls),
            rvus=compile_rvus(self.compiled, live_decls, "non_facility"),
            notes=notes,
            decision_notes=any(note.on_decision for note in notes),
            rank=next((x.rank for x in choose["strategies"] if x.when is None), {}),
            **choose,
            **self._month_words(month, missing, not_in_effect),
        )
        return plan, in_effect

    def _codes(self, in_effect: DayTests) -> tuple[list[CompiledCode], list[tuple[str, str]]]:
        """The codes in effect (each code's first version that is), in the order decisions list
        them, and those with none in effect, with the intervals they have."""
        codes, missing = [], []
        for code in sorted(self.compiled.codes, key=_code_order):
            live = [c for c in self.compiled.codes[code] if in_effect(c.decl.effective)]
            if live:
                codes.append(live[0])
            else:
                intervals = ", ".join(str(c.decl.effective) for c in self.compiled.codes[code])
                missing.append((code, intervals))
        return codes, missing

    def _rules(
        self, in_effect: DayTests
    ) -> tuple[dict[str, CompiledRule], dict[str, list[str]], dict[str, Header]]:
        """The rules in effect, with the programs' preconditions among them; the preconditions' ids
        by program; and the header of every rule with no version in effect."""
        rules = {
            rid: compiled
            for rid, versions in self.compiled.rules.items()
            for rule, compiled in versions
            if in_effect(rule.effective)
        }
        gates: dict[str, list[str]] = {}
        for gate, compiled_gate in self.compiled.preconditions:
            if in_effect(gate.effective) and gate.program is not None:
                rules[gate.id] = compiled_gate
                gates.setdefault(gate.program, []).append(gate.id)
        not_in_effect = {
            rid: versions[0][1].header for rid, versions in self.compiled.rules.items() if rid not in rules
        }
        return rules, gates, not_in_effect

    def _parameters(self, in_effect: DayTests) -> tuple[dict[str, Any], dict[str, str]]:
        """Each parameter's value in effect (the last that is), and why the others with an
        `otherwise unknown` clause are unknown."""
        params: dict[str, Any] = {}
        unknown_values: dict[str, str] = {}
        for name, param in self.compiled.index.parameters.items():
            for value in param.values:
                if in_effect(value.effective) and isinstance(value.value, s.Literal):
                    params[name] = value.value.value
            if name not in params and param.unknown_because is not None:
                unknown_values[name] = param.unknown_because
        return params, unknown_values

    def for_month(self, plan: MonthPlan, month: str) -> MonthPlan:
        """`plan`'s content for another month whose last day passes the same date tests: only the
        month, its last day and the words that name the month are its own (the generated
        functions read the not-in-effect outcomes from the plan at run time, so they are shared)."""
        words = self._month_words(month, plan.codes_not_in_effect, plan.rules_not_in_effect)
        return dataclasses.replace(plan, **words)

    def _month_words(
        self, month: str, missing: Sequence[tuple[str, str]], not_in_effect: Mapping[str, Header]
    ) -> dict[str, Any]:
        """What names the month: the month, its last day, and what is not in effect in it."""
        shared = SharedRecord if self.compiled.backend == "codegen" else tuple
        return {
            "month": month,
            "as_of": month_end(month),
            "not_in_effect_denials": tuple(
                Denial(code, (Reason(code, "effective dates", (), "", f"not in effect in {month} (effective {when})"),))
                for code, when in missing
            ),
            "not_in_effect_outcomes": {
                rule_id: (
                    RuleOutcome("not in effect", (), None),
                    # the same record for every bundle of the month: for the codegen backend a
                    # shared record, whose compact and full trace are made once (outcomes.py)
                    RuleOutcome("not in effect", (), shared(("rule", header, f"not in effect in {month}", ()))),
                )
                for rule_id, header in not_in_effect.items()
            },
        }

    def _exclusions(self, decls: list[s.Declaration]) -> list[CompiledExclusion]:
        out = []
        for decl in decls:
            if isinstance(decl, s.Exclusion):
                for clause in decl.clauses:
                    exact, ranges = self.compiled.index.matcher(clause.excluded)
                    declared = frozenset(c for c in self.compiled.codes if c in CodeSet(exact, ranges))
                    subject = frozenset(self.compiled.index.expand(clause.subject))
                    out.append(
                        CompiledExclusion(
                            self.compiled.header(decl),
                            subject,
                            CodeSet(exact, ranges),
                            declared,
                            clause.who,
                            tuple(sorted(subject)),
                            clause.any_month,
                        )
                    )
            elif isinstance(decl, s.Bundling):
                out.extend(self._bundlings(decl))
        return out

    def _bundlings(self, decl: s.Bundling) -> list[CompiledExclusion]:
        """A bundling's clauses, as exclusions by the same practitioner that bundle (see CompiledExclusion)."""
        out = []
        for clause in decl.clauses:
            exact, ranges = self.compiled.index.matcher(clause.bundled)
            declared = frozenset(c for c in self.compiled.codes if c in CodeSet(exact, ranges))
            subject = frozenset(self.compiled.index.expand(clause.subject))
            header = self.compiled.header(decl)
            out.append(
                CompiledExclusion(
                    header, subject, CodeSet(exact, ranges), declared, "same", tuple(sorted(subject)), bundles=True
                )
            )
        return out

    def _groups(self, decls: list[s.Declaration]) -> list[CompiledGroup]:
        return [
            CompiledGroup(self.compiled.header(d), self.compiled.index.expand(g.codes), g.scope)
            for d in decls
            if isinstance(d, s.Exclusive)
            for g in d.groups
        ]

    def _exceptions(self, decls: list[s.Declaration]) -> list[CompiledException]:
        return [
            CompiledException(
                self.compiled.header(d),
                d.target,
                self.compiled.expr(d.when) if d.when is not None else None,
                self.compiled.text(d.when.span) if d.when is not None else "",
            )
            for d in decls
            if isinstance(d, s.Exception_)
        ]

    def _choose(self, decls: list[s.Declaration]) -> dict[str, Any]:
        """The default strategy's fields (the `choose coding` without `when`), and every strategy."""
        strategies = compile_strategies(self.compiled, decls)
        for d in decls:
            if isinstance(d, s.Choose) and d.when is None:
                return {
                    "preference": self.compiled.index.expand(d.preference),
                    "highest_total": d.then_highest_total,
                    "choose": self.compiled.header(d),
                    "strategies": strategies,
                }
        return {"preference": (), "highest_total": True, "choose": None, "strategies": strategies}


def _conflict_table(
    groups: tuple[CompiledGroup, ...], exclusions: tuple[CompiledExclusion, ...]
) -> dict[str, tuple[tuple[str, str, str | None], ...]]:
    """Every pair of codes that may not be billed together, by code, in declaration order (groups,
    then exclusions): the first entry for a pair names the rule a denial cites. An exclusion that
    binds only another practitioner's claims never stops two codes of one coding."""
    table: dict[str, list[tuple[str, str, str | None]]] = {}
    for group in groups:
        for a in group.codes:
            table.setdefault(a, []).extend((b, group.header.title, None) for b in group.codes if b != a)
    for exclusion in exclusions:
        if exclusion.who == "another":
            continue
        title, rule = exclusion.header.title, exclusion.header.id
        excluded = sorted(exclusion.excluded_declared)
        for a in exclusion.subject_order:
            for b in excluded:
                if a != b:
                    table.setdefault(a, []).append((b, title, rule))
                    table.setdefault(b, []).append((a, title, rule))
    return {code: tuple(entries) for code, entries in table.items()}


def _code_order(code: str) -> tuple[int, str]:
    """Numeric CPT codes first, then HCPCS letter codes: the order decisions list them in."""
    return (0 if code[0].isdigit() else 1, code)
