"""A template's own problems, found before any use of it is instantiated (templates.py): unknown or
repeated parameters, a program parameter computed with, a `{placeholder}` that is no parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..diagnostics import Diagnostic, did_you_mean
from ..language import syntax as s
from ..language.templates import PARAM_TYPES, DefineTemplate, RuleTemplate, Template

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def template_problems(template: Template, templates: Mapping[str, Template]) -> tuple[list[Diagnostic], bool]:
    """The template's diagnostics, in the order they are found, and whether its uses must not be
    instantiated (a program parameter computed with: an instance would not type)."""
    found: list[Diagnostic] = []
    seen: set[str] = set()
    for param in template.params:
        if param.type not in PARAM_TYPES:
            found.append(
                Diagnostic(
                    "check/template",
                    f"parameter `{param.name}` of `{template.id}` has unknown type `{param.type}`",
                    span=param.span,
                    help=did_you_mean(param.type, PARAM_TYPES) or f"the types are: {', '.join(PARAM_TYPES)}",
                )
            )
        if param.name in seen:
            found.append(
                Diagnostic(
                    "check/template",
                    f"parameter `{param.name}` is declared twice in `{template.id}`",
                    span=param.span,
                    help="give each parameter its own name",
                )
            )
        seen.add(param.name)
    computed = _programs_computed_with(template, templates)
    found += computed
    names = {p.name for p in template.params}
    texts = [template.title]
    if isinstance(template, RuleTemplate):
        texts.extend(r.message for r in template.requirements if r.message is not None)
    for text in texts:
        for unknown in sorted({m for m in PLACEHOLDER.findall(text) if m not in names}):
            found.append(
                Diagnostic(
                    "check/template",
                    f"`{{{unknown}}}` in `{template.id}` is not one of its parameters",
                    span=template.span,
                    help=did_you_mean(unknown, sorted(names)) or f"its parameters are: {', '.join(sorted(names))}",
                )
            )
    return found, bool(computed)


def _programs_computed_with(template: Template, templates: Mapping[str, Template]) -> list[Diagnostic]:
    """A program parameter standing alone is a program name: it may be compared (`= p`,
    `in {p}`) or passed on to another template, never computed with (`p + 1 min`)."""
    programs = {p.name for p in template.params if p.type == "program"}
    if not programs:
        return []
    bodies = (
        [template.expr]
        if isinstance(template, DefineTemplate)
        else [c for r in template.requirements for c in r.conditions]
    )
    found: list[Diagnostic] = []
    allowed: set[int] = set()
    for body in bodies:
        for node in s.walk(body):
            if isinstance(node, s.Compare) and node.op in ("=", "!="):
                allowed.update((id(node.left), id(node.right)))
            elif isinstance(node, s.Member):
                allowed.update((id(node.item), id(node.collection)))
            elif isinstance(node, s.SetLiteral):
                allowed.update(id(item) for item in node.items)
            elif isinstance(node, s.Call) and node.function in templates:
                allowed.update(id(arg) for arg in node.args)
        for node in s.walk(body):
            if isinstance(node, s.Name) and node.parts in {(p,) for p in programs} and id(node) not in allowed:
                found.append(
                    Diagnostic(
                        "check/template",
                        f"program parameter `{node.dotted}` of `{template.id}` cannot be computed with",
                        span=node.span,
                        help=f"compare it (`time.service = {node.dotted}`), use it in a fact path "
                        f"(`consents.{node.dotted}.date`) or pass it to another template",
                    )
                )
    return found
