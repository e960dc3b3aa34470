"""A policy folder as the editor sees it: the files on disk with the open buffers laid over them.

The same parse and check as `carepolicy check` (engine.api.check_texts), so an editor shows the
same codes and messages. Navigation (hover, definition, outline) needs declarations even while a
file does not parse: each file's last text that parsed is kept and indexed.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..engine.api import check_texts, decode_policy_text
from ..engine.check.index import PolicyIndex, build_index
from ..engine.diagnostics import Diagnostic, PolicyError
from ..engine.language import syntax as s
from ..engine.language.parse import parse_text
from ..engine.language.registry import REGISTRY_FILE, Registry, parse_registry

POLICY_SUFFIX = ".policy"


def lines_of(text: str) -> list[str]:
    """A text's lines as the parser counts them, and the protocol (but for a lone `\\r`): each ended
    by `\\n` or `\\r\\n`.

    Not `str.splitlines`, which also ends a line at U+2028, U+0085, a form feed and others: one in
    a comment or title would shift every line below it."""
    return [line.removesuffix("\r") for line in text.split("\n")]


# Where the protocol ends a line: also at a lone `\r`, which the parser reads as a space.
EDITOR_LINE_END = re.compile(r"\r\n|\r|\n")


def offset_of(text: str, line: int, utf16: int) -> int:
    """The index in `text` of a protocol position (0-based line, column in UTF-16 code units),
    taken as an editor takes one: a line past the last is the end of the text, a column past the
    end of its line is that end (never a character of the next line)."""
    start = 0
    for _ in range(line):
        found = EDITOR_LINE_END.search(text, start)
        if found is None:
            return len(text)
        start = found.end()
    found = EDITOR_LINE_END.search(text, start)
    end = found.start() if found else len(text)
    units = 0
    for index in range(start, end):
        if units >= utf16:
            return index
        units += 2 if ord(text[index]) > 0xFFFF else 1
    return end


def utf16_units(line: str, column: int) -> int:
    """A code-point column of `line` in UTF-16 code units, as the protocol counts columns."""
    return column + sum(1 for char in line[:column] if ord(char) > 0xFFFF)


def policy_folder(path: Path) -> Path:
    """The folder a policy file is checked with: the nearest one up holding `sources.registry`,
    else the file's own folder (a policy set is one folder, as for `carepolicy check DIR`)."""
    for folder in (path.parent, *path.parent.parents):
        if (folder / REGISTRY_FILE).is_file():
            return folder
    return path.parent


@dataclass
class Analysis:
    """The result of checking one folder: diagnostics by file, and an index for navigation."""

    folder: Path
    files: tuple[Path, ...]
    diagnostics: Mapping[str, tuple[Diagnostic, ...]]
    index: PolicyIndex
    registry: Registry | None
    texts: Mapping[str, str]
    registry_text: str | None = None  # for the columns of the registry's own diagnostics
    _lines: dict[str, list[str] | None] = field(default_factory=dict, repr=False, compare=False)

    def utf16_column(self, source: str, line: int, column: int) -> int:
        """A 0-based code-point column of a 0-based line of a file in the folder, in UTF-16 code
        units (an emoji is one character to the engine, two units to the protocol)."""
        if source not in self._lines:  # split once per file
            text = self.texts.get(source)
            if text is None and self.registry is not None and source == self.registry.name:
                text = self.registry_text  # its lines: a title that differs, a line that is malformed
            self._lines[source] = None if text is None else lines_of(text)
        lines = self._lines[source]
        if lines is None or not 0 <= line < len(lines):
            return column
        if line == 0 and lines[0].startswith("\ufeff") and source in self.texts:
            # a policy buffer's byte-order mark: the parser skips it (the registry's counts it)
            column += 1
        # Never past the line's end: an error at the end of an empty file is marked one past it.
        return utf16_units(lines[line], min(column, len(lines[line])))

    def source_title(self, tag: str) -> str | None:
        """The title of a cited source: the folder's `source` declaration, else the registry's."""
        declared = self.index.sources.get(tag)
        if declared is not None:
            return declared.title
        entry = self.registry.entries.get(tag) if self.registry else None
        return entry.title if entry else None


@dataclass
class FolderState:
    """What is remembered between edits: each file's last good parse (by file name)."""

    last_good: dict[str, s.PolicyFile] = field(default_factory=dict)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # no registry, or one check cannot read: the folder is checked without it


