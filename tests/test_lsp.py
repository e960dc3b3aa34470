"""`carepolicy lsp` driven over stdio as an editor drives it (tests/lsp_client.py speaks the wire).

Positions are found by searching the policy text, not hard-coded, so the tests follow the
policies as they change: a declared rule id is looked up where another file uses it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from carepolicy.engine.language.registry import REGISTRY_FILE, normalise_title

from tests.lsp_client import LspClient, copy_of_policies, initialised

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return copy_of_policies(tmp_path)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[LspClient]:
    lsp, capabilities = initialised(tmp_path)
    assert capabilities["hoverProvider"]
    assert capabilities["definitionProvider"]
    assert capabilities["completionProvider"]
    assert capabilities["documentSymbolProvider"]
    assert capabilities["documentFormattingProvider"]
    yield lsp
    lsp.close()


def open_file(client: LspClient, path: Path, text: str | None = None) -> list[dict[str, object]]:
    uri = path.as_uri()
    body = path.read_text(encoding="utf-8") if text is None else text
    client.notify("textDocument/didOpen",
                  {"textDocument": {"uri": uri, "languageId": "carepolicy", "version": 1, "text": body}})
    return client.diagnostics_for(uri)


def find(path: Path, pattern: str) -> tuple[int, int]:
    """0-based (line, column) of the first match of `pattern` in the file."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        match = re.search(pattern, line)
        if match:
            return number, match.start()
    raise AssertionError(f"`{pattern}` not found in {path.name}")


def a_rule_used_elsewhere(folder: Path) -> tuple[str, Path, Path]:
    """(rule id, the file declaring it, another file requiring it)."""
    declared = {m.group(1): f for f in sorted(folder.glob("*.policy"))
                for m in re.finditer(r"^rule (\S+)", f.read_text(encoding="utf-8"), re.MULTILINE)}
    for user in sorted(folder.glob("*.policy")):
        for rule, home in declared.items():
            if home != user and re.search(rf"requires .*\b{re.escape(rule)}\b", user.read_text(encoding="utf-8")):
                return rule, home, user
    raise AssertionError("no rule is required from another file")


def open_at_a_use(client: LspClient, folder: Path) -> tuple[str, Path, Path, dict[str, Any]]:
    """Open a file that requires a rule declared elsewhere; the request params at that use."""
    rule, home, user = a_rule_used_elsewhere(folder)
    open_file(client, user)
    line, _ = find(user, rf"requires .*\b{re.escape(rule)}\b")
    column = user.read_text(encoding="utf-8").splitlines()[line].index(rule)
    return rule, home, user, {"textDocument": {"uri": user.as_uri()}, "position": {"line": line, "character": column}}


def test_shipped_policies_open_clean(client: LspClient, folder: Path) -> None:
    for path in sorted(folder.glob("*.policy"))[:3]:
        errors = [d for d in open_file(client, path) if d.get("severity") == 1]
        assert errors == [], errors


def test_a_typo_lands_on_its_line_and_clears_when_fixed(client: LspClient, folder: Path) -> None:
    rule, _home, user = a_rule_used_elsewhere(folder)
    line, _column = find(user, rf"requires .*\b{re.escape(rule)}\b")
    text = user.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    lines[line] = lines[line].replace(rule, rule + "_typo", 1)
    broken = "".join(lines)
    assert open_file(client, user, broken)
    uri = user.as_uri()
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": broken}]})
    diagnostics = client.diagnostics_for(uri)
    unknown = [d for d in diagnostics if "typo" in str(d["message"])]
    assert unknown, diagnostics
    assert unknown[0]["range"]["start"]["line"] == line
    assert unknown[0]["source"] == "carepolicy"
    assert str(unknown[0]["code"]).startswith("check/")
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 3},
                                             "contentChanges": [{"text": text}]})
    assert [d for d in client.diagnostics_for(uri) if d.get("severity") == 1] == []


def test_a_syntax_error_lands_on_its_line(client: LspClient, folder: Path) -> None:
    path = folder / "ccm.policy"
    line, _column = find(path, r"^\s+requires ")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line] = lines[line].replace("requires", "requires requires", 1)
    diagnostics = open_file(client, path, "".join(lines))
    assert diagnostics
    assert diagnostics[0]["range"]["start"]["line"] == line
    assert str(diagnostics[0]["code"]).startswith("parse/")


