"""`carepolicy schema`: print a fact-bundle JSON Schema (version 2 unless --version says otherwise)."""

from __future__ import annotations

import json

import click

from ..common import finish
from ..exit_codes import ExitCode

_VERSIONS = ("1", "2")  # engine/facts/schema.py VERSIONS; kept here so --help needs no engine import


@click.command("schema")
@click.option(
    "--version",
    "version",
    type=click.Choice(_VERSIONS),
    default=_VERSIONS[-1],
    show_default=True,
    help="Which contract version to print. Both are read; a version 1 bundle is upgraded to version 2.",
)
def schema(version: str) -> None:
    """Print the fact-bundle JSON Schema (version 2 by default, or --version 1).

    The schema is the contract for fact files: every field a bundle may hold, its type and the
    carepolicy type that rules see (`x-carepolicy-type`). Policies may only read facts the latest
    version declares. A bundle with `fact_bundle: 2` is read as version 2; any other bundle as
    version 1, which stays accepted unchanged and is upgraded on read (its one consent record
    becomes the same consent for each service it lists, its `ccm_start` each one's `start`).
    Version 2 states consent per program only (`consents.<program>`): a version 2 bundle that
    gives version 1's `consent` or `ccm_start` is refused. The output is sorted, indented JSON, so
    it can be diffed and given to editors or other validators. An unknown version is a usage error
    (exit status 2).

    \b
    Examples:
      carepolicy schema > fact-bundle-v2.schema.json
      carepolicy schema --version 1 > fact-bundle-v1.schema.json
      carepolicy schema | python -m json.tool --compact
    """
    from carepolicy.engine.facts.schema import fact_schema

    click.echo(json.dumps(fact_schema(int(version)), indent=2, sort_keys=True, ensure_ascii=False))
    finish(ExitCode.OK)
