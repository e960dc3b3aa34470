"""`carepolicy fmt` and the formatter (engine/language/format.py).

Properties, over every shipped policy, over policies generated from the grammar and with comments
inserted at random token boundaries: formatting is idempotent, keeps the meaning (the AST, spans
aside), keeps every comment in order, and raises nothing but diagnostics. Golden files show the
layout of representative inputs (tests/fixtures/format -> tests/golden/format; refresh as any
golden). A declaration and a clause added to a copy of the grammar are laid out like the others,
with no change to the formatter.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.main import cli
from carepolicy.engine.diagnostics import PolicyError
from carepolicy.engine.language.format import comments, format_text, layout, without_spans
from carepolicy.engine.language.grammar_tables import OPTIONS, grammar_text, parser
from carepolicy.engine.language.parse import parse_text
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lark import Lark, UnexpectedInput

from tests.fuzz.strategies import grammar_policies, shipped_policies
from tests.goldens import assert_golden

HERE = Path(__file__).resolve().parent
EXAMPLES = int(os.environ.get("CAREPOLICY_FUZZ_EXAMPLES", "0"))
_FAST = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
_parser = functools.cache(parser)


def assert_formats_well(text: str, name: str = "t.policy") -> str:
    """The properties of one text that parses; returns its formatted form."""
    formatted = format_text(text, name)
    assert format_text(formatted, name) == formatted, "formatting twice changed the text again"
    assert without_spans(parse_text(formatted, name)) == without_spans(parse_text(text, name))
    assert comments(formatted) == [c.rstrip() for c in comments(text.removeprefix("\ufeff"))]
    assert formatted.endswith("\n")
    assert not formatted.endswith("\n\n")
    assert all(line == line.rstrip() for line in formatted.split("\n"))
    return formatted


@pytest.mark.parametrize("name", sorted(shipped_policies()))
def test_every_shipped_policy_is_formatted_and_keeps_its_meaning(name: str) -> None:
    text = shipped_policies()[name]
    assert assert_formats_well(text, name) == text, f"{name} is not formatted: run `carepolicy fmt`"


@pytest.mark.parametrize("name", ["messy", "expressions", "comments"])
def test_layout_of_representative_files(name: str) -> None:
    text = (HERE / "fixtures" / "format" / f"{name}.policy").read_text(encoding="utf-8")
    assert_golden(HERE / "golden" / "format" / f"{name}.policy", assert_formats_well(text))


def test_declarations_at_column_0_clauses_at_2_continuations_deeper() -> None:
    text = (
        'policy p "P" source S1 "s"\nrule a.b "t" cite S1 "x" requires c,\n d else "m"\n'
        'define n "N" cite S1 "y" = (e\nor f)'
    )
    assert format_text(text, "t.policy") == (
        'policy p "P"\n  source S1 "s"\n\nrule a.b "t"\n  cite S1 "x"\n  requires c,\n    d else "m"\n\n'
        'define n "N"\n  cite S1 "y"\n  = (e\n      or f)\n'
    )


def test_a_declaration_head_broken_across_lines_continues_deeper_than_its_clauses() -> None:
    """The docs promise continuation lines at least four spaces in: a head's (`rule a.b` then its
    title, `add-on X to A,` then more base codes) were at two, where its clauses are, so a title
    read as a clause."""
    text = 'policy p\n"P"\nrule a.b\n"title" requires c\nadd-on 99439 to 99490,\n 99491 "t"\n  requires d\n'
    assert format_text(text, "t.policy") == (
        'policy p\n    "P"\n\nrule a.b\n    "title"\n  requires c\n\nadd-on 99439 to 99490,\n    99491 "t"\n'
        "  requires d\n"
    )
    assert_formats_well(text)
    deeper = 'policy p "P"\nrule a.b\n      "title"\n  requires c\n'  # more than the least is kept
    assert format_text(deeper, "t.policy") == 'policy p "P"\n\nrule a.b\n      "title"\n  requires c\n'


def test_a_file_that_does_not_parse_gives_its_diagnostics() -> None:
    with pytest.raises(PolicyError) as raised:
        format_text('policy p "P"\nrule a "b" requires\n', "broken.policy")
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.span is not None
    assert (diagnostic.span.source, diagnostic.span.line) == ("broken.policy", 2)


def test_a_byte_order_mark_and_crlf_line_ends_are_dropped() -> None:
    assert format_text('\ufeffpolicy p "P"\r\n# note\r\nrule a "b" requires c\r\n', "t.policy") == (
        'policy p "P"\n\n# note\nrule a "b"\n  requires c\n'
    )


# ---------------------------------------------------------------- properties


@settings(max_examples=EXAMPLES or 60, deadline=None, suppress_health_check=_FAST)
@given(grammar_policies())
def test_generated_policies_format_well_or_give_diagnostics(text: str) -> None:
    try:
        parse_text(text, "t.policy")
    except PolicyError:
        with pytest.raises(PolicyError) as raised:
            format_text(text, "t.policy")
        assert all(d.span is not None for d in raised.value.diagnostics)
        return
    assert_formats_well(text)


@st.composite
def with_comments(draw: st.DrawFn) -> str:
    """A shipped policy or one generated from the grammar, with up to 8 comments inserted between
    tokens (where the lexer put a token end), on their own line or at a line's end."""
    texts = shipped_policies()
    text = draw(st.one_of(st.sampled_from(sorted(texts)).map(texts.__getitem__), grammar_policies()))
    try:
        parse_text(text, "t.policy")
        gaps = [int(t.end_pos or 0) for t in _parser().parse_interactive(text).iter_parse()]
    except (PolicyError, UnexpectedInput):
        assume(False)  # a generated text that does not parse: the other property covers it
    for number in range(draw(st.integers(1, 8))):
        at = draw(st.sampled_from(gaps))
        comment = draw(st.sampled_from([f" # note {number}\n", f"\n# note {number}\n", f"\n   #note {number} #x\n"]))
        text = text[:at] + comment + text[at:]
        gaps = [g + len(comment) if g > at else g for g in gaps]
    return text