def test_hover_on_a_cite_shows_the_source_title(client: LspClient, folder: Path) -> None:
    path = folder / "common.policy"
    open_file(client, path)
    line, column = find(path, r"cite S2\b")
    result = client.request("textDocument/hover", {"textDocument": {"uri": path.as_uri()},
                                                   "position": {"line": line, "character": column + 6}})
    registry = (folder / REGISTRY_FILE).read_text(encoding="utf-8")
    title = next(row.split("\t", 1)[1] for row in registry.splitlines() if row.startswith("S2\t"))
    assert "S2" in result["contents"]["value"]
    assert normalise_title(title.split(",")[0]) in normalise_title(result["contents"]["value"])


def test_hover_on_a_rule_shows_title_interval_and_citations(client: LspClient, folder: Path) -> None:
    rule, _home, _user, where = open_at_a_use(client, folder)
    where["position"]["character"] += 1
    result = client.request("textDocument/hover", where)
    value = result["contents"]["value"]
    assert f"**rule** `{rule}`" in value
    assert "effective:" in value
    assert "cites:" in value or "assumption" in value


def test_definition_jumps_to_the_declaration(client: LspClient, folder: Path) -> None:
    rule, home, _user, where = open_at_a_use(client, folder)
    result = client.request("textDocument/definition", where)
    assert result["uri"] == home.as_uri()
    assert result["range"]["start"]["line"] == find(home, rf"^rule {re.escape(rule)}\b")[0]


def test_completion_offers_keywords_names_facts_and_sources(client: LspClient, folder: Path) -> None:
    path = folder / "ccm.policy"
    open_file(client, path)
    line, _ = find(path, r"^\s+requires ")
    result = client.request("textDocument/completion", {"textDocument": {"uri": path.as_uri()},
                                                        "position": {"line": line, "character": 2}})
    labels = {item["label"] for item in result["items"]}
    assert {"requires", "effective", "cite"} <= labels
    assert "beneficiary.part_b" in labels
    rule, _home, _user = a_rule_used_elsewhere(folder)
    assert rule in labels
    cite_line, cite_column = find(path, r"cite S\d+")
    after_cite = client.request("textDocument/completion", {"textDocument": {"uri": path.as_uri()},
                                                            "position": {"line": cite_line,
                                                                         "character": cite_column + 5}})
    cite_labels = {item["label"] for item in after_cite["items"]}
    assert "S2" in cite_labels
    assert "requires" not in cite_labels


def test_outline_lists_the_declarations_in_order(client: LspClient, folder: Path) -> None:
    path = folder / "common.policy"
    open_file(client, path)
    result = client.request("textDocument/documentSymbol", {"textDocument": {"uri": path.as_uri()}})
    names = [symbol["name"] for symbol in result]
    text = path.read_text(encoding="utf-8")
    declared = re.findall(r"^(?:rule|define|precondition|code) ([\w.]+)", text, re.MULTILINE)
    assert [n for n in names if n in declared] == declared


def format_request(client: LspClient, path: Path) -> Any:
    return client.request("textDocument/formatting", {"textDocument": {"uri": path.as_uri()},
                                                      "options": {"tabSize": 2, "insertSpaces": True}})


def test_formatting_replaces_the_document_with_what_fmt_writes(client: LspClient, folder: Path) -> None:
    path = folder / "ccm.policy"
    text = path.read_text(encoding="utf-8")
    open_file(client, path)
    assert format_request(client, path) == []  # the shipped files are formatted: no edit
    messy = text.replace("\n  cite ", "\n      cite   ").replace("\n  program ", "\nprogram  ") + "# the end"
    client.notify("textDocument/didChange", {"textDocument": {"uri": path.as_uri(), "version": 2},
                                             "contentChanges": [{"text": messy}]})
    (edit,) = format_request(client, path)
    lines = messy.split("\n")
    assert edit["range"] == {"start": {"line": 0, "character": 0},
                             "end": {"line": len(lines) - 1, "character": len(lines[-1])}}
    assert edit["newText"] == text + "# the end\n"


def test_formatting_a_document_that_does_not_parse_gives_no_edit(client: LspClient, folder: Path) -> None:
    path = folder / "ccm.policy"
    broken = path.read_text(encoding="utf-8").replace("requires", "requires requires", 1)
    assert open_file(client, path, broken)
    assert format_request(client, path) is None
    fixed = path.read_text(encoding="utf-8").replace("\n  cite ", "\n cite ", 1)  # the server still formats
    client.notify("textDocument/didChange", {"textDocument": {"uri": path.as_uri(), "version": 2},
                                             "contentChanges": [{"text": fixed}]})
    (edit,) = format_request(client, path)
    assert edit["newText"] == path.read_text(encoding="utf-8")


