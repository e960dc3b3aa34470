"""The language server under what an editor sends and a check run never meets: editors that offer
utf-8 columns, send ranges or changes for documents never opened, keep a byte-order mark, end lines
with a lone `\\r`, ask after `shutdown`, open the registry, report files changed on disk; and a
policy folder changing while it is listed.

Most drive `carepolicy lsp` over stdio (tests/lsp_client.py, helpers of tests/test_lsp.py);
the listing test runs in process, where the file system can be made to misbehave on cue.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from carepolicy.engine.language.registry import REGISTRY_FILE
from carepolicy.lsp.analysis import FolderState, analyse

from tests.lsp_client import LspClient, copy_of_policies, initialised
from tests.test_lsp import a_rule_used_elsewhere, format_request, open_file


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return copy_of_policies(tmp_path)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[LspClient]:
    lsp, _capabilities = initialised(tmp_path)
    yield lsp
    lsp.close()


def test_listing_skips_hidden_folders_and_passes_over_one_that_vanishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every check lists the folder again. A folder that is deleted while it is listed (a build's
    temporary folder, a draft folder the analyst removes) must not fail the check: the listing
    raised FileNotFoundError and the editor got no diagnostics, only an error. Folders that check
    skips (`.git`, `.venv`, `_build`) are not entered at all: they were walked on every keystroke
    and their files dropped afterwards."""
    (tmp_path / "p.policy").write_text('policy p "P"\n', encoding="utf-8")
    (tmp_path / REGISTRY_FILE).write_text("# a policy set: its subfolders are checked with it\n", encoding="utf-8")
    for name in ("drafts", ".git", "_build"):
        (tmp_path / name).mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "q.policy").write_text('policy q "Q"\n', encoding="utf-8")
    (tmp_path / ".git" / "old.policy").write_text('policy old "Old"\n', encoding="utf-8")
    real = os.scandir
    entered: list[str] = []

    def scandir(path: Any = ".") -> Any:
        entered.append(Path(path).name)
        if Path(path).name == "drafts":
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    analysis = analyse(tmp_path, {}, FolderState())
    assert [p.relative_to(tmp_path).as_posix() for p in analysis.files] == ["p.policy", "sub/q.policy"]
    assert "drafts" in entered
    assert not {".git", "_build"} & set(entered)


def test_a_draft_outside_any_policy_set_is_checked_without_its_folders_subfolders(tmp_path: Path) -> None:
    """A draft saved where no `sources.registry` is found up the tree (/tmp, the home folder) is
    checked with the `.policy` files of its own folder only: the whole tree below was walked and
    checked on every change (32 s before the first diagnostics of a draft in /tmp, with diagnostics
    for 1,261 unrelated files). With a registry, the folder is a policy set, subfolders and all."""
    (tmp_path / "draft.policy").write_text('policy d "D"\n', encoding="utf-8")
    (tmp_path / "other.policy").write_text('policy o "O"\n', encoding="utf-8")
    (tmp_path / "project" / "deep").mkdir(parents=True)
    (tmp_path / "project" / "deep" / "q.policy").write_text("not a policy\n", encoding="utf-8")
    overlay = {str(tmp_path / "project" / "open.policy"): 'policy x "X"\n'}  # a buffer of a subfolder
    draft = analyse(tmp_path, overlay, FolderState())
    assert [p.relative_to(tmp_path).as_posix() for p in draft.files] == ["draft.policy", "other.policy"]
    (tmp_path / REGISTRY_FILE).write_text("# a policy set\n", encoding="utf-8")
    whole = analyse(tmp_path, overlay, FolderState())
    assert [p.relative_to(tmp_path).as_posix() for p in whole.files] == [
        "draft.policy", "other.policy", "project/deep/q.policy", "project/open.policy"]


