"""Fact intake probed as a hostile claim pipeline would: the forms that got past the first round.

Explicit YAML tags whose text is not what YAML 1.2 writes for them, document markers and directives
in a YAML stream, numbers too small to be exact, and format detection on standard input. Each has
its exact outcome: the value as written, or a clear error of its own record.
"""

from __future__ import annotations

import io
import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from carepolicy.engine.diagnostics import FactError
from carepolicy.engine.facts.reader import Bundle, BundleError, load_fact_file

from tests.intake_data import BASE, read

# --- explicit tags take only what YAML 1.2 writes ---------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "code", "message"),
    [
        # each raised ValueError, InvalidOperation or KeyError out of the reader: the file was lost
        ("minutes: 20", "minutes: !!int 1:30", "facts/number",
         "`1:30` is tagged `!!int` but is not a whole number in decimal digits"),
        ("minutes: 20", "minutes: !!int ''", "facts/number",
         "`` is tagged `!!int` but is not a whole number in decimal digits"),
        ("minutes: 20", "minutes: !!int 1e3", "facts/number",
         "`1e3` is tagged `!!int` but is not a whole number in decimal digits"),
        ("deductible_remaining: 0", "deductible_remaining: !!float 1:30", "facts/number",
         "`1:30` is tagged `!!float` but is not a number as YAML 1.2 writes one"),
        ("part_b: true", "part_b: !!bool maybe", "facts/syntax",
         "`maybe` is tagged `!!bool`, but YAML 1.2 reads only `true` and `false` as that"),
        # each was read as a value: Python's int() and Decimal() take digit groups and any digits,
        # PyYAML's !!bool takes YAML 1.1's yes/on, and !!null took any text
        ("minutes: 20", "minutes: !!int 1_000", "facts/number",
         "`1_000` is tagged `!!int` but is not a whole number in decimal digits"),
        ("minutes: 20", "minutes: !!int ٢١", "facts/number",
         "`٢١` is tagged `!!int` but is not a whole number in decimal digits"),
        ("minutes: 20", "minutes: !!int ' 21 '", "facts/number",
         "` 21 ` is tagged `!!int` but is not a whole number in decimal digits"),
        ("deductible_remaining: 0", "deductible_remaining: !!float 1_0.5", "facts/number",
         "`1_0.5` is tagged `!!float` but is not a number as YAML 1.2 writes one"),
        ("deductible_remaining: 0", "deductible_remaining: !!float ٢١.٥", "facts/number",
         "`٢١.٥` is tagged `!!float` but is not a number as YAML 1.2 writes one"),
        ("part_b: true", "part_b: !!bool yes", "facts/syntax",
         "`yes` is tagged `!!bool`, but YAML 1.2 reads only `true` and `false` as that"),
        ("part_b: true", "part_b: !!bool 'on'", "facts/syntax",
         "`on` is tagged `!!bool`, but YAML 1.2 reads only `true` and `false` as that"),
        ("medigap_plan: null", "medigap_plan: !!null G", "facts/syntax",
         "`G` is tagged `!!null`, but YAML 1.2 reads only `null`, `~` and nothing as that"),
    ],
)
def test_a_core_tag_on_text_it_does_not_take_is_an_error_of_its_document(old: str, new: str, code: str,
                                                                          message: str) -> None:
    spoilt = BASE.replace("id: march", "id: spoilt").replace(old, new)
    assert spoilt != BASE.replace("id: march", "id: spoilt")
    first, bad, last = read(f"{BASE}---\n{spoilt}---\n{BASE.replace('march', 'april')}")
    assert isinstance(first, Bundle)
    assert isinstance(last, Bundle)
    assert isinstance(bad, BundleError)
    [diag] = bad.diagnostics
    assert (diag.code, diag.message, bad.id) == (code, message, "spoilt")
    assert diag.span is not None
    assert diag.span.line == BASE.count("\n") + 1 + next(
        n for n, line in enumerate(spoilt.splitlines(), start=1) if new in line
    )


