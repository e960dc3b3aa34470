"""Text handed to `Evaluator.evaluate_text` as a `str` holding a lone surrogate (`"\\udc80"`, which a
str can hold and UTF-8 cannot write): its error names the character where the caller sees it (its
position in the string, counted in characters, its line and column, and the JSON path of the text
holding it when the record is JSON), not a byte of an encoding the caller never made."""

from __future__ import annotations

import pytest

import carepolicy
from carepolicy.evaluator import Evaluator

GOOD = '{"id": "fine-é", "month": "2025-03"}'
BAD = '{"id": "bad", "month": "2025-03", "patient": {"näme": "a\udc80b"}}'
SAID = "half of a UTF-16 pair and not a character"


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return carepolicy.load()


def test_a_json_line_names_the_character_its_line_column_and_path(evaluator: Evaluator) -> None:
    results = evaluator.evaluate_text(GOOD + "\n" + BAD + "\n", fmt="jsonl")
    assert [r.bundle_id for r in results] == ["fine-é", "#2"]  # one result per line; the good one decided
    assert results[0].ok
    (diag,) = results[1].diagnostics
    position = len(GOOD) + 1 + BAD.index("\udc80") + 1
    column = BAD.index("\udc80") + 1
    said = f"text holds `\\udc80` at character {position} of the text given (line 2, column {column}), {SAID}"
    assert diag.message == said
    assert diag.fact_path == "$.patient['näme']"
    assert diag.span is not None
    assert (diag.span.line, diag.span.column) == (2, column)
    assert "byte" not in diag.message


def test_a_json_document_names_the_character_and_the_path_with_its_index(evaluator: Evaluator) -> None:
    text = f"[{GOOD},\n {BAD}]"
    (result,) = evaluator.evaluate_text(text, fmt=None)  # the document as a whole cannot be read
    (diag,) = result.diagnostics
    position = text.index("\udc80") + 1
    assert diag.message == (
        f"cannot read `<api>`: text holds `\\udc80` at character {position} of the text given "
        f"(line 2, column {position - text.index(chr(10)) - 1}), {SAID}"
    )
    assert diag.fact_path == "$[1].patient['näme']"


def test_a_key_holding_one_is_named_and_yaml_names_line_and_column(evaluator: Evaluator) -> None:
    (result,) = evaluator.evaluate_text('{"id": "k", "month": "2025-03", "\ud800x": 1}', fmt="jsonl")
    (diag,) = result.diagnostics
    assert "`\\ud800` at character 34 of the text given (line 1, column 34)" in diag.message
    assert diag.fact_path == "$['\\\\ud800x']"  # (a key's backslash doubled, as every quoted key's is)
    first, second = evaluator.evaluate_text("id: a\nmonth: 2025-03\n---\nid: b\udfff\nmonth: 2025-03\n", fmt="yaml")
    assert first.bundle_id == "a"
    (diag,) = second.diagnostics
    assert diag.message == f"text holds `\\udfff` at character 31 of the text given (line 4, column 6), {SAID}"


def test_bytes_keep_their_byte_count(evaluator: Evaluator) -> None:
    """Bytes are what the caller gave: a byte that is not UTF-8 is still named by its byte."""
    (result,) = evaluator.evaluate_text(b'{"id": "x\xff"}\n', fmt="jsonl")
    assert result.diagnostics[0].message == "not UTF-8 text (byte 10)"
