"""An input read in the wrong format (`--input-format`, or an extension that does not say what the
file holds), as a claim pipeline meets it: YAML given to `--input-format jsonl` or `json`, JSON Lines
given to `json`, a JSON list given to `jsonl`. Each error said only what the parser found
(`invalid JSON: expecting value`), or, for YAML read as one JSON document, advised JSON Lines; the
help now names the format the text looks like and how to read it so. The records are as before:
one error record per JSON line, one for a JSON document that cannot be parsed."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pytest
import yaml
from carepolicy.cli.main import cli
from carepolicy.engine.diagnostics import FactError
from carepolicy.engine.facts.reader import BundleError
from carepolicy.engine.facts.records import iter_records
from click.testing import CliRunner

from carepolicy.arrow_bundles import bundles_from_batches
from tests.test_batch_edges import SMOKE

_BUNDLES = [{"id": "a", "month": "2025-03", "beneficiary": {"part_b": True}}, {"id": "b", "month": "2025-04"}]
YAML_TEXT = yaml.safe_dump(_BUNDLES, sort_keys=False).encode()
MAPPING_TEXT = yaml.safe_dump(_BUNDLES[0], sort_keys=False).encode()
JSON_LINES = b"".join(json.dumps(bundle).encode() + b"\n" for bundle in _BUNDLES)
YAML_AS_JSON_LINES = ("this line looks like YAML, not a JSON object: if the input is YAML, read it with "
                      "--input-format yaml (the `.yaml` extension says so too)")
YAML_AS_JSON = ("it looks like YAML, not JSON: read it with --input-format yaml "
                "(the `.yaml` extension says so too)")
LINES_AS_JSON = ("it looks like JSON Lines, one JSON object a line: read it with --input-format jsonl "
                 "(the `.jsonl` extension says so too)")
PARQUET_NOTE = ("it is a Parquet file (it starts with `PAR1`), which is read only from a file whose name ends "
                "in `.parquet`: give it that name")
LIST_AS_JSON_LINES = ("a JSON Lines line holds one bundle, not a list of them: write each on a line of its own, "
                      "or read a file that is one JSON list with --input-format json (the `.json` extension says "
                      "so too)")


@pytest.mark.parametrize("text", [YAML_TEXT, MAPPING_TEXT, b"---\n" + MAPPING_TEXT], ids=["list", "mapping", "marked"])
def test_yaml_read_as_json_lines_says_each_line_looks_like_yaml(text: bytes) -> None:
    records = list(iter_records(io.BytesIO(text), "jsonl"))
    assert len(records) == len(text.splitlines())  # (one error record a line, as ever)
    for record in records:
        assert isinstance(record, BundleError)
        [diag] = record.diagnostics
        assert diag.message == "invalid JSON: expecting value"
        assert diag.help == YAML_AS_JSON_LINES


@pytest.mark.parametrize("text", [YAML_TEXT, MAPPING_TEXT], ids=["list", "mapping"])
def test_yaml_read_as_one_json_document_says_it_looks_like_yaml(text: bytes) -> None:
    """Its help was `JSON Lines (one bundle per line, .jsonl) keeps one bad record from hiding the
    others`: advice for JSON, given to a file that holds none."""
    with pytest.raises(FactError) as raised:
        list(iter_records(io.BytesIO(text), "json"))
    [diag] = raised.value.diagnostics
    assert diag.message.startswith("invalid JSON: expecting value")
    assert diag.help == YAML_AS_JSON


def test_json_lines_read_as_one_json_document_says_they_look_like_json_lines() -> None:
    with pytest.raises(FactError) as raised:
        list(iter_records(io.BytesIO(JSON_LINES), "json"))
    [diag] = raised.value.diagnostics
    assert diag.span is not None
    assert (diag.message, diag.span.line, diag.help) == ("invalid JSON: extra data", 2, LINES_AS_JSON)


@pytest.mark.parametrize("line", [json.dumps(_BUNDLES), "[]"])
def test_a_json_list_read_as_json_lines_says_how_to_read_a_list(line: str) -> None:
    [record] = iter_records(io.BytesIO(line.encode() + b"\n"), "jsonl")
    assert isinstance(record, BundleError)
    [diag] = record.diagnostics
    assert (diag.code, diag.message) == ("facts/not-a-bundle", "expected a fact bundle (a mapping), found a list")
    assert diag.help == LIST_AS_JSON_LINES


def test_a_bad_json_line_that_is_not_yaml_gets_no_such_help() -> None:
    records = list(iter_records(io.BytesIO(b'{"id": "a", "month": \n[1, 2\n3\n'), "jsonl"))
    assert [record.diagnostics[0].help for record in records if isinstance(record, BundleError)] == [None] * 3


def test_batch_of_yaml_on_stdin_read_as_json_lines_says_so(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["batch", "-", *SMOKE, "--input-format", "jsonl", "-o", str(out)],
                                input=YAML_TEXT)
    assert f"help: {YAML_AS_JSON_LINES}" in result.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == len(YAML_TEXT.splitlines())
    assert {record["error"][0]["help"] for record in records} == {YAML_AS_JSON_LINES}


@pytest.mark.parametrize("fmt", [None, "jsonl", "json", "yaml"])
def test_parquet_on_standard_input_is_one_error_record_that_says_what_it_is(tmp_path: Path, fmt: str | None) -> None:
    """Parquet bytes piped to `batch -` (or in a file not named `.parquet`) said only `not UTF-8 text
    (byte 8)`, and read as JSON Lines were one error record for each LF byte of the file. It is one
    error record that says it is Parquet, and how to have it read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = tmp_path / "bundles.parquet"
    pq.write_table(pa.table({"bundle": [json.dumps(bundle) for bundle in _BUNDLES] * 50}), table)
    out = tmp_path / "out.jsonl"
    given = ["--input-format", fmt] if fmt else []
    result = CliRunner().invoke(cli, ["batch", "-", *SMOKE, *given, "-o", str(out)], input=table.read_bytes())
    [record] = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    [problem] = record["error"]
    assert problem["message"].endswith(PARQUET_NOTE), problem
    assert PARQUET_NOTE in result.stderr


