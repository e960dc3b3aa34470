"""JSON Lines and YAML in UTF-16 without a byte-order mark whose first line is blank.

Split at LF bytes, a little-endian file that starts with `\\n` has a second line that starts with
the NUL byte of that LF (`\\x00{\\x00"...`), which was said to be UTF-16 (BE); a big-endian one has
a first line `\\x00\\n`, too short to tell, so nothing was said and each line was an error record
of its own. The byte order is now told from the file's first bytes, its line ends skipped, in the
two JSON Lines readers (the engine's and `batch`'s) and the YAML one.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from carepolicy.cli.batch_input import RawRecord, json_line_work
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.engine.facts.reader import Bundle, BundleError
from carepolicy.engine.facts.records import iter_records

from tests.test_batch import write_jsonl
from tests.test_batch_edges import SMOKE, run

_UNMARKED = "not UTF-8 text: it looks like UTF-16 ({}) without a byte-order mark; save it as UTF-8"
_ONE_RECORD = "the file stands as one record: how many it holds is unknown until it is saved as UTF-8"
_JSONL = "".join(json.dumps({"id": f"r{n}", "month": "2025-03"}) + "\n" for n in range(3))
_YAML = "id: a\nmonth: 2025-03\nbeneficiary:\n  part_b: true\n"
_ORDERS = [("utf-16-le", "LE"), ("utf-16-be", "BE")]
_BLANKS = ["", "\n", "\n\n", "\r\n", "\n\n\n\n\n"]


def _said(records: list[object]) -> list[tuple[str, str | None, tuple[int, int] | None]]:
    return [(d.message, d.help, d.span and (d.span.line, d.span.column))
            for r in records if isinstance(r, BundleError) for d in r.diagnostics]


@pytest.mark.parametrize(("encoding", "order"), _ORDERS)
@pytest.mark.parametrize("blank", _BLANKS)
@pytest.mark.parametrize(("fmt", "text"), [("jsonl", _JSONL), ("yaml", _YAML)])
def test_utf_16_without_a_mark_is_one_error_record_after_blank_lines(
    fmt: str, text: str, blank: str, encoding: str, order: str
) -> None:
    records = list(iter_records(io.BytesIO((blank + text).encode(encoding)), fmt, name=f"in.{fmt}"))
    assert len(records) == 1
    assert _said(records) == [(_UNMARKED.format(order), _ONE_RECORD, (1, 1))]


@pytest.mark.parametrize(("encoding", "order"), _ORDERS)
@pytest.mark.parametrize("blank", _BLANKS)
def test_batch_splits_json_lines_in_utf_16_after_blank_lines_into_one_error_record(
    blank: str, encoding: str, order: str
) -> None:
    """`batch` splits JSON Lines itself (cli/batch_input.py): the same one record."""
    work = list(json_line_work(io.BytesIO((blank + _JSONL).encode(encoding)), "in.jsonl"))
    assert not [item for item in work if isinstance(item, RawRecord)]
    assert _said(work) == [(_UNMARKED.format(order), _ONE_RECORD, (1, 1))]


@pytest.mark.parametrize(("suffix", "text"), [("jsonl", _JSONL), ("yaml", _YAML)])
def test_batch_writes_one_record_for_big_endian_utf_16_that_starts_with_a_blank_line(
    tmp_path: Path, suffix: str, text: str
) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", 2)
    spoilt = tmp_path / f"u16.{suffix}"
    spoilt.write_bytes(("\n" + text).encode("utf-16-be"))
    target = tmp_path / "out.jsonl"
    result = run("batch", str(good), str(spoilt), *SMOKE, "-o", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    written = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(written) == 3
    assert [line["error"][0]["message"] for line in written if "error" in line] == [_UNMARKED.format("BE")]


def test_utf_8_json_lines_that_start_with_blank_lines_are_read_as_before() -> None:
    bundle = '{"id": "a", "month": "2025-03", "beneficiary": {"part_b": true}}\n'
    records = list(iter_records(io.BytesIO(("\n\r\n\n" + bundle).encode()), "jsonl", name="in.jsonl"))
    assert [r.id for r in records if isinstance(r, Bundle)] == ["a"]
    assert len(records) == 1


def test_json_lines_with_nul_padding_before_its_records_keeps_each_record() -> None:
    """The lines held to tell the encoding are read as records after all: a NUL padding line is its
    own error record, and each bundle after it is read."""
    data = b"\x00\x00\n" + _JSONL.encode()
    records = list(iter_records(io.BytesIO(data), "jsonl", name="in.jsonl"))
    assert [type(r).__name__ for r in records] == ["BundleError", "Bundle", "Bundle", "Bundle"]
    assert _said(records)[0][0] == "NUL padding (only 0x00 bytes), not a record"
