"""The Language Server Protocol side of `carepolicy lsp` (pygls, stdio).

Every open, change and save re-checks the document's policy folder with all open buffers laid
over the disk (about 70 ms for the shipped policies) and publishes diagnostics for every file of
the folder, so an error that an edit causes in another file shows there too. Changes that come
faster than they are checked are checked once, as the last of them.
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from ..engine.api import engine_version
from ..engine.diagnostics import Diagnostic, PolicyError, Severity
from ..engine.language.format import format_text
from ..engine.source import Span
from . import features
from .analysis import (
    EDITOR_LINE_END,
    Analysis,
    FolderState,
    analyse,
    lines_of,
    policy_folder,
    utf16_units,
)
from .protocol import UNREADABLE, Answered, PolicyProtocol, strict_converter

_KINDS = {
    "keyword": t.CompletionItemKind.Keyword,
    "declaration": t.CompletionItemKind.Reference,
    "source": t.CompletionItemKind.Reference,
    "fact": t.CompletionItemKind.Field,
    "option": t.CompletionItemKind.EnumMember,
    "unit": t.CompletionItemKind.Unit,
}
# How long a change waits before its check: one typed meanwhile replaces it (a check of a large
# folder takes seconds, and the editor's requests wait behind every check still queued).
CHANGE_SETTLE_SECONDS = 0.05
_SYMBOLS = {
    "rule": t.SymbolKind.Function,
    "precondition": t.SymbolKind.Function,
    "define": t.SymbolKind.Variable,
    "parameter": t.SymbolKind.Constant,
    "switch": t.SymbolKind.Enum,
    "code": t.SymbolKind.Class,
    "add-on": t.SymbolKind.Class,
}


class PolicyServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("carepolicy", engine_version(), text_document_sync_kind=t.TextDocumentSyncKind.Full,
                         protocol_cls=PolicyProtocol, converter_factory=strict_converter)
        self.states: dict[Path, FolderState] = {}
        self.analyses: dict[Path, Analysis] = {}
        self.published: dict[Path, set[str]] = {}  # the files each folder's diagnostics were sent for
        self.shut_down = False  # the editor asked `shutdown`: `exit` then ends with status 0

    def report_server_error(self, error: Exception, source: Any) -> None:
        """pygls shows the user a popup for any message it cannot handle; one the client already
        has an answer for (an error response) is not the user's to be told of, and a body that is
        not JSON is answered with ParseError. Anything else still pops up, as pygls does."""
        if isinstance(error, Answered):
            return
        if isinstance(error, UNREADABLE) and isinstance(self.protocol, PolicyProtocol):
            self.protocol.refuse_unreadable(error)
            return
        super().report_server_error(error, source)

    def buffers(self) -> dict[str, tuple[str, int | None]]:
        """The open documents by file name: their text and the version it is (read together, so
        diagnostics name the version they were computed for)."""
        out: dict[str, tuple[str, int | None]] = {}
        for document in self.workspace.text_documents.values():
            path = to_fs_path(document.uri)  # as the editor sent it: the keys are unescaped (`#` cut the path)
            if path:
                out[str(Path(path))] = (document.source, document.version)
        return out

    def refresh(self, uri: str) -> Analysis | None:
        path = to_fs_path(uri)
        if not path:
            return None
        return self.check_folder(policy_folder(Path(path)))

    def check_folder(self, folder: Path) -> Analysis:
        buffers = self.buffers()
        overlays = {name: text for name, (text, _version) in buffers.items()}
        analysis = analyse(folder, overlays, self.states.setdefault(folder, FolderState()))
        self.analyses[folder] = analysis
        gone = self.published.get(folder, set()) - set(analysis.diagnostics)  # closed unsaved, or deleted
        self.published[folder] = set(analysis.diagnostics)
        for name, diagnostics in [*analysis.diagnostics.items(), *((name, ()) for name in sorted(gone))]:
            # the version of the text checked; none for a file that is not open (its text on disk)
            version = buffers[name][1] if name in buffers else None
            self.text_document_publish_diagnostics(
                t.PublishDiagnosticsParams(uri=from_fs_path(name) or name, version=version,
                                           diagnostics=[to_lsp(d, analysis) for d in diagnostics])
            )
        return analysis

    def text_of(self, uri: str) -> str | None:
        """The document's text: the editor's buffer, else (never opened) the file on disk; None when
        there is no readable file, so the request is answered empty rather than with an error."""
        try:
            return self.workspace.get_text_document(uri).source
        except (OSError, UnicodeDecodeError):
            return None

    def analysis_for(self, uri: str) -> Analysis | None:
        path = to_fs_path(uri)
        if not path:
            return None
        return self.analyses.get(policy_folder(Path(path))) or self.refresh(uri)


def to_range(span: Span, analysis: Analysis) -> t.Range:
    """Engine spans are 1-based, end exclusive, in code points; the protocol's are 0-based, in
    UTF-16 code units."""

    def position(line: int, column: int) -> t.Position:
        line, column = max(line - 1, 0), max(column - 1, 0)
        return t.Position(line=line, character=analysis.utf16_column(span.source, line, column))

    return t.Range(start=position(span.line, span.column), end=position(span.end_line, span.end_column))


def to_lsp(diag: Diagnostic, analysis: Analysis) -> t.Diagnostic:
    where = to_range(diag.span, analysis) if diag.span else t.Range(start=t.Position(line=0, character=0),
                                                          end=t.Position(line=0, character=0))
    message = diag.message + (f"\nhelp: {diag.help}" if diag.help else "")
    related = [
        t.DiagnosticRelatedInformation(
            location=t.Location(uri=from_fs_path(span.source) or span.source, range=to_range(span, analysis)),
            message=label,
        )
        for label, span in diag.related
    ]
    severity = t.DiagnosticSeverity.Error if diag.severity is Severity.ERROR else t.DiagnosticSeverity.Warning
    return t.Diagnostic(range=where, message=message, severity=severity, code=diag.code, source="carepolicy",
                        related_information=related or None)


def _column(text: str, line: int, utf16: int) -> int:
    """A protocol column (UTF-16 code units) as a code-point column."""
    lines = lines_of(text)
    if not 0 <= line < len(lines):
        return utf16
    units = 0
    for index, char in enumerate(lines[line]):
        if units >= utf16:
            return index
        units += 2 if ord(char) > 0xFFFF else 1
    return len(lines[line])


def formatting_edits(text: str, name: str) -> list[t.TextEdit] | None:
    """`carepolicy fmt` for one document: one edit replacing all of it, none when it is already
    formatted, and None (no edit) when it does not parse: its diagnostics already say why."""
    try:
        formatted = format_text(text, name)
    except PolicyError:
        return None
    if formatted == text:
        return []
    lines = EDITOR_LINE_END.split(text)  # the editor's lines: the edit must reach its last one
    end = t.Position(line=len(lines) - 1, character=utf16_units(lines[-1], len(lines[-1])))
    return [t.TextEdit(range=t.Range(start=t.Position(line=0, character=0), end=end), new_text=formatted)]


def build_server() -> PolicyServer:
    server = PolicyServer()

    @server.feature(t.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: PolicyServer, params: t.DidOpenTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: PolicyServer, params: t.DidChangeTextDocumentParams) -> None:
        await asyncio.sleep(CHANGE_SETTLE_SECONDS)  # the messages that came meanwhile are read
        uri = params.text_document.uri
        if ls.workspace.get_text_document(uri).version == params.text_document.version:
            ls.refresh(uri)  # else a later change (or the close) checks it

    @server.feature(t.SHUTDOWN)
    def shutdown(ls: PolicyServer, params: None) -> None:
        ls.shut_down = True

    @server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: PolicyServer, params: t.DidCloseTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)  # its unsaved text is gone: the file on disk counts again

    @server.feature(t.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files_changed(ls: PolicyServer, params: t.DidChangeWatchedFilesParams) -> None:
        """Policy or registry files changed on disk (a git checkout, another program, a file deleted):
        each folder the server checks that holds one is checked again, not at the next edit."""
        changed = [Path(path) for change in params.changes if (path := to_fs_path(change.uri))]
        for folder in sorted(f for f in ls.analyses if any(f in path.parents for path in changed)):
            ls.check_folder(folder)

    @server.feature(t.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: PolicyServer, params: t.DidSaveTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    def word(ls: PolicyServer, uri: str, position: t.Position) -> tuple[Analysis, features.Word] | None:
        text = ls.text_of(uri)
        analysis = ls.analysis_for(uri) if text is not None else None
        if text is None or analysis is None:
            return None
        found = features.word_at(text, position.line, _column(text, position.line, position.character))
        return (analysis, found) if found else None

    @server.feature(t.TEXT_DOCUMENT_HOVER)
    def hover(ls: PolicyServer, params: t.HoverParams) -> t.Hover | None:
        found = word(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        analysis, w = found
        text = features.hover(analysis, w.text)
        if text is None:
            return None
        line = lines_of(ls.text_of(params.text_document.uri) or "")[w.line]
        where = t.Range(start=t.Position(line=w.line, character=utf16_units(line, w.start)),
                        end=t.Position(line=w.line, character=utf16_units(line, w.end)))
        return t.Hover(contents=t.MarkupContent(kind=t.MarkupKind.Markdown, value=text), range=where)

    @server.feature(t.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: PolicyServer, params: t.DefinitionParams) -> t.Location | None:
        found = word(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        analysis, w = found
        span = features.definition(analysis, w.text)
        if span is None:
            return None
        return t.Location(uri=from_fs_path(span.source) or span.source, range=to_range(span, analysis))

    @server.feature(t.TEXT_DOCUMENT_COMPLETION, t.CompletionOptions(trigger_characters=[".", " "]))
    def completion(ls: PolicyServer, params: t.CompletionParams) -> t.CompletionList:
        text = ls.text_of(params.text_document.uri)
        analysis = ls.analysis_for(params.text_document.uri) if text is not None else None
        if text is None or analysis is None:
            return t.CompletionList(is_incomplete=False, items=[])
        lines = lines_of(text)
        number = params.position.line
        line = lines[number] if number < len(lines) else ""
        before = line[: _column(text, number, params.position.character)]
        # What an item replaces: the whole name before the cursor, dots and dashes included (an
        # editor's own word ends at `.`, and `beneficiary.pa` became `beneficiary.beneficiary.part_b`).
        typed = re.search(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*$", before)
        start = typed.start() if typed else len(before)
        where = t.Range(start=t.Position(line=number, character=utf16_units(line, start)),
                        end=t.Position(line=number, character=utf16_units(line, len(before))))
        items = [t.CompletionItem(label=c.label, kind=_KINDS[c.kind], detail=c.detail,
                                  text_edit=t.TextEdit(range=where, new_text=c.label) if number < len(lines) else None)
                 for c in features.completions(analysis, before)]
        return t.CompletionList(is_incomplete=False, items=items)

    @server.feature(t.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def outline(ls: PolicyServer, params: t.DocumentSymbolParams) -> list[t.DocumentSymbol]:
        path = to_fs_path(params.text_document.uri)
        analysis = ls.analysis_for(params.text_document.uri)
        if analysis is None or not path:
            return []
        return [
            t.DocumentSymbol(name=sym.name, detail=sym.detail, kind=_SYMBOLS.get(sym.kind, t.SymbolKind.Object),
                             range=to_range(sym.span, analysis), selection_range=to_range(sym.span, analysis))
            for sym in features.symbols(analysis, str(Path(path)))
        ]

    @server.feature(t.TEXT_DOCUMENT_FORMATTING)
    def formatting(ls: PolicyServer, params: t.DocumentFormattingParams) -> list[t.TextEdit] | None:
        uri = params.text_document.uri
        text = ls.text_of(uri)
        return formatting_edits(text, to_fs_path(uri) or uri) if text is not None else None

    return server


def main() -> None:
    server = build_server()
    server.start_io()
    if sys.stdout.closed:  # the editor sent `exit`: pygls closed standard output and dropped the status
        raise SystemExit(0 if server.shut_down else 1)