def test_a_line_separator_inside_a_comment_does_not_shift_the_lines(client: LspClient, folder: Path) -> None:
    """A line ends at `\\n` (or `\\r\\n`), for the parser and for the protocol: U+2028, U+0085 or a form
    feed in a comment or title does not end one, so hover and definition below it find their word."""
    rule, home, _user = a_rule_used_elsewhere(folder)
    text = home.read_text(encoding="utf-8").replace("\n", "\n# pasted\u2028from a PDF\x85page\x0cbreak\n", 1)
    home.write_text(text, encoding="utf-8")
    assert [d for d in open_file(client, home, text) if d.get("severity") == 1] == []
    line = next(n for n, row in enumerate(text.split("\n")) if row.startswith(f"rule {rule} "))
    where = {"textDocument": {"uri": home.as_uri()}, "position": {"line": line, "character": 6}}
    assert f"**rule** `{rule}`" in client.request("textDocument/hover", where)["contents"]["value"]
    assert client.request("textDocument/definition", where)["range"]["start"]["line"] == line
    labels = {item["label"] for item in client.request("textDocument/completion", where)["items"]}
    assert "requires" in labels


def test_columns_after_an_emoji_are_counted_in_utf16_code_units(client: LspClient, tmp_path: Path) -> None:
    """An emoji is one character to the engine and two UTF-16 code units to the protocol: every
    range the server sends (diagnostic, hover, definition) counts the units."""
    path = tmp_path / "emoji" / "p.policy"
    path.parent.mkdir()
    text = 'policy p "P"\n\nrule a.one "One 😀" requires a.two\n\nrule a.two "Two 😀😀" requires a.thre\n'
    path.write_text(text, encoding="utf-8")
    lines = text.split("\n")

    def units(line: int, column: int) -> int:  # a code-point column of a line in UTF-16 code units
        return len(lines[line][:column].encode("utf-16-le")) // 2

    unknown = [d for d in open_file(client, path) if "a.thre" in str(d["message"])]
    assert unknown, "no diagnostic for the unknown name"
    start = lines[4].index("a.thre")
    assert unknown[0]["range"]["start"] == {"line": 4, "character": units(4, start)}
    assert unknown[0]["range"]["end"] == {"line": 4, "character": units(4, start + len("a.thre"))}
    use = lines[2].rindex("a.two")
    where = {"textDocument": {"uri": path.as_uri()}, "position": {"line": 2, "character": units(2, use) + 1}}
    hover = client.request("textDocument/hover", where)
    assert "**rule** `a.two`" in hover["contents"]["value"]
    assert hover["range"]["start"]["character"] == units(2, use)
    assert hover["range"]["end"]["character"] == units(2, use + len("a.two"))
    definition = client.request("textDocument/definition", where)
    assert definition["range"]["start"] == {"line": 4, "character": 0}
    assert definition["range"]["end"] == {"line": 4, "character": units(4, len(lines[4]))}


@pytest.mark.parametrize("position", [{"line": -1, "character": 0}, {"line": 0}, {"line": 0, "character": "two"}])
def test_a_request_with_params_the_protocol_does_not_allow_gets_an_error(
    client: LspClient, folder: Path, position: dict[str, Any]
) -> None:
    """Every request is answered, or the editor waits for ever: here with InvalidParams."""
    path = folder / "ccm.policy"
    open_file(client, path)
    reply = client.reply("textDocument/hover", {"textDocument": {"uri": path.as_uri()}, "position": position})
    assert reply["error"]["code"] == -32602, reply
    assert client.request("textDocument/documentSymbol", {"textDocument": {"uri": path.as_uri()}})


@pytest.mark.parametrize(("shutdown", "status"), [(True, 0), (False, 1)])
def test_exit_ends_the_server_with_the_status_the_protocol_asks(tmp_path: Path, shutdown: bool, status: int) -> None:
    """`exit` after `shutdown` ends the process with status 0, without one with 1; quietly either way."""
    lsp = LspClient(tmp_path)
    lsp.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
    lsp.notify("initialized", {})
    if shutdown:
        lsp.request("shutdown", {})
    lsp.notify("exit", {})
    try:
        assert lsp.process.wait(timeout=10) == status
    finally:
        lsp.process.kill()
        lsp.log.close()
    assert "Traceback" not in (tmp_path / "lsp-stderr.log").read_text(encoding="utf-8")


