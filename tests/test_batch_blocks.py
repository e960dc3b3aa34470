"""`batch --jobs` reads a regular JSON Lines file a block at a time (carepolicy/record_lines.py `RawLines`):
the records it hands on, split as the workers split them, are exactly those of the line reader,
whatever the file holds (blank lines, byte-order marks, CRLF, NUL padding, lines that are not
objects, lines at and over the limit, a last line without its LF); and the output is the output
of one process.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from carepolicy.cli.batch_input import RawLines, RawRecord, Work, read_work, records_of
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.engine.facts.limits import MAX_RECORD_BYTES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carepolicy import record_lines
from tests.test_batch import SMOKE, run, write_jsonl
from tests.test_fuzz import EXAMPLES

# lines of every kind the line reader treats apart, and ordinary ones
_LINES = [b'{"id": "a"}\n', b'{"id": "b"}\r\n', b"\n", b" \t\n", b"\r\n", b"\xef\xbb\xbf{\"id\": \"c\"}\n",
          b"\xef\xbb\xbf\n", b"[1, 2]\n", b"\x00\x00\n", b"\x1a\n", b'{"id": "\xc3\xa9"}\n', b"{\n", b"not json\n",
          b'  {"id": "d"}\n', b"\xff\xfe{\n", b"{" + b" " * 300 + b"}\n"]


def _records(works: Iterator[Work]) -> list[object]:
    return [record for work in works for record in records_of(work)]


def _both(path: Path) -> tuple[list[object], list[object]]:
    """The records of the line reader, and those of the block reader once split."""
    return list(read_work([str(path)], "jsonl")), _records(read_work([str(path)], "jsonl", blocks=True))


@settings(max_examples=max(EXAMPLES, 150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.sampled_from([b"", b"\xef\xbb\xbf", b"\n\n", b" \n", b"\x00\x00"]),
       picks=st.lists(st.integers(min_value=0, max_value=len(_LINES) - 1), max_size=120),
       end=st.sampled_from([b"", b'{"id": "last"}', b"\x00" * 40, b"  "]),
       block=st.sampled_from([7, 64, 1000, 1 << 19]))
def test_blocks_hold_the_records_of_the_line_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: bytes,
                                                    picks: list[int], end: bytes, block: int) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(start + b"".join(_LINES[pick] for pick in picks) + end)
    monkeypatch.setattr(record_lines, "BLOCK_BYTES", block)  # small blocks: lines cut at every place
    by_line, by_block = _both(path)
    assert by_block == by_line


@pytest.mark.parametrize("block", [1000, 1 << 19])
@pytest.mark.parametrize("long", [
    b'{"x": "' + b"y" * (MAX_RECORD_BYTES - 9) + b'"}\n',  # at the limit
    b'{"x": "' + b"y" * (MAX_RECORD_BYTES - 9) + b'"}\r\n',  # at the limit, CRLF
    b'{"x": "' + b"y" * (MAX_RECORD_BYTES - 8) + b'"}\n',  # one byte over
    b"\x00" * (MAX_RECORD_BYTES + 10) + b"\n",  # NUL padding longer than a record
    b'{"x": "' + b"y" * (MAX_RECORD_BYTES + 5000),  # over the limit, the last line, no LF
    b'{"x": "' + b"y" * (MAX_RECORD_BYTES - 9) + b'"}',  # at the limit, the last line, no LF
])
def test_lines_at_and_over_the_limit_are_read_by_the_line_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 long: bytes, block: int) -> None:
    path = tmp_path / "in.jsonl"
    ordinary = b'{"id": "a"}\n' * 70
    path.write_bytes(ordinary + long + (ordinary if long.endswith(b"\n") else b""))
    monkeypatch.setattr(record_lines, "BLOCK_BYTES", block)
    by_line, by_block = _both(path)
    assert by_block == by_line
    assert any(isinstance(work, RawLines) for work in read_work([str(path)], "jsonl", blocks=True))


def test_a_fifo_named_as_a_file_is_read_line_by_line(tmp_path: Path) -> None:
    """A read of a block from a FIFO would wait for the block: its records come one by one, as a
    slow producer writes them."""
    fifo = tmp_path / "in.jsonl"
    os.mkfifo(fifo)
    lines = b'{"id": "a"}\n' * 200

    def produce() -> None:
        with open(fifo, "wb") as handle:
            handle.write(lines)

    producer = threading.Thread(target=produce)
    producer.start()
    works = list(read_work([str(fifo)], "jsonl", blocks=True))
    producer.join()
    assert len(works) == 200
    assert all(isinstance(work, RawRecord) for work in works)


def test_two_jobs_reading_blocks_write_the_lines_of_one(tmp_path: Path) -> None:
    """Valid bundles among lines of every other kind, enough for the workers to start: the same
    bytes with --jobs 2 (blocks) as with --jobs 1 (line by line)."""
    good = write_jsonl(tmp_path / "good.jsonl", 300).read_bytes().splitlines(keepends=True)
    odd = [_LINES[index] for index in (2, 3, 5, 7, 8, 11, 14)]
    mixed = b"".join(line + (odd[number % len(odd)] if number % 9 == 0 else b"") for number, line in enumerate(good))
    source = tmp_path / "in.jsonl"
    source.write_bytes(mixed)
    outputs = []
    for jobs in ("1", "2"):
        target = tmp_path / f"out-{jobs}.jsonl"
        result = run("batch", str(source), *SMOKE, "--jobs", jobs, "-o", str(target))
        assert result.exit_code == ExitCode.BAD_INPUT, result.stderr  # (the odd lines are error records)
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") == len(list(read_work([str(source)], "jsonl")))  # one line a record
