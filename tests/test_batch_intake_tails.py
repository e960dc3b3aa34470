"""`batch` intake at the edges of a file: a YAML document over a record's size, refused before it
is parsed; an input without records; the bytes old tools leave at the end of a file (a DOS
end-of-file byte, NUL padding). Each has one exact outcome, counted as what it is.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from carepolicy.engine.diagnostics import FactError
from carepolicy.engine.facts import yaml_records
from carepolicy.engine.facts.limits import MAX_RECORD_BYTES
from carepolicy.engine.facts.reader import Bundle, BundleError
from carepolicy.engine.facts.record_errors import STANDS_FOR_NONE
from carepolicy.engine.facts.records import iter_records, json_line_at, placed_json_lines
from click.testing import CliRunner, Result

from tests.intake_data import BASE, read
from tests.test_batch import write_jsonl
from tests.test_batch_edges import SMOKE

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


# --------------------------------------------------------------------------------------------- batch


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("claims") / "claims.jsonl", 3)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


@pytest.mark.parametrize(("name", "text"), [("empty.jsonl", b""), ("blank.jsonl", b"\n\n"),
                                            ("comments.yaml", b"# nothing yet\n---\n"), ("-", b""),
                                            ("empty.json", b""), ("blank.json", b" \n\t\r\n"),
                                            ("marked.json", b"\xef\xbb\xbf\n")])
def test_an_input_without_records_writes_no_line_and_is_said(claims: Path, tmp_path: Path, name: str,
                                                             text: bytes) -> None:
    """An empty file was one error record (`holds no fact bundles`), counted as `1 record`, and
    every record after it was one line further down than its place in the inputs. It has no
    record, so no line; stderr says so and the exit status is 2 (an empty export is seldom meant).
    An empty (or blank) `.json` file was still one error record, `invalid JSON: expecting value`
    at 1:1, blaming JSON that was never written: it holds no records, as an empty `.yaml` does."""
    empty = tmp_path / name
    if name != "-":
        empty.write_bytes(text)
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["batch", str(claims), name if name == "-" else str(empty), str(claims),
                                      *SMOKE, "--trace", "none", "-o", str(out)], input=text)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert [line["bundle_id"] for line in _lines(out)] == ["b000000", "b000001", "b000002"] * 2
    shown = "<stdin>" if name == "-" else str(empty)
    assert f"error[facts/empty]: `{shown}` holds no fact bundles" in result.stderr
    assert "6 records: 6 decisions, 0 error records (1 input file holds no records: no line is written for it)" \
        in result.stderr


@pytest.mark.parametrize(("tail", "message"), [
    (b"\x1a", "a DOS end-of-file byte (Ctrl-Z, 0x1A), not a record"),
    (b"\x1a\r\n", "a DOS end-of-file byte (Ctrl-Z, 0x1A), not a record"),
    (b"\x00" * 4096, "NUL padding (only 0x00 bytes), not a record"),
    (b"\x00" * (MAX_RECORD_BYTES + 10), "NUL padding (only 0x00 bytes), not a record"),  # was "a line of more than"
])
def test_padding_at_the_end_of_json_lines_is_one_error_record_that_says_what_it_is(
        claims: Path, tmp_path: Path, tail: bytes, message: str) -> None:
    """A DOS end-of-file byte or a preallocated file's NUL tail was `invalid JSON: expecting value`
    (or `a line of more than 1,000,000 bytes`), counted as a record. It is one error record at its
    line that says what it is, and the summary counts it as no input record."""
    padded = tmp_path / "padded.jsonl"
    padded.write_bytes(claims.read_bytes() + tail)
    out = tmp_path / "out.jsonl"
    for jobs in ("1", "2"):
        result = run("batch", str(padded), *SMOKE, "--trace", "none", "--jobs", jobs, "-o", str(out))
        assert result.exit_code == ExitCode.BAD_INPUT
        *decisions, error = _lines(out)
        assert [line["bundle_id"] for line in decisions] == ["b000000", "b000001", "b000002"]
        [diag] = error["error"]
        assert (diag["code"], diag["message"], diag["line"], error["bundle_id"]) == ("facts/syntax", message, 4, "#4")
        assert STANDS_FOR_NONE in diag["help"]
        assert ("4 output records: 3 decisions, 1 error record (1 error record stands for no input record, only "
                "padding (NUL or DOS end-of-file bytes))") in result.stderr


def test_a_dos_end_of_file_byte_right_after_a_record_is_named_in_its_error() -> None:
    [error] = read(json.dumps({"id": "a", "month": "2025-03"}) + "\x1a", "jsonl")
    assert isinstance(error, BundleError)
    [diag] = error.diagnostics
    assert diag.message == "invalid JSON: extra data"
    assert diag.help == ("the line's record ends before column 32; after it is a DOS end-of-file byte (0x1A): "
                         "remove it")


@pytest.mark.parametrize("name", ["cr.jsonl", "cr-export", "-"])
def test_json_lines_with_cr_line_ends_are_one_error_record_not_counted_as_one_record(
        claims: Path, tmp_path: Path, name: str) -> None:
    """Its help said why; but `batch` counted it as `1 record`, and without an extension (or on
    stdin) the file was detected as a JSON document: refused whole, with a help to try YAML."""
    text = claims.read_bytes().replace(b"\n", b"\r")
    source = tmp_path / name
    source.write_bytes(text)
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["batch", name if name == "-" else str(source), *SMOKE, "-o", str(out)],
                                input=text)
    assert result.exit_code == ExitCode.BAD_INPUT
    [error] = _lines(out)
    assert error["bundle_id"] == "#1"
    [diag] = error["error"]
    assert diag["message"] == "invalid JSON: extra data"
    assert diag["help"].startswith("its lines end with a carriage return alone (classic Mac OS)")
    assert ("1 output record: 0 decisions, 1 error record (1 error record stands for records that could not be "
            "told apart, how many is unknown)") in result.stderr


def _records(data: bytes, fmt: str) -> list[Bundle | BundleError]:
    return list(iter_records(io.BytesIO(data), fmt, name=f"t.{fmt}"))


def _listed_yaml(*ids: str) -> bytes:
    return "".join("- " + BASE.replace("march", name).replace("\n", "\n  ").rstrip() + "\n" for name in ids).encode()


@pytest.mark.parametrize(("fmt", "tail", "message"), [
    ("yaml", b"\x1a", "a DOS end-of-file byte (Ctrl-Z, 0x1A), not a record"),
    ("yaml", b"\x1a\r\n\n", "a DOS end-of-file byte (Ctrl-Z, 0x1A), not a record"),
    ("yaml", b"\x00" * 512, "NUL padding (only 0x00 bytes), not a record"),
    ("json", b"\x1a", "a DOS end-of-file byte (Ctrl-Z, 0x1A), not a record"),
    ("json", b"\x00" * 512, "NUL padding (only 0x00 bytes), not a record"),
])
def test_padding_after_a_json_document_or_yaml_list_spoils_none_of_its_records(fmt: str, tail: bytes,
                                                                                message: str) -> None:
    """The whole file was refused (`unacceptable character U+001A`, `invalid JSON: extra data`; no
    record read) for bytes that are no part of it; its records are read, and the padding is one
    error record after them, at its line, as in JSON Lines."""
    bundles = _listed_yaml("a", "b") if fmt == "yaml" else json.dumps([{"id": "a"}, {"id": "b"}]).encode() + b"\n"
    *records, padded = _records(bundles + tail, fmt)
    assert [record.id for record in records] == ["a", "b"]
    assert isinstance(padded, BundleError)
    assert padded.id == "#3"
    [diag] = padded.diagnostics
    assert (diag.code, diag.message) == ("facts/syntax", message)
    assert diag.span is not None
    assert (diag.span.line, diag.span.column) == (bundles.count(b"\n") + 1, 1)
    assert diag.help is not None
    assert STANDS_FOR_NONE in diag.help


def test_a_yaml_list_that_is_not_utf8_says_that_its_count_is_unknown() -> None:
    """Alone, it was one error record counted as one record (`1 record: 0 decisions, 1 error
    record`), standing for every bundle of the list; in a stream, it did not say it stood for several."""
    listed = _listed_yaml("a", "b").replace(b"id: b", b"id: b\xff")
    with pytest.raises(FactError) as alone:
        _records(listed, "yaml")
    [diag] = alone.value.diagnostics
    byte = listed.index(b"\xff") + 1
    assert diag.message == (f"not UTF-8 text (byte {byte}); no record of the file was read "
                            "(how many it holds is unknown)")
    *before, error = _records(BASE.encode() + b"---\n" + listed, "yaml")
    assert [record.id for record in before] == ["march"]
    assert isinstance(error, BundleError)
    assert error.diagnostics[0].message.endswith(
        "; no bundle of this document's list was read (how many it holds is unknown)")


def test_json_lines_joined_from_files_that_each_start_with_a_byte_order_mark_are_read(claims: Path,
                                                                                      tmp_path: Path) -> None:
    """`cat a.jsonl b.jsonl` of Windows exports: the first record of every file but the first was an
    error record (`unexpected UTF-8 BOM (decode using utf-8-sig)`). Each is read, in batch too, and
    read again from its place as it was read."""
    mark = b"\xef\xbb\xbf"
    joined = tmp_path / "joined.jsonl"
    joined.write_bytes(mark + claims.read_bytes() + mark + claims.read_bytes())
    out = tmp_path / "out.jsonl"
    result = run("batch", str(joined), *SMOKE, "--trace", "none", "-o", str(out))
    assert result.exit_code == ExitCode.OK, result.stderr
    assert [line["bundle_id"] for line in _lines(out)] == ["b000000", "b000001", "b000002"] * 2
    with joined.open("rb") as stream:
        for record, place in placed_json_lines(joined):
            assert place is not None
            assert isinstance(record, Bundle)
            assert json_line_at(stream, str(joined), place, record.index) == record


def test_a_file_cut_short_while_it_is_read_says_so_after_the_records_read(claims: Path, tmp_path: Path) -> None:
    """Truncated (or rewritten shorter) while `batch` read it, a file ended where it then ended: cut at
    a line's end, the run ended well (exit 0), one line per record of a file no longer the one
    given. The records read stand, and one error record says the file was cut, how many records
    past it unknown, in the reader and in batch's own JSON Lines splitter."""
    from carepolicy.cli.batch_input import RawRecord, read_work
    from carepolicy.cli.common import ErrorRecord

    cut_to = b"0123456789"
    for fmt in ("jsonl", "yaml"):
        path = tmp_path / f"cut.{fmt}"
        path.write_bytes(claims.read_bytes() if fmt == "jsonl" else _listed_yaml("a", "b") + b"---\n" + BASE.encode())
        size = path.stat().st_size
        records = iter_records(path)
        assert isinstance(next(records), Bundle)
        os.truncate(path, len(cut_to))
        with pytest.raises(FactError) as cut:
            list(records)
        [diag] = cut.value.diagnostics
        assert (diag.code, diag.message) == ("facts/io", f"cannot read `{path}` to its end: it was cut to "
                                             f"{len(cut_to):,} bytes while it was read ({size:,} bytes when it "
                                             "was opened); the records after that are not read, how many is unknown")
    path.write_bytes(claims.read_bytes())
    works = read_work([str(path)], "jsonl")
    assert isinstance(next(works), RawRecord)
    os.truncate(path, len(cut_to))
    *_read, error = works
    assert isinstance(error, ErrorRecord)
    assert error.bundle_id is None
    assert error.diagnostics[0].message.startswith(f"cannot read `{path}` to its end: it was cut to {len(cut_to):,}")


