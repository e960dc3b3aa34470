"""The Pygments lexer of rule files: registered by the package, words from the grammar, no error tokens."""

from __future__ import annotations

from importlib.resources import files

from carepolicy.grammar.keywords import declaration_keywords, keywords
from carepolicy.grammar.pygments_lexer import CarePolicyLexer
from hypothesis import given, settings
from hypothesis import strategies as st
from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
from pygments.token import Error, Keyword, Name, Number, String, Token


def _shipped_policies() -> list[tuple[str, str]]:
    folder = files("carepolicy.policies")
    return [(e.name, e.read_text(encoding="utf-8")) for e in folder.iterdir() if e.name.endswith(".policy")]


def test_the_package_registers_the_lexer_through_the_entry_point() -> None:
    # found by name and by file name only through the `pygments.lexers` entry point in pyproject.toml
    assert isinstance(get_lexer_by_name("carepolicy"), CarePolicyLexer)
    assert isinstance(get_lexer_for_filename("ccm.policy"), CarePolicyLexer)


def test_every_shipped_policy_tokenises_without_an_error_token() -> None:
    shipped = _shipped_policies()
    assert len(shipped) >= 10
    lexer = CarePolicyLexer()
    for name, text in shipped:
        errors = [value for kind, value in lexer.get_tokens(text) if kind in Error]
        assert not errors, f"{name}: error tokens {errors[:5]}"
        plain = [value for kind, value in lexer.get_tokens(text) if kind is Token.Text and value.strip()]
        assert not plain, f"{name}: text the lexer does not recognise: {plain[:5]}"


def test_keywords_from_the_grammar_are_keyword_tokens() -> None:
    text = 'rule ccm.patient "CCM patient"\n  cite S2 "§2.1"\n  requires ccm.consent else "no consent"\n'
    tokens = [(kind, value) for kind, value in CarePolicyLexer().get_tokens(text) if value.strip()]
    assert (Keyword.Declaration, "rule") in tokens
    assert (Name.Function, "ccm.patient") in tokens
    assert (Keyword, "requires") in tokens
    assert (Keyword, "cite") in tokens
    assert (String.Double, '"CCM patient"') in tokens
    assert {"rule", "requires", "cite"} <= set(keywords())
    assert "rule" in declaration_keywords()


def test_every_grammar_keyword_is_highlighted_as_a_keyword() -> None:
    lexer = CarePolicyLexer()
    heads = set(declaration_keywords())
    for word in keywords():
        line = f"{word} x\n" if word in heads else f"x = {word}\n"  # a declaration word starts a line
        kinds = [kind for kind, value in lexer.get_tokens(line) if value == word]
        assert kinds, word
        assert kinds[0] in Keyword or kinds[0] in Token.Operator.Word, (word, kinds)


def test_values_have_their_own_token_kinds() -> None:
    tokens = {value: kind for kind, value in CarePolicyLexer().get_tokens(
        "x = 2024-01-01 2024-03 20 min $12.50 20% 99490 G0556 # note\n")}
    assert tokens["2024-01-01"] in Number
    assert tokens["2024-03"] in Number
    assert tokens["20 min"] in Number
    assert tokens["$12.50"] in Number
    assert tokens["20%"] in Number
    assert tokens["99490"] is Name.Constant
    assert tokens["G0556"] is Name.Constant
    assert tokens["# note"] in Token.Comment


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_any_text_tokenises_back_to_itself(text: str) -> None:
    # outside text (an editor's buffer, a docs block): the lexer never fails and loses nothing
    lexer = CarePolicyLexer(stripnl=False, ensurenl=False)
    # (Pygments drops one byte-order mark at the start of the text, as the policy parser skips it.)
    expected = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    assert "".join(value for _, value in lexer.get_tokens(text)) == expected