def _read_policy(path: Path) -> str | Diagnostic:
    """A policy file's text, or why it cannot be read (policy/not-utf8 at the byte), as check says."""
    try:
        data: bytes | OSError = path.read_bytes()
    except OSError as error:
        data = error
    return decode_policy_text(str(path), data)


def analyse(folder: Path, overlays: Mapping[str, str], state: FolderState) -> Analysis:
    """Check `folder` with `overlays` ({absolute file name: buffer text}) replacing disk texts."""
    registry_path = folder / REGISTRY_FILE
    # a policy set has a registry; a folder without one (a draft saved in /tmp or the home folder) is
    # checked without its subfolders: walking them took 32 s for a draft in /tmp, on every change
    whole_set = str(registry_path) in overlays or registry_path.is_file()
    on_disk = _policy_files(folder) if whole_set else _own_policy_files(folder)
    names = {str(p) for p in on_disk} | {  # an open registry (or other file) is not a policy to parse
        n
        for n in overlays
        if n.endswith(POLICY_SUFFIX) and (folder in Path(n).parents if whole_set else Path(n).parent == folder)
    }
    texts: dict[str, str] = {}
    unreadable: list[Diagnostic] = []
    for name in sorted(names):
        text = overlays.get(name)
        read = _read_policy(Path(name)) if text is None else text
        if isinstance(read, Diagnostic):
            unreadable.append(read)
        else:
            texts[name] = read
    registry_text = overlays.get(str(registry_path)) or _read(registry_path)
    registry_pair = (str(registry_path), registry_text) if registry_text is not None else None
    try:
        _result, _sources, found = check_texts(texts.items(), registry_pair, unreadable=unreadable)
    except PolicyError as error:  # the API raises only for input it cannot take at all
        found = error.diagnostics
    by_file: dict[str, list[Diagnostic]] = defaultdict(list)
    for diag in (*found, *_other_copies(found)):
        where = diag.span.source if diag.span else diag.file
        if where:
            by_file[where].append(diag)
    for name, text in texts.items():
        with contextlib.suppress(PolicyError):  # a file that does not parse keeps its last good parse
            state.last_good[name] = parse_text(text, name)
    for gone in set(state.last_good) - set(texts):
        del state.last_good[gone]
    index = build_index(tuple(state.last_good[n] for n in sorted(state.last_good)))
    registry = parse_registry(*registry_pair)[0] if registry_pair else None
    return Analysis(
        folder=folder,
        files=tuple(Path(n) for n in texts),
        diagnostics={name: tuple(by_file.get(name, ())) for name in texts} | {
            name: tuple(diags) for name, diags in by_file.items() if name not in texts
        },
        index=index,
        registry=registry,
        texts=texts,
        registry_text=registry_text,
    )


# A name declared twice: check marks the declaration it reads second (files in name order) and
# notes the other. When the two are in different files, the editor marks both: the copy the analyst
# just typed is often the first one read, and its file showed nothing.
_DECLARED_TWICE = frozenset({"check/conflict", "check/duplicate-id", "check/duplicate-source"})


def _other_copies(found: Iterable[Diagnostic]) -> list[Diagnostic]:
    """For each declaration check reports as declared twice across two files, the same diagnostic
    at the other declaration, its note pointing back."""
    copies: list[Diagnostic] = []
    for diag in found:
        if diag.code in _DECLARED_TWICE and diag.span is not None and diag.related:
            other = diag.related[0][1]
            if other.source != diag.span.source:
                copies.append(replace(diag, span=other, related=(("other declaration", diag.span),)))
    return copies


def _policy_files(folder: Path) -> list[Path]:
    """Every `.policy` file below `folder` that check reads: none in a folder whose name starts with
    `.` or `_`, and such a folder is not entered (a `.git` or `.venv` would be walked on every
    keystroke). A folder that vanishes while it is listed is passed over (os.walk's default), where
    Path.rglob raised and failed the whole check."""
    found: list[Path] = []
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if not name.startswith((".", "_")))
        found += (Path(root) / name for name in names if name.endswith(POLICY_SUFFIX))
    return sorted(found)


def _own_policy_files(folder: Path) -> list[Path]:
    """The `.policy` files of `folder` itself (none of its subfolders'); none when it cannot be listed."""
    try:
        return sorted(entry for entry in folder.iterdir() if entry.name.endswith(POLICY_SUFFIX) and entry.is_file())
    except OSError:
        return []