@pytest.mark.parametrize(
    ("old", "new", "path", "value"),
    [
        ("minutes: 20", "minutes: !!int '21'", ("time", 0, "minutes"), 21),
        ("minutes: 20", "minutes: !!int 025", ("time", 0, "minutes"), 25),
        ("part_b: true", "part_b: !!bool TRUE", ("beneficiary", "part_b"), True),
        ("medigap_plan: null", "medigap_plan: !!null ~", ("beneficiary", "medigap_plan"), None),
    ],
)
def test_a_core_tag_on_what_yaml_1_2_writes_for_it_is_that_value(old: str, new: str, path: tuple[str | int, ...],
                                                                  value: object) -> None:
    [result] = read(BASE.replace(old, new))
    assert isinstance(result, Bundle), result
    found: object = result.data
    for part in path:
        found = found[part]  # type: ignore[index]
    assert found == value
    assert type(found) is type(value)


# --- a YAML stream: one record per document, whatever marks its ends --------------------------------

APRIL = BASE.replace("march", "april").replace("2025-03", "2025-04")


@pytest.mark.parametrize(
    "text",
    [
        f"{BASE}...\n---\n{APRIL}...\n",  # each `...` was a document of its own: four records for two
        f"{BASE}...\n{APRIL}",  # a document may start right after `...`
        f"%YAML 1.2\n---\n{BASE}---\n{APRIL}",  # the directive was a document of its own
        f"{BASE}...\n%YAML 1.2\n# the second\n---\n{APRIL}",
        f"# a header\n---\n{BASE}---\n# nothing here\n---\n{APRIL}---\n# a trailing comment\n",
        f"{BASE}...\n%YAML 1.2\n",  # a directive with no document after it is no record
    ],
)
def test_document_ends_and_directives_give_one_record_per_document(text: str) -> None:
    records = read(text)
    assert [r.id for r in records] == ["march", "april"][: len(records)]
    assert all(isinstance(r, Bundle) for r in records), records
    assert len(records) == (1 if text.endswith("%YAML 1.2\n") else 2)


def test_a_tag_handle_declared_before_the_document_is_the_documents() -> None:
    """`%TAG !e! tag:yaml.org,2002:` names a handle for the document after it: the two were read
    apart, and the document's `!e!int` was then an undefined handle."""
    [record] = read("%TAG !e! tag:yaml.org,2002:\n---\n" + BASE.replace("minutes: 20", "minutes: !e!int 21"))
    assert isinstance(record, Bundle), record
    assert record.data["time"][0]["minutes"] == 21


@pytest.mark.parametrize("version", ["1.1", "1.0"])
def test_a_document_declaring_yaml_1_1_is_refused_not_read_as_1_2(version: str) -> None:
    """The writer of `%YAML 1.1` meant `025` as octal 21 and `yes` as true; reading it as 1.2 gives
    25 and text: neither is what was meant, so the document is an error, with its line."""
    text = f"{BASE}...\n%YAML {version}\n---\n{APRIL.replace('minutes: 20', 'minutes: 025')}"
    first, second = read(text)
    assert isinstance(first, Bundle)
    assert isinstance(second, BundleError)
    [diag] = second.diagnostics
    assert (second.id, diag.code) == ("april", "facts/syntax")
    assert diag.message.startswith(f"the document declares YAML {version}; fact files are read as YAML 1.2")
    assert diag.span is not None
    assert diag.span.line == BASE.count("\n") + 2


def test_an_unreadable_list_in_a_stream_says_its_count_is_unknown() -> None:
    listed = "".join("- " + line[0:] + "\n" if n == 0 else "  " + line + "\n"
                     for n, line in enumerate(APRIL.replace("minutes: 20", "minutes: [20").splitlines()))
    first, spoilt = read(f"{BASE}---\n{listed}")
    assert isinstance(first, Bundle)
    assert isinstance(spoilt, BundleError)
    [diag] = spoilt.diagnostics
    assert diag.message.endswith("; no bundle of this document's list was read (how many it holds is unknown)")