def test_columns_stay_utf16_when_the_editor_offers_utf8_first(tmp_path: Path) -> None:
    """Neovim and Helix offer `positionEncodings: [utf-8, utf-32, utf-16]`; every column the server
    sends and reads counts UTF-16 code units, so it must answer that it picked utf-16, or the
    editor reads a column after `é` or an emoji as bytes and marks the wrong characters."""
    lsp = LspClient(tmp_path)
    try:
        result = lsp.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {
            "general": {"positionEncodings": ["utf-8", "utf-32", "utf-16"]}}})
        assert result["capabilities"].get("positionEncoding", "utf-16") == "utf-16"
        lsp.notify("initialized", {})
        path = tmp_path / "p.policy"
        text = 'policy p "P"\nrule a.b "Café 😀" requires a.thre\n'
        (unknown,) = [d for d in open_file(lsp, path, text) if d["code"] == "check/unknown-name"]
        assert unknown["range"]["start"] == {"line": 1, "character": len('rule a.b "Café 😀" requires ') + 1}
    finally:
        lsp.close()


def test_a_file_with_lone_carriage_returns_says_so_and_is_not_formatted(client: LspClient, tmp_path: Path) -> None:
    """A lone `\r` ends a line for the protocol (old Mac files, text pasted from some tools), not for
    the grammar: the file is `parse/line-ends` at the first one (the end of the editor's first line),
    and gets no formatting edit. Formatting it once ended the edit on the first line, and the editor
    kept every line after it: the document doubled."""
    path = tmp_path / "mac" / "p.policy"
    path.parent.mkdir()
    text = 'policy p "P"\r\rrule a.b "B"\r  assumption "x"\r  requires true\r'
    (line_ends,) = [d for d in open_file(client, path, text) if d["code"] == "parse/line-ends"]
    assert line_ends["range"]["start"] == {"line": 0, "character": len('policy p "P"')}
    assert format_request(client, path) is None


def test_a_request_after_shutdown_is_answered_with_an_error(tmp_path: Path) -> None:
    """After `shutdown` the protocol wants requests answered with InvalidRequest; pygls dropped
    them unanswered, so a hover still on its way when the editor closed waited for ever."""
    lsp = LspClient(tmp_path)
    try:
        lsp.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
        lsp.notify("initialized", {})
        lsp.request("shutdown", {})
        reply = lsp.reply("textDocument/hover", {"textDocument": {"uri": (tmp_path / "p.policy").as_uri()},
                                                 "position": {"line": 0, "character": 0}})
        assert reply["error"]["code"] == -32600, reply
        lsp.notify("exit", {})
        assert lsp.process.wait(timeout=10) == 0
    finally:
        lsp.process.kill()
        lsp.log.close()


@pytest.mark.parametrize("content", [None, b'policy p "Caf\xe9"\n'], ids=["missing", "not-utf8"])
def test_requests_for_a_document_not_open_and_not_readable_are_answered_empty(
    client: LspClient, tmp_path: Path, content: bytes | None
) -> None:
    """A request about a document the editor never opened (or one deleted and closed) is read from
    disk; when there is no file, or it is not UTF-8, the answer is empty, not an internal error
    carrying a Python traceback for the editor to show."""
    path = tmp_path / "gone" / "p.policy"
    path.parent.mkdir()
    if content is not None:
        path.write_bytes(content)
    document = {"uri": path.as_uri()}
    at = {"textDocument": document, "position": {"line": 0, "character": 1}}
    assert client.request("textDocument/hover", at) is None
    assert client.request("textDocument/definition", at) is None
    assert client.request("textDocument/completion", at)["items"] == []
    assert client.request("textDocument/formatting", {"textDocument": document,
                                                      "options": {"tabSize": 2, "insertSpaces": True}}) is None
    assert client.request("textDocument/documentSymbol", {"textDocument": document}) == []


