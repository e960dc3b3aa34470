"""`carepolicy fmt` on the shipped policies re-laid at random: the layout depends on the tokens and
the line breaks between them, never on the spaces, tabs, line ends or indentation around them.

Two properties (tests/test_format.py has the others: comments inserted, generated policies):
- spaces and tabs changed between the tokens of a line, every line not at column 0 shifted by the
  same amount, CRLF line ends and a missing final newline: formatting gives the shipped file back;
- line breaks added or removed between tokens, with any indentation: formatting is idempotent,
  keeps the syntax tree and every comment, and starts a line at column 0 only with a declaration
  and at two spaces only with a clause (comments aside).
"""

from __future__ import annotations

import functools
import os
import re

from carepolicy.engine.language.format import format_text
from carepolicy.engine.language.grammar_tables import parser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.strategies import shipped_policies
from tests.test_format import assert_formats_well

EXAMPLES = int(os.environ.get("CAREPOLICY_FUZZ_EXAMPLES", "0"))
_FAST = [HealthCheck.too_slow, HealthCheck.data_too_large]
_parser = functools.cache(parser)


@functools.cache
def _pieces(name: str) -> tuple[tuple[str, str], ...]:
    """(the text before a token, the token) for each token of a shipped file, and the file's tail."""
    text = shipped_policies()[name]
    pieces, previous = [], 0
    for token in _parser().parse_interactive(text).iter_parse():
        start, end = int(token.start_pos or 0), int(token.end_pos or 0)
        pieces.append((text[previous:start], text[start:end]))
        previous = end
    return (*pieces, (text[previous:], ""))


_NAMES = sorted(shipped_policies())
_SPACES = st.sampled_from([" ", "  ", "\t", " \t ", "    "])


@st.composite
def respaced(draw: st.DrawFn) -> tuple[str, str]:
    """A shipped file (name) with its spacing changed but its lines kept."""
    name = draw(st.sampled_from(_NAMES))
    out = []
    for gap, token in _pieces(name):
        if gap and "\n" not in gap and "#" not in gap:
            gap = draw(_SPACES)
        out.append(gap + token)
    shift = " " * draw(st.integers(0, 6))
    lines = "".join(out).split("\n")
    text = "\n".join(line if not line or line.startswith("#") else shift + line for line in lines)
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    return name, text


@settings(max_examples=EXAMPLES or 15, deadline=None, suppress_health_check=_FAST)
@given(respaced())
def test_spacing_tabs_indentation_and_line_ends_are_laid_out_as_the_shipped_file(case: tuple[str, str]) -> None:
    name, text = case
    assert format_text(text, name) == shipped_policies()[name]


@st.composite
def rewrapped(draw: st.DrawFn) -> str:
    """A shipped file with line breaks added and removed between tokens, at any indentation."""
    name = draw(st.sampled_from(_NAMES))
    out = []
    for index, (gap, token) in enumerate(_pieces(name)):
        if index and token and "#" not in gap:
            choice = draw(st.sampled_from(["keep", "keep", "keep", "join", "break"]))
            indent = draw(st.sampled_from(["", " ", "\t", "      ", "\t\t  "]))
            if choice == "join":
                gap = " "
            elif choice == "break":
                gap = gap.rstrip(" \t") + "\n" + indent
        out.append(gap + token)
    return "".join(out)


def _first(line: str) -> str:
    """A line's first word (`G0502` of `G0502..G0504 excludes`, `add-on`, `=`, `"` of a title)."""
    found = re.match(r"\s*([\w-]+|\S)", line)
    assert found is not None
    return found.group(1)


@functools.cache
def _first_words(indent: str) -> frozenset[str]:
    """The first words of the shipped lines at exactly this indentation: declaration keywords at
    column 0, clause keywords (and RVU rows) at two spaces."""
    return frozenset(
        _first(line)
        for text in shipped_policies().values()
        for line in text.split("\n")
        if line.startswith(indent) and line[len(indent) : len(indent) + 1] not in ("", " ", "#")
    )


@settings(max_examples=EXAMPLES or 15, deadline=None, suppress_health_check=_FAST)
@given(rewrapped())
def test_rewrapped_files_format_well_and_only_declarations_and_clauses_start_lines(text: str) -> None:
    """A line at column 0 starts a declaration and one at two spaces a clause: a continuation
    line (`"title"` of a head broken before it) is deeper, or it reads as one of them."""
    formatted = assert_formats_well(text)
    for line in formatted.split("\n"):
        for indent in ("", "  "):
            if line.startswith(indent) and line[len(indent) : len(indent) + 1] not in ("", " ", "#"):
                assert _first(line) in _first_words(indent), repr(line)