@pytest.mark.parametrize(
    "text",
    [
        f"# exported by an old Mac tool\n{BASE}---\n{APRIL}".replace("\n", "\r"),  # was "holds no fact bundles"
        f"{BASE}---\n{APRIL}".replace("\n", "\r"),  # one error record for two documents
        f"# first\n{BASE}".replace("\n", "\r") + f"\n---\n{APRIL}",  # a CR document before a LF one
        f"{BASE}---\r\n{APRIL}".replace("\n", "\r\n"),  # CRLF, as before
    ],
)
def test_a_carriage_return_ends_a_line_of_a_yaml_stream_as_it_does_for_yaml(text: str) -> None:
    """YAML 1.2 breaks lines at CR, LF and CRLF; the stream was split at LF only, so a document
    written with CR line ends was one line: a comment (no record at all), or with its `---` unseen,
    two documents one error record ("expected a single document in the stream")."""
    records = read(text)
    assert [r.id for r in records] == ["march", "april"]
    assert all(isinstance(r, Bundle) for r in records), records


def test_the_lines_of_a_yaml_document_with_cr_line_ends_are_counted_as_yaml_counts_them() -> None:
    spoilt = APRIL.replace("minutes: 20", "minutes: 0x14")
    first, second = read(f"{BASE}---\n{spoilt}".replace("\n", "\r"))
    assert isinstance(first, Bundle)
    assert isinstance(second, BundleError)
    [diag] = second.diagnostics
    assert (second.id, diag.code) == ("april", "facts/number")
    assert diag.span is not None
    assert diag.span.line == BASE.count("\n") + 1 + spoilt.splitlines().index(
        next(line for line in spoilt.splitlines() if "0x14" in line)) + 1


# --- numbers too close to zero to be exact ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["yaml", "jsonl"])
@pytest.mark.parametrize(("written", "shown", "places"), [("1e-9999999", "1e-9999999", "9,999,999"),
                                                          ("1e-2000000", "1e-2000000", "2,000,000"),
                                                          ("1e-400", "1e-400", "400"), ("2.5e-16", "2.5e-16", "17")])
def test_an_amount_with_more_decimal_places_than_the_limit_is_a_limit_error(fmt: str, written: str, shown: str,
                                                                           places: str) -> None:
    """`1e-9999999` as money was decided as a deductible of 0.00: as a float it is 0 (what the
    compiled validator saw), and as a Decimal its remainder in cents fell below the smallest
    Decimal and checked as 0 (`1e-400` was refused: "more than two decimal places")."""
    text = BASE.replace("deductible_remaining: 0", f"deductible_remaining: {written}")
    if fmt == "jsonl":
        text = ('{"id": "march", "month": "2025-03", "beneficiary": {"part_b": true, "dual_status": "none", '
                f'"medigap_plan": null, "deductible_remaining": {written}}}}}\n')
    [record] = read(text, fmt)
    assert isinstance(record, BundleError), record
    [diag] = record.diagnostics
    assert (diag.code, diag.fact_path) == ("facts/limit", "$.beneficiary.deductible_remaining")
    assert diag.message == f"`{shown}` has {places} decimal places; fact files allow at most 15"  # as written


@pytest.mark.parametrize("written", ["0.000000000000000000000", "0e-9999999", "1.00000000000000000000"])
def test_a_zero_or_trailing_zeros_past_the_places_limit_are_the_number_written(written: str) -> None:
    [record] = read(BASE.replace("deductible_remaining: 0", f"deductible_remaining: {written}"))
    assert isinstance(record, Bundle), record
    assert record.data["beneficiary"]["deductible_remaining"] == Decimal(written)


