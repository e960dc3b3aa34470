"""Checked policy set -> compiled form: closures, reads for the trace, and per-month plans.

Compiled once per process. Expressions are compiled by a backend: `codegen` (the default: one
generated Python function per expression, engine/codegen.py) or `closures` (a tree of closures,
engine/compile_expr.py); both give the same values, tests/test_codegen.py checks it.
`CompiledPolicySet.plan(month)` selects what is in effect for a service
month (declarations whose interval contains the month's last day) and resolves every parameter
to its value for that day; plans are cached, so a batch of one month pays for selection once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from ..check import CheckResult
from ..check.index import PolicyIndex
from ..check.resolve import Resolution
from ..decision.citations import public_cite, public_text, source_table
from ..decision.context import DecisionContext
from ..decision.model import Denial, Reason
from ..language import syntax as s
from ..source import SourceFile, Span
from .codegen import CodegenCompiler
from .codegen_plan import MonthProgram, PlanWriter
from .expr import CodeSet, ExprCompiler, Fn, month_end
from .outcomes import RuleOutcome

_MEMO_LIMIT = 100_000  # bounded, so that a stream of odd claim codes cannot grow memory without end


class ExprBackend(Protocol):
    def compile(self, expr: s.Expr) -> Fn: ...


BACKENDS: dict[str, Callable[[Resolution], ExprBackend]] = {"codegen": CodegenCompiler, "closures": ExprCompiler}
DEFAULT_BACKEND = "codegen"


def cite_text(cite: s.Cite) -> str:
    """A cite as decisions show it: authoring notes and confidence marks stay in the policy."""
    return public_cite(cite.source, cite.locator) if cite.locator else cite.source


@dataclass(frozen=True, slots=True)
class Condition:
    """One condition of a `requires` line: a rule reference or a compiled expression."""

    rule: str | None
    fn: Fn | None
    expr: s.Expr | None
    text: str
    reads: tuple[tuple[str, str, Fn], ...]  # (label, kind, reader) for the trace and for reasons
    # a threshold's two sides, left text and left type, for "19 of 20 minutes"
    sides: tuple[Fn, Fn, str, Any] | None = None


@dataclass(frozen=True, slots=True)
class CompiledRequirement:
    conditions: tuple[Condition, ...]
    message: str | None
    span: Span
    location: str  # file:line, as traces show it


@dataclass(frozen=True, slots=True)
class Header:
    """What traces and reasons show of a declaration."""

    id: str
    title: str
    cites: tuple[str, ...]
    source: str


@dataclass(frozen=True, slots=True)
class CompiledRule:
    header: Header
    requirements: tuple[CompiledRequirement, ...]


@dataclass(frozen=True, slots=True)
class CompiledCode:
    header: Header
    decl: s.Code
    requirements: tuple[CompiledRequirement, ...]
    bases: tuple[str, ...]
    units: tuple[Fn, Fn, Fn] | None  # increment, measure, beyond
    unit_cap: Fn | None
    measure_text: str


@dataclass(frozen=True, slots=True)
class CompiledExclusion:
    header: Header
    subject: frozenset[str]
    excluded: CodeSet
    excluded_declared: frozenset[str]
    who: str
    subject_order: tuple[str, ...] = ()  # the subject, sorted: the order its codes get reasons in


@dataclass(frozen=True, slots=True)
class CompiledGroup:
    header: Header
    codes: tuple[str, ...]
    scope: str


@dataclass(frozen=True, slots=True)
class CompiledException:
    header: Header
    target: str
    when: Fn | None
    when_text: str


@dataclass(frozen=True, slots=True)
class CompiledPays:
    payer: str
    share: str
    fraction: Fn | None
    when: Fn
    priority: int
    text: str


@dataclass(frozen=True, slots=True)
class CompiledCostSharing:
    header: Header
    deductible: Fn | None
    deductible_text: str
    coinsurance: Fn | None
    pays: tuple[CompiledPays, ...]
    indeterminate: tuple[tuple[Fn, str, str], ...]
    reads: tuple[tuple[str, str, Fn], ...]  # every fact, definition and parameter its clauses read


@dataclass(frozen=True, slots=True)
class CompiledPricing:
    header: Header
    conversion_factor: str | None
    not_priced: tuple[tuple[Fn, str, str], ...]


@dataclass(frozen=True, slots=True)
class RvuPrice:
    table: Header
    total: Decimal


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
    rvus: Mapping[str, RvuPrice]
    preference: tuple[str, ...]
    highest_total: bool
    choose: Header | None
    rank: Mapping[str, int]  # a code's place in `preference` (codes not in it rank after all)
    program: MonthProgram | None = None  # the generated rules and codes (codegen backend only)


def _in_effect(decl: s.Declaration, day: str) -> bool:
    return decl.effective is None or decl.effective.contains(day)


@dataclass
class CompiledPolicySet:
    """The compiled form of a checked policy set; `plan(month)` selects by service month."""

    index: PolicyIndex
    resolution: Resolution
    sources: Mapping[str, SourceFile]
    policy_hash: str
    defines: dict[str, Fn] = field(default_factory=dict)
    rules: dict[str, list[tuple[s.Rule, CompiledRule]]] = field(default_factory=dict)
    codes: dict[str, list[CompiledCode]] = field(default_factory=dict)
    switch_defaults: dict[str, str] = field(default_factory=dict)
    preconditions: list[tuple[s.Precondition, CompiledRule]] = field(default_factory=list)
    backend: str = DEFAULT_BACKEND
    _compiler: ExprBackend | None = None
    _plans: dict[str, MonthPlan] = field(default_factory=dict)
    _claim_matches: dict[tuple[str, Any], tuple[int, ...]] = field(default_factory=dict)
    fixed_reasons: dict[tuple[str, int], Reason] = field(default_factory=dict)  # see fixed_reason
    _generated: dict[tuple[str, tuple[Any, ...]], Any] = field(default_factory=dict)  # see codegen_plan.py
    _fixed_ids: set[int] = field(default_factory=set)  # ids of the fixed_reasons
    # prebuilt outcomes ("met" or "unmet", id of the rule): untraced, traced, the rule; see codegen_plan.py
    prebuilt_outcomes: dict[tuple[str, int], tuple[Any, Any, CompiledRule]] = field(default_factory=dict)
    _shared_denials: dict[tuple[str, int], Denial] = field(default_factory=dict)  # see denial
    context: DecisionContext = field(default_factory=DecisionContext)  # shared by its decisions; made in build

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
        compiled.context = DecisionContext(
            sources=source_table({tag: source.title for tag, source in checked.index.sources.items()}),
            switch_defaults=dict(compiled.switch_defaults),
            code_programs={
                code: version.program for code, versions in checked.index.codes.items() for version in versions
                if version.program
            },
            gates=frozenset(gate.id for gate, _rule in compiled.preconditions),
        )
        return compiled

    def expr(self, expr: s.Expr) -> Fn:
        assert self._compiler is not None
        return self._compiler.compile(expr)

    def text(self, span: Span) -> str:
        """The policy text of a span, on one line, for traces and reasons."""
        source = self.sources.get(span.source)
        if source is None or span.line == 0:
            return ""
        lines = source.text.splitlines()[span.line - 1 : span.end_line]
        if not lines:
            return ""
        if len(lines) == 1:
            return lines[0][span.column - 1 : span.end_column - 1].strip()
        lines[0] = lines[0][span.column - 1 :]
        lines[-1] = lines[-1][: span.end_column - 1]
        return " ".join(part.strip() for part in lines)

    def header(self, decl: s.Declaration) -> Header:
        title = public_text(decl.title)  # a confidence mark in a title stays in the policy too
        return Header(decl.id, title, tuple(cite_text(c) for c in decl.cites), decl.span.location)

    def reads(self, expr: s.Expr) -> tuple[tuple[str, str, Fn], ...]:
        found: dict[str, tuple[str, str, Fn]] = {}
        inside_lists: set[int] = set()
        for node in s.walk(expr):
            if isinstance(node, s.Aggregate):
                list_name = node.path.parts[0]
                found.setdefault(list_name, (list_name, "list", _list_reader(list_name)))
                if node.where is not None:
                    inside_lists.update(id(n) for n in s.walk(node.where))
                inside_lists.add(id(node.path))
            if not isinstance(node, s.Name) or id(node) in inside_lists:
                continue
            ref = self.resolution.refs.get(id(node))
            if ref is None or ref.kind in ("enum", "rule", "item"):
                continue
            found.setdefault(node.dotted, (node.dotted, ref.kind, self.expr(node)))
        return tuple(found[k] for k in sorted(found))

    def requirements(self, requirements: tuple[s.Requirement, ...]) -> tuple[CompiledRequirement, ...]:
        out = []
        for requirement in requirements:
            conditions = []
            for cond in requirement.conditions:
                ref = self.resolution.refs.get(id(cond)) if isinstance(cond, s.Name) else None
                if ref is not None and ref.kind == "rule":
                    conditions.append(Condition(ref.target, None, None, ref.target, ()))
                else:
                    sides = None
                    if isinstance(cond, s.Compare) and cond.op in (">=", ">"):
                        left_type = self.resolution.type_of(cond.left)
                        sides = (self.expr(cond.left), self.expr(cond.right), self.text(cond.left.span), left_type)
                    conditions.append(
                        Condition(None, self.expr(cond), cond, self.text(cond.span), self.reads(cond), sides)
                    )
            location = f"{requirement.span.source}:{requirement.span.line}"
            out.append(CompiledRequirement(tuple(conditions), requirement.message, requirement.span, location))
        return tuple(out)

    def code(self, decl: s.Code) -> CompiledCode:
        units = None
        measure_text = ""
        if decl.units is not None:
            units = (self.expr(decl.units.increment), self.expr(decl.units.measure), self.expr(decl.units.beyond))
            measure_text = self.text(decl.units.measure.span)
        return CompiledCode(
            self.header(decl),
            decl,
            self.requirements(decl.requirements),
            self.index.expand(decl.bases),
            units,
            self.expr(decl.unit_cap) if decl.unit_cap is not None else None,
            measure_text,
        )

    def fixed_reason(self, owner: Header, requirement: CompiledRequirement) -> Reason:
        """The reason of a requirement with its own words (`requires ... "message"`), made once.

        Its words are the same every time, so one Reason per (declaration, requirement) is shared
        by every bundle; Reasons are immutable, so sharing is safe."""
        key = (owner.id, id(requirement))
        reason = self.fixed_reasons.get(key)
        if reason is None:
            assert requirement.message is not None
            reason = Reason(owner.id, owner.title, owner.cites, owner.source, requirement.message)
            self.fixed_reasons[key] = reason
            self._fixed_ids.add(id(reason))
        return reason

    def denial(self, code: str, reasons: list[Reason]) -> Denial:
        """A code's denial for these reasons. When the one reason is a fixed one (see fixed_reason),
        the Denial is made once and shared: most denials in a batch are the same few (a program
        without consent, say). Fixed reasons live as long as this set, so their ids stay theirs."""
        if len(reasons) != 1 or id(reasons[0]) not in self._fixed_ids:  # (one reason: the usual case)
            return Denial(code, tuple(reasons))
        key = (code, id(reasons[0]))
        denial = self._shared_denials.get(key)
        if denial is None:
            denial = Denial(code, (reasons[0],))
            if len(self._shared_denials) < _MEMO_LIMIT:
                self._shared_denials[key] = denial
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
            plan = self._make_plan(month)
            if self.backend == "codegen":
                plan = dataclasses.replace(plan, program=PlanWriter(self, plan, self._generated).program())
            self._plans[month] = plan
        return plan

    def _make_plan(self, month: str) -> MonthPlan:
        day = month_end(month)
        index = self.index
        codes, missing = [], []
        for code in sorted(self.codes, key=_code_order):
            live = [c for c in self.codes[code] if _in_effect(c.decl, day)]
            if live:
                codes.append(live[0])
            else:
                intervals = ", ".join(str(c.decl.effective) for c in self.codes[code])
                missing.append((code, intervals))
        rules = {
            rid: compiled
            for rid, versions in self.rules.items()
            for rule, compiled in versions
            if _in_effect(rule, day)
        }
        gates: dict[str, list[str]] = {}
        for gate, compiled_gate in self.preconditions:
            if _in_effect(gate, day) and gate.program is not None:
                rules[gate.id] = compiled_gate
                gates.setdefault(gate.program, []).append(gate.id)
        not_in_effect = {rid: versions[0][1].header for rid, versions in self.rules.items() if rid not in rules}
        params = {}
        for name, param in index.parameters.items():
            for value in param.values:
                if value.effective.contains(day) and isinstance(value.value, s.Literal):
                    params[name] = value.value.value
        live_decls = [d for d in index.declarations() if _in_effect(d, day)]
        choose = self._choose(live_decls)
        exclusions, groups = tuple(self._exclusions(live_decls)), tuple(self._groups(live_decls))
        exceptions = tuple(self._exceptions(live_decls))
        return MonthPlan(
            month=month,
            as_of=day,
            codes=tuple(codes),
            codes_not_in_effect=tuple(missing),
            not_in_effect_denials=tuple(
                Denial(code, (Reason(code, "effective dates", (), "", f"not in effect in {month} (effective {when})"),))
                for code, when in missing
            ),
            rules=rules,
            rules_not_in_effect=not_in_effect,
            not_in_effect_outcomes={
                rule_id: (
                    RuleOutcome("not in effect", (), None),
                    RuleOutcome("not in effect", (), ("rule", header, f"not in effect in {month}", ())),
                )
                for rule_id, header in not_in_effect.items()
            },
            preconditions={program: tuple(ids) for program, ids in gates.items()},
            params=params,
            exclusions=exclusions,
            groups=groups,
            exceptions=exceptions,
            exception_targets=frozenset(e.target for e in exceptions),
            conflict_table=_conflict_table(groups, exclusions),
            cost_sharing=self._cost_sharing(live_decls),
            pricing=self._pricing(live_decls),
            rvus=self._rvus(live_decls),
            rank={code: i for i, code in enumerate(choose["preference"])},
            **choose,
        )

    def _exclusions(self, decls: list[s.Declaration]) -> list[CompiledExclusion]:
        out = []
        for decl in decls:
            if isinstance(decl, s.Exclusion):
                for clause in decl.clauses:
                    exact, ranges = self.index.matcher(clause.excluded)
                    declared = frozenset(c for c in self.codes if c in CodeSet(exact, ranges))
                    subject = frozenset(self.index.expand(clause.subject))
                    out.append(
                        CompiledExclusion(
                            self.header(decl),
                            subject,
                            CodeSet(exact, ranges),
                            declared,
                            clause.who,
                            tuple(sorted(subject)),
                        )
                    )
        return out

    def _groups(self, decls: list[s.Declaration]) -> list[CompiledGroup]:
        return [
            CompiledGroup(self.header(d), self.index.expand(g.codes), g.scope)
            for d in decls
            if isinstance(d, s.Exclusive)
            for g in d.groups
        ]

    def _exceptions(self, decls: list[s.Declaration]) -> list[CompiledException]:
        return [
            CompiledException(
                self.header(d),
                d.target,
                self.expr(d.when) if d.when is not None else None,
                self.text(d.when.span) if d.when is not None else "",
            )
            for d in decls
            if isinstance(d, s.Exception_)
        ]

    def _cost_sharing(self, decls: list[s.Declaration]) -> CompiledCostSharing | None:
        for d in decls:
            if isinstance(d, s.CostSharing):
                pays = tuple(
                    CompiledPays(
                        p.payer,
                        p.share,
                        self.expr(p.fraction) if p.fraction is not None else None,
                        self.expr(p.when),
                        p.priority or 0,
                        self.text(p.span),
                    )
                    for p in d.pays
                )
                reads = {label: (label, kind, fn) for e in s.expressions_of(d) for label, kind, fn in self.reads(e)}
                return CompiledCostSharing(
                    self.header(d),
                    self.expr(d.deductible) if d.deductible is not None else None,
                    self.text(d.deductible.span) if d.deductible is not None else "",
                    self.expr(d.coinsurance) if d.coinsurance is not None else None,
                    pays,
                    tuple((self.expr(i.when), i.reason, self.text(i.when.span)) for i in d.indeterminate),
                    tuple(reads[k] for k in sorted(reads)),
                )
        return None

    def _pricing(self, decls: list[s.Declaration]) -> CompiledPricing | None:
        for d in decls:
            if isinstance(d, s.Pricing):
                return CompiledPricing(
                    self.header(d),
                    d.conversion_factor,
                    tuple((self.expr(n.when), n.reason, self.text(n.when.span)) for n in d.not_priced),
                )
        return None

    def _rvus(self, decls: list[s.Declaration]) -> dict[str, RvuPrice]:
        return {
            row.code: RvuPrice(self.header(d), row.total) for d in decls if isinstance(d, s.RvuTable) for row in d.rows
        }

    def _choose(self, decls: list[s.Declaration]) -> dict[str, Any]:
        for d in decls:
            if isinstance(d, s.Choose):
                return {
                    "preference": self.index.expand(d.preference),
                    "highest_total": d.then_highest_total,
                    "choose": self.header(d),
                }
        return {"preference": (), "highest_total": True, "choose": None}


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


def _list_reader(name: str) -> Fn:
    def read(env: Any) -> Any:
        return len(env.facts.get(name) or ())

    return read


def _code_order(code: str) -> tuple[int, str]:
    """Numeric CPT codes first, then HCPCS letter codes: the order decisions list them in."""
    return (0 if code[0].isdigit() else 1, code)
