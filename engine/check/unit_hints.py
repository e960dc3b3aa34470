"""Help for a number written where money, a percentage or minutes are needed: the unit left out
of the clause (`coinsurance 50`) or of a parameter's values (`value 20 effective ...`). Used by
clauses.py.
"""

from __future__ import annotations

from decimal import Decimal

from ..language import syntax as s
from ..language.valuetypes import COUNT, MINUTES, MONEY, NUMBER, PERCENT, Type
from ..source import Span
from .resolve import Resolver

_UNIT_FORMS = {MONEY: "${}", PERCENT: "{}%", MINUTES: "{} min"}


def _written(form: str, number: str) -> str:
    """The number with the unit; a fraction meant as a percentage (`0.20`) as the percentage."""
    if form == _UNIT_FORMS[PERCENT] and number.startswith("0."):
        percent = format(Decimal(number) * 100, "f").rstrip("0").rstrip(".") if "." in number else number
        return form.format(percent)
    return form.format(number)


def unit_missing(
    resolver: Resolver, expr: s.Expr, wanted: tuple[Type, ...], vtype: Type
) -> tuple[str | None, tuple[tuple[str, Span], ...]]:
    """A number where money, a percentage or minutes are needed: the unit was left out, here
    (`coinsurance 50`) or on the parameter's values (`value 20 effective ...`, which the error
    pointed away from, at the clause that reads it, with no word on what to change)."""
    form = next((_UNIT_FORMS[w] for w in wanted if w in _UNIT_FORMS), None)
    if form is None or vtype not in (NUMBER, COUNT):
        return None, ()
    if isinstance(expr, s.Literal):
        return f"write it with its unit: `{_written(form, expr.text)}`", ()
    ref = resolver.result.refs.get(id(expr))
    parameter = resolver.index.parameters.get(ref.target) if ref is not None and ref.kind == "parameter" else None
    if parameter is None or not parameter.values:
        return None, ()
    first = parameter.values[0]
    shown = _written(form, first.value.text if isinstance(first.value, s.Literal) else "20")
    return (
        f"the values of parameter `{parameter.id}` are written without their unit: write them as `{shown}`",
        (("its value", first.span),),
    )


def value_unit_hint(usual: Type, literal: s.Literal) -> str | None:
    """A number among values with a unit: the same number with the unit the others have."""
    if literal.type is not NUMBER:
        return None
    units: dict[Type, str] = {MONEY: f"${literal.text}", MINUTES: f"{literal.text} min", PERCENT: f"{literal.text}%"}
    written = units.get(usual)
    return f"write it with its unit, like the other values: `{written}`" if written else None
