"""Check stage `resolve_names`: what every name means.

A bare or dotted name is, in this order: an entry of the list being aggregated (`time.minutes`
inside `sum time.minutes where ...`), a definition, a parameter, a switch, `service_month`, a
fact path of the fact-bundle schema, a rule id (only directly after `requires`), or an
enumeration value whose type comes from the other side of `=` / `in`. Anything else is an
unknown name, reported with the closest known one.

`NameResolver` holds the resolver's state and this half of its work; `resolve.Resolver` extends
it with the typing of expressions (`infer`), which a definition's type needs. They are one object
because naming and typing recurse into each other: a name's type is its definition's, and a bare
word's meaning (an enumeration value) comes from the type on the other side of a comparison.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from ..diagnostics import Diagnostic, did_you_mean
from ..language import syntax as s
from ..language.valuetypes import (
    ANY,
    BOOL,
    MONTH,
    RECORD,
    EnumType,
    ListType,
    RecordType,
    Type,
    ValueType,
)
from .index import PolicyIndex
from .resolution import Ref, Resolution

BUILTINS: dict[str, Type] = {"service_month": MONTH}

# A bare word whose enumeration type is not known yet: settled by the other side of `=` / `in`.
PENDING_ENUM = ValueType("enumeration value")


# Claim lists a bundle may still give, which are read into the one list `claims` (the fact
# schema's `x-carepolicy-read-as`): rules read `claims`, so the hint says how to say the same.
READ_INTO_CLAIMS = {
    "other_claims_this_month": "claims are one list: read `claims where claims.month = service_month`"
    " (a bundle's `other_claims_this_month` is read into it)",
    "prior_claims": "claims are one list: read `claims where claims.month < service_month`"
    " (a bundle's `prior_claims` is read into it)",
}


class NameResolver:
    """Resolves names, holding the state of one policy set's resolution (see `resolve.Resolver`)."""

    def __init__(self, index: PolicyIndex, fact_types: Mapping[str, Type]) -> None:
        self.index = index
        self.facts = fact_types
        self.result = Resolution()
        self._define_types: dict[str, Type] = {}
        self._in_progress: set[str] = set()
        self._names: dict[int, s.Name] = {}
        self._depth = 0  # nesting of `infer`, through definitions too; bounded (see `infer`)

    # ------------------------------------------------------------ diagnostics
    def _error(self, code: str, message: str, node: s.Expr | s.Name, help: str | None = None) -> Type:
        self.result.diagnostics.append(Diagnostic(code, message, span=node.span, help=help))
        return ANY

    def _known_names(self) -> Iterator[str]:
        yield from self.index.defines
        yield from self.index.parameters
        yield from self.index.switches
        yield from BUILTINS
        yield from self.facts

    # ------------------------------------------------------------ names
    def _resolve_name(self, node: s.Name, scope: tuple[tuple[str, RecordType], ...], allow_rule: bool) -> Type:
        dotted = node.dotted
        for list_name, record in reversed(scope):
            if node.parts[0] == list_name:
                return self._item_field(node, list_name, record)
        if allow_rule and dotted in self.index.rules:
            return self._bind(node, Ref("rule", dotted), BOOL)
        if dotted in self.index.defines:
            return self._bind(node, Ref("define", dotted), self.define_type(dotted))
        if dotted in self.index.parameters:
            return self._bind(node, Ref("parameter", dotted), self.parameter_type(dotted))
        if dotted in self.index.switches:
            switch = self.index.switches[dotted]
            return self._bind(node, Ref("switch", dotted), EnumType(dotted, switch.options))
        if dotted in BUILTINS:
            return self._bind(node, Ref("builtin", dotted), BUILTINS[dotted])
        fact_type = self.facts.get(dotted)
        if fact_type is not None:
            if isinstance(fact_type, ListType):
                return self._error(
                    "check/type",
                    f"`{dotted}` is a list; use `count {dotted}`, `sum {dotted}.FIELD` or `any {dotted}`",
                    node,
                )
            return self._bind(node, Ref("fact", dotted, node.parts), fact_type)
        if any(key.startswith(dotted + ".") for key in self.facts):
            return self._bind(node, Ref("fact", dotted, node.parts), RECORD)
        if len(node.parts) == 1:
            self._names[id(node)] = node
            self.result.refs[id(node)] = Ref("enum", dotted)
            self.result.types[id(node)] = PENDING_ENUM
            return PENDING_ENUM
        return self._unknown(node)

    def _unknown(self, node: s.Name) -> Type:
        dotted = node.dotted
        root = node.parts[0]
        is_fact = root in {k.split(".")[0] for k in self.facts}
        code = "check/unknown-fact" if is_fact else "check/unknown-name"
        what = "fact" if is_fact else "name"
        hint = READ_INTO_CLAIMS.get(root) or did_you_mean(dotted, [*self._known_names(), *self.index.rules])
        if hint is None:
            hint = "fact paths are listed by `carepolicy schema`" if is_fact else "declare it with `define` or `rule`"
        return self._error(code, f"unknown {what} `{dotted}`", node, hint)

    def _item_field(self, node: s.Name, list_name: str, record: RecordType) -> Type:
        rest = node.parts[1:]
        if len(rest) != 1 or record.field(rest[0]) is None:
            names = [f"{list_name}.{f}" for f, _ in record.fields]
            return self._error(
                "check/unknown-fact",
                f"`{node.dotted}` is not a field of a `{list_name}` entry",
                node,
                did_you_mean(node.dotted, names),
            )
        field_type = record.field(rest[0])
        assert field_type is not None
        return self._bind(node, Ref("item", list_name, rest), field_type)

    def _bind(self, node: s.Expr, ref: Ref, vtype: Type) -> Type:
        self.result.refs[id(node)] = ref
        self.result.types[id(node)] = vtype
        if ref.kind in ("define", "parameter", "switch", "rule"):
            self.result.uses.add(ref.target)
        return vtype

    def define_type(self, name: str) -> Type:
        if name in self._define_types:
            return self._define_types[name]
        if name in self._in_progress:
            return ANY  # a cycle; check_cycles names it
        self._in_progress.add(name)
        vtype = self.infer(self.index.defines[name].expr)
        self._in_progress.discard(name)
        self._define_types[name] = vtype
        return vtype

    def parameter_type(self, name: str) -> Type:
        """The type most of its literal values have (the first, on a tie): one value written without
        its unit is then the one reported (check_parameter), not every other."""
        types = [v.value.type for v in self.index.parameters[name].values if isinstance(v.value, s.Literal)]
        return max(types, key=lambda t: (types.count(t), -types.index(t))) if types else ANY

    def infer(self, expr: s.Expr, scope: tuple[tuple[str, RecordType], ...] = (), allow_rule: bool = False) -> Type:
        """The type of `expr`: given by `resolve.Resolver`, the only class that is instantiated."""
        raise NotImplementedError

    # ------------------------------------------------------------ enumeration values
    def _settle_enum(self, expr: s.Expr, context: Type) -> Type:
        """Give a bare word its enumeration type from the other side, or report it."""
        if not isinstance(expr, s.Name):
            return self.result.types.get(id(expr), ANY)
        if isinstance(context, EnumType) and expr.dotted in context.values:
            self.result.types[id(expr)] = context
            return context
        self.result.types[id(expr)] = ANY  # settled here, one way or another: never reported twice
        if isinstance(context, EnumType):
            hint = did_you_mean(expr.dotted, context.values) or f"the values are: {', '.join(context.values)}"
            return self._error("check/type", f"`{expr.dotted}` is not a value of `{context.name}`", expr, hint)
        if context is ANY:
            return ANY
        return self._unknown(expr)

    def report_unsettled(self) -> None:
        """A bare word never given an enumeration type by its context is simply an unknown name."""
        for node_id, ref in list(self.result.refs.items()):
            if ref.kind == "enum" and self.result.types.get(node_id) is PENDING_ENUM:
                node = self._names.get(node_id)
                if node is not None:
                    self.result.types[node_id] = ANY
                    self._unknown(node)

    def _record_as_enum(self, expr: s.Expr, vtype: Type, context: Type) -> Type:
        """`cocm` is both a group of facts and a service: beside a service, it is the service."""
        if (
            vtype is RECORD
            and isinstance(expr, s.Name)
            and len(expr.parts) == 1
            and isinstance(context, EnumType)
            and expr.dotted in context.values
        ):
            self.result.refs[id(expr)] = Ref("enum", expr.dotted)
            self.result.types[id(expr)] = context
            return context
        return vtype
