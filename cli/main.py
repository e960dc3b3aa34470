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
from .output import GuardedGroup, cannot_write, closed_stdout, forgiving_stderr, is_write_error

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
      1  `check` found errors in the policies, a `test` case failed (or coverage is under
         --fail-under), or `fmt --check`/`--diff` found a file to reformat
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
    _open_closed_streams()
    try:
        cli.main(prog_name="carepolicy")
    except OSError as error:
        # `carepolicy --help`/`--version` are written while the arguments are parsed, before the
        # group's guard (GuardedGroup.invoke): `carepolicy --help > /dev/full` was a traceback, exit 1
        if not is_write_error(error):
            raise
        try:
            cannot_write("standard output", error)
        except click.exceptions.Exit as done:
            raise SystemExit(done.exit_code) from None


def _open_closed_streams() -> None:
    """A standard stream closed when the command starts (`cmd 2>&-`, a daemon's) is /dev/null.

    Else the first file the command opens takes its descriptor (`batch`'s output took 2, and what is
    written to standard error would go into it), and Python's `sys.stdout`/`sys.stderr` are None,
    which the commands write to and flush. A command's first write to a standard output closed so
    is refused (usage/output, exit 2): its results would be lost. (A closed standard input stays
    `sys.stdin` None: reading it is the input's facts/io error.) Standard error becomes a
    ForgivingStderr either way."""
    import os
    import sys

    stdout_closed = False
    for fd in (0, 1, 2):  # in order: `os.open` takes the lowest free descriptor, this one
        try:
            os.fstat(fd)
        except OSError:
            stdout_closed = stdout_closed or fd == 1
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    if stdout_closed:  # what is written there is refused, not dropped (output.py, _ClosedStdout)
        sys.stdout = closed_stdout()
    elif sys.stdout is None:
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 — the process's own, never closed
    if sys.stderr is not None:
        sys.stderr.flush()
    sys.stderr = forgiving_stderr()  # a failed write to it cannot end the command (output.py)
