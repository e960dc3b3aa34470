"""`carepolicy test --coverage`: what the cases reach, per policy file, and --fail-under."""

from __future__ import annotations

import re

from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from click.testing import CliRunner


def test_coverage_lists_per_file_and_a_total() -> None:
    result = CliRunner().invoke(cli, ["test", "--coverage"], catch_exceptions=False)
    assert result.exit_code == ExitCode.OK
    files = re.findall(r"^(policies/\S+\.policy)  ([0-9.]+)% \((\d+)/(\d+)\)$", result.stdout, re.M)
    assert {"policies/ccm.policy", "policies/fees.policy", "policies/switches.policy"} <= {f[0] for f in files}
    total = re.search(r"^coverage: ([0-9.]+)% \((\d+)/(\d+) ", result.stdout, re.M)
    assert total is not None
    assert int(total[2]) == sum(int(f[2]) for f in files)
    assert int(total[3]) == sum(int(f[3]) for f in files)
    # the one case file about 2026 prices reaches the 2026 conversion factor, the cases as a whole all of them
    assert "parameter value conversion_factor " not in result.stdout
    # a requirement the cases never saw both ways is listed with its line
    assert re.search(r"^    requirement of \S+ never (met|unmet|evaluated) \(line \d+\)$", result.stdout, re.M)


def test_fail_under_fails_above_the_figure_and_passes_below() -> None:
    out = CliRunner().invoke(cli, ["test", "--coverage"], catch_exceptions=False).stdout
    figure = float(re.search(r"^coverage: ([0-9.]+)%", out, re.M)[1])  # type: ignore[index]
    high = CliRunner().invoke(cli, ["test", "--coverage", "--fail-under", str(min(100, figure + 1))])
    assert high.exit_code == ExitCode.POLICY_ERRORS
    assert "is below --fail-under" in high.stdout
    low = CliRunner().invoke(cli, ["test", "--coverage", "--fail-under", str(max(0, figure - 1))])
    assert low.exit_code == ExitCode.OK


def test_fail_under_without_coverage_is_a_usage_error_not_a_gate_that_never_runs() -> None:
    result = CliRunner().invoke(cli, ["test", "--fail-under", "100"], catch_exceptions=False)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stdout == ""
    assert result.stderr == (
        "carepolicy: error[usage/option]: --fail-under applies to --coverage\n"
        "  help: add --coverage, or leave --fail-under out\n"
    )


def test_fewer_cases_reach_less() -> None:
    all_cases = CliRunner().invoke(cli, ["test", "--coverage"]).stdout
    some = CliRunner().invoke(cli, ["test", "--coverage", "-k", "rpm.yaml"]).stdout
    figure = lambda text: float(re.search(r"^coverage: ([0-9.]+)%", text, re.M)[1])  # type: ignore[index]  # noqa: E731
    assert figure(some) < figure(all_cases)