TRAILING_COMMA = "JSON allows no comma after the last item of a list or object (a trailing comma): remove it"


@pytest.mark.parametrize("text", [b'[{"id": "a", "month": "2025-03"},]', b'[{"id": "a", "month": "2025-03",}]',
                                  b'[\n  {"id": "a", "month": "2025-03"},\n]\n'])
def test_a_trailing_comma_in_a_json_document_is_named(text: bytes) -> None:
    """`[{...},]` said `invalid JSON: expecting value` (and `{..., }` `expecting property name
    enclosed in double quotes`) at the closing bracket, and advised JSON Lines."""
    with pytest.raises(FactError) as raised:
        list(iter_records(io.BytesIO(text), "json"))
    [diag] = raised.value.diagnostics
    assert diag.help == TRAILING_COMMA


def test_a_trailing_comma_on_a_json_line_is_named() -> None:
    [record] = iter_records(io.BytesIO(b'{"id": "a", "month": "2025-03",}\n'), "jsonl")
    assert isinstance(record, BundleError)
    assert record.diagnostics[0].help == TRAILING_COMMA


@pytest.mark.parametrize("cell", ['{"id": "a", "month": "2025-03",}', '{"month": "2025-03", "time": [{"minutes": 5},]}',
                                  b'{"id": "a",\n "month": "2025-03",\n}'])
def test_a_trailing_comma_in_a_json_cell_of_a_table_is_named(cell: str | bytes) -> None:
    """A JSON bundle in a Parquet or Arrow string (or binary) cell is read as a JSON line is, but its
    syntax error had no help: the trailing comma that a JSON line names was `expecting value` only."""
    [record] = bundles_from_batches([pa.record_batch({"bundle": [cell]})], source="in.parquet")
    assert isinstance(record, BundleError)
    [diag] = record.diagnostics
    assert diag.message.startswith("column `bundle`, row 1: invalid JSON: expecting"), diag.message
    assert diag.help == TRAILING_COMMA
