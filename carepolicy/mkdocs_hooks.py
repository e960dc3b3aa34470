"""The mkdocs hook (mkdocs.yml `hooks:`) that generates the reference pages while the site is built.

Nothing generated is committed: the fact-bundle fields (`reference_schemas`), the command options
(`reference_cli`) and the policy catalogue (`reference_catalogue`) are added to the site's files
in memory, and each catalogue page to the nav under "Policy catalogue", so a changed schema,
option or rule shows up in the next build. mkdocs imports this file by path, hence the absolute
imports; it is a docs-build tool, not part of the engine (the runtime never imports it).
"""

from __future__ import annotations

from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

from carepolicy.reference_catalogue import FOLDER, catalogue_index, catalogue_pages
from carepolicy.reference_cli import cli_page
from carepolicy.reference_schemas import schema_page

SCHEMA_PAGE = "reference/fact-bundle-fields.md"
CLI_PAGE = "reference/cli-options.md"
CATALOGUE_INDEX = f"{FOLDER}/index.md"


def _catalogue_section(nav: list[Any]) -> list[Any] | None:
    """The nav list that holds the catalogue's index page, wherever mkdocs.yml puts it."""
    for item in nav:
        values = item.values() if isinstance(item, dict) else ()
        for value in values:
            if isinstance(value, list):
                if CATALOGUE_INDEX in value:
                    return value
                found = _catalogue_section(value)
                if found is not None:
                    return found
    return None


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    section = _catalogue_section(config.nav or [])
    if section is None:
        raise ValueError(f"mkdocs.yml: the nav needs a section holding `{CATALOGUE_INDEX}` for the policy catalogue")
    section.extend({page.policy_id: page.path} for page in catalogue_pages())
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    pages = catalogue_pages()
    generated = {SCHEMA_PAGE: schema_page(), CLI_PAGE: cli_page(), CATALOGUE_INDEX: catalogue_index(pages)}
    generated.update((page.path, page.markdown) for page in pages)
    for path, markdown in generated.items():
        files.append(File.generated(config, path, content=markdown))
    return files
