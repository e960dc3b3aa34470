"""`batch` intake at the edges of a file: a YAML document over a record's size, refused before it
is parsed; an input without records; the bytes old tools leave at the end of a file (a DOS
end-of-file byte, NUL padding). Each has one exact outcome, counted as what it is.
"""

from __future__ import annotations

import pytest
from carepolicy.engine.facts import yaml_records
from carepolicy.engine.facts.limits import MAX_RECORD_BYTES
from carepolicy.engine.facts.reader import Bundle, BundleError

from tests.intake_data import BASE, read

_TOO_LARGE = (f"a YAML document of more than {MAX_RECORD_BYTES:,} bytes; fact files allow at most "
              f"{MAX_RECORD_BYTES:,} per record")


def _padded(items: int) -> str:
    """BASE with a list of `items` long texts: a mapping of more than a record's bytes."""
    return BASE + "notes:\n" + "".join(f"  - {'x' * 90}\n" for _ in range(items))


@pytest.mark.parametrize(("before", "line"), [("", 1), ("---\n", 1), ("# a comment\n%YAML 1.2\n---\n", 1),
                                             (BASE + "---\n", BASE.count("\n") + 1)])
def test_a_yaml_mapping_over_a_records_size_is_refused_before_it_is_parsed(monkeypatch: pytest.MonkeyPatch,
                                                                           before: str, line: int) -> None:
    """A 60 MB mapping was parsed whole (5.9 s, 640 MB) before its size was looked at; the error is
    the same, from the bytes alone, and the documents around it are read."""
    parsed: list[int] = []
    loader = yaml_records.load_document

    def load(text: str) -> object:
        parsed.append(len(text))
        return loader(text)

    monkeypatch.setattr(yaml_records, "load_document", load)
    records = read(before + _padded(MAX_RECORD_BYTES // 90) + "---\n" + BASE.replace("march", "april"))
    error = records[-2]
    assert isinstance(error, BundleError)
    [diag] = error.diagnostics
    assert (diag.code, diag.message) == ("facts/limit", _TOO_LARGE)
    assert diag.span is not None
    assert diag.span.line == line  # where the document starts
    assert isinstance(records[-1], Bundle)
    assert records[-1].id == "april"
    assert all(size < MAX_RECORD_BYTES for size in parsed)  # the large document was never parsed


def test_a_yaml_list_over_a_records_size_is_still_read_as_its_bundles() -> None:
    """A list of bundles may be as large as a document (its items are the records)."""
    item = "- " + BASE.replace("\n", "\n  ").rstrip() + "\n"
    count = MAX_RECORD_BYTES // len(item) + 2
    records = read(item * count)
    assert len(records) == count
    assert all(isinstance(record, Bundle) for record in records)