def test_the_stdio_flag_editors_add_starts_the_server(tmp_path: Path) -> None:
    """vscode-languageclient appends `--stdio` to the command of a stdio server, so the shipped
    extension (editors/vscode/extension.js) starts `carepolicy lsp --stdio`: click refused the
    option, exit 2, and the editor never had a server."""
    lsp = LspClient(tmp_path, "--stdio")
    try:
        result = lsp.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
        assert result["capabilities"]["hoverProvider"]
        lsp.notify("initialized", {})
        lsp.request("shutdown", {})
        lsp.notify("exit", {})
        assert lsp.process.wait(timeout=10) == 0
    finally:
        lsp.process.kill()
        lsp.log.close()
    assert "Traceback" not in (tmp_path / "lsp-stderr.log").read_text(encoding="utf-8")


def test_closing_an_unsaved_buffer_checks_the_folder_again_without_it(client: LspClient, folder: Path) -> None:
    """Closing a buffer without saving drops its text: the other files' diagnostics and navigation
    are those of the file on disk again, and a new file that was never saved loses its diagnostics."""
    rule, home, user = a_rule_used_elsewhere(folder)
    assert [d for d in open_file(client, user) if d.get("severity") == 1] == []
    unsaved = "\n\n\n" + home.read_text(encoding="utf-8").replace(f"rule {rule} ", f"rule {rule}_renamed ", 1)
    open_file(client, home, unsaved)
    assert [d for d in client.diagnostics_for(user.as_uri()) if rule in str(d["message"])]
    draft = folder / "draft.policy"  # never saved
    assert open_file(client, draft, 'policy draft "Draft"\nrule d.x "X" requires nothing_declared\n')
    client.notify("textDocument/didClose", {"textDocument": {"uri": home.as_uri()}})
    while [d for d in client.diagnostics_for(user.as_uri()) if d.get("severity") == 1]:
        pass  # published before the close; the check after it has no error (or this times out)
    _rule, _home, _user, where = open_at_a_use(client, folder)
    assert client.request("textDocument/definition", where)["range"]["start"]["line"] == find(home, f"^rule {rule} ")[0]
    client.notify("textDocument/didClose", {"textDocument": {"uri": draft.as_uri()}})
    while client.diagnostics_for(draft.as_uri()):
        pass


def test_changes_sent_faster_than_they_are_checked_are_checked_once(client: LspClient, folder: Path) -> None:
    """Each check takes a while (seconds for a large folder): changes that arrive meanwhile are
    checked together, as the last of them, instead of one check each while the editor waits."""
    path = folder / "ccm.policy"
    text = path.read_text(encoding="utf-8")
    open_file(client, path)
    for version in range(2, 22):
        typo = "\nrule x.typo \"Typo\"\n  requires no_such_name\n" if version == 21 else ""
        client.notify("textDocument/didChange", {"textDocument": {"uri": path.as_uri(), "version": version},
                                                 "contentChanges": [{"text": text + "#" * version + typo}]})
    checks = 1
    while not [d for d in client.diagnostics_for(path.as_uri()) if "no_such_name" in str(d["message"])]:
        checks += 1
    assert checks < 10, f"{checks} checks for 20 changes"


def test_a_file_on_disk_that_is_not_utf8_gets_the_diagnostic_check_gives(client: LspClient, folder: Path) -> None:
    """`carepolicy check` says policy/not-utf8 at the byte; the editor said nothing about that file,
    and showed only the unknown names its declarations left in the others."""
    common = folder / "common.policy"
    common.write_bytes(common.read_bytes().replace(b"\n", b"\n# caf\xe9\n", 1))
    open_file(client, folder / "ccm.policy")
    (diagnostic,) = [d for d in client.diagnostics_for(common.as_uri()) if d["code"] == "policy/not-utf8"]
    assert diagnostic["range"]["start"] == {"line": 1, "character": 5}


def test_a_buffer_in_a_folder_whose_name_needs_escaping_is_checked(client: LspClient, folder: Path) -> None:
    """`Policies #2 100%` is `Policies%20%232%20100%25` in a URI: the buffer's text is what is checked."""
    odd = folder.rename(folder.parent / "Policies #2 100%")
    path = odd / "ccm.policy"
    broken = path.read_text(encoding="utf-8").replace("requires", "requires requires", 1)
    diagnostics = open_file(client, path, broken)
    assert [d for d in diagnostics if str(d["code"]).startswith("parse/")], diagnostics
