"""`carepolicy lsp`: the language server an editor starts for rule files (stdio)."""

from __future__ import annotations

import click

from ..common import fail


@click.command("lsp")
def lsp() -> None:
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
    """
    try:
        from carepolicy.lsp.server import main
    except ImportError as error:  # pygls is an optional dependency
        fail("usage/missing-extra", f"the language server needs pygls ({error})",
             help="install it with: pip install 'carepolicy[lsp]'")
    main()