@settings(max_examples=EXAMPLES or 25, deadline=None, suppress_health_check=_FAST)
@given(with_comments())
def test_comments_inserted_anywhere_survive_in_order(text: str) -> None:
    formatted = assert_formats_well(text)
    inserted = r"#\s?note \d+(?: #x)?"  # the comments this test added (a shipped comment may say "note" too)
    assert [c for c in comments(formatted) if re.fullmatch(inserted, c)] == re.findall(inserted, text)


@settings(max_examples=EXAMPLES or 25, deadline=None, suppress_health_check=_FAST)
@given(st.text(st.sampled_from(list('policy rule"ab.=#\n ,()-{}requires ..2025-01-0199490')), max_size=60))
def test_any_text_gives_a_formatted_file_or_diagnostics(text: str) -> None:
    text = 'policy p "P"\n' + text
    try:
        parse_text(text, "t.policy")
    except PolicyError:
        with pytest.raises(PolicyError) as raised:
            format_text(text, "t.policy")
        assert raised.value.diagnostics
        assert all(d.span is not None for d in raised.value.diagnostics)
        return
    assert_formats_well(text)


# ---------------------------------------------------------------- generic over the grammar

_EXTENDED = grammar_text().replace(
    "| pricing_decl |", "| pricing_decl | widget_decl |"
) + '\nwidget_decl: "widget" dotted STRING (cite | gadget | "=" expr)*\ngadget: "gadget" NAME "with" expr\n'