# --- standard input: the format detected from the first line that holds something ------------------

ONE = {"month": "2025-03", "beneficiary": {"part_b": True, "dual_status": "none", "medigap_plan": None,
                                           "deductible_remaining": 0}}


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> list[Bundle | BundleError]:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    return load_fact_file("-")


@pytest.mark.parametrize("before", ["\n", "\n  \n\t\r\n", "\ufeff\n"])
def test_blank_lines_before_json_lines_do_not_make_them_yaml(monkeypatch: pytest.MonkeyPatch, before: str) -> None:
    """A blank first line was detected as YAML: four JSON lines became one YAML error record."""
    lines = "".join(json.dumps({**ONE, "id": f"r{n}"}) + "\n" for n in range(4))
    records = _stdin(monkeypatch, (before + lines + "{broken\n").encode())
    assert [r.id for r in records] == ["r0", "r1", "r2", "r3", "#5"]
    assert [type(r) for r in records] == [Bundle] * 4 + [BundleError]
    [diag] = records[4].diagnostics
    assert diag.span is not None
    assert diag.span.line == before.count("\n") + 5


def test_a_json_list_on_one_line_longer_than_a_record_is_detected_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first line was read with a record's limit (1,000,000 bytes): a longer one-line JSON list was
    a line too long, detected as YAML, and its bundles one error record "over the record size"."""
    bundles = [{**ONE, "id": f"r{n}", "note": "x" * 1_000} for n in range(1_200)]
    data = ("\n" + json.dumps(bundles) + "\n").encode()
    assert len(data) > 1_000_000
    records = _stdin(monkeypatch, data)
    assert len(records) == 1_200
    assert all(isinstance(r, BundleError) and r.diagnostics[0].fact_path == "$.note" for r in records)


def test_a_first_json_line_over_the_record_size_is_its_own_error(monkeypatch: pytest.MonkeyPatch) -> None:
    big = json.dumps({**ONE, "id": "big", "pad": "x" * 1_000_001})
    records = _stdin(monkeypatch, (big + "\n" + json.dumps({**ONE, "id": "next"}) + "\n").encode())
    assert [type(r) for r in records] == [BundleError, Bundle]
    assert records[0].diagnostics[0].message.startswith("a line of more than 1,000,000 bytes")


# --- a YAML list: one bad item spoils only itself ---------------------------------------------------


def _listed(*documents: str) -> str:
    return "".join("- " + "\n  ".join(document.rstrip("\n").splitlines()) + "\n" for document in documents)


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("by: clinical_staff,", "by: clinical_staff, by: non_clinical_staff,", "facts/duplicate-key"),
        ("minutes: 20", "minutes: 0x14", "facts/number"),
        ("minutes: 20", "minutes: 1" + "0" * 4300, "facts/limit"),  # past int(); 31 digits: read, refused at its path
        ("minutes: 20", "minutes: !!int 1_000", "facts/number"),
        ("last_visit: 2024-11-02", "last_visit: !!timestamp 2024-11-02", "facts/syntax"),
    ],
)
def test_an_item_of_a_yaml_list_that_cannot_be_constructed_spoils_only_itself(old: str, new: str, code: str) -> None:
    """The docs say a duplicate key refuses only its bundle; in a YAML list it lost the whole file
    ("no record of the file was read"), as did a refused number or tag, while a JSON list kept its
    other bundles. Each item is now constructed on its own."""
    spoilt = BASE.replace("march", "spoilt").replace(old, new)
    assert spoilt != BASE.replace("march", "spoilt")
    first, bad, last = read(_listed(BASE, spoilt, APRIL))
    assert isinstance(first, Bundle)
    assert isinstance(last, Bundle)
    assert (last.id, last.index) == ("april", 2)
    assert isinstance(bad, BundleError)
    [diag] = bad.diagnostics
    assert (bad.id, bad.index, diag.code, diag.bundle) == ("spoilt", 1, code, "spoilt")
    assert diag.span is not None
    assert diag.span.line == BASE.count("\n") + next(n for n, line in enumerate(spoilt.splitlines(), 1) if new in line)


def test_an_alias_from_one_item_of_a_list_to_another_is_refused() -> None:
    """Each item constructed on its own must still see a node an earlier item constructed."""
    text = _listed(BASE.replace("practitioner: {", "practitioner: &p {"), APRIL.replace(
        "practitioner: {id: P1, kind: physician, new_patient: false, last_visit: 2024-11-02}", "practitioner: *p"))
    first, second = read(text)
    assert isinstance(first, Bundle)
    assert isinstance(second, BundleError)
    assert second.diagnostics[0].code == "facts/alias"


@pytest.mark.parametrize("value", ["9" * 5_000, "[" * 600 + "]" * 600])
def test_a_json_list_that_cannot_be_parsed_for_a_limit_says_its_count_is_unknown(value: str) -> None:
    """An integer too long for Python or nesting too deep to parse stops the whole list (nothing is
    parsed), as a syntax error does: the message now says so too, and recommends JSON Lines."""
    text = "[" + json.dumps(ONE) + ', {"month": "2025-03", "x": ' + value + "}]"
    with pytest.raises(FactError) as raised:
        read(text, "json")
    [diag] = raised.value.diagnostics
    assert diag.code == "facts/limit"
    assert diag.message.endswith("; no record of the file was read (how many it holds is unknown)")
    assert diag.help is not None
    assert diag.help.startswith("JSON Lines")


# --- standard input: JSON Lines whose first line is a bad record -------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        '{"id": "cut", "month": "2025-03",',  # a line cut short: a complete object never closes
        '{"id": "big", "month": "2025-03", "minutes": ' + "9" * 5_000 + "}",  # an integer over 4,300 digits
        '{"id": "\\ud800", "month": "2025-03"}',  # a lone surrogate
        '{"id": "late", "month": "2025-03"} {"x": 1}',  # two objects on one line
    ],
)
def test_json_lines_whose_first_line_is_bad_are_still_read_line_by_line(monkeypatch: pytest.MonkeyPatch,
                                                                         first: str) -> None:
    """The first line decided the format: one that did not decode as an object made the stream one
    JSON document, and its one syntax error stood for every record (3 records, 1 output)."""
    lines = "".join(json.dumps({**ONE, "id": f"r{n}"}) + "\n" for n in range(3))
    records = _stdin(monkeypatch, (first + "\n" + lines).encode())
    assert [r.id for r in records[1:]] == ["r0", "r1", "r2"]
    assert [type(r) for r in records] == [BundleError, Bundle, Bundle, Bundle]


def test_a_first_line_that_is_not_utf8_spoils_only_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = "".join(json.dumps({**ONE, "id": f"r{n}"}) + "\n" for n in range(2))
    records = _stdin(monkeypatch, b'{"id": "caf\xe9", "month": "2025-03"}\n' + lines.encode())
    assert [type(r) for r in records] == [BundleError, Bundle, Bundle]
    assert records[0].diagnostics[0].message == "not UTF-8 text (byte 12)"


def test_one_yaml_flow_mapping_and_pretty_json_are_still_detected_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lone first line that does not decode is still JSON (it may be a YAML flow mapping: the help
    says how to name the format); a JSON document opened on the first line is one record."""
    with pytest.raises(FactError) as raised:
        _stdin(monkeypatch, b"{id: a, month: 2025-03}\n")
    assert "--input-format yaml" in (raised.value.diagnostics[0].help or "")
    pretty = b'{"id": "p", "month": "2025-03",\n "beneficiary": {"part_b": true}}\n'
    [record] = _stdin(monkeypatch, pretty)
    assert record.id == "p"


