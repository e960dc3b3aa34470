"""`check` finds everything in one run: several syntax errors per file, every file checked, and
input problems (encoding, unreadable files, impossible dates) reported with their place."""

from __future__ import annotations

import errno
import json
import re
import shutil
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from carepolicy.engine import check_policies
from carepolicy.engine.language.parse import parse_partial
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

SHIPPED = Path(str(files("carepolicy.policies")))


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "policies"
    shutil.copytree(SHIPPED, copy, ignore=shutil.ignore_patterns("tests", "examples", "__pycache__", "*.py"))
    return copy


def _edit(path: Path, pattern: str, new: str) -> None:
    """Replace the first match of a regex: the shipped text may change, its keywords will not."""
    text = path.read_text(encoding="utf-8")
    edited = re.sub(pattern, new, text, count=1, flags=re.MULTILINE)
    assert edited != text, pattern
    path.write_text(edited, encoding="utf-8")


def test_a_broken_copy_reports_errors_of_several_files_in_one_run(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    _edit(copy / "ccm.policy", r"^(\s+)requires ", r"\1require ")  # a syntax error
    _edit(copy / "ccm.policy", r"^(\s+)effective ", r"\1efective ")  # a second one, same file
    _edit(copy / "pcm.policy", r"^(\s+)requires ", r"\1requires beneficiary.part_bb, ")  # a wrong fact: semantic
    (copy / "rpm.policy").write_bytes(b"\xef\xbb\xbf" + (copy / "rpm.policy").read_bytes())  # a BOM: fine
    result = CliRunner().invoke(cli, ["check", str(copy), "--format", "json"], catch_exceptions=False)
    assert result.exit_code == ExitCode.POLICY_ERRORS
    found = [(Path(d["file"]).name, d["code"], d.get("help", "")) for d in json.loads(result.stdout)]
    assert ("ccm.policy", "parse/unexpected-token", "did you mean `requires`?") in found
    assert ("ccm.policy", "parse/unexpected-token", "did you mean `effective`?") in found
    assert any(name == "pcm.policy" and code.startswith("check/unknown") for name, code, _ in found), found
    assert not any(name == "rpm.policy" for name, _, _ in found), found
    # nothing that merely repeats the syntax errors: no unknown names of the skipped declarations
    assert not any(code == "check/unknown-name" and name != "pcm.policy" for name, code, _ in found), found


def test_an_unreadable_file_is_named_and_the_others_checked(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    (copy / "zz-broken-link.policy").symlink_to(tmp_path / "nowhere.policy")
    _result, _sources, diagnostics = check_policies(copy)
    (diag,) = diagnostics
    assert diag.code == "policy/unreadable"
    assert diag.file is not None
    assert diag.file.endswith("zz-broken-link.policy")


def test_a_link_back_to_a_folder_it_is_in_is_not_followed_again(tmp_path: Path) -> None:
    """`shared -> ..` in a policy folder read every file again under `shared/shared/...` until the
    path was too long: 41 copies of each file, every declaration a duplicate of itself (and a link
    to a folder holding much more seemed to hang). A link to another folder is still followed."""
    copy = _copy(tmp_path)
    (copy / "self").symlink_to(".")
    (copy / "more").mkdir()
    (copy / "more" / "up").symlink_to("..")
    _result, sources, diagnostics = check_policies(copy)
    assert [d for d in diagnostics if d.is_error] == []
    read = sorted(Path(name).name for name in sources if name.endswith(".policy"))
    assert read == sorted(p.name for p in SHIPPED.glob("*.policy"))  # each once


def test_a_sub_folder_that_cannot_be_read_is_named_and_the_others_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One sub-folder without read permission stopped the whole check with `cannot read the
    policies at DIR`, not saying which folder (and `fmt --check` passed it without a word)."""
    copy = _copy(tmp_path)
    (copy / "drafts").mkdir()
    shutil.move(copy / "rpm.policy", copy / "drafts" / "rpm.policy")
    _no_listing(monkeypatch, copy / "drafts")
    _edit(copy / "ccm.policy", r"^(\s+)effective ", r"\1efective ")  # an error of another file, still found
    result = CliRunner().invoke(cli, ["check", str(copy), "--format", "json"])
    assert result.exit_code == ExitCode.POLICY_ERRORS
    found = json.loads(result.stdout)
    unreadable = {
        "code": "policy/unreadable",
        "file": str(copy / "drafts"),
        "message": f"cannot read `{copy / 'drafts'}`: permission denied",
        "severity": "error",
    }
    assert unreadable in found
    # the other files are checked; what rpm.policy declares being unknown there is no news (s33)
    assert [(Path(d["file"]).name, d["code"]) for d in found] == [
        ("ccm.policy", "parse/unexpected-token"), ("drafts", "policy/unreadable")
    ]
    formatted = CliRunner().invoke(cli, ["fmt", "--check", str(copy)])
    assert (formatted.exit_code, formatted.stdout) == (2, "")
    said = f"{copy / 'drafts'}: error[policy/unreadable]: cannot read `{copy / 'drafts'}`: permission denied\n"
    assert said in formatted.stderr


def _no_listing(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """`folder` cannot be listed, as for a user without its read permission (the tests run as root)."""
    import errno
    import os

    real_iterdir, real_scandir = Path.iterdir, os.scandir

    def iterdir(self: Path) -> Any:
        if self == folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_iterdir(self)

    def scandir(path: Any = ".") -> Any:
        if Path(path) == folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    monkeypatch.setattr(os, "scandir", scandir)


def test_a_file_left_out_whole_brings_no_follow_on_errors_in_the_others(tmp_path: Path) -> None:
    """One number beyond the limits (or a broken header) leaves the whole file out; its codes,
    rules and program were then unknown in every other file: 24 follow-on errors above the one
    that mattered, which came last."""
    copy = _copy(tmp_path)
    _edit(copy / "pcm.policy", r"at most 2 units", "at most 99999999999999999999999 units")
    result = CliRunner().invoke(cli, ["check", str(copy), "--format", "json"])
    assert result.exit_code == ExitCode.POLICY_ERRORS
    assert [(Path(d["file"]).name, d["code"]) for d in json.loads(result.stdout)] == [
        ("pcm.policy", "parse/number-too-long")
    ]
    _edit(copy / "pcm.policy", r"at most 99999999999999999999999 units", "at most 2 units")
    _edit(copy / "pcm.policy", r'^policy pcm "', 'policy pcm title "')
    result = CliRunner().invoke(cli, ["check", str(copy), "--format", "json"])
    assert {Path(d["file"]).name for d in json.loads(result.stdout)} == {"pcm.policy"}


@pytest.mark.parametrize("damage", ["latin-1", "unreadable"])
def test_a_file_not_read_at_all_brings_no_follow_on_errors_in_the_others(
    tmp_path: Path, damage: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One Latin-1 byte in pcm.policy: 32 errors, 31 of them unknown names and codes in choose,
    common, concurrency and fqhc.policy (what pcm.policy declares), the cause sorted last."""
    copy = _copy(tmp_path)
    pcm = copy / "pcm.policy"
    if damage == "latin-1":
        pcm.write_bytes(pcm.read_bytes() + b"# caf\xe9\n")
    else:
        real_read_bytes = Path.read_bytes

        def read_bytes(path: Path) -> bytes:
            if path.name == "pcm.policy":
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return real_read_bytes(path)

        monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = CliRunner().invoke(cli, ["check", str(copy), "--format", "json"])
    assert result.exit_code == ExitCode.POLICY_ERRORS
    found = [(Path(d["file"]).name, d["code"]) for d in json.loads(result.stdout)]
    assert found == [("pcm.policy", "policy/not-utf8" if damage == "latin-1" else "policy/unreadable")]


def test_a_byte_that_is_not_utf8_has_its_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "a.policy").write_bytes(b'policy a "x"\n  source S1 "caf\xe9"\n')
    _result, _sources, diagnostics = check_policies(tmp_path)
    (diag,) = diagnostics
    assert diag.code == "policy/not-utf8"
    assert diag.span is not None
    assert (diag.span.line, diag.span.column) == (2, 17)


def test_a_policy_file_saved_as_utf16_says_so(tmp_path: Path) -> None:
    (tmp_path / "a.policy").write_bytes('policy a "x"\n'.encode("utf-16"))
    _result, _sources, diagnostics = check_policies(tmp_path)
    (diag,) = diagnostics
    assert diag.message == "byte `0xff` is not UTF-8: the file is UTF-16 (it starts with a UTF-16 byte-order mark)"
    assert diag.help is not None
    assert diag.help.startswith("save the file as UTF-8")


def test_after_a_byte_order_mark_the_byte_that_is_not_utf8_is_the_one_named(tmp_path: Path) -> None:
    (tmp_path / "a.policy").write_bytes(b'\xef\xbb\xbfpolicy a "x"\n  source S1 "caf\xe9"\n')
    _result, _sources, diagnostics = check_policies(tmp_path)
    (diag,) = diagnostics
    assert diag.message == "byte `0xe9` is not UTF-8"
    assert diag.span is not None
    assert (diag.span.line, diag.span.column) == (2, 17)  # the mark is no column


_HEAD = 'policy p "P"\n\ndefine a "A"\n  = true\n\ndefine b "B"\n  = true\n\n'


@pytest.mark.parametrize(
    ("broken", "tail", "place", "message"),
    [
        ("rule broken\n", "", (9, 6), "found the end of the file where"),
        ("rule broken requires (((\n", '\ndefine c "C"\n  = true\n', (9, 13), "found `requires` where"),
    ],
    ids=["at the end", "between two"],
)
def test_an_error_on_a_declarations_first_line_is_its_own_not_the_finished_one_above(
    broken: str, tail: str, place: tuple[int, int], message: str
) -> None:
    """An error right after a declaration's keyword was blamed on the declaration above ("`rule`
    starts a declaration, but the declaration above it is not finished"), which was then skipped;
    the same line failed again and the next one up was blamed: the message once per declaration
    above (15 times for one bad line added to ccm.policy), every one of them dropped unchecked."""
    policy, problems, skipped = parse_partial(_HEAD + broken + tail, "x.policy")
    ((line, column, text),) = [(p.span.line, p.span.column, p.message) for p in problems if p.span is not None]
    assert ((line, column), text[: len(message)]) == (place, message)
    assert skipped == {"broken"}
    assert policy is not None
    assert [d.id for d in policy.declarations] == ["a", "b", *(["c"] if tail else [])]


def test_a_declaration_left_unfinished_is_still_the_one_blamed() -> None:
    """The case the message is for: `and` ends `a` too early, `b` was read as the rest of it."""
    text = 'policy p "P"\n\ndefine a "A"\n  = true and\n\ndefine b "B"\n  = true\n'
    policy, problems, skipped = parse_partial(text, "x.policy")
    assert [(p.message, p.span and p.span.line) for p in problems] == [
        ("`define` starts a declaration, but the declaration above it is not finished", 6)
    ]
    assert skipped == {"a"}
    assert policy is not None
    assert [d.id for d in policy.declarations] == ["b"]


_PIECES = st.sampled_from(
    [
        'policy p "P"\n', '  source S1 "s"\n', 'rule r.a "A"\n', '  cite S1 "x"\n', "  requires ", "beneficiary.part_b",
        " and ", " = ", "20 min", "$1.00", "2025-02-30", "2025-01-01..", "  effective ", '"', "\n", "(", ")", ",",
        'code 99490 "C"\n', "require ", "=> ", "\ufeff", "#c\n", "define d \"D\" = ", "mins ",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES, max_size=30))
def test_recovery_never_fails_and_points_inside_the_text(pieces: list[str]) -> None:
    text = "".join(pieces)
    _policy, problems, _skipped = parse_partial(text, "gen.policy")
    lines = text.removeprefix("\ufeff").split("\n")
    for problem in problems:
        assert problem.span is not None
        assert 1 <= problem.span.line <= len(lines) + 1, (problem, text)
        assert problem.message


def test_switches_lists_every_switch_with_options_default_and_citation() -> None:
    result = CliRunner().invoke(cli, ["switches", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == ExitCode.OK
    records = json.loads(result.stdout)
    by_name = {r["name"]: r for r in records}
    assert by_name["complex_ccm_care_plan"]["options"] == ["relaxed", "substantial_revision"]
    assert by_name["complex_ccm_care_plan"]["default"] == "relaxed"
    # every switch cites a source, or says it is an assumption (medicare_sequestration: §7.1 has no source)
    assert all((r["cites"] or r["assumptions"]) and all(c["source_title"] for c in r["cites"]) for r in records)
    assert by_name["medicare_sequestration"]["assumptions"]
    text = CliRunner().invoke(cli, ["switches"], catch_exceptions=False).stdout
    assert "options: relaxed*, substantial_revision" in text
    assert f"{len(records)} switches" in text


def test_a_keyword_with_letters_after_it_is_named_with_the_keyword_meant() -> None:
    """`values`, `defaults`, `effectives`: the lexer reads the keyword, then a name, so the parser
    stumbles one word later; the diagnostic points at the misspelt word and names the keyword."""
    header = 'policy p "P"\n  source S1 "s"\n'
    cases = {
        'parameter f "F"\n  cite S1 "x"\n  values $1.00 effective 2025-01-01..\n': ("values", 5, 3, "value"),
        'switch c "C"\n  cite S1 "x"\n  options {a, b}\n  defaults a\n': ("defaults", 6, 3, "default"),
        'rule r.a "A"\n  cites S1 "x"\n': ("cites", 4, 3, "cite"),
        'rule r.a "A"\n  cite S1 "x"\n  effectives 2025-01-01..\n': ("effectives", 5, 3, "effective"),
    }
    for text, (word, line, column, keyword) in cases.items():
        _policy, problems, _skipped = parse_partial(header + text, "t.policy")
        (problem,) = problems
        assert problem.span is not None
        assert (problem.span.line, problem.span.column, problem.span.end_column) == (line, column, column + len(word))
        assert f"`{word}`" in problem.message, problem.message
        assert problem.help == f"did you mean `{keyword}`?", problem.help


def test_a_parameter_skipped_for_a_syntax_error_leaves_no_type_error_where_it_is_read(tmp_path: Path) -> None:
    """`conversion_factor` is read in an `if` branch; its declaration, skipped for a misspelt
    `valeu`, makes the name unknown there: that repeats the syntax error, and is left out, not
    reported as "`if` gives money on one branch and enumeration value on the other"."""
    copy = _copy(tmp_path)
    _edit(copy / "fees.policy", r"^(\s+)value \$33\.4009", r"\1valeu $33.4009")
    _result, _sources, diagnostics = check_policies(copy)
    assert [(d.code, d.help) for d in diagnostics if d.is_error] == [
        ("parse/unexpected-token", "did you mean `value`?")
    ], [d.message for d in diagnostics]


def test_a_date_or_amount_written_the_office_way_gets_the_form_the_language_takes() -> None:
    """`03/01/2026`, `2026-3-1` and `$7,060.00` are how dates and amounts are written elsewhere;
    the help gives the same value as the language writes it."""
    header = 'policy p "P"\n  source S1 "s"\nparameter f "F"\n  cite S1 "x"\n'
    cases = {
        "  value $1.00 effective 03/01/2026..\n": "write dates as YYYY-MM-DD: `2026-03-01`",
        "  value $1.00 effective 2026-3-1..\n": "write dates as YYYY-MM-DD: `2026-03-01`",
        "  value $1.00 effective 2026-01-01..12/31/2026\n": "write dates as YYYY-MM-DD: `2026-12-31`",
        "  value $7,060.00 effective 2026-01-01..\n": "write numbers without a thousands separator: `$7060.00`",
        "  value $1,234,567.5 effective 2026-01-01..\n": "write numbers without a thousands separator: `$1234567.5`",
    }
    for text, hint in cases.items():
        _policy, problems, _skipped = parse_partial(header + text, "t.policy")
        (problem,) = problems
        assert problem.span is not None
        assert problem.span.line == 5
        assert problem.help == hint, (text, problem.message, problem.help)


def test_a_citation_without_its_where_is_shown_on_its_own_line() -> None:
    """`cite S115` (or `from S116`) without the quoted place in the source: the parser only finds
    out on the next line (or two lines down, past a blank one); the error stays on the citation."""
    header = 'policy p "P"\n  source S1 "s"\n'
    cases = {
        'parameter f "F"\n  cite S1\n  value $1.00 effective 2025-01-01..\n': (4, 8, 10, "cite"),
        'parameter f "F"\n  cite S1 "x"\n  value $1 effective 2025-01-01.. from S1\n\nrule r "A"': (5, 40, 42, "from"),
        'parameter f "F"\n  cite "x"\n': (4, 8, 11, "cite"),
    }
    for text, (line, column, end, keyword) in cases.items():
        _policy, problems, _skipped = parse_partial(header + text, "t.policy")
        (problem,) = problems
        assert problem.span is not None
        assert (problem.span.line, problem.span.column, problem.span.end_column) == (line, column, end), problem
        assert problem.help is not None
        assert f'`{keyword} TAG "where in the source"`' in problem.help, problem.help


def test_a_decimal_comma_gets_the_decimal_point() -> None:
    text = 'policy p "P"\n  source S1 "s"\nrvu table t "T"\n  cite S1 "x"\n  99490 work 1,00 pe 0.81 mp 0.06\n'
    _policy, problems, _skipped = parse_partial(text, "t.policy")
    (problem,) = problems
    assert problem.help == "write decimals with a point: `1.00`", problem
