"""`carepolicy switches`: every switch of a policy set, its options, default and citations."""

from __future__ import annotations

import json

import click

from ..common import finish, load_policy_set
from ..exit_codes import ExitCode


@click.command("switches")
@click.option(
    "--policies", "policies_dir", type=click.Path(), default=None, help="Policy folder (default: the shipped policies)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one block per switch; json: a list of {name, title, options, default, cites, assumptions, at}.",
)
def switches(policies_dir: str | None, fmt: str) -> None:
    """List every switch: the uncertain readings the policies make explicit.

    For each switch: its name and title, its options (the default marked with `*`), and every
    citation with the title of the source it cites (or the assumption it makes, where the
    reference gives no source), so the reading behind each option can be looked up. Change a
    switch for one run with `carepolicy evaluate --switch NAME=OPTION`, or in a test case with
    `switches: {NAME: OPTION}`.

    \b
    Examples:
      carepolicy switches
      carepolicy switches --format json
      carepolicy evaluate march.yaml --switch complex_ccm_care_plan=substantial_revision

    \b
    Exit status:
      0  printed
      2  the policy folder does not exist or has errors (`carepolicy check` shows them)
    """
    policies = load_policy_set(policies_dir)
    index = policies.checked.index
    records: list[dict[str, object]] = []
    for name, switch in sorted(index.switches.items()):
        records.append(
            {
                "name": name,
                "title": switch.title,
                "options": list(switch.options),
                "default": switch.default,
                "cites": [
                    {
                        "source": cite.source,
                        "source_title": index.sources[cite.source].title if cite.source in index.sources else None,
                        "where": cite.locator,
                    }
                    for cite in switch.cites
                ],
                "assumptions": [assumption.reason for assumption in switch.assumptions],
                "at": str(switch.span),
            }
        )
    if fmt == "json":
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
        finish(ExitCode.OK)
    for name, switch in sorted(index.switches.items()):
        options = ", ".join(f"{o}*" if o == switch.default else o for o in switch.options)
        click.echo(f"{name}  ({switch.span})")
        click.echo(f"  {switch.title}")
        click.echo(f"  options: {options}   (* default)")
        for cite in switch.cites:
            source = index.sources.get(cite.source)
            click.echo(f"  cite {cite.source} ({source.title if source else 'undeclared'}): {cite.locator}")
        for assumption in switch.assumptions:
            click.echo(f"  assumption, not a CMS rule: {assumption.reason}")
        click.echo("")
    click.echo(f"{len(records)} switches; change one with --switch NAME=OPTION")
    finish(ExitCode.OK)
