"""Policy text -> AST, with syntax errors an analyst can act on.

The grammar ships as package data (`carepolicy.grammar/policy.lark`) and is loaded through the
import system, so it works from a wheel, an editable install or a zip. The LALR parser is loaded
once per process from the parse tables shipped beside the grammar (grammar_tables.py says why not
from Lark's cache).
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import gc
import re
from collections.abc import Iterator

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ..diagnostics import Diagnostic, PolicyError, did_you_mean
from ..source import SourceFile, Span
from .analyst_hints import character_help, quoted_text_help, token_help
from .grammar_tables import parser
from .limits import check_tree
from .parse_hints import citation_syntax, glued_keyword, lookalike_help, written_elsewhere
from .recovery import declared_names, parse_recovering
from .syntax import PolicyFile
from .to_ast import to_ast

# Terminal names as an analyst would say them.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "STRING": 'a quoted title such as "Consent documented"',
    "DATE": "a date such as 2025-01-01",
    "MONTH": "a month such as 2025-03",
    "MINUTES": "minutes such as 20 min",
    "CALENDAR_SPAN": "a span such as 12 months",
    "MONEY": "money such as $60.49",
    "PERCENT": "a percentage such as 20%",
    "CODE": "a billing code such as 99490",
    "NUMBER": "a number",
    "INT": "a whole number",
    "RANGE": "`..`",
    "COMP_OP": "a comparison (=, !=, <, <=, >, >=)",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*` or `/`",
    "AGGREGATE": "`count`, `sum` or `any`",
    "BOUNDARY": "`start` or `end`",
    "SCOPE": "`practitioner` or `beneficiary`",
    "WHO": "`same`, `another` or `any`",
    "PAYER": "`medigap` or `medicaid`",
    "SHARE": "`deductible`, `coinsurance` or `all`",
    "$END": "the end of the file",
}

_DECLARATION_KEYWORDS = (
    "define",
    "rule",
    "code",
    "add-on",
    "exclusive",
    "exclusion",
    "bundling",
    "exception",
    "parameter",
    "switch",
    "cost sharing",
    "choose coding",
    "pricing",
    "rvu table",
    "precondition",
    "note",
)


@functools.cache
def _parser() -> Lark:
    return parser()


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[terminal]
    pattern = _parser().get_terminal(terminal).pattern
    return f"`{pattern.value}`" if pattern.type == "str" else terminal.lower()


def _expected(names: set[str]) -> str:
    words = sorted({_describe(n) for n in names})
    if len(words) > 8:
        keywords = [w for w in words if w.startswith("`")]
        return "one of " + ", ".join(keywords[:8]) + ", …" if keywords else "a different word here"
    return words[0] if len(words) == 1 else "one of " + ", ".join(words)


def _found(token: Token) -> str:
    if token.type == "$END":
        return "the end of the file"
    return f"`{token.value}`"


def _syntax_diagnostic(error: UnexpectedInput, source: SourceFile) -> Diagnostic:
    line, column = max(error.line, 1), max(error.column, 1)
    span = Span(source.name, line, column, line, column + 1)
    if isinstance(error, UnexpectedCharacters):
        char = source.text[error.pos_in_stream] if error.pos_in_stream is not None else "?"
        if char == '"':
            return Diagnostic(
                "parse/unterminated-string",
                "unterminated string: this `\"` has no closing `\"` on its line",
                span=span,
                help='a title or reason is one line in double quotes, e.g. "Consent documented"; '
                'write a `"` inside it as `\\"`',
            )
        return Diagnostic(
            "parse/unexpected-character",
            f"unexpected character `{char}`",
            span=span,
            help=lookalike_help(char)
            or character_help(source.text, error.pos_in_stream or 0)
            or "names use letters, digits and `_`; titles go in double quotes; comments start with `#`",
        )
    if isinstance(error, UnexpectedToken):
        early = glued_keyword(error, source, _all_keywords()) or citation_syntax(error, source)
        if early is not None:
            return early
        expected = error.accepts or error.expected
        token = error.token
        width = len(str(token.value)) if token.type != "$END" else 1
        span = Span(source.name, line, column, line, column + width)
        help_text = _hint(token, expected, source)
        if set(expected) == {"POLICY"}:  # the file's first word: no header
            help_text = _not_a_policy_file(source.name) or _NO_HEADER
        before = source.text[max(0, (token.start_pos or 0) - 1) : token.start_pos or 0]
        if token.value == "=" and before == "=":
            help_text = "use `=` for equality (not `==`) and the words `and` / `or`"
        elif token.value in {">", "<"} and before == "=":
            help_text = f"did you mean `{token.value}=`? (comparisons are written `>=` and `<=`)"
        help_text = help_text or written_elsewhere(token, set(expected), source)
        help_text = help_text or token_help(token, set(expected), source.text, _keyword_words(set(expected)))
        help_text = help_text or _did_you_mean_keyword(token, set(expected), source)
        return Diagnostic(
            "parse/unexpected-token",
            f"found {_found(token)} where {_expected(set(expected))} was expected",
            span=span,
            help=help_text,
        )
    assert isinstance(error, UnexpectedEOF)
    last = max(source.line_count, 1)
    width = len(source.line(last))
    end = Span(source.name, last, width + 1, last, width + 2)
    return Diagnostic(
        "parse/unexpected-end", f"the file ends where {_expected(set(error.expected))} was expected", span=end
    )


_NO_HEADER = 'a policy file starts with its header, `policy NAME "title"`, e.g. `policy ccm "CCM"`'


def _not_a_policy_file(name: str) -> str | None:
    """Said of a file that is not a rule file at all (`fmt policies/*` names the registry, too)."""
    if name.endswith(".policy") or name in {"-", "<stdin>"}:
        return None
    return f"`{name}` is not a rule file (they end in `.policy`): give a .policy file, or the folder that holds them"


def _hint(token: Token, expected: set[str] | frozenset[str], source: SourceFile) -> str | None:
    """Advice for the mistakes analysts make most; None when the expected list says enough."""
    value = str(token.value)
    if token.type == "NUMBER" and "MINUTES" in expected:
        return f"give minutes a unit, e.g. `{value} min`"
    if token.type == "MONEY" and "." in value and len(value.split(".")[1]) == 1:
        return f"write money with cents, e.g. `{value}0`"
    if token.type == "COMP_OP" and value == "=" and "COMP_OP" not in expected:
        return 'a definition is written `define name "title" cite S1 "where" = expression`'
    if "STRING" in expected and token.type == "NAME":
        return quoted_text_help(source.text, token.start_pos or 0) or (
            'every declaration needs a title in double quotes after its id, e.g. rule ccm.consent "Consent documented"'
        )
    if token.type == "NAME" and _after_aggregate(source.text, token.start_pos or 0):
        # `count distict LIST...`, `count distinct where ...`: a word was read as the list's name
        return ("an aggregate names its list first: `count chronic_conditions where ...`, or with "
                "`distinct` a field of it: `count distinct chronic_conditions.icd10 where ...`")
    if token.type == "$END":
        return "the last declaration is incomplete"
    if value in {"==", "&&", "||"}:
        return "use `=` for equality and the words `and` / `or`"
    if value in _DECLARATION_KEYWORDS or value in {"cost", "choose", "rvu"}:
        return "the declaration above is incomplete; finish it before starting a new one"
    return None


# An aggregate word, then one word that was taken for the list's name (the text ends there).
_AFTER_AGGREGATE = re.compile(r"(?<![\w.])(?:count|sum|any)(?:\s+distinct)?\s+\w+\s+$")


def _after_aggregate(text: str, at: int) -> bool:
    """Whether the text before `at` ends in an aggregate and one word, outside a comment."""
    found = _AFTER_AGGREGATE.search(text, 0, at)
    return found is not None and "#" not in text[text.rfind("\n", 0, found.start()) + 1 : found.start()]


@functools.cache
def _all_keywords() -> frozenset[str]:
    """Every keyword of the grammar (`value`, `requires`, `add-on`...)."""
    return frozenset(
        t.pattern.value
        for t in _parser().terminals
        if t.pattern.type == "str" and t.pattern.value.replace("-", "").isalpha()
    )


# Units written after a number, and the word each misspelling most likely meant.
_UNIT_WORDS = ("min", "minute", "minutes", "month", "months", "year", "years")


def _keyword_words(expected: set[str]) -> list[str]:
    """The keywords (plain words) among the terminals the parser would have accepted."""
    words = []
    for terminal in expected - {"$END"}:
        pattern = _parser().get_terminal(terminal).pattern
        if pattern.type == "str" and pattern.value.replace("-", "").isalpha():
            words.append(pattern.value)
        elif pattern.type == "re" and terminal not in _TERMINAL_WORDS:
            words.extend(w for w in pattern.value.split("(", 1)[-1].split(")")[0].split("|") if w.isalpha())
        elif terminal in {"AGGREGATE", "BOUNDARY", "SCOPE", "WHO", "PAYER", "SHARE"}:
            words.extend(pattern.value.split("(", 1)[-1].split(")")[0].split("|"))
    return words


def _did_you_mean_keyword(token: Token, expected: set[str], source: SourceFile) -> str | None:
    """`efective` -> `effective`, `require` -> `requires`, `20 mins` -> `20 min`."""
    if token.type != "NAME" or len(str(token.value)) < 3:
        return None
    value = str(token.value)
    before = source.text[: token.start_pos or 0].rstrip(" \t")
    number = before.split()[-1] if before.split() else ""
    if number.isdigit():
        unit = difflib.get_close_matches(value, _UNIT_WORDS, n=1, cutoff=0.6)
        if unit:
            return f"did you mean `{number} {unit[0]}`?"
    return did_you_mean(value, _keyword_words(expected) + list(_DECLARATION_KEYWORDS))


def _parse_tree(text: str) -> Tree[Token]:
    return _parser().parse(text)


def parse_partial(text: str, name: str) -> tuple[PolicyFile | None, tuple[Diagnostic, ...], frozenset[str]]:
    """Every problem of one file, the declarations that parsed, and the names of those that did not.

    A byte-order mark at the start is dropped (editors add it, and it is invisible); the AST is
    None only when the file's header (`policy ...`) does not parse.
    """
    text = text.removeprefix("\ufeff")
    lone = _LONE_CR.search(text)
    if lone is not None:  # the whole file is left out: read on, a comment would hide every line after it
        return None, (_lone_cr_diagnostic(text, lone.start(), name),), declared_names(text.replace("\r", "\n"))
    with _no_cycle_collection():
        recovered = parse_recovering(_parse_tree, _syntax_diagnostic, SourceFile(name, text))
        if recovered.tree is None:  # the header did not parse: the whole file is left out
            return None, recovered.errors, declared_names(text)
        beyond_limits = check_tree(recovered.tree, name)  # before any recursive walk (limits.py)
        if any(d.code != "parse/invalid-date" for d in beyond_limits):  # the whole file is left out
            return None, (*recovered.errors, *beyond_limits), declared_names(text)
        policy, problems = to_ast(recovered.tree, name)  # an impossible date is read as the nearest real one
    problems = [*beyond_limits, *problems]
    return policy, (*recovered.errors, *problems), recovered.blanked_names


# a carriage return not followed by a line feed: the line end of classic Mac OS (CR alone). Lines
# end at LF (the grammar's, and CRLF's), so such a file is one line, and its first comment runs to
# its end: every declaration after it vanished without a word
_LONE_CR = re.compile("\r(?!\n)")


def _lone_cr_diagnostic(text: str, at: int, name: str) -> Diagnostic:
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return Diagnostic(
        "parse/line-ends",
        "a carriage return that does not end a line with a line feed (the line ends of classic Mac OS); "
        "lines of a rule file end with LF or CRLF, so the file is left out",
        span=Span(name, line, column, line, column + 1),
        help="save the file with LF (or CRLF) line ends: most editors have a setting for line endings",
    )


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cycle collector while a file is parsed and turned into an AST.

    Parsing makes hundreds of thousands of small objects and no garbage cycles worth collecting
    now; the collector, run again and again as they are allocated, took 40% of the time of a
    10,000-rule file (4.1 s of CPU for Lark's parse with it, 2.5 s without; to_ast 2.4 s and 1.5 s).
    Reference counting still frees everything; the collector resumes (if it was on) right after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_text(text: str, name: str) -> PolicyFile:
    """Parse one policy file's text; raises PolicyError with every problem found."""
    policy, problems, _blanked = parse_partial(text, name)
    if problems or policy is None:
        raise PolicyError(problems)
    return policy
