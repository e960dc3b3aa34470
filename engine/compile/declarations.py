"""How one declaration of a checked policy set is compiled: its expressions (by the set's backend),
its header, its requirements' conditions with the values each reads for the trace, a code's units,
and the policy text that reasons and traces quote.

`CompiledPolicySet` (policy_set.py) is one of these with the whole set built, the values shared
between its decisions and its month plans; the month plans compile their declarations through
these methods too (month_plan.py, codegen_plan.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..check.index import PolicyIndex
from ..check.resolution import Resolution
from ..decision.citations import public_text
from ..language import syntax as s
from ..language.clauses import Requirement
from ..language.templates import ArgumentSpan
from ..source import SourceFile, Span
from .codegen import CodegenCompiler
from .codegen_writer import Writer
from .compiled import CompiledCode, CompiledRequirement, Condition, Header, assumption_text, cite_text
from .runtime import Fn


class ExprBackend(Protocol):
    def compile(self, expr: s.Expr) -> Fn: ...


@dataclass
class DeclarationCompiler:
    """The declarations of a checked set, compiled one at a time with `_compiler` (set by
    `CompiledPolicySet.build`), their texts read from `sources`."""

    index: PolicyIndex
    resolution: Resolution
    sources: Mapping[str, SourceFile]
    # keyword-only: a subclass's own fields without a default (policy_hash) still come after `sources`
    _compiler: ExprBackend | None = field(default=None, kw_only=True)
    # assumptions_read's answers, by the ids of the expressions (held by the checked index, so
    # never reused) and the kinds: every month plan compiles the codes and cost sharing again
    _assumed: dict[tuple[object, ...], tuple[str, ...]] = field(default_factory=dict, kw_only=True)
    _define_reads_memo: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict, kw_only=True)

    def expr(self, expr: s.Expr) -> Fn:
        assert self._compiler is not None
        return self._compiler.compile(expr)

    def writer(self) -> Writer:
        """A source writer for a month plan's generated functions (codegen_plan.py)."""
        if isinstance(self._compiler, CodegenCompiler):
            return self._compiler.writer()
        return Writer(self.resolution, self.expr)

    def text(self, span: Span) -> str:
        """The policy text of a span, on one line, for traces and reasons."""
        source = self.sources.get(span.source)
        if source is None or span.line == 0:
            return ""
        lines = source.lines(span.line, span.end_line)
        if not lines:
            return ""
        if len(lines) == 1:
            return lines[0][span.column - 1 : span.end_column - 1].strip()
        lines[0] = lines[0][span.column - 1 :]
        lines[-1] = lines[-1][: span.end_column - 1]
        return " ".join(part.strip() for part in lines)

    def shown(self, expr: s.Expr) -> str:
        """The policy text of an expression, as `text`, with a template's parameters read as the
        arguments of this use (`consents.p.date` in a template, `consents.ccm.date` here)."""
        shown = self.text(expr.span)
        swaps: dict[str, str] = {}
        for node in s.walk(expr):
            if isinstance(node, s.Name | s.Literal) and isinstance(node.span, ArgumentSpan):
                actual = node.dotted if isinstance(node, s.Name) else node.text
                written = self.text(node.span)
                if written and written != actual:
                    swaps[written] = actual
        for written in sorted(swaps, key=len, reverse=True):
            shown = re.sub(rf"(?<![\w.]){re.escape(written)}(?![\w])", swaps[written].replace("\\", "\\\\"), shown)
        return shown

    def header(self, decl: s.Declaration) -> Header:
        title = public_text(decl.title)  # a confidence mark in a title stays in the policy too
        cites = tuple(cite_text(c) for c in decl.cites) + tuple(assumption_text(a) for a in decl.assumptions)
        return Header(decl.id, title, cites, decl.span.location)

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

    def requirements(self, requirements: tuple[Requirement, ...]) -> tuple[CompiledRequirement, ...]:
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
                        sides = (self.expr(cond.left), self.expr(cond.right), self.shown(cond.left), left_type)
                    conditions.append(Condition(None, self.expr(cond), cond, self.shown(cond), self.reads(cond), sides))
            location = f"{requirement.span.source}:{requirement.span.line}"
            out.append(CompiledRequirement(tuple(conditions), requirement.message, requirement.span, location))
        return tuple(out)

    def code(self, decl: s.Code) -> CompiledCode:
        units = None
        measure_text = ""
        unit_exprs: tuple[s.Expr, ...] = ()
        if decl.units is not None:
            units = (self.expr(decl.units.increment), self.expr(decl.units.measure), self.expr(decl.units.beyond))
            shown = decl.units.once if decl.units.once is not None else decl.units.measure
            measure_text = self.shown(shown)
            unit_exprs = (decl.units.increment, decl.units.measure, decl.units.beyond)
        elif decl.unit_count is not None:
            measure_text = self.shown(decl.unit_count)
            unit_exprs = (decl.unit_count,)
        unit_reads: dict[str, tuple[str, str, Fn]] = {}
        for expr in unit_exprs:
            for read in self.reads(expr):
                unit_reads.setdefault(read[0], read)
        header = self.header(decl)
        cap = (decl.unit_cap,) if decl.unit_cap is not None else ()
        # the switches' only: a definition's assumption (how minutes are counted) is one the code's
        # requirements read too, and no reason quotes it; the cost sharing, which has no reasons,
        # quotes those of the definitions and parameters too (month_payment.py)
        assumed = self.assumptions_read(unit_exprs + cap, ("switch",))
        line_cites = tuple(dict.fromkeys(assumed + tuple(assumption_text(a) for a in decl.unit_assumptions)))
        return CompiledCode(
            header,
            decl,
            self.requirements(decl.requirements),
            self.index.expand(decl.bases),
            units,
            self.expr(decl.unit_cap) if decl.unit_cap is not None else None,
            measure_text,
            self.expr(decl.unit_count) if decl.unit_count is not None else None,
            tuple(unit_reads[k] for k in sorted(unit_reads)),
            line_cites,
            tuple(dict.fromkeys(header.cites + line_cites)),
        )

    def assumptions_read(self, exprs: tuple[s.Expr, ...], kinds: tuple[str, ...]) -> tuple[str, ...]:
        """The `assumption`s of the declarations of `kinds` (switch, define, parameter) some
        expressions read, directly or through definitions, in the order met, each naming whose it
        is: a switch's says "unless this switch names one", and the line it is quoted on must say
        which. Known when compiled, so what a clause's outcome rests on costs no record anything."""
        key = (*map(id, exprs), *kinds)
        kept = self._assumed.get(key)
        if kept is None:
            kept = self._assumed[key] = self._assumptions_read(exprs, kinds)
        return kept

    def _assumptions_read(self, exprs: tuple[s.Expr, ...], kinds: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(text for _name, text in self.assumptions_by_name(exprs, kinds)))

    def assumptions_by_name(self, exprs: tuple[s.Expr, ...], kinds: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """(the declaration's name, the text `assumptions_read` gives) of each of those assumptions:
        for a clause whose switches are known only when it is evaluated (cost_sharing.py)."""
        index = self.index
        tables: dict[str, Mapping[str, s.Declaration]] = {
            "switch": index.switches, "parameter": index.parameters, "define": index.defines
        }
        found: dict[tuple[str, str], None] = {}
        for kind, target in dict.fromkeys(ref for expr in exprs for ref in self._declarations_read(expr)):
            decl = tables[kind].get(target) if kind in kinds else None
            for a in decl.assumptions if decl is not None else ():
                found[(target, f"{assumption_text(a)} ({kind} {target})")] = None
        return tuple(found)

    def _declarations_read(self, expr: s.Expr) -> tuple[tuple[str, str], ...]:
        """The (kind, name) of the switches, definitions and parameters an expression reads, directly
        or through definitions, in the order met; a definition's are worked out once."""
        found: dict[tuple[str, str], None] = {}
        for node in s.walk(expr):
            ref = self.resolution.refs.get(id(node))
            if ref is None or ref.kind not in ("switch", "define", "parameter"):
                continue
            found[(ref.kind, ref.target)] = None
            define = self.index.defines.get(ref.target) if ref.kind == "define" else None
            if define is not None:
                inner = self._define_reads_memo.get(ref.target)
                if inner is None:
                    inner = self._define_reads_memo[ref.target] = self._declarations_read(define.expr)
                found.update(dict.fromkeys(inner))
        return tuple(found)


def _list_reader(name: str) -> Fn:
    def read(env: Any) -> Any:
        return len(env.facts.get(name) or ())

    return read
