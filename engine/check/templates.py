"""Parameterised definitions and rules, instantiated before checking (like selections).

Every call `staff_minutes(ccm)` of a `define staff_minutes(p: program)` becomes a reference to
one plain definition, `staff_minutes(ccm)`, whose expression is the template's with `p` read as
`ccm` (as a value, `time.service = ccm`, or as a part of a fact path, `consents.ccm.date`). It is
added to the policy set once, right after its template, so it is typed, computed once per bundle
and shown in traces under that name. A line `requires consent_in_force(ccm, "CCM")` in a rule is
replaced by the template's requirements, their messages filled in (`{name}` -> `CCM`): they are
the including rule's own, so decisions and traces still name that rule (`ccm.consent`) with its
title and citations.

All of it happens before the checker and both backends see the policies: no run-time
parameters, no recursion (a template used, directly or not, by itself is `check/cycle`), and
every argument is a program or a quoted text known when the policies are read.
"""

from __future__ import annotations

import dataclasses
from typing import cast

from ..diagnostics import Diagnostic, Severity, did_you_mean
from ..language import syntax as s
from ..language.clauses import Requirement
from ..language.templates import ArgumentSpan, DefineTemplate, RuleTemplate, Template, signature
from ..language.valuetypes import ANY, TEXT
from ..source import Span
from .selections import _map, _map_decl
from .template_checks import PLACEHOLDER, template_problems

_TEXT_HINT = "a program parameter can stand in a fact path (`consents.p.date`); a text only in messages"


