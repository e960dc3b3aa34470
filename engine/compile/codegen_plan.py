"""A month plan's rules and codes -> generated Python functions (the codegen backend).

The interpreter in evaluate.py walks every rule's requirements and conditions for every bundle:
a loop, attribute reads and a call per condition. For the codegen backend each rule of a month
plan becomes one straight-line function instead, and all its codes one more, with every
condition's expression written inline (codegen_writer.py) and every requirement unrolled. It does exactly what
`Evaluation._evaluate_rule` and `Evaluation.code` do, in the same order, with the same reasons
and the same compact trace records; tests/test_codegen.py compares whole decisions of the two.

The safety rules of codegen.py hold here unchanged: no policy text becomes code. Ids and file
locations are written only as `repr()` strings (`codegen_names.text`); headers, conditions and
fixed reasons are bound as invented constants (`_K7`); the only other names are the fixed ones
in `PLAN_NAMES`, and `check_names` checks the compiled code against them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .codegen import compile_checked, constants_key
from .codegen_names import HOISTED, text
from .codegen_shared import SharedOutcomes
from .codegen_writer import Writer
from .outcomes import CodeOutcome, RuleOutcome, share_record

# Locals, constants and attributes of the generated rule and code functions, besides those of
# the expression writer. `ev` is the Evaluation; `_r` reasons, `_m` rules met, `_o` a rule outcome
# read, `_u` the code outcome being filled, `_us` all of them by code, `_ok` the valid ones, `_t`
# whether to trace, `_d` whether a precondition denied the code, `_k` and `_n` a trace record's key
# and the record (see `traced`).
PLAN_LOCALS = frozenset({"ev", "_r", "_m", "_o", "_u", "_us", "_ok", "_t", "_x", "_d", "_k", "_n", "_outcomes"})
PLAN_GLOBALS = frozenset({"_RuleOutcome", "_CodeOutcome", "_tuple", "_share"})
PLAN_ATTRIBUTES = frozenset(
    {"env", "_rules", "trace", "rule", "_reason", "overridden_by", "units_of", "count_units", "code_status", "plan"}
    | {"not_in_effect_outcomes"}
    | {"reasons", "status", "rules_met", "units", "node", "extend", "id"}
)
PLAN_NAMES = PLAN_LOCALS | PLAN_GLOBALS | PLAN_ATTRIBUTES | {"_carepolicy_rule", "_carepolicy_codes"}

RuleFn = Callable[[Any], Any]  # (Evaluation) -> RuleOutcome
CodesFn = Callable[[Any], Any]  # (Evaluation) -> ({code: CodeOutcome} in plan order, the valid ones)


@dataclass(frozen=True, slots=True)
class MonthProgram:
    """The generated functions of one month plan: rules by id, and one for all its codes."""

    rules: Mapping[str, RuleFn]
    codes: CodesFn


class PlanWriter(SharedOutcomes):
    """Writes the functions of one month plan (a `CompiledPolicySet` and its `MonthPlan`)."""

    def __init__(self, compiled: Any, plan: Any, cache: dict[tuple[str, tuple[Any, ...]], Any]) -> None:
        self.compiled = compiled
        self.plan = plan
        self.cache = cache  # generated functions by (source, constants), shared by every month
        self.rules: dict[str, RuleFn] = {}
        self.overridable = {e.target for e in plan.exceptions}
        self.gate_locals: dict[str, str] = {}  # precondition id -> the local holding its outcome (see gated_code)

    def program(self) -> MonthProgram:
        rules = {rule_id: self.rule(rule_id) for rule_id in self.plan.rules}
        return MonthProgram(rules, self.codes())

    # ------------------------------------------------------------ one rule
    def rule(self, rule_id: str) -> RuleFn:
        """The function of a rule in effect, written after those of the rules it requires (the
        checker rejects cycles), so that it can call them directly."""
        written = self.rules.get(rule_id)
        if written is None:
            written = self.rules[rule_id] = self.write_rule(rule_id, self.plan.rules[rule_id])
        return written

    def write_rule(self, rule_id: str, rule: Any) -> RuleFn:
        w = self.compiled.writer()
        header = w.const(rule.header).text
        w.line("_t = ev.trace")
        if rule_id in self.overridable:  # as Evaluation._evaluate_rule: an exception may switch it off
            w.line(f"_x = ev.overridden_by({text(rule_id)})")
            w.line("if _x is not None:")
            w.line("    _x = 'does not apply: exception ' + _x.id")
            records = w.const(self.shared_records(rule)).text
            record = f"{records}.get((_x,)) or _share({records}, (_x,), ('rule', {header}, _x, ()))"
            w.line(f"    return _RuleOutcome('overridden', (), ({record}) if _t else None)")
        children, values = self.requirements(w, rule.header, rule.requirements, header, collect_met=False)
        # Met, every condition held (each value True, each required rule without reasons): the
        # outcome and its trace record are the same for every bundle, so they are made once.
        met, met_traced = self.met_outcomes(rule)
        w.line("if not _r:")
        w.line(f"    return {w.const(met_traced).text} if _t else {w.const(met).text}")
        conditions = [(r, c) for r in rule.requirements for c in r.conditions]
        if len(conditions) == 1 and conditions[0][1].rule is None and conditions[0][0].message is not None:
            # One condition with its own words, found false (a precondition without consent, say):
            # the same outcome for every bundle too.
            unmet, unmet_traced = self.unmet_outcomes(rule, *conditions[0])
            w.line(f"if {values[0]} is False:")
            w.line(f"    return {w.const(unmet_traced).text} if _t else {w.const(unmet).text}")
        elif len(conditions) == 1 and conditions[0][1].rule is not None:
            # `requires other_rule` alone (a precondition that a consent is on record, say): when the
            # other rule's outcome was prebuilt, so is this one's
            for other, mine in self.wrapped_unmet(rule, conditions[0][1].rule):
                w.line(f"if _o is {w.const(other).text}:")
                w.line(f"    return {w.const(mine).text}")
        w.line("_n = None")
        with w.block("if _t:"):
            self.traced(w, rule, "rule", header, "'unmet'", children, values)
        w.line("return _RuleOutcome('unmet', _tuple(_r), _n)")
        return self.finish(w, "_carepolicy_rule", rule.header.source)

    # ------------------------------------------------------------ the codes
    def codes(self) -> CodesFn:
        """One function for all the plan's codes, in order: each code's outcome, as `Evaluation.code`
        makes it. One call per bundle instead of one per code (most codes stop at a precondition)."""
        w = self.compiled.writer()
        w.line("_t = ev.trace")
        w.line("_us = {}")
        w.line("_ok = {}")
        self.gate_locals = {}
        for code in self.plan.codes:
            header = w.const(code.header).text
            self.gated_code(w, code, header, self.plan.preconditions.get(code.decl.program or "", ()))
        w.line("return _us, _ok")
        return self.finish(w, "_carepolicy_codes", "codes of a month plan")

    def gated_code(self, w: Writer, code: Any, header: str, gates: tuple[str, ...]) -> None:
        """`_u` filled in: denied by the first precondition not met, else evaluated (`code_body`).

        Written flat (`_d` says a gate denied the code), not as nested `else:` blocks: a program
        may have any number of preconditions, and Python allows only 100 levels of indentation."""
        new_outcome = f"_u = _us[{text(code.header.id)}] = _CodeOutcome({w.const(code).text})"
        if not gates:
            w.line(new_outcome)
            self.code_body(w, code, header)
            return
        if len(gates) == 1:  # the usual case: one if/elif chain, no `_d` flag to set and test
            # Read once, by the first code of its program (a statement every bundle runs, so the
            # local is set for the codes after it), then the local: the outcome is memoised anyway.
            held = self.gate_locals.get(gates[0])
            if held is None:
                self.read_rule(w, gates[0])
                held = self.gate_locals[gates[0]] = w.fresh("_v")
                w.line(f"{held} = _o")
            else:
                w.line(f"_o = {held}")
            self.gate(w, code, header, gates[0], flag=False, read=False)
            with w.block("else:"):
                w.line(new_outcome)
                self.code_body(w, code, header)
            return
        w.line("_d = False")
        for gate_id in gates:
            with w.block("if not _d:"):
                self.gate(w, code, header, gate_id, flag=True)
        with w.block("if not _d:"):
            w.line(new_outcome)
            self.code_body(w, code, header)

    def gate(self, w: Writer, code: Any, header: str, gate_id: str, *, flag: bool, read: bool = True) -> None:
        """The `if`/`elif` branches that deny a code when precondition `gate_id` is not met (setting
        `_d` when `flag`): a prebuilt outcome's shared denial, or a denial made now. `_o` is read
        first unless `read` is False (the caller has set it)."""
        if read:
            self.read_rule(w, gate_id)
        node = self.gate_record(code, gate_id)
        branch = "if"
        for gate, traced in self.prebuilt_unmet(gate_id):
            # the usual denial (no consent, say): the gate's outcome was prebuilt, so is the code's
            shared = self.gate_denied(code, gate, node if traced else None)
            with w.block(f"{branch} _o is {w.const(gate).text}:"):
                w.line(f"_us[{text(code.header.id)}] = {w.const(shared).text}")
                if flag:
                    w.line("_d = True")
            branch = "elif"
        with w.block(f"{branch} _o.status == 'unmet':"):
            w.line(f"_u = _us[{text(code.header.id)}] = _CodeOutcome({w.const(code).text})")
            w.line("_u.reasons.extend(_o.reasons)")
            w.line("_u.units = 0")
            w.line(f"if _t: _u.node = {w.const(node).text}")
            if flag:
                w.line("_d = True")

    def code_body(self, w: Writer, code: Any, header: str) -> None:
        children, values = self.requirements(w, code.header, code.requirements, header, collect_met=True)
        w.line("_u.reasons = _r")
        w.line("_u.rules_met = _m")
        key = text(code.header.id)
        if code.counts_units and code.unit_count is None and code.decl.units is not None:
            # `units each INCREMENT of MEASURE beyond BEYOND`: the three values written inline, in
            # the order Evaluation.units_of reads them (it then counts: count_units)
            units = code.decl.units
            amounts = [w.expr(units.increment).text, w.expr(units.measure).text, w.expr(units.beyond).text]
            w.line(f"ev.count_units(_u, {', '.join(amounts)})")
            status = "ev.code_status(_u)"
        elif code.counts_units:
            w.line("ev.units_of(_u)")
            status = "ev.code_status(_u)"
        else:  # ev.code_status, for a code without units (its units stay 1)
            status = "'not valid' if _r else 'valid'"
        with w.block("if _t:"):
            self.traced(w, code, "code", header, status, children, values)
            w.line("_u.node = _n")
        w.line(f"if not _r and _u.units >= 1: _ok[{key}] = _u" if code.counts_units else f"if not _r: _ok[{key}] = _u")

    # ------------------------------------------------------------ requirements
    def requirements(
        self, w: Writer, owner: Any, requirements: Any, header: str, *, collect_met: bool
    ) -> tuple[str, list[str]]:
        """The unrolled loop of `Evaluation.requirements`: `_r` reasons, `_m` rules met. Returns the
        source of the trace children, a tuple read after the last condition (each condition's value
        is a local assigned once, and no requirement is skipped, so every one is set by then), and
        the names of those locals."""
        w.line("_r = []")
        if collect_met:
            w.line("_m = []")
        children: list[str] = []
        values: list[str] = []  # the local holding each expression condition's value
        for requirement in requirements:
            for condition in requirement.conditions:
                if condition.rule is not None:
                    rule_id = text(condition.rule)
                    self.read_rule(w, condition.rule)
                    w.line("if _o.reasons:")
                    w.line("    _r.extend(_o.reasons)")
                    if collect_met:
                        w.line("elif _o.status == 'met':")
                        w.line(f"    _m.append({rule_id})")
                    children.append(f"('ref', {rule_id})")
                    continue
                value = w.var(w.expr(condition.expr))
                values.append(value)
                requirement_const, condition_const = w.const(requirement).text, w.const(condition).text
                slow = f"ev._reason({header}, {requirement_const}, {condition_const}, {value})"
                w.line(f"if {value} is not True:")
                if requirement.message is not None:  # the same words unless a fact is missing: made once, here
                    fixed = self.compiled.fixed_reason(owner, requirement)
                    w.line(f"    _r.append({w.const(fixed).text} if {value} is not _UNKNOWN else {slow})")
                else:
                    w.line(f"    _r.append({slow})")
                location = text(requirement.location)
                children.append(f"('requirement', {header}, {condition_const}, {location}, {value})")
        return "(" + "".join(f"{child}, " for child in children) + ")", values

    def read_rule(self, w: Writer, rule_id: str) -> None:
        """`_o = ` the outcome of a rule: memoised, else evaluated (and remembered) now, as `ev.rule`."""
        key = text(rule_id)
        w.line(f"_o = _outcomes.get({key})")
        w.line("if _o is None:")
        if rule_id in self.plan.rules:  # in effect: call its function directly
            w.line(f"    _o = _outcomes[{key}] = {w.const(self.rule(rule_id)).text}(ev)")
        elif rule_id in self.plan.not_in_effect_outcomes:
            # not in effect this month: the plan's outcome, as ev.rule finds it (read from the plan at
            # run time, not bound as a constant: the month is in its trace, and months share functions)
            w.line(f"    _o = _outcomes[{key}] = ev.plan.not_in_effect_outcomes[{key}][1 if _t else 0]")
        else:  # (the checker has made sure a required rule exists: not reached)
            w.line(f"    _o = ev.rule({key})")

    def finish(self, w: Writer, name: str, where: str) -> Callable[[Any], Any]:
        head = [f"    _{a} = env.{a}" for a in HOISTED if a in w.hoisted]
        source = "\n".join([f"def {name}(ev):", "    env = ev.env", "    _outcomes = ev._rules", *head, *w.lines, ""])
        # Months with the same rules share one function (the constants are the compiled set's own
        # objects, so equal source and equal constants mean the same code): fewer functions to
        # compile, and far fewer for the processor to keep warm in a batch that spans months.
        key = (source, constants_key(w.constants))
        fn: Callable[[Any], Any] | None = self.cache.get(key)
        if fn is None:
            constants = {**w.constants, "_RuleOutcome": RuleOutcome, "_CodeOutcome": CodeOutcome, "_tuple": tuple}
            constants["_share"] = share_record
            fn = self.cache[key] = compile_checked(source, name, where, constants, extra_names=PLAN_NAMES)
        return fn