@pytest.mark.parametrize(("char", "shown"), [("\x85", "U+0085"), ("\u2028", "U+2028"), ("\u2029", "U+2029")])
def test_a_yaml_1_1_line_break_in_the_text_is_refused_not_read_as_a_break(char: str, shown: str) -> None:
    """NEL, LS and PS are line breaks to YAML 1.1 (and to libyaml) and text to YAML 1.2: a name
    written `foo<NEL>bar` was read as `foo bar`, and `id: a<LS>month: 2025-04` as two keys."""
    spoilt = BASE.replace("id: march", "id: spoilt").replace("practitioner: {id: P1,", f"practitioner: {{id: P{char}1,")
    first, second = read(f"{BASE}---\n{spoilt}")
    assert isinstance(first, Bundle)
    assert isinstance(second, BundleError)
    [diag] = second.diagnostics
    assert (second.id, diag.code) == ("spoilt", "facts/syntax")
    assert diag.message.startswith(f"the text holds {shown}")
    assert diag.span is not None
    assert (diag.span.line, diag.span.column) == (BASE.count("\n") + 1 + 4, 21)  # the character itself
    [escaped] = read(BASE.replace("id: march", f'id: "march\\{"N" if char == chr(0x85) else "L"}"'))
    assert isinstance(escaped, Bundle)  # an escape in a double-quoted text is that character, as written
    assert escaped.id == "march" + ("\x85" if char == "\x85" else "\u2028")


