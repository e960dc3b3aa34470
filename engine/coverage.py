"""What a policy set's test cases reach: `carepolicy test --coverage`.

Every case is evaluated with its trace, and the traces are read for what they touched: the rules
and codes evaluated in effect (not merely skipped as out of effect), the requirements seen met and
seen not met, each dated parameter value read (by the date it was read for), and each switch
option some case ran with (set by the case, or by default). Everything the policy set declares of those kinds is
then listed per file with what no case reached. A requirement counts as covered only when the
cases saw it both met and not met: one that always holds is not tested by them.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from .decision.trace_nodes import TraceNode
from .language import syntax as s
from .language.clauses import Requirement


@dataclass
class Reached:
    declarations: set[tuple[str, str]] = field(default_factory=set)  # (kind, id) evaluated in effect
    requirements: dict[str, set[bool]] = field(default_factory=lambda: defaultdict(set))  # file:line
    parameter_reads: set[tuple[str, str]] = field(default_factory=set)  # (parameter, as_of day)
    switch_reads: set[tuple[str, str]] = field(default_factory=set)  # (switch, option)


@dataclass(frozen=True, slots=True)
class FileCoverage:
    file: str
    total: int
    missed: tuple[str, ...]

    @property
    def covered(self) -> int:
        return self.total - len(self.missed)


def _walk(nodes: Iterable[TraceNode], reached: Reached, parameters: set[str], switches: set[str]) -> None:
    for node in nodes:
        if node.kind == "requirement":
            reached.requirements[node.source].add(node.result.startswith("met"))
        elif not node.result.startswith("not in effect") and node.kind != "rule ref":
            reached.declarations.add((node.kind, node.id))
        for read in node.reads:
            if read.name in parameters and read.as_of:
                reached.parameter_reads.add((read.name, read.as_of))
            elif read.name in switches:
                reached.switch_reads.add((read.name, str(read.value)))
        _walk(node.children, reached, parameters, switches)


_PRICED_WITH = re.compile(r"× (\w+) \$([0-9.]+)")


def _names_in(node: Any, found: set[str]) -> set[str]:
    """Every bare or dotted name an AST node mentions (its dataclass fields, walked)."""
    if isinstance(node, s.Name):
        found.add(".".join(node.parts))
    elif isinstance(node, tuple | list):
        for item in node:
            _names_in(item, found)
    elif is_dataclass(node) and not isinstance(node, type):
        for item in fields(node):
            if item.name != "span":
                _names_in(getattr(node, item.name), found)
    return found


def _parameters_behind(index: Any) -> dict[str, set[str]]:
    """For each definition, the parameters it reads, directly or through other definitions."""
    direct = {name: _names_in(define.expr, set()) for name, define in index.defines.items()}
    behind: dict[str, set[str]] = {}

    def visit(name: str, seen: frozenset[str]) -> set[str]:
        if name in behind:
            return behind[name]
        found = {n for n in direct.get(name, ()) if n in index.parameters}
        for other in direct.get(name, ()):
            if other in direct and other not in seen:
                found |= visit(other, seen | {other})
        behind[name] = found
        return found

    for name in direct:
        visit(name, frozenset({name}))
    return behind


def _value_reads(decision: Any, index: Any, behind: dict[str, set[str]], reached: Reached) -> None:
    """A definition's value read in a pricing line is traced as one figure: the parameter values
    behind it that hold that figure on the month's last day are the ones read."""
    day = last_day(decision.month)
    for line in decision.billable:
        for name, figure in _PRICED_WITH.findall(str(getattr(line, "price_source", "") or "")):
            for parameter in behind.get(name, set()) | ({name} & set(index.parameters)):
                for value in index.parameters[parameter].values:
                    literal = getattr(value.value, "value", None)
                    if value.effective.contains(day) and str(literal) == figure:
                        reached.parameter_reads.add((parameter, day))


def last_day(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{month[:7]}-{calendar.monthrange(year, number)[1]:02d}"


def collect(policies: Any, cases: Sequence[Any]) -> Reached:
    """Evaluate each runnable case with its trace and gather what the traces reached."""
    from .api import evaluate
    from .facts.reader import BundleError, validate_bundle

    index = policies.checked.index
    behind = _parameters_behind(index)
    reached = Reached()
    for case in cases:
        if case.problems:
            continue
        bundle = validate_bundle(case.facts, source=case.file, index=0, parsed=True)
        if isinstance(bundle, BundleError):
            continue
        decision = evaluate(policies, bundle, switches=case.switches, fee_schedule=case.fee_schedule, trace=True)
        if decision.trace is not None:
            _walk(decision.trace, reached, set(index.parameters), set(index.switches))
        _value_reads(decision, index, behind, reached)
        for line in decision.billable:
            reached.declarations.add(("code", line.code))
        # A switch read inside a definition is traced as the definition's value, not as a read of
        # the switch, so an option counts as reached when a case ran with it in force.
        in_force = {**dict(policies.compiled.switch_defaults), **case.switches}
        reached.switch_reads.update(in_force.items())
    return reached


def _requirements(decl: s.Declaration) -> tuple[Requirement, ...]:
    return tuple(getattr(decl, "requirements", ()))


def _missed(decl: s.Declaration, reached: Reached) -> Iterator[tuple[str | None, int]]:
    """(what was missed or None for a hit, how many items) for one declaration."""
    line = decl.span.line
    if isinstance(decl, s.Parameter):
        for value in decl.values:
            hit = any(name == decl.id and value.effective.contains(day) for name, day in reached.parameter_reads)
            missed = f"parameter value {decl.id} effective {value.effective} (line {value.span.line})"
            yield (None if hit else missed), 1
        return
    if isinstance(decl, s.Switch):
        for option in decl.options:
            hit = (decl.id, option) in reached.switch_reads
            yield (None if hit else f"switch option {decl.id} = {option} (line {line})"), 1
        return
    if isinstance(decl, s.Rule | s.Code | s.Precondition):
        kind = "code" if isinstance(decl, s.Code) else "rule"
        hit = (kind, decl.id) in reached.declarations
        yield (None if hit else f"{kind} {decl.id} never evaluated in effect (line {line})"), 1
        for requirement in _requirements(decl):
            seen = reached.requirements.get(f"{requirement.span.source}:{requirement.span.line}", set())
            if seen == {True, False}:
                yield None, 1
            else:
                never = "never met" if True not in seen else "never unmet"
                if not seen:
                    never = "never evaluated"
                yield f"requirement of {decl.id} {never} (line {requirement.span.line})", 1


def per_file(policies: Any, reached: Reached) -> list[FileCoverage]:
    files: dict[str, list[str | None]] = defaultdict(list)
    for decl in policies.checked.index.declarations():
        for missed, _count in _missed(decl, reached):
            files[decl.span.source].append(missed)
    return [
        FileCoverage(name, len(items), tuple(m for m in items if m is not None))
        for name, items in sorted(files.items())
    ]


def render(report: Sequence[FileCoverage]) -> str:
    lines = []
    for item in report:
        lines.append(f"{item.file}  {percent(item.covered, item.total)}% ({item.covered}/{item.total})")
        lines.extend(f"    {missed}" for missed in item.missed)
    covered, total = sum(i.covered for i in report), sum(i.total for i in report)
    lines.append(f"coverage: {percent(covered, total)}% ({covered}/{total} rules, codes, requirements met and unmet, "
                 "parameter values and switch options)")
    return "\n".join(lines) + "\n"


def percent(covered: int, total: int) -> float:
    return round(100 * covered / total, 1) if total else 100.0
