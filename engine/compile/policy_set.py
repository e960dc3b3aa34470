"""Checked policy set -> compiled form: compiled expressions, reads for the trace, month plans.

Compiled once per process. Expressions are compiled by a backend: `codegen` (the default: one
generated Python function per expression, codegen.py) or `closures` (a tree of closures, expr.py);
both give the same values, tests/test_codegen.py checks it.
The compiled declarations are plain values (compiled.py), each made as declarations.py says;
`CompiledPolicySet.plan(month)` selects what is in effect for a service month (month_plan.py) and
caches it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..check import CheckResult
from ..check.resolution import Resolution
from ..decision.citations import source_table
from ..decision.context import DecisionContext
from ..decision.model import Denial, Reason
from ..language import syntax as s
from ..source import SourceFile
from .codegen import CodegenCompiler
from .codegen_plan import PlanWriter
from .codegen_selections import shared_conditions
from .compiled import CompiledCode, CompiledRequirement, CompiledRule, Header
from .declarations import DeclarationCompiler, ExprBackend
from .expr import ExprCompiler
from .month_plan import MonthPlan, MonthPlanMaker
from .periods import DayTests
from .runtime import Fn, month_end

# an add-on's units for its numbers: (units, the next unit and why it is not billed, a reason denying it)
Counted = tuple[int, "tuple[int, Reason] | None", "Reason | None"]
_MEMO_LIMIT = 10_000  # bounded, so that a stream of odd claim codes cannot grow memory without end
# month plans kept: the bundles choose the months (a service's client could name 120,000, 8 kB of
# plan each), and a month of a period seen before is remade in microseconds (see `_new_plan`)
PLANS_KEPT = 1_024

BACKENDS: dict[str, Callable[[Resolution], ExprBackend]] = {"codegen": CodegenCompiler, "closures": ExprCompiler}
DEFAULT_BACKEND = "codegen"


@dataclass
class CompiledPolicySet(DeclarationCompiler):
    """The compiled form of a checked policy set; `plan(month)` selects by service month.

    How each declaration is compiled (`expr`, `header`, `requirements`, `code`, `text`...) is
    declarations.py; here, the whole set built, what its decisions share, and its month plans."""

    policy_hash: str
    defines: dict[str, Fn] = field(default_factory=dict)
    # what each definition reads (as Condition.reads), so that a reason whose definition could not
    # be worked out names the fact the bundle lacks, not the definition (evaluation/reasons.py);
    # compiled when a reason first asks (define_reads), not at load: most bundles never need one
    _define_reads: dict[str, tuple[tuple[str, str, Fn], ...]] = field(default_factory=dict)
    rules: dict[str, list[tuple[s.Rule, CompiledRule]]] = field(default_factory=dict)
    codes: dict[str, list[CompiledCode]] = field(default_factory=dict)
    switch_defaults: dict[str, str] = field(default_factory=dict)
    preconditions: list[tuple[s.Precondition, CompiledRule]] = field(default_factory=list)
    backend: str = DEFAULT_BACKEND
    _plans: dict[str, MonthPlan] = field(default_factory=dict)
    _periods: list[tuple[DayTests, MonthPlan]] = field(default_factory=list)  # a plan made, per period
    _claim_matches: dict[tuple[str, Any], tuple[int, ...]] = field(default_factory=dict)
    fixed_reasons: dict[tuple[str, int], Reason] = field(default_factory=dict)  # see fixed_reason
    _generated: dict[tuple[str, tuple[Any, ...]], Any] = field(default_factory=dict)  # see codegen_plan.py
    _fixed_ids: set[int] = field(default_factory=set)  # ids of the fixed_reasons
    # prebuilt outcomes ("met" or "unmet", id of the rule): untraced, traced, the rule; see codegen_plan.py
    # and ("gate denied", id of the code, id of the gate's outcome): the code's shared outcome, None, the code
    prebuilt_outcomes: dict[tuple[Any, ...], tuple[Any, Any, Any]] = field(default_factory=dict)
    _shared_denials: dict[tuple[Any, ...], Denial] = field(default_factory=dict)  # see denial
    _described: dict[tuple[Any, ...], Reason] = field(default_factory=dict)  # see described
    _counted: dict[tuple[Any, ...], Counted] = field(default_factory=dict)  # see counted
    context: DecisionContext = field(default_factory=DecisionContext)  # shared by its decisions; made in build
    # (rule id -> position, code -> position): how the compact trace names them (evaluation/compact.py)
    trace_positions: tuple[dict[str, int], dict[str, int]] | None = None
    # (label -> position among every label a condition or the cost sharing can read, label -> the
    # (label, key) pairs one level inside it, the plans made with them): how the compact trace
    # names the values read (evaluation/compact_reads.py)
    read_positions: tuple[dict[str, int], dict[str, tuple[tuple[str, str], ...]], dict[Any, Any]] | None = None
    # what the compact trace's parts of its records are made with (evaluation/compact.py `PartTable`)
    compact_table: Any = None

    # ------------------------------------------------------------ building
    @classmethod
    def build(
        cls,
        checked: CheckResult,
        sources: Mapping[str, SourceFile],
        policy_hash: str,
        *,
        backend: str = DEFAULT_BACKEND,
    ) -> CompiledPolicySet:
        """Compile a checked set; `backend` is `codegen` (default) or `closures` (see BACKENDS)."""
        if backend not in BACKENDS:
            raise ValueError(f"unknown expression backend `{backend}` (expected one of {', '.join(sorted(BACKENDS))})")
        compiled = cls(checked.index, checked.resolution, sources, policy_hash, backend=backend)
        compiled._compiler = BACKENDS[backend](checked.resolution)
        if isinstance(compiled._compiler, CodegenCompiler):  # conditions tested once per bundle
            expressions = (e for d in checked.index.declarations() for e in s.expressions_of(d))
            compiled._compiler.selections = shared_conditions(checked.resolution, expressions)
        for name, define in checked.index.defines.items():
            compiled.defines[name] = compiled.expr(define.expr)
        for gate in checked.index.of_kind(s.Precondition):
            assert isinstance(gate, s.Precondition)
            requirements = compiled.requirements(gate.requirements)
            compiled.preconditions.append((gate, CompiledRule(compiled.header(gate), requirements)))
        for rule_id, versions in checked.index.rules.items():
            compiled.rules[rule_id] = [
                (rule, CompiledRule(compiled.header(rule), compiled.requirements(rule.requirements)))
                for rule in versions
            ]
        for code, code_versions in checked.index.codes.items():
            compiled.codes[code] = [compiled.code(decl) for decl in code_versions]
        for name, switch in checked.index.switches.items():
            compiled.switch_defaults[name] = switch.default or (switch.options[0] if switch.options else "")
        # read-only views: every decision holds this context, and a caller changing one decision's
        # `context.code_programs` changed what every later evaluation computed
        compiled.context = DecisionContext(
            sources=MappingProxyType(source_table({tag: s.title for tag, s in checked.index.sources.items()})),
            switch_defaults=MappingProxyType(dict(compiled.switch_defaults)),
            code_programs=MappingProxyType({
                code: version.program
                for code, versions in checked.index.codes.items()
                for version in versions
                if version.program
            }),
            # a precondition and the rules it requires: a failed gate's reasons come from either
            gates=frozenset(
                name
                for gate, rule in compiled.preconditions
                for name in (gate.id, *(c.rule for r in rule.requirements for c in r.conditions if c.rule))
            ),
        )
        return compiled

    def define_reads(self, name: str) -> tuple[tuple[str, str, Fn], ...]:
        """What the definition `name` reads (as Condition.reads; none for a name that is not a
        definition), compiled the first time a reason asks."""
        found = self._define_reads.get(name)
        if found is None:
            define = self.index.defines.get(name)
            found = self.reads(define.expr) if define is not None else ()
            self._define_reads[name] = found
        return found

    def fixed_reason(self, owner: Header, requirement: CompiledRequirement) -> Reason:
        """The reason of a requirement with its own words (`requires ... "message"`), made once.

        Its words are the same every time, so one Reason per (declaration, requirement) is shared
        by every bundle; Reasons are immutable, so sharing is safe."""
        key = (owner.id, id(requirement))
        reason = self.fixed_reasons.get(key)
        if reason is None:
            assert requirement.message is not None
            made = Reason(owner.id, owner.title, owner.cites, owner.source, requirement.message)
            # setdefault, not a store: when two threads make it at once both keep the one stored, so
            # every id in _fixed_ids stays that of a live Reason (a freed one's id could be reused)
            reason = self.fixed_reasons.setdefault(key, made)
            self._fixed_ids.add(id(reason))
        return reason

    def described(self, key: tuple[Any, ...], make: Callable[..., Reason], *args: Any) -> Reason:
        """The Reason `make(*args)` gives, made once per `key` (a failed comparison and the two
        values it compared: see Evaluation._reason) and kept as long as this set, like the fixed reasons (so
        that denials made of them can be shared too). Bounded: at most _MEMO_LIMIT are kept; past
        that each is made anew (the same words; only the sharing stops). The maker and its arguments
        are passed, not a closure: the usual call finds its key and builds nothing."""
        reason = self._described.get(key)
        if reason is None:
            reason = make(*args)
            if len(self._described) < _MEMO_LIMIT:
                reason = self._described.setdefault(key, reason)  # (setdefault: see fixed_reason)
                self._fixed_ids.add(id(reason))
        return reason

    def counted(self, key: tuple[Any, ...], make: Callable[..., Counted], *args: Any) -> Counted:
        """What `make(*args)` gives (the units of an add-on for its numbers, the next unit and a reason
        that denies it: see Evaluation.units_of), made once per `key`; immutable values, so shared.
        Bounded like `described`."""
        found = self._counted.get(key)
        if found is None:
            found = make(*args)
            if len(self._counted) < _MEMO_LIMIT:
                found = self._counted.setdefault(key, found)
                if found[2] is not None:  # kept as long as this set: its denials may be shared
                    self._fixed_ids.add(id(found[2]))
        return found

    def denial(self, code: str, reasons: list[Reason]) -> Denial:
        """A code's denial for these reasons. When every reason is a fixed one (see fixed_reason and
        described), the Denial is made once and shared: most denials in a batch are the same few (a
        program without consent, say). Fixed reasons live as long as this set, so their ids stay
        theirs: a key of ids found here names those very objects. Bounded: at most _MEMO_LIMIT
        shared denials; past that each is made anew."""
        shared = self._shared_denials
        # (one to three reasons, the usual cases: the key made without the iterator, which costs
        # more than the ids themselves)
        count = len(reasons)
        if count == 1:
            key: tuple[Any, ...] = (code, id(reasons[0]))
        elif count == 2:
            key = (code, id(reasons[0]), id(reasons[1]))
        elif count == 3:
            key = (code, id(reasons[0]), id(reasons[1]), id(reasons[2]))
        else:
            key = (code, *map(id, reasons))
        denial = shared.get(key)
        if denial is None:
            denial = Denial(code, tuple(reasons))
            fixed = self._fixed_ids
            if len(shared) < _MEMO_LIMIT and all(id(reason) in fixed for reason in reasons):
                shared[key] = denial
        return denial

    def exclusions_of_claim(self, plan: MonthPlan, code: Any) -> tuple[int, ...]:
        """Indexes of the plan's exclusions whose excluded codes contain a claimed code (memoised:
        claim codes repeat across bundles, and range tests are the costly part)."""
        key = (plan.month, code)
        found = self._claim_matches.get(key)
        if found is None:
            found = tuple(i for i, e in enumerate(plan.exclusions) if code in e.excluded)
            if len(self._claim_matches) < _MEMO_LIMIT:
                self._claim_matches[key] = found
        return found

    # ------------------------------------------------------------ month plans
    def plan(self, month: str) -> MonthPlan:
        plan = self._plans.get(month)
        if plan is None:
            if len(self._plans) >= PLANS_KEPT:
                # all at once, one step for a thread reading meanwhile. The first plan of each period
                # stays in _periods, so the ids that prebuilt outcomes are keyed by stay their own.
                self._plans.clear()
            plan = self._plans[month] = self._new_plan(month)
        return plan

    def _new_plan(self, month: str) -> MonthPlan:
        """A month's plan: the content of a plan made for another month of the same period (its
        last day passes that plan's date tests alike, periods.py), else made and generated anew."""
        maker = MonthPlanMaker(self)
        day = month_end(month)
        for tests, made in self._periods:
            if tests.same_on(day):
                return maker.for_month(made, month)
        plan, tests = maker.make(month)
        if self.backend == "codegen":
            plan = dataclasses.replace(plan, program=PlanWriter(self, plan, self._generated).program())
        self._periods.append((tests, plan))
        return plan

