"""The reference registry: which sources a policy folder may cite, read from `sources.registry`.

A policy folder that holds a file named `sources.registry` restricts its `source` declarations to
the tags listed there, with the titles listed there (the `check_registry` stage enforces it). The
shipped registry copies cms-rules.md §11. A folder without the file is not restricted.

The file is plain text, one source a line, `TAG<TAB>TITLE`; blank lines and lines starting with
`#` are ignored. A line that does not follow that form is reported as `policy/registry`, naming
the file and line, and the folder is not checked further until it is fixed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic
from ..source import Span

REGISTRY_FILE = "sources.registry"
_TAG = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    tag: str
    title: str
    span: Span  # the entry's line in the registry file


@dataclass(frozen=True, slots=True)
class Registry:
    """The sources a policy folder may cite, by tag."""

    name: str  # the registry file, as shown to users
    entries: dict[str, RegistryEntry] = field(default_factory=dict)


def normalise_title(title: str) -> str:
    """A title as compared with the registry: spacing, quote style and markdown emphasis ignored.

    `*Care Management*`, `"Care  Management"` and `'Care Management'` all compare equal, and so do
    `` `file.csv` `` and `file.csv`. Only a `_` that opens or closes a word is emphasis (`a_b` stays).
    """
    text = re.sub(r"[\"“”‘’]", "'", title).replace("`", "").replace("*", "")
    text = re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", "", text)
    return " ".join(text.split())


def parse_registry(name: str, text: str) -> tuple[Registry, list[Diagnostic]]:
    """The registry in `text` (file `name`), and a diagnostic for every line that is malformed."""
    registry = Registry(name)
    problems: list[Diagnostic] = []
    # Lines end at `\n` (or `\r\n`), as SourceFile and the parser count them: `str.splitlines` also
    # ends one at U+2028, U+0085 or a form feed, and a title holding one shifted every line below.
    for number, line in enumerate((line.removesuffix("\r") for line in text.split("\n")), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        span = Span(name, number, 1, number, len(line) + 1)
        tag, tab, title = line.partition("\t")
        if not tab or not title.strip():
            problems.append(_malformed(span, "this line is not a source tag, a tab, then a title", _LINE_HELP))
        elif not _TAG.fullmatch(tag):
            advice = "a tag is letters, digits and `_`, for example `S46`"
            problems.append(_malformed(span, f"`{tag}` is not a source tag", advice))
        elif tag in registry.entries:
            first = (("first listed", registry.entries[tag].span),)
            message = f"source `{tag}` is listed twice in the registry"
            problems.append(_malformed(span, message, "keep one line per source tag", first))
        else:
            registry.entries[tag] = RegistryEntry(tag, title.strip(), span)
    return registry, problems


_LINE_HELP = (
    "write the tag, one tab (not spaces), then the title exactly as in the reference "
    "(cms-rules.md §11 for the shipped registry); start comment lines with `#`"
)


def _malformed(span: Span, message: str, help: str, related: tuple[tuple[str, Span], ...] = ()) -> Diagnostic:
    return Diagnostic("policy/registry", message, span=span, related=related, help=help)
