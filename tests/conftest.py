"""Shared pytest configuration: the acceptance summary line."""

from __future__ import annotations

from pathlib import Path

import pytest
from carepolicy.engine import PolicySet, load_policies


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "acceptance: a public acceptance scenario (shared/acceptance/scenarios.yaml)")


@pytest.fixture(scope="module")
def policies() -> PolicySet:
    """The shipped policy set, loaded once per test module (a module may define its own)."""
    return load_policies()


@pytest.fixture(scope="module")
def example_decision_line() -> str:
    """The shipped example bundle's decision as `evaluate --format jsonl --trace compact` writes it
    (without its line end): a real decision line for the tests of what reads decision lines."""
    from carepolicy.cli.exit_codes import ExitCode
    from carepolicy.cli.main import cli
    from click.testing import CliRunner

    example = Path(__file__).resolve().parents[1] / "policies" / "examples" / "ccm-60-minutes.yaml"
    result = CliRunner().invoke(
        cli, ["evaluate", str(example), "--format", "jsonl", "--trace", "compact"], catch_exceptions=False
    )
    assert result.exit_code == ExitCode.OK, result.stderr
    return result.stdout.rstrip("\n")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print how many acceptance scenarios pass, and which do not.

    A skipped scenario, or one whose setup errored, is no pass: it is counted and named as such
    (before, both were left out of the line's words, and an error in setup out of its total)."""
    counts: dict[str, list[str]] = {"passed": [], "failed": [], "error": [], "xfailed": [], "skipped": []}
    for outcome in counts:
        for report in terminalreporter.stats.get(outcome, []):
            if "test_scenario[" in getattr(report, "nodeid", ""):
                counts[outcome].append(report.nodeid.split("[", 1)[1].rstrip("]"))
    total = len({name for names in counts.values() for name in names})  # a test can fail and error
    if total:
        terminalreporter.write_line(
            f"acceptance scenarios: {len(counts['passed'])} of {total} pass, {len(counts['xfailed'])} xfail, "
            f"{len(counts['failed'])} fail, {len(counts['error'])} error, {len(counts['skipped'])} skipped"
        )
        for outcome, word in (("failed", "failing"), ("error", "error"), ("skipped", "skipped")):
            for name in counts[outcome]:
                terminalreporter.write_line(f"  {word}: {name}")