def test_a_change_with_a_range_is_applied_where_it_says(client: LspClient, tmp_path: Path) -> None:
    """The server asks for whole texts, but an editor that sends ranges anyway (or a plugin that
    edits the buffer) must not have the buffer replaced by the inserted snippet: each range is
    applied in turn, columns in UTF-16 code units, a range past the end meaning the end."""
    path = tmp_path / "ranged" / "p.policy"
    path.parent.mkdir()
    open_file(client, path, 'policy p "P"\nrule a.b "😀" requires a.thre\n')
    column = len('rule a.b "😀" requires a.') + 1  # UTF-16 code units: the emoji is two
    client.notify("textDocument/didChange", {"textDocument": {"uri": path.as_uri(), "version": 2}, "contentChanges": [
        {"range": {"start": {"line": 1, "character": column}, "end": {"line": 1, "character": column + 4}},
         "text": "four"},
        {"range": {"start": {"line": 9, "character": 3}, "end": {"line": 12, "character": 0}}, "text": "# end\n"},
    ]})
    (unknown,) = [d for d in client.diagnostics_for(path.as_uri()) if d["code"] == "check/unknown-name"]
    assert "`a.four`" in unknown["message"]
    assert unknown["range"]["start"] == {"line": 1, "character": column - 2}
    (edit,) = format_request(client, path)
    assert edit["newText"] == 'policy p "P"\n\nrule a.b "😀"\n  requires a.four\n# end\n'


def test_a_change_to_a_document_never_opened_is_ignored_quietly(client: LspClient, tmp_path: Path) -> None:
    """A didChange for a document the server was never told about (a client bug, or one lost to a
    restart) has nothing to apply to: it is dropped, without an `Error in server: KeyError` popup,
    and it does not make the file on disk an open buffer."""
    folder = tmp_path / "never"
    folder.mkdir()
    ghost, other = folder / "ghost.policy", folder / "other.policy"
    ghost.write_text('policy g "G"\n', encoding="utf-8")
    client.notify("textDocument/didChange", {"textDocument": {"uri": ghost.as_uri(), "version": 2},
                                             "contentChanges": [{"text": "policy broken ("}]})
    client.notify("textDocument/didOpen", {"textDocument": {"uri": other.as_uri(), "languageId": "carepolicy",
                                                            "version": 1, "text": 'policy o "O"\n'}})
    seen = []
    while True:
        message = client.notifications.get(timeout=30)
        seen.append(message["method"])
        if message["method"] == "textDocument/publishDiagnostics" and message["params"]["uri"] == ghost.as_uri():
            assert message["params"]["diagnostics"] == []  # checked as it is on disk
        if message["method"] == "textDocument/publishDiagnostics" and message["params"]["uri"] == other.as_uri():
            break
    assert "window/showMessage" not in seen, seen


def test_columns_on_the_first_line_of_a_buffer_that_starts_with_a_byte_order_mark(
    client: LspClient, tmp_path: Path
) -> None:
    """A buffer may keep a leading U+FEFF (the byte-order mark of a file saved by Notepad): the
    engine counts columns after it, the editor counts it as the line's first character."""
    path = tmp_path / "bom" / "p.policy"
    path.parent.mkdir()
    text = '\ufeffpolicy p "P" rule a.b "B" requires a.thre\n'
    (unknown,) = [d for d in open_file(client, path, text) if d["code"] == "check/unknown-name"]
    start = text.index("a.thre")
    assert unknown["range"] == {"start": {"line": 0, "character": start},
                                "end": {"line": 0, "character": start + len("a.thre")}}


def test_the_diagnostic_of_an_empty_buffer_lies_inside_it(client: LspClient, tmp_path: Path) -> None:
    """An empty file has one empty line: the error `found the end of the file` is at its start,
    not one character past it."""
    path = tmp_path / "empty" / "p.policy"
    path.parent.mkdir()
    (diagnostic,) = open_file(client, path, "")
    assert diagnostic["code"] == "parse/unexpected-token"
    assert diagnostic["range"] == {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}


