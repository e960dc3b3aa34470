"""The command-line options reference, generated from the click commands by the docs' mkdocs hook.

Walks `carepolicy.cli.main.cli`: for each command, its usage, its help text as `--help` prints it,
and a table of its parameters (names, type, default, help), so the page cannot drift from the code.
"""

from __future__ import annotations

import click

from .cli.main import cli
from .reference_markdown import cell, fence


def _param_row(param: click.Parameter, ctx: click.Context) -> str:
    if isinstance(param, click.Option):
        names = ", ".join(f"`{n}`" for n in [*param.opts, *param.secondary_opts])
        help_text = param.help or ""
        value = param.get_default(ctx, call=False)
        shown = value is not None and value is not False and value != () and not callable(value)
        default = f"`{value}`" if shown and "Sentinel" not in type(value).__name__ else ""
    else:
        names, help_text, default = f"`{(param.human_readable_name or '').upper()}`", "argument", ""
        if param.nargs != 1:
            help_text += " (any number)" if param.nargs == -1 else f" ({param.nargs} values)"
    if param.required:
        help_text += " (required)"
    kind = param.type.get_metavar(param, ctx) or param.type.name
    return f"| {names} | {cell(kind)} | {cell(default)} | {cell(help_text)} |"


def _command(name: str, command: click.Command, parent: click.Context) -> list[str]:
    ctx = click.Context(command, info_name=name, parent=parent)
    lines = [f"## {name}", "", *fence(command.get_help(ctx)), ""]
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    if params:
        lines += ["| parameter | type | default | help |", "|---|---|---|---|"]
        lines += [_param_row(p, ctx) for p in params]
    return [*lines, ""]


def cli_page() -> str:
    root = click.Context(cli, info_name="carepolicy")
    lines = ["# Command options", "",
             "Generated from the click commands (`cli/main.py`, `cli/commands/`) when the site is built: every "
             "command's `--help` and its parameters. [Command line](cli.md) explains the commands with examples.", "",
             *fence(cli.get_help(root)), ""]
    assert isinstance(cli, click.Group)
    for name in sorted(cli.list_commands(root)):
        command = cli.get_command(root, name)
        if command is not None and not command.hidden:
            lines += _command(name, command, root)
    return "\n".join(lines)
