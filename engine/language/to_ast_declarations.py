"""Lark tree -> AST, the declarations: clause lists sorted into declaration fields.

A clause given twice where once is allowed becomes a diagnostic, collected rather than raised, so a
file reports all its problems at once.
"""

from __future__ import annotations

from typing import Any

from lark import Token, v_args
from lark.tree import Meta

from ..diagnostics import Diagnostic
from . import syntax as s
from .clauses import Assumption, CodeRef
from .templates import DefineTemplate, Param, RuleTemplate
from .to_ast_base import AstBuilder, Clause, unquote
from .valuetypes import COUNT

_DEFAULT_INTERVAL = None


@v_args(meta=True, inline=True)
class DeclarationBuilder(AstBuilder):
    """The declarations (`define`, `rule`, `code`, `add-on`, ..., `rvu table`) and templates."""

    def _once(self, clauses: list[Clause], name: str, owner: str) -> Clause | None:
        found = [c for c in clauses if c.name == name]
        for extra in found[1:]:
            self.diagnostics.append(
                Diagnostic(
                    "parse/repeated-clause",
                    f"`{name}` is given twice in {owner}",
                    span=extra.span,
                    help="keep one; for values that change over time use dated `value ... effective` lines",
                )
            )
        return found[0] if found else None

    def _header(self, meta: Meta, ident: str, title: Token, clauses: list[Clause], owner: str) -> dict[str, Any]:
        effective = self._once(clauses, "effective", owner)
        return {
            "id": ident,
            "title": unquote(title),
            "cites": tuple(c.value for c in clauses if c.name == "cite"),
            "assumptions": tuple(c.value for c in clauses if c.name == "assumption"),
            "effective": effective.value if effective else _DEFAULT_INTERVAL,
            "span": self._span(meta),
        }

    def _all(self, clauses: list[Clause], name: str) -> tuple[Any, ...]:
        return tuple(c.value for c in clauses if c.name == name)

    def _unit_cap(self, clauses: list[Clause], owner: str) -> s.Expr | None:
        """One cap expression from the `at most` clauses: conditional caps become an `if` chain
        whose last `else` is the unconditional cap, or no cap (a `None` literal) when there is none."""
        caps = [c for c in clauses if c.name == "at most"]
        if not caps:
            return None
        if len(caps) == 1 and caps[0].value[1] is None:
            cap: s.Expr = caps[0].value[0]
            return cap
        plain = [c for c in caps if c.value[1] is None]
        for extra in plain[1:] + ([plain[0]] if plain and plain[0] is not caps[-1] else []):
            self.diagnostics.append(
                Diagnostic(
                    "parse/repeated-clause",
                    f"{owner} has an `at most` without `when` that is not its last cap",
                    span=extra.span,
                    help="give every cap but the last a `when` condition; the first cap whose condition holds applies",
                )
            )
        last = caps[-1]
        result: s.Expr = last.value[0] if last.value[1] is None else s.Literal(None, COUNT, "no cap", last.span)
        for clause in reversed(caps if last.value[1] is not None else caps[:-1]):
            cap_expr, when, _assumed = clause.value
            if when is not None:
                result = s.Conditional(when, cap_expr, result, clause.span)
        return result

    @staticmethod
    def _unit_assumptions(clauses: list[Clause]) -> tuple[Assumption, ...]:
        """The `with assumption` of the units and `at most` clauses, in clause order."""
        found: list[Assumption] = []
        for clause in clauses:
            if clause.name == "units":
                found += clause.value.assumptions
            elif clause.name in ("at most", "units ="):
                found += clause.value[-1]
        return tuple(found)

    # ------------------------------------------------------------ declarations
    def define_decl(self, meta: Meta, name: Token, title: Token, *rest: Any) -> s.Define:
        *clauses, expr = rest
        return s.Define(**self._header(meta, str(name), title, list(clauses), f"define `{name}`"), expr=expr)

    def define_template_decl(
        self, meta: Meta, name: Token, params: tuple[Param, ...], title: Token, *rest: Any
    ) -> DefineTemplate:
        *clauses, expr = rest
        head = self._header(meta, str(name), title, list(clauses), f"define `{name}`")
        return DefineTemplate(**head, params=params, expr=expr)

    def rule_template_decl(
        self, meta: Meta, name: Token, params: tuple[Param, ...], title: Token, *clauses: Clause
    ) -> RuleTemplate:
        head = self._header(meta, str(name), title, list(clauses), f"rule `{name}`")
        return RuleTemplate(**head, params=params, requirements=self._all(list(clauses), "requires"))

    def template_params(self, meta: Meta, *params: Param) -> tuple[Param, ...]:
        return params

    def template_param(self, meta: Meta, name: Token, kind: Token) -> Param:
        return Param(str(name), str(kind), self._span(meta))

    def selection_decl(self, meta: Meta, name: Token, title: Token, *rest: Any) -> s.Selection:
        *clauses, list_path, where = rest
        head = self._header(meta, str(name), title, list(clauses), f"selection `{name}`")
        return s.Selection(**head, list=s.Name(tuple(list_path.split(".")), self._span(meta)), where=where)

    def rule_decl(self, meta: Meta, ident: str, title: Token, *clauses: Clause) -> s.Rule:
        head = self._header(meta, ident, title, list(clauses), f"rule `{ident}`")
        return s.Rule(**head, requirements=self._all(list(clauses), "requires"))

    def code_decl(self, meta: Meta, code: Token, title: Token, *clauses: Clause) -> s.Code:
        owner = f"code `{code}`"
        head = self._header(meta, str(code), title, list(clauses), owner)
        program = self._once(list(clauses), "program", owner)
        count = self._once(list(clauses), "units =", owner)
        cap = self._unit_cap(list(clauses), owner)
        return s.Code(
            **head,
            program=program.value if program else None,
            requirements=self._all(list(clauses), "requires"),
            unit_count=count.value[0] if count else None,
            unit_cap=cap,
            unit_assumptions=self._unit_assumptions(list(clauses)),
        )

    def addon_decl(
        self, meta: Meta, code: Token, bases: tuple[CodeRef, ...], title: Token, *clauses: Clause
    ) -> s.Code:
        owner = f"add-on `{code}`"
        items = list(clauses)
        head = self._header(meta, str(code), title, items, owner)
        program = self._once(items, "program", owner)
        units = self._once(items, "units", owner)
        cap = self._unit_cap(items, owner)
        if cap is None and units is not None and units.value.once is not None:
            cap = s.Literal(1, COUNT, "1", units.span)  # billed once: never a second unit
        count = self._once(items, "units =", owner)
        return s.Code(
            **head,
            program=program.value if program else None,
            requirements=self._all(items, "requires"),
            bases=bases,
            units=units.value if units else None,
            unit_cap=cap,
            unit_count=count.value[0] if count else None,
            unit_assumptions=self._unit_assumptions(items),
        )

    def precondition_decl(self, meta: Meta, ident: str, title: Token, *clauses: Clause) -> s.Precondition:
        owner = f"precondition `{ident}`"
        items = list(clauses)
        program = self._once(items, "program", owner)
        return s.Precondition(
            **self._header(meta, ident, title, items, owner),
            program=program.value if program else None,
            requirements=self._all(items, "requires"),
        )

    def exclusive_decl(self, meta: Meta, ident: str, title: Token, *clauses: Clause) -> s.Exclusive:
        head = self._header(meta, ident, title, list(clauses), f"exclusive `{ident}`")
        return s.Exclusive(**head, groups=self._all(list(clauses), "one of"))

    def exclusion_decl(self, meta: Meta, ident: str, title: Token, *clauses: Clause) -> s.Exclusion:
        head = self._header(meta, ident, title, list(clauses), f"exclusion `{ident}`")
        return s.Exclusion(**head, clauses=self._all(list(clauses), "excludes"))

    def bundling_decl(self, meta: Meta, ident: str, title: Token, *clauses: Clause) -> s.Bundling:
        head = self._header(meta, ident, title, list(clauses), f"bundling `{ident}`")
        return s.Bundling(**head, clauses=self._all(list(clauses), "bundles"))

    def exception_decl(self, meta: Meta, ident: str, target: str, title: Token, *clauses: Clause) -> s.Exception_:
        owner = f"exception `{ident}`"
        items = list(clauses)
        when = self._once(items, "when", owner)
        target_span = self._span(meta)
        return s.Exception_(
            **self._header(meta, ident, title, items, owner),
            target=target,
            target_span=target_span,
            when=when.value if when else None,
        )

    def note_decl(self, meta: Meta, ident: str, title: Token, *clauses: Clause) -> s.Note:
        owner = f"note `{ident}`"
        items = list(clauses)
        billing = self._once(items, "billing", owner)
        when = self._once(items, "when", owner)
        return s.Note(
            **self._header(meta, ident, title, items, owner),
            codes=billing.value if billing else (),
            when=when.value if when else None,
        )

    def parameter_decl(self, meta: Meta, name: Token, title: Token, *clauses: Clause) -> s.Parameter:
        owner = f"parameter `{name}`"
        items = list(clauses)
        head = self._header(meta, str(name), title, items, owner)
        unknown = self._once(items, "otherwise unknown", owner)
        return s.Parameter(
            **head,
            values=self._all(items, "value"),
            unknown_because=unknown.value if unknown else None,
            unknown_span=unknown.span if unknown else None,
        )

    def switch_decl(self, meta: Meta, name: Token, title: Token, *clauses: Clause) -> s.Switch:
        owner = f"switch `{name}`"
        items = list(clauses)
        options = self._once(items, "options", owner)
        default = self._once(items, "default", owner)
        return s.Switch(
            **self._header(meta, str(name), title, items, owner),
            options=options.value if options else (),
            default=default.value if default else None,
            default_span=default.span if default else None,
        )

    def cost_sharing_decl(self, meta: Meta, ident: str, title: Token, *clauses: Clause) -> s.CostSharing:
        owner = f"cost sharing `{ident}`"
        items = list(clauses)
        deductible = self._once(items, "deductible", owner)
        coinsurance = self._once(items, "coinsurance", owner)
        sequestration = self._once(items, "sequestration", owner)
        return s.CostSharing(
            **self._header(meta, ident, title, items, owner),
            deductible=deductible.value[0] if deductible else None,
            coinsurance=coinsurance.value[0] if coinsurance else None,
            pays=self._all(items, "pays"),
            indeterminate=self._all(items, "indeterminate"),
            deductible_during=deductible.value[1] if deductible else None,
            coinsurance_during=coinsurance.value[1] if coinsurance else None,
            sequestration=sequestration.value if sequestration else None,
        )

    def choose_decl(self, meta: Meta, ident: str, title: Token, *clauses: Clause) -> s.Choose:
        owner = f"choose coding `{ident}`"
        items = list(clauses)
        preference = self._once(items, "preference", owner)
        then_preference = self._once(items, "then preference", owner)
        preference_of = self._once(items, "then preference of", owner)
        when = self._once(items, "when", owner)
        return s.Choose(
            **self._header(meta, ident, title, items, owner),
            preference=preference.value if preference else (),
            then_highest_total=any(c.name == "highest total" for c in items),
            within=self._all(items, "within"),
            highest_first=any(c.name == "highest first" for c in items),
            then_preference=then_preference.value if then_preference else (),
            preference_of=preference_of.value if preference_of else None,
            when=when.value if when else None,
        )

    def pricing_decl(self, meta: Meta, ident: str, title: Token, *clauses: Clause) -> s.Pricing:
        owner = f"pricing `{ident}`"
        items = list(clauses)
        conversion = self._once(items, "conversion", owner)
        return s.Pricing(
            **self._header(meta, ident, title, items, owner),
            conversion_factor=conversion.value[0] if conversion else None,
            conversion_span=conversion.value[1] if conversion else None,
            not_priced=self._all(items, "not priced"),
        )

    def rvu_table_decl(self, meta: Meta, ident: str, title: Token, *clauses: Clause) -> s.RvuTable:
        owner = f"rvu table `{ident}`"
        items = list(clauses)
        head = self._header(meta, ident, title, items, owner)
        setting = self._once(items, "setting", owner)
        return s.RvuTable(
            **head,
            rows=self._all(items, "rvu"),
            setting=setting.value if setting else "non_facility",
            setting_span=setting.span if setting else None,
        )
