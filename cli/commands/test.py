"""`carepolicy test`: run a policy set's own test cases (DIR/tests/*.yaml) and report each one."""

from __future__ import annotations

from pathlib import Path

import click

from ..common import fail, finish, load_policy_set, plural
from ..exit_codes import ExitCode
from ..reporting import report


def _shipped_cases() -> Path:
    from importlib.resources import files

    return Path(str(files("carepolicy.policies"))) / "tests"


_SHOWN_TWICE = 2  # a failure repeated case after case is shown this often, then counted


@click.command("test")
@click.argument("directory", required=False, metavar="[DIR]")
@click.option("--cases", "cases_dir", metavar="CASES_DIR", help="Folder of case files to run instead of DIR/tests.")
@click.option(
    "-k",
    "keywords",
    multiple=True,
    metavar="TEXT",
    help="Run only the cases whose `file::name` contains TEXT (any case); repeat for several.",
)
@click.option("-v", "--verbose", is_flag=True, help="Also list the cases that pass (by default only failures).")
@click.option(
    "--coverage",
    is_flag=True,
    help="After the cases, list per policy file the rules, codes, parameter values and switch options no case "
    "reached, and the requirements never seen both met and unmet.",
)
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 100),
    metavar="N",
    help="With --coverage: exit 1 when the total coverage is below N percent.",
)
def test(
    directory: str | None,
    cases_dir: str | None,
    keywords: tuple[str, ...],
    verbose: bool,
    coverage: bool,
    fail_under: float | None,
) -> None:
    """Run the test cases of a policy set and report every failure.

    Loads the policy set in DIR (the shipped policies when DIR is left out) and runs every case of
    every YAML file (.yaml or .yml) under DIR/tests (or CASES_DIR). A case file holds `cases:`, each with a `name`,
    the `facts` of one bundle, optional `switches`, an optional `fee_schedule` (`allowed` and/or
    `rvu` by code, priced like --fee-schedule) and an `expect` block shaped like the acceptance
    scenarios (billable, alternatives, denied, patient_responsibility, allowed; and
    medicare_after_sequestration, the billed lines' Medicare payment after sequestration; notes, a part
    of each of the decision's notes in order, [] for none). A case
    may name a `base:` bundle (declared under `bases:` in a case file) and give in `facts` only what differs:
    mappings are merged, lists replaced, "<absent>" removes a key. A failed case (✘) is printed with
    every difference and, when the billable codes differ, each code's denial reasons and the rules
    behind them; passes (✔) are listed with -v.

    \b
    Examples:
      carepolicy test
      carepolicy test my-policies/
      carepolicy test my-policies/ --cases my-policies/regressions/
      carepolicy test -k 99439 -k "ccm.yaml::staff 45"
      carepolicy test -v
      carepolicy test --coverage --fail-under 80

    \b
    Exit status:
      0  every selected case passes
      1  a case fails, or the coverage is below --fail-under
      2  the policies have errors, a case file cannot be read, or -k selects nothing
    """
    from carepolicy.engine import FactError
    from carepolicy.engine.policy_cases import CaseResult, read_cases, run_cases

    if fail_under is not None and not coverage:  # a CI gate that would silently not run
        fail("usage/option", "--fail-under applies to --coverage", help="add --coverage, or leave --fail-under out")
    if cases_dir is not None:
        folder = Path(cases_dir)
    else:
        folder = _shipped_cases() if directory is None else Path(directory) / "tests"
    if not folder.is_dir():
        fail(
            "test/not-found",
            f"no folder of test cases at `{folder}`",
            help="put case files in DIR/tests/*.yaml, or name their folder with --cases",
            file=str(folder),
        )
    policies = load_policy_set(directory)
    try:
        cases = read_cases(folder)
    except FactError as error:
        report(error.diagnostics)
        finish(ExitCode.BAD_INPUT)
    except (OSError, ValueError, AttributeError, KeyError, TypeError) as error:
        fail(
            "test/cases",
            f"cannot read the test cases in `{folder}`: {error}",
            help="a case file holds `cases:`, a list of {name, facts, switches, expect}",
            file=str(folder),
        )
    if not cases:
        fail(
            "test/no-cases",
            f"no test cases under `{folder}`",
            help="a case file holds `cases:` (see --help)",
            file=str(folder),
        )
    if keywords:
        cases = [c for c in cases if any(k.lower() in f"{c.file}::{c.name}".lower() for k in keywords)]
        if not cases:
            fail("test/no-cases", f"no test case matches {' or '.join(repr(k) for k in keywords)}", file=str(folder))
    failed = 0
    # One mistake in a base bundle (`month: 05/2025`) failed all 64 cases built on it, each with
    # the same lines: the same failure is shown twice, then counted (-v shows every case).
    same: dict[tuple[str, ...], int] = {}
    for case in cases:
        try:
            (result,) = run_cases(policies, [case])
        except Exception as error:  # one broken case must not hide the others
            result = CaseResult(case, (f"internal error: {type(error).__name__}: {error}",))
        failed += not result.passed
        if result.passed and not verbose:
            continue
        same[result.failures] = same.get(result.failures, 0) + (not result.passed)
        if not verbose and same[result.failures] > _SHOWN_TWICE:
            continue
        click.echo(f"{'✔' if result.passed else '✘'} {case.file}::{case.name}")
        for failure in result.failures:
            click.echo(f"    {failure}")
    for failures, count in same.items():
        if count > _SHOWN_TWICE and not verbose:
            more = plural(count - _SHOWN_TWICE, "more case")
            click.echo(f"✘ {more} failed the same way ({failures[0]}); -v lists them")
    click.echo(f"{plural(len(cases) - failed, 'case')} passed, {failed} failed")
    below = False
    if coverage:
        from carepolicy.engine.coverage import collect, per_file, percent, render

        by_file = per_file(policies, collect(policies, cases))
        click.echo(render(by_file), nl=False)
        total = percent(sum(i.covered for i in by_file), sum(i.total for i in by_file))
        below = fail_under is not None and total < fail_under
        if below:
            click.echo(f"coverage {total}% is below --fail-under {fail_under:g}%")
    finish(ExitCode.POLICY_ERRORS if failed or below else ExitCode.OK)
