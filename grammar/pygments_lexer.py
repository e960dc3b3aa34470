"""A Pygments lexer for rule files (`.policy`), with its words read from the Lark grammar.

Registered under the alias `carepolicy` through the `pygments.lexers` entry point (pyproject.toml),
so the docs' ```` ```carepolicy ```` blocks are highlighted by mkdocs' codehilite once the package is
installed, and `pygmentize -l carepolicy` works. The token shapes follow `grammar/textmate.py`
(the VS Code grammar), so the editor and the docs colour a rule file alike.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pygments.lexer import RegexLexer, bygroups
from pygments.token import Comment, Error, Keyword, Name, Number, Operator, Punctuation, String, Text, Whitespace

from .keywords import declaration_keywords, keywords, unit_words

_LITERALS = ("true", "false")
_WORD_OPERATORS = ("and", "or", "not", "in", "is", "otherwise")


def _words(words: tuple[str, ...] | list[str]) -> str:
    # longest first, so `add-on` wins over a shorter prefix
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


def _others() -> list[str]:
    skip = set(declaration_keywords()) | set(_LITERALS) | set(_WORD_OPERATORS)
    return [k for k in keywords() if k not in skip]


class CarePolicyLexer(RegexLexer):
    """Rule files of carepolicy: declarations, citations, dates, money, codes and expressions."""

    name = "carepolicy"
    aliases: ClassVar[list[str]] = ["carepolicy", "policy"]
    filenames: ClassVar[list[str]] = ["*.policy"]
    mimetypes: ClassVar[list[str]] = ["text/x-carepolicy"]
    url = "https://carepolicy.dev/"

    tokens: ClassVar[dict[str, list[object]]] = {
        "root": [
            (r"[ \t]+", Whitespace),
            (r"\n", Whitespace),
            (r"#.*?$", Comment.Single),
            (r'"(?:[^"\\\n]|\\.)*"', String.Double),
            (r'"(?:[^"\\\n]|\\.)*$', Error),  # an unterminated string: marked, as in the editor
            (rf"^(\s*)({_words(declaration_keywords())})(?![\w-])(?:(\s+)([A-Za-z0-9_.]+))?",
             bygroups(Whitespace, Keyword.Declaration, Whitespace, Name.Function)),  # type: ignore[no-untyped-call]
            (r"\b\d{4}-\d{2}-\d{2}\b", Number.Other),  # a date
            (r"\b\d{4}-\d{2}\b(?!-)", Number.Other),  # a month
            (rf"\b\d+\s*(?:{_words(unit_words())})\b", Number.Integer),  # minutes, months
            (r"\$\d+(?:\.\d+)?", Number.Float),  # money
            (r"\b\d+(?:\.\d+)?%", Number.Float),  # a percentage
            (r"\b(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})\b", Name.Constant),  # a billing code
            (r"\b\d+(?:\.\d+)?\b", Number),
            (rf"\b(?:{_words(_LITERALS)})\b", Keyword.Constant),
            (rf"\b(?:{_words(_WORD_OPERATORS)})\b", Operator.Word),
            (rf"(?<![\w.-])(?:{_words(_others())})(?![\w-]|\.\w)", Keyword),
            (r"\.\.|!=|<=|>=|[=<>+\-*/]", Operator),
            (r"[,{}()\[\]:;.]", Punctuation),
            (r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*", Name),
            (r".", Text),
        ],
    }
