"""The policy catalogue: one generated page per shipped policy file, built by the docs' mkdocs hook.

Each page lists the file's declarations (rules, codes, defines, parameters, ...) with their title,
effective interval, citations (with the cited source's title), assumptions and their own source
lines, read through the public API (`check_policies`), so the catalogue is the policies as checked.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from .engine.api import check_policies
from .engine.diagnostics import render_text
from .engine.language import syntax as s
from .engine.language.clauses import Interval
from .engine.source import SourceFile
from .reference_markdown import cell, fence

FOLDER = "reference/policies"


@dataclass(frozen=True, slots=True)
class CataloguePage:
    policy_id: str
    title: str
    path: str  # the page's path under docs/, e.g. reference/policies/ccm.md
    markdown: str


def _interval(interval: Interval | None) -> str:
    if interval is None:
        return "always"
    return f"{interval.start or '…'} to {interval.end or 'open end'}"


def _declaration(decl: s.Declaration, sources: Mapping[str, s.Source], text: SourceFile) -> list[str]:
    lines = [f"### {decl.kind} `{decl.id}`", "", cell(decl.title), "",
             f"- effective: {_interval(decl.effective)}",
             f"- defined at: `{decl.span.source}:{decl.span.line}`"]
    for cite in decl.cites:
        source = sources.get(cite.source)
        named = f" ({cell(source.title)})" if source else ""
        lines.append(f"- cites **{cite.source}**{named}: {cell(cite.locator)}")
    lines += [f"- assumption: {cell(a.reason)}" for a in decl.assumptions]
    if isinstance(decl, s.Code):  # a units or `at most` clause's own (quoted on its line and unit denials only)
        lines += [f"- assumption of its units (line {a.span.line}): {cell(a.reason)}" for a in decl.unit_assumptions]
    body = text.text.split("\n")[decl.span.line - 1:decl.span.end_line]
    return [*lines, "", *fence("\n".join(body), "carepolicy"), ""]


@functools.cache  # the hook asks twice per build (nav, then files); the policies do not change meanwhile
def catalogue_pages() -> tuple[CataloguePage, ...]:
    """A page per policy file of the shipped set, in file order; raises if the set does not check."""
    result, texts, diagnostics = check_policies()
    errors = [d for d in diagnostics if d.is_error]
    if result is None or errors:
        raise RuntimeError("the shipped policies do not check:\n" + render_text(errors, texts))
    index = result.index
    pages: list[CataloguePage] = []
    for policy in index.files:
        if not policy.declarations:
            continue  # sources.policy: the list of sources, not rules
        lines = [f"# {policy.id}", "", cell(policy.title), "", f"File: `{policy.source}`.", ""]
        for decl in policy.declarations:
            lines += _declaration(decl, index.sources, texts[policy.source])
        pages.append(CataloguePage(policy.id, policy.title, f"{FOLDER}/{policy.id}.md", "\n".join(lines)))
    return tuple(pages)


def catalogue_index(pages: tuple[CataloguePage, ...]) -> str:
    lines = ["# Policy catalogue", "",
             "Every declaration of the shipped policy set, one page per policy file, generated from the "
             "policies when the site is built. The rule language is described in "
             "[The rule language](../../language.md).",
             "", "| policy | declarations | title |", "|---|---|---|"]
    for page in pages:
        count = page.markdown.count("\n### ")
        lines.append(f"| [{page.policy_id}]({page.policy_id}.md) | {count} | {cell(page.title)} |")
    return "\n".join([*lines, ""])
