"""Parameterised definitions and rules (templates): stated once, instantiated per argument.

`define staff_minutes(p: program) "..." = sum ... where ... = p` is called as `staff_minutes(ccm)`
wherever an expression stands; `rule consent_in_force(p: program, name: text) "..." requires ...`
is included in a rule as `requires consent_in_force(ccm, "CCM")`, its requirements (messages
with `{name}` filled in) becoming that rule's own. engine/check/templates.py instantiates every
use before checking, like a selection: the checker and both backends see only plain definitions
and requirements, so a template adds no run-time construct, no state and no recursion.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..source import Span
from .clauses import Requirement
from .expressions import Expr
from .syntax import Declaration

# What a parameter may stand for: a program (`ccm`; a value, or one part of a fact path such as
# `consents.p.date`) or a quoted text (for messages and titles: `"no consent to {name}"`).
PARAM_TYPES = ("program", "text")


@dataclass(frozen=True, slots=True)
class Param:
    """`p: program`: one parameter of a template, with the type its arguments must have."""

    name: str
    type: str
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class DefineTemplate(Declaration):
    """`define NAME(p: program, ...) "title" = expr`: a definition per argument list."""

    params: tuple[Param, ...]
    expr: Expr

    @property
    def kind(self) -> str:
        return "define"


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleTemplate(Declaration):
    """`rule NAME(p: program, ...) "title" requires ...`: requirements a rule includes by calling it."""

    params: tuple[Param, ...]
    requirements: tuple[Requirement, ...]

    @property
    def kind(self) -> str:
        return "rule"


Template = DefineTemplate | RuleTemplate


@dataclass(frozen=True, slots=True)
class ArgumentSpan(Span):
    """The span of a name a template's use wrote for it (`consents.p.date` read as
    `consents.ccm.date`, `f(p)` as `f(ccm)`): traces show such a name as it now reads, every other
    name as the policy text has it."""

    @classmethod
    def of(cls, span: Span) -> ArgumentSpan:
        return cls(span.source, span.line, span.column, span.end_line, span.end_column)


def signature(template: Template) -> str:
    """`staff_minutes(p: program)`, for messages."""
    return f"{template.id}({', '.join(f'{p.name}: {p.type}' for p in template.params)})"
