"""`carepolicy lsp` on five details an editor meets and a check run does not: a name declared twice
across two files, a name written in a comment or a title, a method the server does not know sent
without params, the document version of published diagnostics, and columns in the registry.

Driven over stdio as an editor drives it (tests/lsp_client.py), like tests/test_lsp.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from carepolicy.engine.language.registry import REGISTRY_FILE

from tests.lsp_client import LspClient, initialised, told_before_a_request
from tests.test_lsp import open_file


@pytest.fixture
def client(tmp_path: Path) -> Iterator[LspClient]:
    lsp, _capabilities = initialised(tmp_path)
    yield lsp
    lsp.close()


def policy_set(folder: Path, files: dict[str, str], registry: str = "") -> Path:
    """A policy set (a folder with a registry, as `carepolicy check DIR` reads it) of `files`."""
    folder.mkdir()
    (folder / REGISTRY_FILE).write_text(registry, encoding="utf-8")
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def units(line: str) -> int:
    """The length of `line` in UTF-16 code units, as the protocol counts columns."""
    return len(line.encode("utf-16-le")) // 2


def conflicts(diagnostics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in diagnostics if d["code"] == "check/conflict"]


def test_a_rule_declared_in_two_files_is_marked_in_both_and_cleared_in_both(
    client: LspClient, tmp_path: Path
) -> None:
    """`carepolicy check` marks the declaration it reads second (files in name order) and notes the
    other. The analyst pasting a rule into `a.policy` got the error only in `b.policy`, the file
    holding the original; `a.policy`, where the copy is, showed nothing."""
    rule = 'rule x.one "One"\n  assumption "a test"\n'
    original = 'policy b "B"\n\n' + rule
    folder = policy_set(tmp_path / "dup", {"a.policy": 'policy a "A"\n', "b.policy": original})
    a, b = folder / "a.policy", folder / "b.policy"
    assert open_file(client, a) == []
    copied = 'policy a "A"\n\n\n' + rule
    client.notify("textDocument/didChange", {"textDocument": {"uri": a.as_uri(), "version": 2},
                                             "contentChanges": [{"text": copied}]})
    (in_a,) = conflicts(client.diagnostics_for(a.as_uri()))
    (in_b,) = conflicts(client.diagnostics_for(b.as_uri()))
    assert in_a["range"]["start"] == {"line": 3, "character": 0}
    assert in_b["range"]["start"] == {"line": 2, "character": 0}
    assert in_a["message"] == in_b["message"]
    assert [r["location"]["uri"] for r in in_a["relatedInformation"]] == [b.as_uri()]
    assert [r["location"]["uri"] for r in in_b["relatedInformation"]] == [a.as_uri()]
    # check marks the copy it reads second, here b.policy's line 3, as the editor does beside it
    a.write_text(copied, encoding="utf-8")
    checked = subprocess.run([str(Path(sys.executable).parent / "carepolicy"), "check", str(folder)],
                             capture_output=True, text=True, check=False)
    assert f"{b}:3:1: error[check/conflict]" in checked.stderr, checked.stderr
    assert f"note: other declaration at {a}:4:1" in checked.stderr, checked.stderr
    client.notify("textDocument/didChange", {"textDocument": {"uri": a.as_uri(), "version": 3},
                                             "contentChanges": [{"text": 'policy a "A"\n'}]})
    assert conflicts(client.diagnostics_for(a.as_uri())) == []
    assert conflicts(client.diagnostics_for(b.as_uri())) == []


HOVERED = (
    'policy p "P"\n'
    "\n"
    "# a.two is required below\n"
    'rule a.one "One, after a.two # and more" requires a.two # a.two again\n'
    "  assumption \"a test\"\n"
    "\n"
    'rule a.two "Two"\n'
    "  assumption \"a test\"\n"
)


@pytest.mark.parametrize(("line", "occurrence", "named"), [
    (2, 0, False),  # a comment line
    (3, 0, False),  # a title
    (3, 1, True),  # the use after a title holding `#`: it starts no comment
    (3, 2, False),  # a comment after code
])
def test_a_name_in_a_comment_or_a_title_has_no_hover_nor_definition(
    client: LspClient, tmp_path: Path, line: int, occurrence: int, named: bool
) -> None:
    """The lexer reads a comment (`#` to the line end) and a quoted string as one token each: a
    name written there is no use of the declaration, and showed its hover and jumped to it."""
    folder = policy_set(tmp_path / "hover", {"p.policy": HOVERED})
    path = folder / "p.policy"
    open_file(client, path)
    text = HOVERED.split("\n")[line]
    column = [i for i in range(len(text)) if text.startswith("a.two", i)][occurrence] + 2
    where = {"textDocument": {"uri": path.as_uri()}, "position": {"line": line, "character": column}}
    hover = client.request("textDocument/hover", where)
    definition = client.request("textDocument/definition", where)
    if named:
        assert "**rule** `a.two`" in hover["contents"]["value"]
        assert definition["range"]["start"] == {"line": 6, "character": 0}
    else:
        assert hover is None
        assert definition is None


def test_an_unknown_method_is_method_not_found_with_or_without_params(client: LspClient, tmp_path: Path) -> None:
    """JSON-RPC lets a request leave `params` out: one for a method the server does not know got
    InternalError (-32603) instead of MethodNotFound (-32601). A notification it does not know is
    ignored: no answer, no `Error in server` message, nothing in the log but a line."""
    for params in (None, {}):
        reply = client.reply("carepolicy/noSuchMethod", params)
        assert reply["error"]["code"] == -32601, reply
        assert "noSuchMethod" in reply["error"]["message"]
    client.notify("carepolicy/noSuchNotification", None)
    client.notify("$/noSuchNotification", None)
    # a request after them: whatever the server sent about them came before its answer
    assert told_before_a_request(client, tmp_path) == []
    assert set(client.responses) == set(range(1, client.next_id + 1))  # only the requests answered
    assert "Traceback" not in (tmp_path / "lsp-stderr.log").read_text(encoding="utf-8")


def test_diagnostics_carry_the_version_they_were_computed_for(client: LspClient, tmp_path: Path) -> None:
    """An editor drops diagnostics of a version it has already replaced; without the version it
    could not tell them apart. A file that is not open has no version: none is sent."""
    folder = policy_set(tmp_path / "versions", {"a.policy": 'policy a "A"\n', "b.policy": 'policy b "B"\n'})
    a, b = folder / "a.policy", folder / "b.policy"
    client.notify("textDocument/didOpen", {"textDocument": {"uri": a.as_uri(), "languageId": "carepolicy",
                                                            "version": 5, "text": 'policy a "A"\n'}})
    assert client.published_for(a.as_uri())["version"] == 5
    assert "version" not in client.published_for(b.as_uri())
    broken = 'policy a "A"\nrule a.x "X"\n  requires nothing_declared\n'
    client.notify("textDocument/didChange", {"textDocument": {"uri": a.as_uri(), "version": 9},
                                             "contentChanges": [{"text": broken}]})
    published = client.published_for(a.as_uri())
    assert published["version"] == 9
    assert [d for d in published["diagnostics"] if "nothing_declared" in d["message"]]
    assert "version" not in client.published_for(b.as_uri())
    client.notify("textDocument/didClose", {"textDocument": {"uri": a.as_uri()}})
    assert "version" not in client.published_for(a.as_uri())  # its text on disk is checked now


def test_registry_columns_are_utf16_code_units(client: LspClient, tmp_path: Path) -> None:
    """A registry line with a character outside the BMP (an emoji, U+1D400) is one code point
    longer in UTF-16: the registry's ranges counted code points, and ended one unit short of
    the line's end, where a policy file's are counted in units."""
    title_line = "S1\tCare \U0001d400 management \U0001f600 guide"
    folder = policy_set(tmp_path / "registry", {"p.policy": 'policy p "P"\n  source S1 "Another title"\n'},
                        registry=title_line + "\n")
    path, registry = folder / "p.policy", folder / REGISTRY_FILE
    (mismatch,) = [d for d in open_file(client, path) if d["code"] == "check/source-title-mismatch"]
    (note,) = mismatch["relatedInformation"]
    assert note["location"]["uri"] == registry.as_uri()
    assert note["location"]["range"] == {"start": {"line": 0, "character": 0},
                                         "end": {"line": 0, "character": units(title_line)}}
    malformed = "\U0001f600\tnot a tag"
    client.notify("textDocument/didOpen", {"textDocument": {"uri": registry.as_uri(), "languageId": "plaintext",
                                                            "version": 1, "text": f"{title_line}\n{malformed}\n"}})
    (line,) = client.diagnostics_for(registry.as_uri())
    assert line["code"] == "policy/registry"
    assert line["range"] == {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": units(malformed)}}


@pytest.mark.parametrize(
    ("typed", "offered"),
    [
        ("  # see a.t", False),  # in a comment
        ('  requires a.two else "no a.t', False),  # in a message still open
        ('  cite S7 "§1.1: #3 of a.t', False),  # a `#` in an open string: still the string
        ('rule a.three "Three, # not a comment" requires a.t', True),  # after a closed string: code again
        ("  requires a.t", True),
    ],
)
def test_completion_offers_nothing_in_a_comment_or_an_open_string(
    client: LspClient, tmp_path: Path, typed: str, offered: bool
) -> None:
    """Hover and definition skip comments and titles; completion offered every keyword and name
    there too, in the way of the analyst writing a sentence."""
    folder = policy_set(tmp_path / "complete", {"p.policy": HOVERED + typed + "\n"})
    path = folder / "p.policy"
    open_file(client, path)
    line = HOVERED.count("\n")
    where = {"textDocument": {"uri": path.as_uri()}, "position": {"line": line, "character": units(typed)}}
    labels = {item["label"] for item in client.request("textDocument/completion", where)["items"]}
    # keywords are offered whatever the file's state (a line being typed rarely parses)
    assert labels >= {"requires", "cite"} if offered else labels == set()
