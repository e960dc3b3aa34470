"""What a decision shows of its citations: each source's title and address, and cite texts without
authoring notes.

A policy's `cite TAG "where"` is written for analysts; a decision is read by billers. So:

- every tag a decision cites is listed with the title its `source` declaration gives (the title the
  reference registry holds), and with the web address found in that title, when it has one;
- the "where" of a cite loses what is meant for the policy's authors: confidence marks such as
  `(M)`, and remarks in parentheses that talk about the reference file or the policy files
  (`(cms-rules.md does not state ...; see common.policy)`). Those stay in the policy text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["SourceInfo", "cited_tags", "public_cite", "public_text", "source_info", "source_table"]

# A confidence mark the reference's authors put on a claim: (H)igh, (M)edium, (L)ow.
_CONFIDENCE = re.compile(r"\s*\((?:H|M|L)\)(?=$|[\s;,.:])")
# A remark in parentheses about the reference file or a policy file: an authoring note.
_AUTHORING = re.compile(r"\s*\([^()]*(?:cms-rules\.md|\b[\w-]+\.policy\b|the reference does not)[^()]*\)", re.I)
# A web address as the registry writes it: host (with a known top-level domain) and optional path.
_ADDRESS = re.compile(
    r"(?<![\w@/.-])((?:[a-z0-9-]+\.)+(?:com|org|gov|net|edu|us|io|ai|guru|news|ch|info)(?:/[^\s,;'\"()<>]*)?)",
    re.I,
)


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """A cited source as a decision shows it."""

    tag: str
    title: str
    address: str | None  # as the registry writes it (no scheme), e.g. `ngsmedicare.com/web/...`

    def to_json_obj(self) -> dict[str, str | None]:
        return {"title": self.title, "address": self.address}


def source_info(tag: str, title: str) -> SourceInfo:
    """The source `tag` with its title; the address is the first web address the title names."""
    match = _ADDRESS.search(title)
    address = match.group(1).rstrip(".…") if match else None
    return SourceInfo(tag, title, address or None)


def source_table(titles: Mapping[str, str]) -> dict[str, SourceInfo]:
    return {tag: source_info(tag, title) for tag, title in titles.items()}


def public_text(text: str) -> str:
    """A policy's words as decisions show them: confidence marks and authoring remarks left out."""
    return _CONFIDENCE.sub("", _AUTHORING.sub("", text)).strip()


def public_cite(tag: str, where: str) -> str:
    """`TAG: where` as decisions show it (see public_text)."""
    cleaned = public_text(where)
    return f"{tag}: {cleaned}" if cleaned else tag


# How compile/compiled.py writes an `assumption` among a declaration's cites (ASSUMPTION_LABEL there):
# not a source, so it has no title and is not listed among the sources.
ASSUMPTION_PREFIX = "assumption, not a CMS rule"


def is_assumption(cite: str) -> bool:
    return cite.startswith(ASSUMPTION_PREFIX)


def cite_tag(cite: str) -> str:
    """The tag of a cite as decisions hold it (`S7: §2.2 ...` -> `S7`)."""
    return cite.partition(":")[0]


def cited_tags(cites: Iterable[str]) -> list[str]:
    """The distinct tags of some cites, in order of first appearance."""
    return list(dict.fromkeys(cite_tag(c) for c in cites))
