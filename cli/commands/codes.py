"""`carepolicy codes`: the table of every code the policies know (docs/codes.md is its output)."""

from __future__ import annotations

import click

from ..common import finish, load_policy_set
from ..exit_codes import ExitCode


@click.command("codes")
@click.option(
    "--policies", "policies_dir", type=click.Path(), default=None, help="Policy folder (default: the shipped policies)."
)
def codes(policies_dir: str | None) -> None:
    """Print a markdown table of every billing code the policies declare.

    One row per code (and per dated version of it): title, effective interval, base code or
    add-on (and to what), the minute thresholds written on the code (one that applies only under
    a switch, with its whole condition), the unit cap, the CY2025 national amount the shipped
    data gives (or "not priced"), the sources it cites and its assumptions, each labelled
    "assumption, not a CMS rule".

    \b
    Examples:
      carepolicy codes > docs/codes.md
      carepolicy codes --policies my-policies/

    \b
    Exit status:
      0  printed
      2  the policy folder does not exist or has errors (`carepolicy check` shows them)
    """
    from carepolicy.engine.codes_table import code_table_markdown

    click.echo(code_table_markdown(load_policy_set(policies_dir), policies_dir), nl=False)
    finish(ExitCode.OK)
