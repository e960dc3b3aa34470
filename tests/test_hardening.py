"""Policy texts that used to crash the parser, checker, compiler or evaluation: each is now a
diagnostic with file:line:col, found by `check` (docs/language.md, "Limits")."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.main import cli
from carepolicy.engine.diagnostics import Diagnostic, PolicyError
from carepolicy.engine.language.limits import MAX_DEPTH, MAX_NESTING
from click.testing import CliRunner

from tests.fuzz.harness import check_texts, run

HEADER = 'policy t "t"\n  source S1 "a source"\n'
CODE = 'code 99490 "C" cite S1 "x"\n  requires r\n'


def diagnostics(text: str) -> list[Diagnostic]:
    with pytest.raises(PolicyError) as caught:
        run({"t.policy": text})
    return list(caught.value.diagnostics)


def only(text: str, code: str) -> Diagnostic:
    found = [d for d in diagnostics(text) if d.code == code]
    assert len(found) == 1, diagnostics(text)
    return found[0]


def where(diag: Diagnostic) -> str:
    assert diag.span is not None
    return str(diag.span)


@pytest.mark.parametrize(
    ("line", "bad"),
    [
        ("  effective 2025-02-30..", "2025-02-30"),
        ("  effective ..2025-13-01", "2025-13-01"),
        ("  requires consent.date >= 2024-04-31", "2024-04-31"),
        ("  requires service_month >= 2025-13", "2025-13"),
    ],
)
def test_a_date_that_does_not_exist(line: str, bad: str) -> None:
    text = HEADER + f'rule r "R" cite S1 "x"\n{line}\n  requires consent.documented\n' + CODE
    diag = only(text, "parse/invalid-date")
    assert where(diag) == f"t.policy:4:{line.index(bad) + 1}"
    assert bad in diag.message


def test_check_command_reports_an_impossible_date_with_its_place(tmp_path: Path) -> None:
    (tmp_path / "t.policy").write_text(
        HEADER + 'rule r "R" cite S1 "x"\n  effective 2025-02-30..\n  requires consent.documented\n' + CODE
    )
    result = CliRunner().invoke(cli, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path / 't.policy'}:4:13: error[parse/invalid-date]: `2025-02-30` is not a date" in result.output
    assert "cannot read" not in result.output


def test_an_id_shared_by_a_rule_and_a_later_define() -> None:
    text = HEADER + 'rule x "R" cite S1 "x"\n  requires consent.documented\ndefine x "X" cite S1 "x" = 1\n'
    diag = only(text, "check/duplicate-id")
    assert where(diag) == "t.policy:5:1"


@pytest.mark.parametrize(
    "literal", ["9" * 5000, "9" * 16, "1." + "0" * 11, "$" + "9" * 4400, "9" * 16 + "%", "9" * 5000 + " min"]
)
def test_a_number_literal_too_long(literal: str) -> None:
    text = HEADER + f'define x "X" cite S1 "x" = {literal}\n'
    diag = only(text, "parse/number-too-long")
    assert where(diag) == "t.policy:3:28"


def test_a_calendar_span_past_a_hundred_years() -> None:
    text = HEADER + 'rule r "R" cite S1 "x"\n  requires consent.date >= start of service_month - 101 years\n' + CODE
    assert "at most 100 years" in only(text, "parse/number-too-long").message


def nested(depth: int, wrap: Callable[[str], str], inner: str) -> str:
    expr = inner
    for _ in range(depth):
        expr = wrap(expr)
    return HEADER + f'rule r "R" cite S1 "x"\n  requires {expr}\n' + CODE


SHAPES: dict[str, tuple[Callable[[str], str], str]] = {
    "not": (lambda e: f"not {e}", "consent.documented"),
    "plus": (lambda e: f"1 + {e}", "1 > 0"),
    "and": (lambda e: f"{e} and consent.documented", "consent.documented"),
    "parenthesised minus": (lambda e: f"(1 - {e})", "1 > 0"),
    "if": (lambda e: f"if consent.documented then {e} else false", "true"),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_an_expression_nested_hundreds_deep_is_refused(shape: str) -> None:
    wrap, inner = SHAPES[shape]
    for depth in (MAX_NESTING + 5, 3000):
        diag = only(nested(depth, wrap, inner), "parse/too-deep")
        assert where(diag).startswith("t.policy:4:")


def _stacked(frames: int, action: Callable[[], Any]) -> Any:
    """`action()` called `frames` calls down: the limits leave room for the caller's own stack."""
    return action() if frames == 0 else _stacked(frames - 1, action)