def test_a_declaration_and_clause_new_to_the_grammar_are_laid_out_like_the_others() -> None:
    grammar = Lark(_EXTENDED, **OPTIONS)
    text = (
        'policy p "P"\nwidget w.x   "A widget" cite S1 "x" gadget g with a+1\n   and b # why\n'
        "gadget h with {1,2} = -c\n"
    )
    formatted = layout(text, grammar)
    assert formatted == (
        'policy p "P"\n\nwidget w.x "A widget"\n  cite S1 "x"\n  gadget g with a + 1\n    and b  # why\n'
        "  gadget h with {1, 2}\n  = -c\n"
    )
    assert layout(formatted, grammar) == formatted
    assert grammar.parse(formatted) == grammar.parse(text)


# ---------------------------------------------------------------- the command


def fmt(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["fmt", *args], input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_fmt_check_passes_on_the_shipped_policies() -> None:
    code, out, err = fmt("--check")
    assert (code, out) == (0, ""), out + err
    assert f"0 files would be reformatted, {len(shipped_policies())} unchanged" in err


def test_fmt_check_lists_what_would_change_and_writes_nothing(tmp_path: Path) -> None:
    messy = (HERE / "fixtures" / "format" / "messy.policy").read_text(encoding="utf-8")
    (tmp_path / "a.policy").write_text(messy, encoding="utf-8")
    code, out, _err = fmt("--check", "--policies", str(tmp_path))
    assert (code, out) == (1, f"would reformat {tmp_path / 'a.policy'}\n")
    code, out, _err = fmt("--diff", str(tmp_path / "a.policy"))
    assert code == 1
    assert '+  source S1 "A source"' in out
    assert (tmp_path / "a.policy").read_text(encoding="utf-8") == messy


def test_fmt_rewrites_files_and_leaves_a_broken_one_untouched(tmp_path: Path) -> None:
    messy = (HERE / "fixtures" / "format" / "messy.policy").read_text(encoding="utf-8")
    broken = 'policy b "B"\nrule a "b" requires\n'
    (tmp_path / "a.policy").write_text(messy, encoding="utf-8")
    (tmp_path / "b.policy").write_text(broken, encoding="utf-8")
    code, _out, err = fmt(str(tmp_path))
    assert code == 2
    assert f"{tmp_path / 'b.policy'}:2:12: error[parse/unexpected-token]" in err
    assert "1 file reformatted, 0 unchanged, 1 not formatted" in err
    assert (tmp_path / "a.policy").read_text(encoding="utf-8") == format_text(messy, "a.policy")
    assert (tmp_path / "b.policy").read_text(encoding="utf-8") == broken
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.policy", "b.policy"]  # no temporary left
    assert fmt(str(tmp_path / "a.policy")) [0] == 0


def test_fmt_reads_stdin_and_writes_stdout() -> None:
    code, out, _err = fmt("-", stdin='policy p "P" rule a "b" requires  c\n')
    assert (code, out) == (0, 'policy p "P"\n\nrule a "b"\n  requires c\n')


def test_fmt_of_a_missing_path_is_bad_input() -> None:
    code, _out, err = fmt("no/such/place.policy")
    assert code == 2
    assert "error[policy/not-found]" in err


def test_fmt_of_a_folder_without_policy_files_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a policy\n", encoding="utf-8")
    for args in ((str(tmp_path),), ("--check", "--policies", str(tmp_path))):
        code, out, err = fmt(*args)
        assert (code, out) == (2, "")
        assert err == f"carepolicy: error[policy/empty]: no .policy files under `{tmp_path}`\n"


def test_fmt_formats_the_file_a_symlink_names_and_keeps_the_link(tmp_path: Path) -> None:
    messy = (HERE / "fixtures" / "format" / "messy.policy").read_text(encoding="utf-8")
    shared = tmp_path / "shared.policy"
    shared.write_text(messy, encoding="utf-8")
    (tmp_path / "set").mkdir()
    link = tmp_path / "set" / "common.policy"
    link.symlink_to(shared)
    code, _out, err = fmt(str(tmp_path / "set"))
    assert code == 0, err
    assert link.is_symlink()
    assert shared.read_text(encoding="utf-8") == format_text(messy, str(link))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set", "shared.policy"]  # no temporary left


def test_fmt_leaves_a_read_only_file_as_it_was_and_formats_the_others(tmp_path: Path) -> None:
    """The rename fmt writes with would replace a read-only file all the same (even as a user who
    may not write it): it is reported and left, as a file that does not parse is."""
    messy = (HERE / "fixtures" / "format" / "messy.policy").read_text(encoding="utf-8")
    locked, other = tmp_path / "a.policy", tmp_path / "b.policy"
    locked.write_text(messy, encoding="utf-8")
    other.write_text(messy, encoding="utf-8")
    locked.chmod(0o444)
    code, out, err = fmt(str(tmp_path))
    assert (code, out) == (2, "")
    assert err == (
        f"{locked}: error[usage/output]: cannot write `{locked}`: the file is read-only\n"
        f"  help: make it writable (`chmod u+w {locked}`) to format it, or leave it out\n"
        "1 file reformatted, 0 unchanged, 1 not formatted (errors above)\n"
    )
    assert locked.read_text(encoding="utf-8") == messy
    assert other.read_text(encoding="utf-8") == format_text(messy, str(other))
    assert fmt("--check", str(locked))[0] == 1  # --check writes nothing: a read-only file is no problem


def test_fmt_names_a_file_it_cannot_write_and_formats_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder that cannot be written ended the run with `cannot write standard output`, the
    files after it not formatted and no summary."""
    import errno
    import tempfile

    messy = (HERE / "fixtures" / "format" / "messy.policy").read_text(encoding="utf-8")
    (tmp_path / "locked").mkdir()
    locked, other = tmp_path / "locked" / "a.policy", tmp_path / "b.policy"
    locked.write_text(messy, encoding="utf-8")
    other.write_text(messy, encoding="utf-8")
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        if kwargs.get("dir") == locked.parent:  # as for a folder its user may not write
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    code, out, err = fmt(str(locked), str(other))
    assert (code, out) == (2, "")
    assert err == (
        f"{locked}: error[usage/output]: cannot write `{locked}`: permission denied\n"
        "1 file reformatted, 0 unchanged, 1 not formatted (errors above)\n"
    )
    assert locked.read_text(encoding="utf-8") == messy
    assert other.read_text(encoding="utf-8") == format_text(messy, str(other))


def test_fmt_drops_a_byte_order_mark_and_check_lists_a_file_that_has_one(tmp_path: Path) -> None:
    """The layout has no byte-order mark, but fmt compared its text with the file's once decoding
    had dropped the mark: `--check` passed such a file and fmt left the mark in it."""
    tidy = 'policy p "P"\n\nrule a "b"\n  requires c\n'
    marked = tmp_path / "a.policy"
    marked.write_bytes(b"\xef\xbb\xbf" + tidy.encode())
    assert fmt("--check", str(marked))[:2] == (1, f"would reformat {marked}\n")
    assert marked.read_bytes() == b"\xef\xbb\xbf" + tidy.encode()
    code, _out, err = fmt(str(marked))
    assert (code, err) == (0, "1 file reformatted, 0 unchanged\n")
    assert marked.read_bytes() == tidy.encode()
    assert fmt("--check", str(marked))[:2] == (0, "")


def test_fmt_takes_a_file_named_twice_once(tmp_path: Path) -> None:
    """A file given as itself and inside its folder (or through a link) was listed, counted and
    written twice: `2 files would be reformatted` for one file."""
    messy = (HERE / "fixtures" / "format" / "messy.policy").read_text(encoding="utf-8")
    (tmp_path / "a.policy").write_text(messy, encoding="utf-8")
    (tmp_path / "link.policy").symlink_to(tmp_path / "a.policy")
    code, out, err = fmt("--check", str(tmp_path / "a.policy"), str(tmp_path))
    assert (code, out) == (1, f"would reformat {tmp_path / 'a.policy'}\n")
    assert err == "1 file would be reformatted, 0 unchanged\n"
