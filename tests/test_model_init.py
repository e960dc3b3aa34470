"""The `__init__`s `frozen_init.dict_init` writes for the frozen dataclasses made for every record
(the decision model's, CostResult, Price, Bundle: one dict update, not a frozen dataclass's
`object.__setattr__` per field) take the fields in order, with their defaults, and set every one
of them (and the fields outside __init__ to their defaults), as the dataclass's generated __init__
would."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest
from carepolicy.engine.decision.model import Decision, Denial, Line, Reason, Shares, Totals
from carepolicy.engine.evaluation.cost_sharing_trace import CostResult
from carepolicy.engine.evaluation.pricing import Price
from carepolicy.engine.facts.bundle import Bundle
from carepolicy.engine.frozen_init import dict_init

OWN_INITS = [Decision, Denial, Reason, Shares, Line, Totals, CostResult, Price, Bundle]


@pytest.mark.parametrize("cls", OWN_INITS)
def test_the_init_takes_the_fields_in_order_with_their_defaults(cls: type[Any]) -> None:
    fields = [f for f in dataclasses.fields(cls) if f.init]
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [p.name for p in parameters] == [f.name for f in fields]
    for parameter, field in zip(parameters, fields, strict=True):
        expected = inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default
        assert parameter.default == expected, field.name
        assert parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD


def test_every_field_is_set_and_the_value_stays_frozen() -> None:
    reason = Reason("r", "t", ("c",), "p:1", "why")
    denial = Denial("99490", (reason,), with_code="99491")
    assert denial == Denial("99490", (reason,), None, "99491")
    assert hash(denial) == hash(Denial("99490", (reason,), None, "99491"))
    assert denial.written is None
    assert denial.unit is None
    assert repr(denial) == "Denial(code='99490', reasons=(" + repr(reason) + ",), unit=None, with_code='99491')"
    totals = Totals(None, None, None, None, None, None)
    values = {f.name: object() for f in dataclasses.fields(Decision)}
    values["totals"] = totals
    decision = Decision(**values)
    assert {f.name: getattr(decision, f.name) for f in dataclasses.fields(Decision)} == values
    with pytest.raises(dataclasses.FrozenInstanceError):
        decision.month = "2025-01"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        denial.code = "99491"  # type: ignore[misc]
    assert dataclasses.replace(decision, month="2025-02").month == "2025-02"
    assert dataclasses.replace(denial, unit=2) == Denial("99490", (reason,), 2, "99491")


@pytest.mark.parametrize("cls", OWN_INITS)
def test_every_field_is_set_by_the_init(cls: type[Any]) -> None:
    fields = dataclasses.fields(cls)
    values = {f.name: object() for f in fields if f.init}
    made = cls(**values)
    for f in fields:
        assert getattr(made, f.name) is (values[f.name] if f.init else f.default), f.name
    assert set(vars(made)) == {f.name for f in fields}  # nothing else
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(made, fields[0].name, None)


def test_dict_init_refuses_what_it_cannot_write() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Slotted:
        a: int

    with pytest.raises(TypeError, match="without slots"):
        dict_init(Slotted)

    @dataclasses.dataclass(frozen=True)
    class Factory:
        a: list[int] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="default_factory"):
        dict_init(Factory)

    @dataclasses.dataclass(frozen=True)
    class Unset:
        a: int = dataclasses.field(init=False)

    with pytest.raises(TypeError, match="needs a default"):
        dict_init(Unset)