class _Expander:
    def __init__(self, files: tuple[s.PolicyFile, ...]) -> None:
        self.templates: dict[str, Template] = {}
        for policy in files:
            for decl in policy.declarations:
                if isinstance(decl, DefineTemplate | RuleTemplate):
                    self.templates.setdefault(decl.id, decl)
        self.programs = sorted(
            {d.program for f in files for d in f.declarations if isinstance(d, s.Code) and d.program}
        )
        self.instances: dict[str, list[s.Define]] = {}  # template id -> its instances, in first-use order
        self.made: dict[str, s.Define | None] = {}  # instance id -> instance (None while being built)
        self.diagnostics: list[Diagnostic] = []
        self.used: set[str] = set()  # templates called somewhere (even wrongly: reported there)
        self.broken: set[str] = set()  # templates with an error of their own: their uses are not instantiated

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, message, span=span, help=hint))

    # ------------------------------------------------------------ arguments
    def bind(self, template: Template, call: s.Call) -> dict[str, tuple[str, str]] | None:
        """Parameter -> (type, argument), or None (reported) when the call does not fit."""
        if len(call.args) != len(template.params):
            given = len(call.args)
            self.error(
                "check/template",
                f"`{template.id}` takes {len(template.params)} argument{'s' * (len(template.params) != 1)}, "
                f"given {given}",
                call.span,
                f"call it as {signature(template)}",
            )
            return None
        bound: dict[str, tuple[str, str]] = {}
        for param, arg in zip(template.params, call.args, strict=True):
            if param.type == "program":
                word = arg.parts[0] if isinstance(arg, s.Name) and len(arg.parts) == 1 else None
                if word is None or word not in self.programs:
                    shown = word or (arg.text if isinstance(arg, s.Literal) else "this argument")
                    self.error(
                        "check/template",
                        f"`{shown}` is not a program (parameter `{param.name}` of `{template.id}`)",
                        arg.span,
                        (did_you_mean(word, self.programs) if word else None)
                        or f"the programs are: {', '.join(self.programs)}",
                    )
                    return None
                bound[param.name] = ("program", word)
            elif param.type == "text":
                if not (isinstance(arg, s.Literal) and arg.type == TEXT):
                    self.error(
                        "check/template",
                        f"parameter `{param.name}` of `{template.id}` takes a quoted text",
                        arg.span,
                        'write the text in quotes: "CCM"',
                    )
                    return None
                bound[param.name] = ("text", str(arg.value))
            else:
                return None  # unknown type: reported at the template
        return bound

    # ------------------------------------------------------------ substitution
    def substitute(self, expr: s.Expr, bound: dict[str, tuple[str, str]], template: Template) -> s.Expr:
        def one(node: s.Expr) -> s.Expr:
            # `count p` of a text parameter: its value (a Literal) took the list's place
            if isinstance(node, s.Aggregate) and isinstance(path := cast(s.Expr, node.path), s.Literal):
                if path.type is not ANY:  # (ANY: a placeholder, its error reported)
                    what = f"`{node.kind}` needs a fact list, not the text {path.text} (a parameter of `{template.id}`)"
                    self.error("check/template", what, node.span, _TEXT_HINT)
                return s.Literal(None, ANY, node.kind, node.span)
            if not isinstance(node, s.Name) or not any(part in bound for part in node.parts):
                return node
            if len(node.parts) == 1 and bound[node.parts[0]][0] == "text":
                value = bound[node.parts[0]][1]
                return s.Literal(value, TEXT, '"' + value.replace('"', '\\"') + '"', ArgumentSpan.of(node.span))
            parts = []
            for part in node.parts:
                kind, value = bound.get(part, ("", part))
                if kind == "text":
                    self.error(
                        "check/template",
                        f"text parameter `{part}` of `{template.id}` cannot be part of a name (`{node.dotted}`)",
                        node.span,
                        _TEXT_HINT,
                    )
                    return s.Literal(None, ANY, node.dotted, node.span)
                parts.append(value)
            return s.Name(tuple(parts), ArgumentSpan.of(node.span))

        return _map(expr, one)

    @staticmethod
    def fill(text: str, bound: dict[str, tuple[str, str]]) -> str:
        return PLACEHOLDER.sub(lambda m: bound[m.group(1)][1] if m.group(1) in bound else m.group(0), text)

    # ------------------------------------------------------------ uses
    def rewrite(self, expr: s.Expr, trail: tuple[str, ...]) -> s.Expr:
        """Calls of definition templates -> references to their instances; misuses reported."""

        def one(node: s.Expr) -> s.Expr:
            if isinstance(node, s.Aggregate) and isinstance(path := cast(s.Expr, node.path), s.Literal):
                return path  # `count T` of a template `T`: the placeholder of its error stands for it all
            if isinstance(node, s.Name) and len(node.parts) == 1 and node.parts[0] in self.templates:
                template = self.templates[node.parts[0]]
                self.error(
                    "check/template",
                    f"`{template.id}` takes arguments",
                    node.span,
                    f"call it as {signature(template)}",
                )
                return s.Literal(None, ANY, node.dotted, node.span)
            if not isinstance(node, s.Call) or node.function not in self.templates:
                return node
            template = self.templates[node.function]
            self.used.add(template.id)
            if isinstance(template, RuleTemplate):
                self.error(
                    "check/template",
                    f"rule template `{template.id}` is included with `requires {template.id}(...)` "
                    "on a line of its own",
                    node.span,
                    "use it alone after `requires`, without `else` (its requirements carry their own messages),"
                    " or write a `define` template for a value",
                )
                return s.Literal(None, ANY, template.id, node.span)
            instance = self.instantiate(template, node, trail)
            if instance is None:
                return s.Literal(None, ANY, template.id, node.span)
            return s.Name((instance,), ArgumentSpan.of(node.span))

        return _map(expr, one)

    def cycle(self, template: Template, trail: tuple[str, ...], span: Span) -> bool:
        if template.id not in trail:
            return False
        path = " -> ".join((*trail[trail.index(template.id) :], template.id))
        self.error(
            "check/cycle",
            f"template `{template.id}` is used by itself: {path}",
            span,
            "a template may use other templates, never itself (the language has no recursion)",
        )
        return True

    def instantiate(self, template: DefineTemplate, call: s.Call, trail: tuple[str, ...]) -> str | None:
        bound = self.bind(template, call)
        if bound is None or template.id in self.broken or self.cycle(template, trail, call.span):
            return None
        ident = f"{template.id}({', '.join(self.shown(bound[p.name]) for p in template.params)})"
        if ident in self.made:
            return ident
        self.made[ident] = None
        body = self.rewrite(self.substitute(template.expr, bound, template), (*trail, template.id))
        instance = s.Define(
            id=ident,
            title=self.fill(template.title, bound),
            cites=template.cites,
            assumptions=template.assumptions,
            effective=template.effective,
            span=template.span,
            expr=body,
        )
        self.made[ident] = instance
        self.instances.setdefault(template.id, []).append(instance)
        return ident

    @staticmethod
    def shown(argument: tuple[str, str]) -> str:
        kind, value = argument
        return value if kind == "program" else '"' + value + '"'

    def splice(self, requirements: tuple[Requirement, ...], trail: tuple[str, ...]) -> tuple[Requirement, ...]:
        """`requires T(args)` -> T's requirements, filled in; every other requirement unchanged."""
        out: list[Requirement] = []
        for requirement in requirements:
            calls = [
                c
                for c in requirement.conditions
                if isinstance(c, s.Call) and isinstance(self.templates.get(c.function), RuleTemplate)
            ]
            if not calls:
                out.append(requirement)
                continue
            self.used.update(c.function for c in calls)
            if len(requirement.conditions) > 1 or requirement.message is not None:
                self.error(
                    "check/template",
                    f"rule template `{calls[0].function}` is included with `requires {calls[0].function}(...)` "
                    "on a line of its own",
                    requirement.span,
                    "give it its own `requires` line, without `else`: its requirements carry their own messages",
                )
                continue
            call = calls[0]
            template = self.templates[call.function]
            assert isinstance(template, RuleTemplate)
            bound = self.bind(template, call)
            if bound is None or template.id in self.broken or self.cycle(template, trail, call.span):
                continue
            filled = tuple(
                dataclasses.replace(
                    r,
                    conditions=tuple(self.substitute(c, bound, template) for c in r.conditions),
                    message=None if r.message is None else self.fill(r.message, bound),
                )
                for r in template.requirements
            )
            out.extend(self.splice(filled, (*trail, template.id)))
        return tuple(out)

    def mentions_template(self, decl: s.Declaration) -> bool:
        for expr in s.expressions_of(decl):
            for node in s.walk(expr):
                if isinstance(node, s.Call) and node.function in self.templates:
                    return True
                if isinstance(node, s.Name) and len(node.parts) == 1 and node.parts[0] in self.templates:
                    return True
        return False

    def declaration(self, decl: s.Declaration) -> s.Declaration:
        if isinstance(decl, DefineTemplate | RuleTemplate):
            return decl  # checked first, in expand_templates
        if not self.mentions_template(decl):
            return decl  # most declarations: nothing to rebuild
        if isinstance(decl, s.Rule | s.Precondition | s.Code):
            decl = dataclasses.replace(decl, requirements=self.splice(decl.requirements, ()))
        rewritten: s.Declaration = _map_decl(decl, lambda e: self.rewrite(e, ()))
        return rewritten


