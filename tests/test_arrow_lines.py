"""The Parquet writer's rows, made from decision lines with their denials read by Arrow's JSON reader
(carepolicy/arrow_lines.py), are the rows the lines parsed whole with `json.loads` give.

Every line the cut cannot take as it is (a float, a `\\u` escape in the denials, denials the reader
refuses, an error record) is parsed whole, alone or with its batch; each case is checked here
against the table the lines parsed whole make, row for row and column for column."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from carepolicy.engine.jsontext import canonical_bytes
from click.testing import CliRunner

from carepolicy.arrow import DECISIONS, decisions_batch, row_from_json_obj
from carepolicy.arrow_lines import NO_DENIALS, compact_text, has_escape, split_row
from carepolicy.parquet import ParquetLineWriter
from tests.test_batch import write_jsonl

PLAIN = 70  # more than a batch of rows (ROWS_PER_BATCH, 64): the odd line falls in the first


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """Decision lines of the shipped policies (with denials and the compact trace) and error records."""
    folder = tmp_path_factory.mktemp("lines")
    source = write_jsonl(folder / "in.jsonl", PLAIN, seed=5)
    with source.open("a", encoding="utf-8") as out:
        out.write('{"month": "2025-13"}\n[1, 2]\n')
    result = CliRunner().invoke(cli, ["batch", str(source), "--trace", "compact", "--jobs", "1",
                                      "-o", str(folder / "out.jsonl")], catch_exceptions=False)
    assert result.exit_code == ExitCode.BAD_INPUT, result.stderr  # (the two error records)
    written = (folder / "out.jsonl").read_bytes().splitlines(keepends=True)
    assert len(written) == PLAIN + 2
    return written


def _parsed_whole(lines: list[bytes]) -> pa.Table:
    """The table as the writer made it before: each line `json.loads`, a batch of them at a time."""
    batches = [decisions_batch([row_from_json_obj(json.loads(line), first + at)
                                for at, line in enumerate(lines[first:first + 64])], lambda _record: "in.jsonl")[0]
               for first in range(0, len(lines), 64)]
    return pa.Table.from_batches(batches, schema=DECISIONS)


def _written(lines: list[bytes], folder: Path) -> pa.Table:
    out = folder / "out.parquet"
    writer = ParquetLineWriter(str(out))
    writer.begin(0, 0)
    for line in lines:
        writer.read_from("in.jsonl")
        writer.add(line)
    writer.close()
    return pq.read_table(out)


def _edited(line: bytes, edit: Any, *, ascii_only: bool = False) -> bytes:
    obj = json.loads(line)
    edit(obj)
    if ascii_only:
        return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    return canonical_bytes(obj) + b"\n"  # as batch writes a line


def test_the_lines_cut_make_the_rows_the_lines_parsed_whole_make(lines: list[bytes], tmp_path: Path) -> None:
    decided = [line for line in lines if b'"error":' not in line]
    assert all(split_row(line, 0)[1] is not NO_DENIALS for line in decided)  # every decision is cut
    assert [split_row(line, 0)[1] for line in lines[PLAIN:]] == [NO_DENIALS, NO_DENIALS]  # error records
    table = _written(lines, tmp_path)
    assert table.equals(_parsed_whole(lines))
    assert sum(len(denied) for denied in table.column("denied").to_pylist() if denied) > PLAIN  # denials there


def _float_in_trace(obj: dict[str, Any]) -> None:
    obj["trace"] = {"ratio": 1e-07, "rest": obj["trace"]}  # orjson writes `1e-7`, json.dumps `1e-07`


def _surrogate_in_a_denial(obj: dict[str, Any]) -> None:
    obj["denied"][0]["reasons"][0]["reason"] = "bad \ud800 text"  # no Arrow string holds it: an error row


def _unit_as_text(obj: dict[str, Any]) -> None:
    obj["denied"][0]["unit"] = "one"  # not an int32: Arrow's reader refuses it, as from_pylist does


def _unit_too_large(obj: dict[str, Any]) -> None:
    obj["denied"][0]["unit"] = 2**40


def _huge_integer(obj: dict[str, Any]) -> None:
    obj["trace"] = [obj["trace"], 2**70]  # beyond 64 bits: json.dumps's text, not orjson's


@pytest.mark.parametrize("edit", [_float_in_trace, _surrogate_in_a_denial, _unit_as_text, _unit_too_large,
                                  _huge_integer])
def test_a_line_not_cut_is_parsed_whole_with_the_same_row(lines: list[bytes], tmp_path: Path, edit: Any) -> None:
    odd = _edited(lines[3], edit, ascii_only=edit is _surrogate_in_a_denial)
    edited = [*lines[:3], odd, *lines[4:]]
    table = _written(edited, tmp_path)
    assert table.equals(_parsed_whole(edited))
    assert table.column("record").to_pylist() == list(range(len(edited)))


def test_a_float_is_written_as_json_dumps_writes_it(lines: list[bytes]) -> None:
    row, denials = split_row(_edited(lines[3], _float_in_trace), 3)
    assert denials is NO_DENIALS  # parsed whole
    assert row["trace"].startswith('{"ratio":1e-07,')
    assert compact_text({"b": [1, "é\n\u2028"], "a": None}) == json.dumps(
        {"b": [1, "é\n\u2028"], "a": None}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert compact_text([2**70]) == "[1180591620717411303424]"


@pytest.mark.parametrize("text", ["plain", "a \\ b", "tab\t quote\" slash/", "\\u0041 as text", "\\", "é ☃ \u2028",
                                  "\u0007 bell", "\x1f", "\ud800 lone", "\\\u0001", 'x\\"u'])
def test_has_escape_finds_a_u_escape_as_json_writes_it(text: str) -> None:
    """A `\\u` escape in JSON text is found, and nothing else: not `\\\\u` (an escaped backslash, then u)."""
    written = json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass")
    expected = any(ord(char) < 0x20 and char not in "\n\r\t\b\f" for char in text)  # (a lone surrogate as it is)
    assert has_escape(written) is expected
    assert has_escape(json.dumps(text).encode()) is (expected or any(ord(char) > 0x7F for char in text))
    assert has_escape(b"x\\") is False  # (a backslash at the end)
    assert has_escape(b"") is False