def test_json_lines_ended_by_a_carriage_return_alone_say_so_and_that_their_count_is_unknown() -> None:
    """A JSON Lines file saved with classic Mac OS line ends (CR alone) is one line: its records are
    one error record, `invalid JSON: extra data`, which said nothing of why nor that the records
    after the first are in it; the help says both. A CR at the end of a line (CRLF) is no problem."""
    record = json.dumps(json.loads(json.dumps({"id": "a", "month": "2025-03"})))
    [error] = read("\r".join([record, record.replace('"a"', '"b"'), record.replace('"a"', '"c"')]) + "\r", "jsonl")
    assert isinstance(error, BundleError)
    [diag] = error.diagnostics
    assert (diag.code, diag.message, diag.span and diag.span.column) == ("facts/syntax", "invalid JSON: extra data",
                                                                         len(record) + 2)
    assert diag.help is not None
    assert diag.help.startswith("its lines end with a carriage return alone (classic Mac OS)")
    assert "how many it holds is unknown" in diag.help
    crlf = read("\r\n".join([record, record.replace('"a"', '"b"')]) + "\r\n", "jsonl")
    assert [type(item) for item in crlf] == [Bundle, Bundle]


def test_a_json_document_that_is_not_utf8_names_the_line_and_column(tmp_path: Path) -> None:
    """A pretty-printed JSON file of Latin-1 said only `cannot read ...: not UTF-8 text (byte 15)`,
    leaving the reader to count bytes over its lines; the place is now given (s33 CLI sweep)."""
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps({**ONE, "id": "café"}, indent=2, ensure_ascii=False).encode("latin-1"))
    with pytest.raises(FactError) as raised:
        list(load_fact_file(path))
    (diag,) = raised.value.diagnostics
    assert diag.code == "facts/io"
    assert diag.span is not None
    lines = path.read_bytes().split(b"\n")
    line = next(n for n, text in enumerate(lines, 1) if text.startswith(b'  "id": "caf\xe9"'))
    assert line > 1
    assert (diag.span.line, diag.span.column) == (line, len('  "id": "caf') + 1)
    offset = path.read_bytes().index("é".encode("latin-1"))
    assert diag.message.endswith(f"not UTF-8 text (byte {offset + 1})")
    path.write_bytes(json.dumps(ONE).encode("utf-16"))  # what the file is, not a place in it
    with pytest.raises(FactError) as raised:
        list(load_fact_file(path))
    assert raised.value.diagnostics[0].span is None
