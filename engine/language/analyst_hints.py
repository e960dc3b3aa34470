"""Help lines for the syntax mistakes an analyst makes when editing a rule file by hand: an
amount, a percentage or a range written as in an office document, a text left unquoted, a
keyword in capitals, punctuation from another language (`//`, `;`, `&&`). Each says, in the
file's own words, what to write instead. Used by parse.py; parse_hints.py holds the hints whose
cause stands before where the parser stops.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from lark import Token

_RANGE_EXAMPLE = "`2026-01-01..2026-12-31`"
# the keywords that start a declaration, whose id is followed by its title
_DECLARES = frozenset(
    {"define", "rule", "code", "add-on", "exclusive", "exclusion", "bundling", "exception", "parameter", "switch"}
    | {"cost", "choose", "pricing", "rvu", "precondition", "note", "selection", "policy"}
)
# clauses that start a line, and what a line cannot end with when the next one starts a clause
_CLAUSES = frozenset({"requires", "cite", "effective", "units", "at", "value", "program", "assumption", "when"})
_OPEN_ENDS = tuple([w] for w in ("and", "or", "not", ",", "+", "-", "*", "/", "=", "!=", ">=", "<=", ">", "<"))
# the words after which a double-quoted text stands, and what that text is
_QUOTED_AFTER = {
    "else": "the reason after `else`",
    "because": "the reason after `because`",
    "assumption": "the reason after `assumption`",
}


def _line_words_before(text: str, pos: int) -> list[str]:
    """The words of the position's line before it, its comment left out."""
    line = text[text.rfind("\n", 0, pos) + 1 : pos]
    return line.split("#")[0].split()


def quoted_text_help(text: str, pos: int) -> str | None:
    """What goes in double quotes at `pos`, said from the words before it on its line: the text of
    a citation, a reason, or a declaration's title (the only help once, also after `else`)."""
    words = _line_words_before(text, pos)
    if len(words) >= 2 and words[-2] in ("cite", "from"):
        cited = f"{words[-2]} {words[-1]}"
        return f'the text after `{cited}` goes in double quotes: {cited} "where in the source"'
    if words and words[-1] in _QUOTED_AFTER:
        return f'{_QUOTED_AFTER[words[-1]]} goes in double quotes: {words[-1]} "..."'
    return None


def character_help(text: str, pos: int) -> str | None:
    """A plain ASCII character the grammar has no place for, written where an analyst means
    something the language writes otherwise."""
    char = text[pos]
    before = text[max(0, pos - 1) : pos]
    if char == "$":
        amount = re.search(r"(\d+(?:\.\d+)?)$", text[text.rfind("\n", 0, pos) + 1 : pos])
        if amount:
            return f"write the `$` before the amount: `${amount[1]}`"
        following = re.match(r"[ \t]+(\d+(?:\.\d+)?)", text[pos + 1 :])
        if following:
            return f"write money with no space after the `$`: `${following[1]}`"
        return "money is written with `$` right before the amount, e.g. `$60.49`"
    if char == "%" and before in (" ", "\t"):
        number = re.search(r"(\d+(?:\.\d+)?)[ \t]+$", text[text.rfind("\n", 0, pos) + 1 : pos])
        return f"write a percentage with no space before the `%`: `{number[1] if number else '20'}%`"
    if char == "'":
        return 'titles, reasons and citation texts go in double quotes: "like this" (a single quote is no quote here)'
    if char == "&":
        return "write the word `and` (not `&` or `&&`)"
    if char == "|":
        return "write the word `or` (not `|` or `||`)"
    if char == ";":
        return "remove the `;`: a line ends without punctuation"
    if char == "`":
        return "write names without backticks: `ccm.patient` in the docs is ccm.patient in a rule file"
    return quoted_text_help(text, pos)


