"""The `note` declarations in effect for a month: what a decision says beside codes it bills,
or of the bundle as a whole.

A note changes no code and no amount. A note with `billing` codes is given when the decision bills
one of them and its `when` holds; a note without `billing` (a decision note) is given when its
`when` holds, whatever is billed: it is tested once per bundle, not once per code, so a sentence
about the facts (minutes recorded that do not count) costs one condition a bundle. An unknown
`when` gives no note: a note is a warning, so only what the facts show is said. The text names the
codes it is about (a billing note), then the note's title, then where it is declared and what it
cites, as a denial's reason does ("[policies/ccm.policy:97 · S12, S35]").
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from ..check.index import PolicyIndex
from ..decision.citations import cited_tags
from ..language import syntax as s
from .compiled import Header
from .runtime import Fn


class NoteSource(Protocol):
    index: PolicyIndex

    def expr(self, expr: s.Expr) -> Fn: ...

    def header(self, decl: s.Declaration) -> Header: ...


@dataclass(frozen=True, slots=True)
class CompiledNote:
    header: Header
    codes: tuple[str, ...]  # in the order the `billing` clause names them
    when: Fn | None  # never None for a decision note (check/note)
    # no `billing` clause: a note on the decision (not `not codes`: a range may stand for no
    # declared code, and such a billing note is never given rather than given on every decision)
    on_decision: bool = False
    text: str = ""  # the title, where it is declared and what it cites (made once, not per decision)

    def said(self, billed: Collection[str], env: Any) -> str | None:
        """A billing note's text when the decision bills one of its codes and `when` holds, else
        None (a decision note is tested by `notes_said` on its condition alone)."""
        about = [code for code in self.codes if code in billed]
        if not about or (self.when is not None and self.when(env) is not True):
            return None
        return f"{', '.join(about)}: {self.text}"


def _text(header: Header) -> str:
    return f"{header.title} [{header.source} · {', '.join(cited_tags(header.cites))}]"


def compile_notes(source: NoteSource, decls: list[s.Declaration]) -> tuple[CompiledNote, ...]:
    """The notes in effect (`decls` are the month's), in declaration order."""
    return tuple(
        CompiledNote(
            header,
            source.index.expand(d.codes),
            source.expr(d.when) if d.when is not None else None,
            on_decision=not d.codes,
            text=_text(header),
        )
        for d in decls
        if isinstance(d, s.Note)
        for header in (source.header(d),)
    )


def notes_said(
    notes: tuple[CompiledNote, ...], billed: Collection[str], env: Any
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What the month's notes say of a decision that bills the codes `billed` (none: only the
    decision notes can be given), and what the notes given cite (the decision's `sources` list
    them, as they list its reasons' sources)."""
    texts: list[str] = []
    cites: list[str] = []
    for note in notes:
        if note.on_decision:  # tested for every bundle: its condition alone, its text made once
            if note.when is not None and note.when(env) is not True:
                continue
            text = note.text
        else:  # (most bundles bill nothing: no billing note is looked at)
            said = note.said(billed, env) if billed else None
            if said is None:
                continue
            text = said
        texts.append(text)
        cites.extend(note.header.cites)
    if not texts:
        return _NOTHING_SAID
    return tuple(texts), tuple(cites)


_NOTHING_SAID: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
