"""`carepolicy diff OLD NEW BUNDLES...`: the decisions that change between two policy editions."""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..common import fail, finish, load_policy_set, plural, policy_sources, read_inputs
from ..exit_codes import ExitCode
from ..reporting import report

if TYPE_CHECKING:
    from carepolicy.engine import Diagnostic, PolicySet
    from carepolicy.engine.source import Span


_POLICY_FILES = (".policy", "sources.registry")
_REVISION_HELP = "give a folder, or REV:PATH such as HEAD~1:policies"


def _materialise(spec: str, workdir: Path) -> str:
    """A folder as given, or `REV:PATH` of the git repository here, written out as plain files.

    The files are read with `git show` into a private temp folder and only ever parsed.
    """
    if Path(spec).exists() or ":" not in spec:
        return spec
    revision, _, path = spec.partition(":")
    path = path.strip("/") or "."
    listing = _git(spec, "ls-tree", "-r", "--name-only", revision, "--", path)
    names = [n for n in listing.stdout.decode("utf-8", "replace").splitlines() if n.endswith(_POLICY_FILES)]
    if listing.returncode != 0 or not names:
        said = listing.stderr.decode("utf-8", "replace").strip().splitlines()
        why = f" (git: {said[-1].removeprefix('fatal: ')})" if listing.returncode != 0 and said else ""
        fail("usage/revision", f"no policy files at `{spec}`{why}", help=_REVISION_HELP)
    target = workdir / revision.replace("/", "_")
    for name in names:
        shown = _git(spec, "show", f"{revision}:{name}")
        relative = Path(name).relative_to(path) if path != "." else Path(name)
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_bytes(shown.stdout)
    return str(target)


def _git(spec: str, *arguments: str) -> subprocess.CompletedProcess[bytes]:
    """`git ARGUMENTS`, its output captured; git that cannot be run at all ends the command."""
    try:
        return subprocess.run(["git", *arguments], capture_output=True, check=False)
    except OSError as error:  # no git on PATH
        reason = (error.strerror or str(error)).lower()
        help = "install git, or check the revision out into a folder (`git worktree add`) and give the folder"
        fail("usage/revision", f"cannot read `{spec}`: git cannot be run: {reason}", help=help)


def _load(spec: str, workdir: Path) -> PolicySet:
    """The policy set of a folder, or of `REV:PATH`; the errors of a revision name its files as
    `REV:PATH/FILE`, not by the temp folder they were written to (gone when the command ends)."""
    from carepolicy.engine import PolicyError, load_policies

    folder = _materialise(spec, workdir)
    if folder == spec:
        return load_policy_set(spec)
    revision, _, path = spec.partition(":")
    shown = f"{revision}:{path.strip('/') or '.'}"
    try:
        policies = load_policies(folder)
    except PolicyError as error:
        sources = {
            _renamed(name, folder, shown): replace(text, name=_renamed(name, folder, shown))
            for name, text in policy_sources(folder).items()
        }
        report([_moved(d, folder, shown) for d in error.diagnostics], sources)
        click.echo(
            f"hint: the policy set at `{spec}` has errors; `carepolicy check` on a checkout of it shows them", err=True
        )
        finish(ExitCode.BAD_INPUT)
    if policies.warnings:
        click.echo(f"note: the policy set at `{spec}` has {plural(len(policies.warnings), 'warning')}", err=True)
    return policies


def _renamed(name: str, folder: str, shown: str) -> str:
    return shown + name[len(folder) :] if name.startswith(folder) else name


def _moved(diag: Diagnostic, folder: str, shown: str) -> Diagnostic:
    def span(at: Span) -> Span:
        return replace(at, source=_renamed(at.source, folder, shown))

    return replace(
        diag,
        span=span(diag.span) if diag.span else None,
        file=_renamed(diag.file, folder, shown) if diag.file else None,
        related=tuple((label, span(at)) for label, at in diag.related),
    )


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
    value, switch...) its trace used, with counts and totals before and after.

    \b
    Examples:
      carepolicy diff policies/ next-year/ policies/examples/month-batch.yaml
      carepolicy diff HEAD~1:policies policies/ bundles.jsonl --format json

    \b
    Exit status:
      0  the changes are listed (also when decisions change: a change is an answer)
      2  bad input: OLD or NEW does not load (errors, a revision git cannot read), or a
         bundle is not valid
    """
    from carepolicy.engine import Bundle, evaluate
    from carepolicy.engine.policy_diff import changed_declarations, diff_decisions, render_text, to_json_obj

    with tempfile.TemporaryDirectory(prefix="carepolicy-diff-") as workdir:
        before = _load(old, Path(workdir) / "old")  # apart: both may name one revision
        after = _load(new, Path(workdir) / "new")
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