def token_help(token: Token, expected: Collection[str], text: str, keywords: Collection[str]) -> str | None:
    """A word or sign the parser did not expect, written as an analyst would elsewhere."""
    value, start = str(token.value), token.start_pos or 0
    words = _line_words_before(text, start)
    number = words[-1] if words and re.fullmatch(r"[0-9]{1,6}", words[-1]) else None
    rest_of_line = text[start + len(value) : (text.find("\n", start) + 1 or len(text) + 1) - 1]
    if "RANGE" in expected:
        if token.type == "NUMBER" and "DATE" in expected and re.fullmatch(r"\d{4}", value):
            return f"write days in full, YYYY-MM-DD: the year {value} is `{value}-01-01..{value}-12-31`"
        if token.type == "MONTH":
            return f"an interval is written with days, YYYY-MM-DD: `{value}-01` is the first day of {value}"
        if value.lower() in ("to", "-", "until", "through", "thru", "till"):
            return f"write two dots between the first and the last day: {_RANGE_EXAMPLE}"
    if value == "." and text[max(0, start - 2) : start] == "..":
        return f"a range has two dots, not three: {_RANGE_EXAMPLE}"
    if value == "from" and "EFFECTIVE" in expected:
        example = f'value $33.4009 effective {_RANGE_EXAMPLE[1:-1]} from S1 "where"'
        return f"a value gives its days before its source: `{example}`"
    if "FROM" in expected and token.type == "NAME" and words[:1] == ["value"]:
        return f'name the value\'s source with `from`: `from {value} "where in the source"`'
    if "STRING" in expected and not words:
        above = text[: text.rfind("\n", 0, start)].rsplit("\n", 1)[-1].split("#")[0].split()
        if len(above) >= 2 and above[0] in _DECLARES:
            line = " ".join(above)
            return f'a declaration\'s title goes in double quotes on its first line, after its id: {line} "title"'
    if words and words[-1].upper() in ("USD", "DOLLARS", "DOLLAR"):
        return f"money is written with `$` right before the amount: `${value}`"
    first_word = text[text.rfind("\n", 0, start) + 1 :].split(None, 1)[:1]
    above = text[: text.rfind("\n", 0, start)].rsplit("\n", 1)[-1].split("#")[0].split()
    if first_word and (first_word[0] in _CLAUSES or first_word[0] in _DECLARES) and above[-1:] in _OPEN_ENDS:
        return f"the line above ends with `{above[-1]}`: finish its condition there, or remove the `{above[-1]}`"
    if value == "-" and text[start - 1 : start].isalnum() and text[start + 1 : start + 2].isalpha():
        word = re.match(r"[\w.-]*", text[max(text.rfind(c, 0, start) for c in " \t\n") + 1 :])
        shown = word[0] if word else value
        return f"ids use letters, digits, `_` and `.`, not `-`: write `{shown.replace('-', '_')}`"
    if value == "/" and "/" in (text[start + 1 : start + 2], text[start - 1 : start]):
        return "comments start with `#`, not `//`"
    if value == ")" and "RPAR" not in expected:
        return "this `)` closes no `(`: remove it, or add the `(` it closes"
    if expected and set(expected) <= {"RPAR", "COMMA"} and "RPAR" in expected:
        opened = unclosed_parenthesis(text, start)
        if opened is not None:
            return f"the `(` at line {opened[0]}, column {opened[1]} is not closed: add `)` where its condition ends"
    if value == "." and not rest_of_line.split("#")[0].strip():
        return "remove the `.` at the end of the line: a line ends without punctuation"
    if value != value.lower() and value.lower() in keywords:
        return f"keywords are written in lower case: `{value.lower()}`"
    if number is not None and value.lower() in ("hour", "hours", "hr", "hrs", "h"):
        return f"write time in minutes: `{int(number) * 60} min`"
    if number is not None and value.lower() in ("percent", "pct", "per"):
        return f"write a percentage with `%` right after the number: `{number}%`"
    if value.upper() in ("USD", "DOLLARS", "DOLLAR"):
        return "money is written with `$` right before the amount, e.g. `$257.00`"
    return None


def unclosed_parenthesis(text: str, pos: int) -> tuple[int, int] | None:
    """Line and column of the last `(` before `pos` that no `)` closes (quoted texts and comments
    skipped), or None."""
    opened: list[int] = []
    for match in re.finditer(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|[()]', text[:pos]):
        if match[0] == "(":
            opened.append(match.start())
        elif match[0] == ")" and opened:
            opened.pop()
    if not opened:
        return None
    at = opened[-1]
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1
