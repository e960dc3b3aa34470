"""Syntax errors whose cause stands before where the parser stops, or that are written as they
would be elsewhere: a keyword with letters after it (`values`), a citation without its place in
the source, a date or an amount written as in an office document. Used by parse.py.
"""

from __future__ import annotations

import re
from collections.abc import Set

from lark import Token, UnexpectedToken

from ..diagnostics import Diagnostic, did_you_mean
from ..source import SourceFile, Span


def glued_keyword(error: UnexpectedToken, source: SourceFile, keywords: Set[str]) -> Diagnostic | None:
    """`values`, `defaults`, `effectives`: where only keywords may stand, the lexer reads the keyword
    and then the letters after it as a name, so the parser stumbles a word later. Point at the whole
    word instead, and name the keyword meant."""
    text = source.text
    for token in (error.token, *(error.token_history or ())[-1:]):
        start = getattr(token, "start_pos", None)
        if not isinstance(token, Token) or token.type == "$END" or not start:
            continue  # the end of the file, or a token at the very start
        if not (text[start - 1].isalpha() and str(token.value)[:1].isalnum()):
            continue  # not letters glued to the word before
        begin = start
        while begin > 0 and (text[begin - 1].isalnum() or text[begin - 1] in "_-"):
            begin -= 1
        end = start
        while end < len(text) and (text[end].isalnum() or text[end] == "_"):
            end += 1
        if text[begin:start] not in keywords:
            continue
        word = text[begin:end]
        line = text.count("\n", 0, begin) + 1
        column = begin - (text.rfind("\n", 0, begin) + 1) + 1
        return Diagnostic(
            "parse/unexpected-token",
            f"`{word}` is not a keyword (it reads as `{text[begin:start]}` followed by `{text[start:end]}`)",
            span=Span(source.name, line, column, line, column + len(word)),
            help=did_you_mean(word, keywords) or f"did you mean `{text[begin:start]}`?",
        )
    return None


def citation_syntax(error: UnexpectedToken, source: SourceFile) -> Diagnostic | None:
    """`cite S1` or `from S1` without the quoted place in the source (found only on a later line,
    so shown on the citation's), and `cite "..."` without the source's tag."""
    token, history = error.token, (error.token_history or ())[-1:]
    expected = set(error.accepts or error.expected)
    example = 'write `{0} TAG "where in the source"`, e.g. `{0} S1 "§8.1"` (TAG: a declared source)'
    if history and isinstance(history[0], Token) and "STRING" in expected and history[0].type == "NAME":
        tag = history[0]
        if token.type != "$END" and token.line == tag.line:
            return None  # on the same line: the usual message points at what stands there
        words = source.line(tag.line or 1).split("#")[0].split()
        keyword = words[-2] if len(words) >= 2 and words[-1] == tag.value else ""
        if keyword not in ("cite", "from"):
            return None
        return Diagnostic(
            "parse/unexpected-token",
            f"`{keyword} {tag.value}` needs where in the source, in double quotes, after the tag",
            span=token_span(source, tag),
            help=example.format(keyword),
        )
    before = source.text[: token.start_pos or 0].split()
    if token.type == "STRING" and "NAME" in expected and before[-1:] in (["cite"], ["from"]):
        return Diagnostic(
            "parse/unexpected-token",
            f"found `{token.value}` where the tag of a source was expected",
            span=token_span(source, token),
            help=example.format(before[-1]),
        )
    return None


def token_span(source: SourceFile, token: Token) -> Span:
    line, column = token.line or 1, token.column or 1
    return Span(source.name, line, column, line, column + len(token))


_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_SHORT_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_DECIMAL_COMMA = re.compile(r"(\$?\d+),(\d+)(?![\d,])")
_GROUPED = re.compile(r"\$?\d{1,3}(,\d{3})+(?!\d)(\.\d+)?")  # not `$32,3465`: a decimal comma


def written_elsewhere(token: Token, expected: set[str], source: SourceFile) -> str | None:
    """A date or an amount written as in an office document (`03/01/2026`, `2026-3-1`,
    `$7,060.00`, a decimal comma `1,00`): the same value as the language writes it."""
    start = token.start_pos or 0
    if "DATE" in expected:
        us, short = _US_DATE.match(source.text, start), _SHORT_DATE.match(source.text, start)
        if us:
            year, month, day = us[3], us[1], us[2]
        elif short:
            year, month, day = short[1], short[2], short[3]
        else:
            return None
        return f"write dates as YYYY-MM-DD: `{year}-{int(month):02d}-{int(day):02d}`"
    if token.value == ",":
        begin = start
        while begin > 0 and (source.text[begin - 1].isdigit() or source.text[begin - 1] in "$,."):
            begin -= 1
        grouped = _GROUPED.match(source.text, begin)
        if grouped and grouped.start() < start < grouped.end():
            return f"write numbers without a thousands separator: `{grouped[0].replace(',', '')}`"
        decimal = _DECIMAL_COMMA.match(source.text, begin)
        if decimal and decimal.end() == start + 1 + len(decimal[2]):
            return f"write decimals with a point: `{decimal[1]}.{decimal[2]}`"
    return None


# Characters an office program or a keyboard layout puts where the grammar has plain ASCII: each
# with what to type instead. Non-ASCII text is fine inside titles, reasons and comments only.
_LOOKALIKES = {
    **dict.fromkeys("“”„‟″«»", ('a typographic quote', 'straight double quotes: "like this"')),
    **dict.fromkeys("‘’‚‛′", ("a typographic apostrophe", 'straight double quotes around a title: "like this"')),
    "≥": ("a `≥` sign", "`>=`"),
    "≤": ("a `≤` sign", "`<=`"),
    "≠": ("a `≠` sign", "`!=`"),
    "×": ("a multiplication sign", "`*`"),
    "÷": ("a division sign", "`/`"),
    **dict.fromkeys("–—―−‐‑", ("a dash", "`..` between the ends of a range (`2025-01-01..2025-12-31`), `-` for minus")),
    **dict.fromkeys("\u00a0\u2007\u202f\u2009\u200a\u2002\u2003", ("an invisible no-break space", "a plain space")),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff", ("an invisible zero-width character", "nothing: delete it")),
}
# Letters of other scripts drawn as Latin ones: `pcm.cоnsent` with a Cyrillic `о` is another name.
_LATIN_TWINS = dict(
    zip(
        "аеорсухіјѕԁһӏАВЕКМНОРСТХІЈЅΑΒΕΖΗΙΚΜΝΟΡΤΥΧοικνρτυχ",
        "aeopcyxijsdhlABEKMHOPCTXIJSABEZHIKMNOPTYXoikvptux",
        strict=True,
    )
)


def lookalike_help(char: str) -> str | None:
    """What to type instead of a character that only looks like one the grammar knows, or None."""
    import unicodedata

    if char.isascii():
        return None
    if char in _LOOKALIKES:
        what, instead = _LOOKALIKES[char]
        return f"this is {what} (U+{ord(char):04X}); write {instead}"
    name = unicodedata.name(char, "")
    latin = _LATIN_TWINS.get(char) or "".join(c for c in unicodedata.normalize("NFKD", char) if c.isascii())
    if latin and (latin.isalnum() or latin == "_"):
        return (
            f"this is U+{ord(char):04X} {name}".rstrip() + f", not the letter `{latin}`: names use only the letters"
            f" a-z and A-Z, digits and `_`; type `{latin}` instead"
        )
    return None