def expand_templates(files: tuple[s.PolicyFile, ...]) -> tuple[tuple[s.PolicyFile, ...], list[Diagnostic]]:
    """The files with every template use instantiated (instances right after their template)."""
    expander = _Expander(files)
    if not expander.templates:
        return files, []
    for template in expander.templates.values():
        problems, broken = template_problems(template, expander.templates)
        expander.diagnostics += problems
        if broken:
            expander.broken.add(template.id)
    rewritten = [tuple(expander.declaration(d) for d in policy.declarations) for policy in files]
    for template in expander.templates.values():
        if template.id not in expander.used:
            expander.diagnostics.append(
                Diagnostic(
                    "check/unused",
                    f"{template.kind} template `{template.id}` is never used",
                    span=template.span,
                    severity=Severity.WARNING,
                    help=f"remove it, or use it as {signature(template)}",
                )
            )
    out: list[s.PolicyFile] = []
    for policy, decls in zip(files, rewritten, strict=True):
        placed: list[s.Declaration] = []
        for decl in decls:
            placed.append(decl)
            if isinstance(decl, DefineTemplate) and expander.templates.get(decl.id) is decl:
                placed.extend(expander.instances.get(decl.id, ()))
        out.append(dataclasses.replace(policy, declarations=tuple(placed)))
    return tuple(out), expander.diagnostics
