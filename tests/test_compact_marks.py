"""The compact trace's fast paths give exactly what the plain code they replaced gave: the marks
of a column (bytes translated in one call) and `json_value` (common leaves first)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from carepolicy.engine.compile.runtime import UNKNOWN
from carepolicy.engine.decision.model import json_value
from carepolicy.engine.evaluation.compact import DIGITS, NOT_EVALUATED, _marks
from hypothesis import given, settings
from hypothesis import strategies as st


def plain_marks(indexes: list[int], distinct: int) -> str | list[int]:
    """The column as it was written before: one character per index, -1 is `.`."""
    if distinct > len(DIGITS):
        return indexes
    return "".join((DIGITS + NOT_EVALUATED)[i] for i in indexes)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=300).flatmap(
        lambda distinct: st.tuples(st.just(distinct), st.lists(st.integers(-1, distinct - 1), max_size=120))
    )
)
def test_marks_are_the_plain_marks(case: tuple[int, list[int]]) -> None:
    distinct, indexes = case
    assert _marks([i + 1 for i in indexes], distinct) == plain_marks(indexes, distinct)


def plain_json_value(value: Any) -> Any:
    """`json_value` as it was before the common leaves were tested first."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, frozenset | set):
        return sorted(plain_json_value(v) for v in value)
    if isinstance(value, tuple | list):
        return [plain_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain_json_value(v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | str):
        return value
    return repr(value)


class Label(str):
    """A str subclass: still a leaf, through the isinstance path."""


LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=6)
    | st.builds(Label, st.text(max_size=6))
    | st.decimals(allow_nan=False, allow_infinity=False, places=2)
    | st.just(UNKNOWN)
)
VALUES = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=4).map(tuple)
        | st.frozensets(st.text(max_size=4), max_size=4)
        | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=15,
)


@settings(max_examples=200, deadline=None)
@given(VALUES)
def test_json_value_is_the_plain_json_value(value: Any) -> None:
    got, expected = json_value(value), plain_json_value(value)
    assert got == expected
    assert type(got) is type(expected)
