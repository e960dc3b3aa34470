"""`carepolicy lsp`: the language server an editor starts for rule files (stdio)."""

from __future__ import annotations

import click

from ..common import fail


@click.command("lsp")
# vscode-languageclient (9.0.1, the version editors/vscode pins) appends `--stdio` to the server's
# arguments when the transport is stdio, as editors/vscode/extension.js asks: the shipped extension
# starts `carepolicy lsp --stdio`, which click refused ("No such option", exit 2), so the editor
# never got a server. Other clients (coc.nvim, vim-lsp configs) pass it too. stdio is the only
# transport, so the flag is accepted and changes nothing.
@click.option("--stdio", is_flag=True, hidden=True, help="Accepted for the editors that pass it (stdio only).")
def lsp(stdio: bool) -> None:
    """Run the language server for rule files over standard input and output.

    Editors start this command themselves (the VS Code extension in editors/vscode does); you do
    not run it by hand. While you type it shows the same errors and warnings as `carepolicy
    check` for the file's policy folder (the nearest folder up holding `sources.registry`, else the
    file's own folder), and offers hover (title, effective interval, citations with the source's
    title, a parameter's values by date), go to definition, completion (keywords, declared names,
    fact paths, switch options), the outline of a file and formatting (as `carepolicy fmt`).

    Needs the `lsp` extra: pip install 'carepolicy[lsp]'.

    \b
    Examples (an editor's server setting):
      command: carepolicy
      args: ["lsp"]

    `--stdio`, which some editors' clients add (VS Code's does), is accepted: stdio is the only
    transport.
    """
    try:
        from carepolicy.lsp.server import main
    except ImportError as error:  # pygls is an optional dependency
        fail("usage/missing-extra", f"the language server needs pygls ({error})",
             help="install it with: pip install 'carepolicy[lsp]'")
    del stdio  # the only transport; see the option
    main()
