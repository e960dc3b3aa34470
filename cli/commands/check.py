"""`carepolicy check`: parse and check a policy folder, and report every problem."""

from __future__ import annotations

import sys
import time

import click

from ..common import fail, finish, plural
from ..exit_codes import ExitCode
from ..reporting import report, use_color


@click.command("check")
@click.argument("directory", required=False, metavar="[DIR]")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: each diagnostic with its source line; json: a JSON array of diagnostics on stdout.",
)
@click.option("--profile", is_flag=True, help="Also print how long each checking stage took (on stderr).")
def check(directory: str | None, fmt: str, profile: bool) -> None:
    """Check a policy folder: syntax, names, types, dates, citations.

    Parses every .policy file under DIR (the shipped policies when DIR is left out) and runs every
    check on the whole set, then reports all errors and warnings at once, each pointing at a file,
    line and column with the line quoted. Text diagnostics go to stderr and the summary line
    ("N errors, M warnings in K files", or "in K policy files and the source registry" when the
    folder has one) to stdout; with --format json the diagnostics are a JSON
    array on stdout and the summary goes to stderr.

    Every `assumption` (a rule the reference does not state) is listed too, one info line each on
    stderr, and counted in the summary: they are not problems, but a reviewer should see them.

    \b
    Examples:
      carepolicy check
      carepolicy check my-policies/ --format json > diagnostics.json
      carepolicy check --profile

    \b
    Exit status:
      0  no error (warnings and assumptions are not errors)
      1  the policies have an error
      2  DIR does not exist, cannot be read, or holds no .policy file
    """
    from carepolicy.engine import PolicyError, check_policies, render_json, render_text

    started = time.perf_counter()
    try:
        result, sources, diagnostics = check_policies(directory)
    except PolicyError as error:
        report(error.diagnostics)
        finish(ExitCode.BAD_INPUT)
    except (OSError, ValueError) as error:
        reason = error.strerror.lower() if isinstance(error, OSError) and error.strerror else str(error)
        fail("policy/io", f"cannot read the policies at `{directory or 'policies'}`: {reason}")
    elapsed = time.perf_counter() - started
    errors = sum(1 for d in diagnostics if d.is_error)
    # `fmt` counts the .policy files it lays out; the registry beside them is checked too, so it is
    # named apart rather than counted as one more file ("in 15 files" against fmt's "14 unchanged").
    policy_files = sum(1 for name in sources if name.endswith(".policy"))
    checked = plural(policy_files, "file") if policy_files == len(sources) else (
        f"{plural(policy_files, 'policy file')} and the source registry")
    summary = f"{plural(errors, 'error')}, {plural(len(diagnostics) - errors, 'warning')} in {checked}"
    assumptions = result.assumptions if result is not None else ()
    if assumptions:
        summary += f"; {plural(len(assumptions), 'assumption')}, not CMS rules"
    if fmt == "json":
        click.echo(render_json(diagnostics), nl=False)
        click.echo(summary, err=True)
    else:
        if diagnostics:
            click.echo(render_text(diagnostics, sources, color=use_color(sys.stderr)), err=True, nl=False)
        click.echo(summary)
    for decl, assumption in assumptions:
        where = f"{assumption.span.source}:{assumption.span.line}:{assumption.span.column}"
        click.echo(f"{where}: info[check/assumption]: {decl.kind} `{decl.id}`: {assumption.reason}", err=True)
    if profile:
        click.echo("profile:", err=True)
        stages = result.timings if result is not None else ()
        if not stages:
            click.echo("  no checking stage ran (the files did not parse)", err=True)
        for name, seconds in stages:
            click.echo(f"  {name:<28} {seconds * 1000:9.1f} ms", err=True)
        click.echo(f"  {'total (read, parse, check)':<28} {elapsed * 1000:9.1f} ms", err=True)
    finish(ExitCode.POLICY_ERRORS if errors else ExitCode.OK)
