"""Policy text in the one canonical layout: `carepolicy fmt` and the language server's formatting.

The layout is read off Lark's parse tree, never off a list of declarations or clauses, so a
declaration or clause added to `grammar/policy.lark` is laid out like the others with no change
here (docs/guides/formatting.md states the rules; tests/test_format.py proves them on every
shipped policy and on policies generated from the grammar):

- every child of the file's root (the `policy` header, each declaration) starts at column 0, with
  one blank line before it;
- its *head* runs to its title (the first quoted string that is its own child: `rule x "title"`);
  after that each child subtree is a *clause* on its own line, indented two spaces, and so is a
  keyword of the declaration's own (`= expr` of a `define`), together with what follows it up to
  the next clause;
- inside a line tokens are separated by one space, except: none before `,` `:` `)` `}` `.`, none after
  `(` `{` `.`, none between a name and the `(` of a call, none after a prefix operator (unary
  minus), and `..` touches a date or code on either side (`2025-01-01..`, `99202..99205`);
- a line break the author made inside a clause (or a head) is kept (one is never added): the
  continuation line keeps the author's extra indentation relative to its clause, but at least four
  spaces in all, two more for each bracket still open;
- comments are kept, in order: an end-of-line comment stays at the end of its line (two spaces
  before the `#`), a comment on its own line goes just before what follows it, at its indentation
  (at the end of the file: as a clause), or at column 0 if written there;
- one blank line is kept wherever the author had one or more; none at the start, one newline at
  the end, no trailing spaces, `\\n` line ends, no byte-order mark. Tokens are kept as written.

Whitespace means nothing to the grammar (it ignores spaces, line ends and comments), so the layout
cannot change what a file says; `format_text` still parses its own output and compares the syntax
trees (spans aside) before returning it, so a formatter bug gives an error, never a changed rule.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
from collections.abc import Iterator
from dataclasses import dataclass

from lark import Lark, Token, Tree

from ..diagnostics import Diagnostic, PolicyError
from ..source import Span
from .grammar_tables import parser
from .parse import parse_partial

_OPENERS = frozenset("([{")
_CLOSERS = frozenset(")]}")
_NO_SPACE_BEFORE = frozenset({",", ")", "]", "}", ".", ":", ";"})
_NO_SPACE_AFTER = frozenset({"(", "[", "{", "."})
_RANGE = ".."
CLAUSE_INDENT = 2
CONTINUATION_INDENT = 2  # at least, beyond the clause's (or declaration's) own indentation
BRACKET_INDENT = 2  # at least, for each bracket still open


@dataclass(frozen=True, slots=True)
class _Layout:
    """What the tree says about the tokens: where declarations and clauses start, which are prefix operators."""

    declarations: frozenset[int]  # start offsets of tokens that begin a declaration (or the header)
    clauses: frozenset[int]  # ... that begin a clause
    prefixes: frozenset[int]  # ... that are prefix operators: punctuation the tree dropped, beginning a subtree
    kept: frozenset[int]  # ... that the tree kept (names, values), as against keywords and punctuation


@functools.cache
def _lark() -> Lark:
    return parser()


def format_text(text: str, name: str) -> str:
    """`text` (a policy file called `name`) in the canonical layout.

    Raises PolicyError with the file's diagnostics when it does not parse; the text is then left
    for the caller to keep as it was.
    """
    text = text.removeprefix("\ufeff")
    before = _parsed(text, name)
    formatted = layout(text, _lark())
    if without_spans(_parsed(formatted, name)) != without_spans(before):  # pragma: no cover - a formatter bug
        span = Span(name, 1, 1, 1, 2)
        raise PolicyError(
            [Diagnostic("format/changed-meaning", "formatting this file would change what it says", span=span)]
        )
    return formatted


def _parsed(text: str, name: str) -> object:
    policy, problems, _blanked = parse_partial(text, name)
    errors = [d for d in problems if d.is_error]
    if policy is None or errors:
        raise PolicyError(errors or problems)
    return policy


def without_spans(node: object) -> object:
    """An AST node as nested tuples, with every place (Span) left out: equal for equal meaning."""
    if isinstance(node, Span):
        return None
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        values = tuple((f.name, without_spans(getattr(node, f.name))) for f in dataclasses.fields(node))
        return (type(node).__name__, values)
    if isinstance(node, tuple | list):
        return tuple(without_spans(item) for item in node)
    return node


def layout(text: str, grammar: Lark) -> str:
    """`text` laid out by the parse tree of `grammar` (any LALR grammar with positions kept).

    Raises Lark's UnexpectedInput when the text does not parse; `format_text` checks first.
    """
    tokens, tree = _tokens_and_tree(text, grammar)
    return _render(text, tokens, _layout(tree, tokens))


def comments(text: str, grammar: Lark | None = None) -> list[str]:
    """The comments of a text that parses, in order, each without the spaces around it."""
    tokens, _tree = _tokens_and_tree(text, grammar or _lark())
    found: list[str] = []
    previous = 0
    for token in [*tokens, None]:
        end = len(text) if token is None else int(token.start_pos or 0)
        found += [line[line.index("#") :].strip() for line in text[previous:end].split("\n") if "#" in line]
        previous = int(token.end_pos or 0) if token is not None else end
    return found


def _tokens_and_tree(text: str, grammar: Lark) -> tuple[list[Token], Tree[Token]]:
    """Every token as the lexer read it (keywords too, which the tree leaves out), and the tree."""
    interactive = grammar.parse_interactive(text)
    tokens = list(interactive.iter_parse())
    tree = interactive.feed_eof(tokens[-1] if tokens else None)  # type: ignore[no-untyped-call]  # lark leaves it untyped
    assert isinstance(tree, Tree)
    return tokens, tree


def _subtrees(tree: Tree[Token]) -> Iterator[Tree[Token]]:
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(child for child in node.children if isinstance(child, Tree))


def _start(tree: Tree[Token]) -> int:
    return int(tree.meta.start_pos)


def _layout(tree: Tree[Token], tokens: list[Token]) -> _Layout:
    offsets = [int(token.start_pos or 0) for token in tokens]
    starts = {_start(t) for t in _subtrees(tree) if not t.meta.empty}
    kept = {int(c.start_pos or 0) for t in _subtrees(tree) for c in t.children if isinstance(c, Token)}
    prefixes = frozenset(
        at
        for token in tokens
        if (at := int(token.start_pos or 0)) in starts
        and at not in kept
        and not _is_word(token)
        and token not in _OPENERS
    )
    declarations: set[int] = set()
    clauses: set[int] = set()
    for child in tree.children:
        if isinstance(child, Token):
            declarations.add(int(child.start_pos or 0))
        elif isinstance(child, Tree) and not child.meta.empty:
            declarations.add(_start(child))
            low = bisect.bisect_left(offsets, _start(child))
            high = bisect.bisect_left(offsets, int(child.meta.end_pos))
            clauses.update(_clause_starts(child, tokens[low:high]))
    return _Layout(frozenset(declarations), frozenset(clauses), prefixes, frozenset(kept))


def _clause_starts(declaration: Tree[Token], tokens: list[Token]) -> Iterator[int]:
    """Where the clauses of one declaration start (see the module's docstring); `tokens` are its own."""
    kept = {int(c.start_pos or 0) for c in declaration.children if isinstance(c, Token)}
    parts = [c for c in declaration.children if isinstance(c, Tree) and not c.meta.empty]
    first, end = _start(declaration), int(declaration.meta.end_pos)
    # The declaration's own items in order: ("tree", start) for a child subtree, ("named", start)
    # for a token the tree kept, ("keyword", start) for one it dropped (a keyword or punctuation).
    items: list[tuple[str, int]] = []
    part = 0
    for token in tokens:
        at = int(token.start_pos or 0)
        if at < first or at >= end:
            continue
        while part < len(parts) and int(parts[part].meta.end_pos) <= at:
            part += 1
        if part < len(parts) and _start(parts[part]) <= at:
            if not items or items[-1] != ("tree", _start(parts[part])):
                items.append(("tree", _start(parts[part])))
        else:
            items.append(("named" if at in kept else "keyword", at))
    strings = {int(t.start_pos or 0) for t in tokens if t.type == "STRING"}
    titles = [i for i, (kind, at) in enumerate(items) if kind == "named" and at in strings]
    head_end = titles[0] if titles else 0
    previous = "named"
    for index, (kind, at) in enumerate(items):
        if index <= head_end:
            previous = kind
            continue
        if kind == "tree":
            starts = previous != "keyword"
            previous = "clause" if starts else "operand"
        elif kind == "keyword":
            starts = previous in ("clause", "named")
            previous = kind
        else:
            starts, previous = False, kind
        if starts:
            yield at


def _is_word(token: Token) -> bool:
    return token[:1].isalpha() or token[:1] == "_"


def _spaced(left: Token, right: Token, layout: _Layout) -> bool:
    """Whether one space separates two tokens on the same line."""
    if right in _NO_SPACE_BEFORE or left in _NO_SPACE_AFTER:
        return False
    if right == "(" and left.type == "NAME":  # a call: `max(a, b)`
        return False
    if left == _RANGE:  # `2025-01-01..2025-12-31`, `99202..99205`, but `effective ..2019-12-31`
        return int(right.start_pos or 0) not in layout.kept
    if right == _RANGE:
        return int(left.start_pos or 0) not in layout.kept
    return int(left.start_pos or 0) not in layout.prefixes


class _Writer:
    """The output lines, with the blank-line rule: one blank where the author had one or more."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.current: str | None = None
        self.blank = False  # a blank line is due before the next line

    def flush(self) -> None:
        if self.current is not None:
            self.lines.append(self.current.rstrip())
            self.current = None

    def start_line(self, indent: str, text: str) -> None:
        self.flush()
        if self.blank and self.lines:
            self.lines.append("")
        self.blank = False
        self.current = indent + text

    def append(self, text: str, space: bool) -> None:
        assert self.current is not None
        self.current += (" " if space else "") + text

    def end_of_line_comment(self, comment: str) -> None:
        if self.current is None:
            self.start_line("", comment)
        else:
            self.current += "  " + comment

    def text(self) -> str:
        self.flush()
        return "\n".join(self.lines) + "\n"


def _render(text: str, tokens: list[Token], layout: _Layout) -> str:
    out = _Writer()
    previous: Token | None = None
    depth = 0  # brackets open in the current head or clause
    base, written_at = 0, 0  # the current head's or clause's indentation: canonical, and as written
    for token in tokens:
        at = int(token.start_pos or 0)
        gap = text[int(previous.end_pos or 0) if previous is not None else 0 : at]
        starts_group = at in layout.declarations or at in layout.clauses
        if starts_group:
            depth, written_at = 0, (token.column or 1) - 1
            base = 0 if at in layout.declarations else CLAUSE_INDENT
            indent = base
        else:  # a continuation line keeps the author's extra indentation, if it is at least the least
            least = CONTINUATION_INDENT + BRACKET_INDENT * max(0, depth - (1 if token in _CLOSERS else 0))
            # deeper than a clause also in a declaration's head, or its title would read as a clause
            indent = max(CLAUSE_INDENT + least, base + (token.column or 1) - 1 - written_at)
        if previous is not None and at in layout.declarations:
            out.blank = True  # before the declaration's leading comments, if it has any
        broke = _comments_and_blanks(out, gap, indent, first=previous is None)
        if previous is None or broke or starts_group:
            out.start_line(" " * indent, str(token))
        else:
            out.append(str(token), _spaced(previous, token, layout))
        depth += 1 if token in _OPENERS else -1 if token in _CLOSERS and depth else 0
        previous = token
    # Comments after the last token belong to the last declaration: indented as its clauses (unless
    # written at column 0, as any comment may be).
    rest = text[int(previous.end_pos or 0) if previous is not None else 0 :]
    _comments_and_blanks(out, rest, CLAUSE_INDENT, first=False)
    return out.text()


def _comments_and_blanks(out: _Writer, gap: str, indent: int, *, first: bool) -> bool:
    """Write the comments of the text between two tokens; True when a line ends in it.

    The gap holds only spaces, line ends and comments (the grammar ignores nothing else). Its first
    line is the rest of the previous token's line (where an end-of-line comment is), unless the gap
    is the file's start; its last line is the start of the next token's line (or of the file's end).
    """
    lines = gap.replace("\r", "").split("\n")
    if not first and "#" in lines[0]:
        out.end_of_line_comment(lines[0][lines[0].index("#") :].rstrip())
    rest = lines if first else lines[1:]
    for index, line in enumerate(rest):
        stripped = line.strip()
        if stripped.startswith("#"):  # on its own line: at column 0 if written there, else as what follows
            out.start_line("" if line.startswith("#") else " " * indent, stripped)
        elif index < len(rest) - 1:  # a whole blank line
            out.blank = True
    return len(lines) > 1 or "#" in lines[0]
