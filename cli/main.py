"""The `carepolicy` command group and `main()`, which runs it (the console script is cli/entry.py)."""

from __future__ import annotations

import click

from .commands.batch import batch
from .commands.check import check
from .commands.codes import codes
from .commands.diff import diff
from .commands.evaluate import evaluate
from .commands.explain import explain
from .commands.fmt import fmt
from .commands.lsp import lsp
from .commands.report import report
from .commands.schema import schema
from .commands.serve import serve
from .commands.switches import switches
from .commands.test import test
from .output import GuardedGroup

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=GuardedGroup, context_settings=CONTEXT)
@click.version_option(package_name="carepolicy", prog_name="carepolicy")
def cli() -> None:
    """Rules-as-code for Medicare care-management billing.

    Policies are cited rules in plain text files (`carepolicy check` checks them); a fact bundle
    describes one patient-month (`carepolicy schema` prints its contract); `carepolicy evaluate`
    decides which codes can be billed, what is denied and why, and who pays what. Run
    `carepolicy COMMAND --help` for the details and examples of each command.

    \b
    Examples:
      carepolicy check
      carepolicy evaluate march.yaml
      carepolicy batch bundles.jsonl --output decisions.jsonl
      carepolicy report decisions.jsonl --format html -o report.html
      carepolicy explain decision.json bundles.jsonl

    \b
    Exit status:
      0  success (a decision that denies every code is a success)
      1  `check` found errors in the policies, or a `test` case failed
      2  bad input or usage: a missing or unreadable file, an invalid bundle, a bad option
      130  `batch` interrupted (SIGINT/SIGTERM): complete lines kept; `--resume` continues
    """


cli.add_command(check)
cli.add_command(evaluate)
cli.add_command(batch)
cli.add_command(explain)
cli.add_command(schema)
cli.add_command(test)
cli.add_command(codes)
cli.add_command(switches)
cli.add_command(diff)
cli.add_command(serve)
cli.add_command(report)
cli.add_command(lsp)
cli.add_command(fmt)


def main() -> None:
    """The console-script entry point."""
    cli.main(prog_name="carepolicy")