def test_an_open_registry_buffer_is_read_as_the_registry_not_as_a_policy(client: LspClient, folder: Path) -> None:
    """An editor that also sends `sources.registry` (so that a source added there counts before it
    is saved) must have it read as the registry only: it was also parsed as a policy file, which
    gave it the error "found `S1` where `policy` was expected"."""
    registry, sources, ccm = folder / REGISTRY_FILE, folder / "sources.policy", folder / "ccm.policy"
    title = "A source added in the editor"
    texts = {
        registry: registry.read_text(encoding="utf-8") + f"S999\t{title}\n",
        sources: re.sub(r"^(  source S1 .*)$", rf'\1\n  source S999 "{title}"', sources.read_text(encoding="utf-8"),
                        count=1, flags=re.MULTILINE),
        ccm: ccm.read_text(encoding="utf-8").replace("  cite S2 ", '  cite S999 "new"\n  cite S2 ', 1),
    }
    latest: dict[str, list[dict[str, Any]]] = {}
    for path, text in texts.items():
        client.notify("textDocument/didOpen", {"textDocument": {"uri": path.as_uri(), "languageId": "carepolicy",
                                                                "version": 1, "text": text}})
        latest.pop(ccm.as_uri(), None)
        while ccm.as_uri() not in latest:  # ccm.policy is published by every check of the folder
            message = client.notifications.get(timeout=30)
            if message["method"] == "textDocument/publishDiagnostics":
                latest[message["params"]["uri"]] = message["params"]["diagnostics"]
    errors = {uri.rsplit("/", 1)[1]: [d["message"] for d in found if d.get("severity") == 1]
              for uri, found in latest.items()}
    assert {name: found for name, found in errors.items() if found} == {}


def test_a_file_changed_on_disk_is_checked_again_when_the_editor_says_so(client: LspClient, folder: Path) -> None:
    """The VS Code extension reports `.policy` and registry files changed on disk (a git checkout,
    a save from another program, a file deleted in the explorer): the folder is checked again, so
    the open files show what the change did; the server ignored the notice until the next edit."""
    rule, home, user = a_rule_used_elsewhere(folder)
    assert [d for d in open_file(client, user) if d.get("severity") == 1] == []
    home.write_text(home.read_text(encoding="utf-8").replace(f"rule {rule} ", f"rule {rule}_renamed ", 1),
                    encoding="utf-8")
    client.notify("workspace/didChangeWatchedFiles", {"changes": [{"uri": home.as_uri(), "type": 2}]})
    assert [d for d in client.diagnostics_for(user.as_uri()) if f"`{rule}`" in str(d["message"])]


def test_a_completion_replaces_the_whole_dotted_name_before_the_cursor(client: LspClient, tmp_path: Path) -> None:
    """Without an edit range from the server an editor replaces its own word before the cursor; where
    that ends at `.` (Neovim's default `iskeyword`) only `pa` of `beneficiary.pa` was replaced, giving
    `beneficiary.beneficiary.part_b`. Each item says what it replaces (columns in UTF-16 units)."""
    path = tmp_path / "complete" / "p.policy"
    path.parent.mkdir()
    line = 'rule a.b "😀" requires beneficiary.pa'
    open_file(client, path, f'policy p "P"\n{line}\n')
    end = len(line) + 1  # the emoji is two code units
    result = client.request("textDocument/completion", {"textDocument": {"uri": path.as_uri()},
                                                        "position": {"line": 1, "character": end}})
    (item,) = [i for i in result["items"] if i["label"] == "beneficiary.part_b"]
    assert item["textEdit"] == {"range": {"start": {"line": 1, "character": end - len("beneficiary.pa")},
                                          "end": {"line": 1, "character": end}},
                                "newText": "beneficiary.part_b"}


def test_a_request_before_initialize_is_answered_with_server_not_initialized(tmp_path: Path) -> None:
    """Before `initialize` the protocol wants requests answered with ServerNotInitialized (-32002)
    and notifications dropped; the server answered an internal error carrying a Python traceback
    (`The workspace is not available`) and showed an `Error in server` popup for a notification."""
    lsp = LspClient(tmp_path)
    try:
        path = tmp_path / "p.policy"
        lsp.notify("textDocument/didOpen", {"textDocument": {"uri": path.as_uri(), "languageId": "carepolicy",
                                                             "version": 1, "text": 'policy p "P"\n'}})
        reply = lsp.reply("textDocument/hover", {"textDocument": {"uri": path.as_uri()},
                                                 "position": {"line": 0, "character": 0}})
        assert reply["error"] == {"code": -32002, "message": "the server is not initialized: send `initialize` first"}
        lsp.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
        assert lsp.notifications.empty(), lsp.notifications.get()
    finally:
        lsp.close()
