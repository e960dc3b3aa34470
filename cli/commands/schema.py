"""`carepolicy schema`: print the fact-bundle JSON Schema."""

from __future__ import annotations

import json

import click

from ..common import finish
from ..exit_codes import ExitCode


@click.command("schema")
def schema() -> None:
    """Print the fact-bundle JSON Schema (v1).

    The schema is the contract for fact files: every field a bundle may hold, its type and the
    carepolicy type that rules see (`x-carepolicy-type`). Policies may only read facts it
    declares. The output is sorted, indented JSON, so it can be diffed and given to editors or
    other validators.

    \b
    Examples:
      carepolicy schema > fact-bundle-v1.schema.json
      carepolicy schema | python -m json.tool --compact
    """
    from carepolicy.engine.facts.schema import fact_schema

    click.echo(json.dumps(fact_schema(), indent=2, sort_keys=True, ensure_ascii=False))
    finish(ExitCode.OK)
