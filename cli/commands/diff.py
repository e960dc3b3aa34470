"""`carepolicy diff OLD NEW BUNDLES...`: the decisions that change between two policy editions."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import click

from ..common import fail, finish, load_policy_set, read_inputs
from ..exit_codes import ExitCode
from ..reporting import report


def _materialise(spec: str, workdir: Path) -> str:
    """A folder as given, or `REV:PATH` of the git repository here, written out as plain files.

    The files are read with `git show` into a private temp folder and only ever parsed.
    """
    if Path(spec).exists() or ":" not in spec:
        return spec
    revision, _, path = spec.partition(":")
    path = path.strip("/") or "."
    listing = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", revision, "--", path], capture_output=True, text=True, check=False
    )
    names = [n for n in listing.stdout.splitlines() if n.endswith((".policy", "sources.registry"))]
    if listing.returncode != 0 or not names:
        hint = "give a folder, or REV:PATH such as HEAD~1:policies"
        fail("usage/revision", f"no policy files at `{spec}`", help=hint)
    target = workdir / revision.replace("/", "_")
    for name in names:
        shown = subprocess.run(["git", "show", f"{revision}:{name}"], capture_output=True, check=False)
        relative = Path(name).relative_to(path) if path != "." else Path(name)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_bytes(shown.stdout)
    return str(target)


@click.command("diff")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.argument("bundles", nargs=-1, required=True, metavar="BUNDLES...")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: a report grouped by cause; json: the same as one JSON document.")
def diff(old: str, new: str, bundles: tuple[str, ...], fmt: str) -> None:
    """Show every decision that changes between two editions of a policy set, and why.

    OLD and NEW are policy folders, or git revisions of one (`REV:PATH`, e.g. `HEAD~1:policies`,
    read with `git show` into a temp folder, never executed). Every bundle of the BUNDLES files is
    decided under both; each decision whose billable codes, denied codes, allowed total or
    beneficiary share differs is listed under the changed declaration (rule, code, parameter
    value, switch...) its trace used, with counts and totals before and after. The exit status is
    0 (also when decisions change), 2 for bad input.

    \b
    Examples:
      carepolicy diff policies/ next-year/ policies/examples/month-batch.yaml
      carepolicy diff HEAD~1:policies policies/ bundles.jsonl --format json
    """
    from carepolicy.engine import Bundle, evaluate
    from carepolicy.engine.policy_diff import changed_declarations, diff_decisions, render_text, to_json_obj

    with tempfile.TemporaryDirectory(prefix="carepolicy-diff-") as workdir:
        before = load_policy_set(_materialise(old, Path(workdir) / "old"))  # apart: both may name one revision
        after = load_policy_set(_materialise(new, Path(workdir) / "new"))
    items = read_inputs(list(bundles))
    bad = [item for item in items if not isinstance(item, Bundle)]
    for item in bad:
        report(getattr(item, "diagnostics", ()))
    if bad:
        finish(ExitCode.BAD_INPUT)
    groups, compared = diff_decisions(before, after, [i for i in items if isinstance(i, Bundle)], evaluate)
    changed = changed_declarations(before, after)
    if fmt == "json":
        click.echo(json.dumps(to_json_obj(groups, compared, changed), indent=2, sort_keys=True))
    else:
        click.echo(render_text(groups, compared, changed), nl=False)
    finish(ExitCode.OK)