def test_json_lines_read_as_yaml_are_one_error_record_that_says_so_and_is_not_counted_as_one(claims: Path,
                                                                                              tmp_path: Path) -> None:
    """`--input-format yaml` on JSON Lines: one error record for every line, which said only `did
    not find expected <document start>` and was counted as `1 record`."""
    out = tmp_path / "out.jsonl"
    result = run("batch", str(claims), "--input-format", "yaml", *SMOKE, "-o", str(out))
    [error] = _lines(out)
    [diag] = error["error"]
    assert diag["message"] == ("invalid YAML: did not find expected <document start>: the document holds more "
                               "than one value (how many it holds is unknown)")
    assert diag["help"].startswith("its lines look like JSON Lines, one JSON object a line: read them with "
                                   "--input-format jsonl")
    assert "1 output record: 0 decisions, 1 error record (1 error record stands for records" in result.stderr


@pytest.mark.parametrize("text", [b"", b"\n \n"])
def test_empty_standard_input_read_as_json_writes_no_line(claims: Path, tmp_path: Path, text: bytes) -> None:
    """`--input-format json` on an empty stdin said `invalid JSON: expecting value` and wrote an error
    record, where every other format (and the format detected) says it holds no fact bundles."""
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["batch", "-", *SMOKE, "--trace", "none", "--input-format", "json",
                                      "-o", str(out)], input=text)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert out.read_bytes() == b""
    assert "error[facts/empty]: `<stdin>` holds no fact bundles" in result.stderr
    assert "expecting value" not in result.stderr
