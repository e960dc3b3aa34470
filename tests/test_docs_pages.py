"""Every page of the documentation site is one a reader can reach from another page.

mkdocs.yml's nav lists every page (the strict build fails on one it omits), but a reader who
lands on the home page follows its links: Packaging, the generated command options and the
policy catalogue were linked from no page at all, and the home page's "Where to go next" named
neither the analyst's "Adding a year" nor any of the pipeline guides (session 35).
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LINK = re.compile(r"\]\((?P<target>[^)#\s]+\.md)(?:#[^)]*)?\)")


def _nav_pages(node: Any) -> list[str]:
    """The pages of mkdocs.yml's nav, in order (generated ones included)."""
    if isinstance(node, str):
        return [node] if node.endswith(".md") else []
    if isinstance(node, list):
        return [page for item in node for page in _nav_pages(item)]
    if isinstance(node, dict):
        return [page for value in node.values() for page in _nav_pages(value)]
    return []


def _links_by_page() -> dict[str, set[str]]:
    """For each page, the hand-written pages that link to it (a page's links to itself left out)."""
    found: dict[str, set[str]] = {}
    for path in sorted(DOCS.rglob("*.md")):
        page = path.relative_to(DOCS).as_posix()
        for match in LINK.finditer(path.read_text(encoding="utf-8")):
            target = posixpath.normpath(posixpath.join(posixpath.dirname(page), match["target"]))
            if target != page:
                found.setdefault(target, set()).add(page)
    return found


def test_every_page_of_the_nav_is_linked_from_another_page() -> None:
    nav = _nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"])
    assert len(nav) > 20, nav
    linked = _links_by_page()
    unlinked = [page for page in nav if page != "index.md" and not linked.get(page)]
    assert not unlinked, (
        f"pages only the nav leads to (link them from the home page or a page on their topic): {unlinked}")


def test_the_home_page_leads_each_reader_to_their_guide() -> None:
    # the analyst adding a year, the billing team reading a decision, the pipeline engineer
    home = _links_by_page()
    for page in ("adding-a-year.md", "reference/output-forms.md", "guides/python-api.md", "guides/service.md",
                 "guides/spark.md", "reference/arrow-schema.md"):
        assert "index.md" in home.get(page, set()), f"docs/index.md does not link {page}"


def test_the_performance_page_answers_first() -> None:
    # docs/explanation/performance.md once opened with session 30's matrix and the runs of sessions
    # 31-33, and its targets' "latest figure" cells held twenty sessions each (one ~3,000
    # characters); the per-session figures belong in performance-history.md
    page = (DOCS / "explanation" / "performance.md").read_text(encoding="utf-8")
    sections = re.findall(r"^## (.+)$", page, flags=re.MULTILINE)
    assert sections[0] == "The targets of issue 9", sections[:3]
    body = page.split("## The targets of issue 9\n", 1)[1].split("\n## ", 1)[0]
    header, _rule, *rows = [line for line in body.splitlines() if line.startswith("|")]
    assert [cell.strip() for cell in header.strip("|").split("|")][:3] == [
        "target", "latest figure", "measured (date, commit, command)"], header
    assert len(rows) >= 5, rows
    for row in rows:
        target, latest, measured, _status = (cell.strip() for cell in row.strip().strip("|").split(" | "))
        assert len(latest) <= 200, f"{target}: the latest figure is {len(latest)} characters: {latest[:80]}..."
        assert re.search(r"\d{1,2} \w+ \d{4} \(session \d+\)|session \d+'s run", measured), (target, measured)
