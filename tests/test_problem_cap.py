"""A bundle with more problems than an error record lists: looking for them stops at the first past
the cap (limits.LOOKED_FOR), and the record says that more were found without counting them.

Looking for all 80,000 problems of a 1 MB line took 2.4 s for a record that lists 100; these tests
check that the looking stops (by counting what was asked of each check), not how long it takes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from carepolicy.engine.diagnostics import Diagnostic
from carepolicy.engine.facts import bundle as bundle_module
from carepolicy.engine.facts import schema_messages
from carepolicy.engine.facts.limits import LOOKED_FOR, MAX_DIAGNOSTICS
from carepolicy.engine.facts.reader import BundleError

from tests.intake_data import read

NOT_COUNTED = (
    "more problems in this bundle are not listed: an error record lists at most 100 for one bundle, "
    "and reading it stops at problem 101, so the others are not counted"
)
DATE = "$.time[{}].date"  # a date that does not exist (2025-02-30): looked for after the schema's errors


def _diagnostics(facts: dict[str, Any]) -> tuple[Diagnostic, ...]:
    [record] = read(json.dumps(facts) + "\n", "jsonl")
    assert isinstance(record, BundleError)
    return record.diagnostics


class _Counted:
    """Stands for a check's iterator: says how many of its items were asked for."""

    def __init__(self, items: Iterator[Any]) -> None:
        self.items, self.taken = items, 0

    def __iter__(self) -> Iterator[Any]:
        for item in self.items:
            self.taken += 1
            yield item


def test_the_schema_errors_are_not_all_made(monkeypatch: pytest.MonkeyPatch) -> None:
    """1,200 entries with an unknown key: jsonschema is asked for 101 errors, not 1,200."""
    made: list[_Counted] = []
    real = schema_messages._validator

    class Validator:
        def __init__(self, version: int) -> None:
            self.version = version

        def iter_errors(self, instance: object) -> Iterator[Any]:
            made.append(_Counted(iter(real(self.version).iter_errors(instance))))
            return iter(made[-1])

    monkeypatch.setattr(schema_messages, "_validator", Validator)
    diagnostics = _diagnostics({"id": "many", "month": "2025-03", "time": [{"zz": 1}] * 1_200})
    assert [errors.taken for errors in made] == [LOOKED_FOR]
    assert [d.fact_path for d in diagnostics] == [f"$.time[{i}].zz" for i in range(MAX_DIAGNOSTICS)] + ["$"]
    assert (diagnostics[-1].code, diagnostics[-1].message) == ("facts/limit", NOT_COUNTED)


def test_the_impossible_values_are_not_all_looked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """1,200 practitioners each with more minutes than March has: 101 are looked at."""
    made: list[_Counted] = []
    real = bundle_module.impossible_values

    def counted(*args: Any) -> Iterator[Any]:
        made.append(_Counted(real(*args)))
        return iter(made[-1])

    monkeypatch.setattr(bundle_module, "impossible_values", counted)
    entry = {"by": "clinical_staff", "minutes": 44_701, "service": "ccm"}
    time = [{"practitioner": f"p{i}", **entry} for i in range(1_200)]
    diagnostics = _diagnostics({"id": "long", "month": "2025-03", "time": time})
    assert [errors.taken for errors in made] == [LOOKED_FOR]
    assert [d.fact_path for d in diagnostics] == [f"$.time[{i}].minutes" for i in range(MAX_DIAGNOSTICS)] + ["$"]
    assert diagnostics[-1].message == NOT_COUNTED


@pytest.mark.parametrize(
    ("entry", "code", "path"),
    [
        ({"zz": "\ud800"}, "facts/limit", "$.time[{}].zz"),  # over a limit: the checked copy's problems
        ({"by": "clinical_staff", "minutes": 1, "service": "ccm", "date": "2025-02-30"}, "facts/schema", DATE),
        ("x", "facts/schema", "$.time[{}]"),
    ],
)
def test_every_kind_of_problem_stops_at_the_cap(entry: object, code: str, path: str) -> None:
    diagnostics = _diagnostics({"id": "many", "month": "2025-03", "time": [entry] * 300})
    assert [d.fact_path for d in diagnostics] == [path.format(i) for i in range(MAX_DIAGNOSTICS)] + ["$"]
    assert {d.code for d in diagnostics[:-1]} == {code}
    assert diagnostics[-1].message == NOT_COUNTED
    # one problem fewer than the cap is listed whole, with nothing said of others
    few = _diagnostics({"id": "few", "month": "2025-03", "time": [entry] * MAX_DIAGNOSTICS})
    assert len(few) == MAX_DIAGNOSTICS
    assert few[-1].fact_path == path.format(MAX_DIAGNOSTICS - 1)


def test_the_facts_are_looked_at_in_the_order_of_their_names() -> None:
    """`cocm` and `rpm` come after `time` in the schema: looked at in the schema's order, the 101
    problems of `time` were found first and theirs were left out, though their paths come first."""
    facts = {"id": "m", "month": "2025-03", "time": [{"zz": 1}] * 500, "rpm": {"device_days": "x"}, "cocm": 5}
    paths = [d.fact_path for d in _diagnostics(facts)]
    assert paths[:3] == ["$.cocm", "$.rpm.device_days", "$.time[0].zz"]
    assert paths[-2:] == [f"$.time[{MAX_DIAGNOSTICS - 3}].zz", "$"]