def _deepest_accepted(make: Callable[[int], str], start: int) -> int:
    depth = start
    while True:
        codes: set[str] = set()
        try:
            check_texts({"t.policy": make(depth)})
        except PolicyError as error:
            codes = {d.code for d in error.diagnostics}
        if not codes:
            return depth
        assert codes <= {"parse/too-deep", "check/too-deep"}, codes
        depth -= 1


CHAINS: dict[str, Callable[[int], str]] = {
    "definitions": lambda n: (
        HEADER
        + 'define d0 "D" cite S1 "x" = 1\n'
        + "".join(f'define d{i} "D" cite S1 "x" = d{i - 1} + 1\n' for i in range(1, n))
        + f'rule r "R" cite S1 "x"\n  requires d{n - 1} > 1\n'
        + CODE
    ),
    "rules": lambda n: (
        HEADER
        + 'rule r0 "R" cite S1 "x"\n  requires consent.documented\n'
        + "".join(f'rule r{i} "R" cite S1 "x"\n  requires r{i - 1}\n' for i in range(1, n))
        + f'rule r "R" cite S1 "x"\n  requires r{n - 1}\n'
        + CODE
    ),
    "nesting": lambda n: nested(n, SHAPES["not"][0], "consent.documented"),
    "nesting and definitions": lambda n: (
        HEADER
        + f'define d0 "D" cite S1 "x" = {"1 + " * 90}1\n'
        + "".join(f'define d{i} "D" cite S1 "x" = d{i - 1} + 1\n' for i in range(1, n))
        + f'rule r "R" cite S1 "x"\n  requires d{n - 1} > 1\n'
        + CODE
    ),
}


@pytest.mark.parametrize("chain", CHAINS)
def test_both_backends_evaluate_the_deepest_policy_check_accepts(chain: str) -> None:
    """The limits are the checker's, so the closures interpreter (the reference) and the generated
    code have the same ones: whatever `check` accepts, both evaluate, with stack to spare."""
    make = CHAINS[chain]
    depth = _deepest_accepted(make, 200)
    assert depth > 10
    text = make(depth)
    limit = sys.getrecursionlimit()
    for backend in ("codegen", "closures"):
        assert _stacked(limit // 2, lambda b=backend: run({"t.policy": text}, backends=(b,))) == 3  # type: ignore[misc]
    with pytest.raises(PolicyError):
        check_texts({"t.policy": make(depth + 1)})


def test_a_chain_of_definitions_past_the_limit_is_reported_once_where_it_crosses() -> None:
    text = CHAINS["definitions"](1000)
    diag = only(text, "check/too-deep")
    assert f"the limit is {MAX_DEPTH}" in diag.message
    assert "define `d" in diag.message


def test_a_thousand_preconditions_on_one_program() -> None:
    gates = "".join(
        f'precondition p{i} "P" cite S1 "x"\n  program ccm\n  requires consent.documented\n' for i in range(1000)
    )
    text = HEADER + gates + 'code 99490 "C" cite S1 "x"\n  program ccm\n  requires consent.documented\n'
    assert run({"t.policy": text}) == 6  # both backends, three bundles each


HUGE = "999999999999999.9999999999"


def test_the_largest_rvus_percentages_and_money_evaluate() -> None:
    text = (
        HEADER
        + f"""
rule r "R" cite S1 "x"
  requires consent.documented
code 99490 "C" cite S1 "x"
  requires r
parameter cf "CF" cite S1 "x"
  value ${HUGE} effective ..2100-12-31
parameter ded "Deductible" cite S1 "x"
  value ${HUGE} effective ..2100-12-31
pricing pfs "PFS" cite S1 "x"
  effective ..2100-12-31
  allowed = total rvu times cf
rvu table rvus "RVUs" cite S1 "x"
  99490 work {HUGE} pe {HUGE} mp {HUGE}
cost sharing part_b "Part B" cite S1 "x"
  effective ..2100-12-31
  deductible up to min(beneficiary.deductible_remaining, ded)
  coinsurance {HUGE}%
  medigap pays coinsurance {HUGE}% when beneficiary.medigap_plan = K
"""
    )
    assert run({"t.policy": text}) == 6


@pytest.mark.parametrize("effective", ["2025-01-01..", "..2025-12-31"])
def test_a_parameter_valued_from_a_day_on_read_by_a_rule_in_effect_always(effective: str) -> None:
    """The gap then starts on the first day a date can hold (or ends on the last), and the checker
    looked for the value the day before it (after it): an OverflowError (found by the fuzz run with
    1,200 mutated policy sets, seed 2020)."""
    text = (HEADER + f'parameter p "P"\n  value 5 effective {effective} from S1 "x"\n'
            'rule r "R" cite S1 "x"\n  requires 3 < p\n' + CODE)
    found = only(text, "check/missing-value")
    assert "`p`" in found.message
