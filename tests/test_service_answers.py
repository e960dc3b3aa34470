"""The service's answers, one line per input record, in process (tests/test_service_requests.py
has the helpers that call the app as uvicorn does): a record the reader cannot read or a decision
that cannot be written is that record's error record, as in batch; the answer is streamed as it is
decided, in bounded memory; a failure once it has started is still a line.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.main import cli
from click.testing import CliRunner

import carepolicy
from carepolicy.evaluator import Evaluator
from carepolicy.service import answers
from carepolicy.service import app as service_app
from carepolicy.service.limits import ServiceConfig
from tests.pipeline_data import dumps
from tests.test_service_requests import JSONL, VALID, call, count_decisions


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return carepolicy.load()


def test_writing_the_answer_counts_in_the_request_timeout(
    evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decision's line (its trace, built lazily, and its JSON) is most of the work: about four
    fifths with the trace. So it is made within --request-timeout, and off the event loop with the
    decision. Here each line takes 10 s of a clock that nothing else moves: five bundles are 50 s,
    over a 30 s timeout. The answer is streamed, its status sent before its first line, so the
    bundles not started within the timeout are not decided but still answered, each with the
    `service/timeout` error record that says so (one line per record), not with a 200 after 50 s."""
    clock = [0.0]
    written = carepolicy.Result.jsonl

    def slow_line(result: carepolicy.Result) -> bytes:
        clock[0] += 10.0
        line: bytes = written.__get__(result)
        return line

    monkeypatch.setattr(service_app, "monotonic", lambda: clock[0])
    monkeypatch.setattr(answers, "monotonic", lambda: clock[0])
    monkeypatch.setattr(carepolicy.Result, "jsonl", property(slow_line))
    body = b"".join(b'{"month": "2025-03", "id": "b%d"}\n' % n for n in range(5))
    answer = call(evaluator, body, JSONL)
    lines = answer.lines()
    assert [line["bundle_id"] for line in lines] == ["b0", "b1", "b2", "b3", "b4"]
    assert ["error" in line for line in lines] == [False, False, False, True, True]
    (problem,) = lines[3]["error"]
    assert (problem["code"], problem["message"]) == (
        "service/timeout",
        "not decided within the request timeout (3 decided before it)",
    )
    assert clock[0] == 30.0  # the two bundles past the deadline were not decided


def test_an_empty_id_is_echoed_as_the_empty_string_it_is(evaluator: Evaluator, tmp_path: Path) -> None:
    """`"id": ""` is an id, if a poor one: the caller joins answers back on it, and `#1` is not what
    it sent. A decision and an error record echo it alike, and `batch` (the same reader) does too."""
    body = b'{"month": "2025-03", "id": ""}\n{"month": "2025-13", "id": ""}\n{"month": "2025-03"}\n'
    answer = call(evaluator, body, JSONL)
    assert [line["bundle_id"] for line in answer.lines()] == ["", "", "#3"]
    assert answer.lines()[1]["error"][0]["bundle"] == ""
    path = tmp_path / "ids.jsonl"
    path.write_bytes(body)
    result = CliRunner().invoke(cli, ["batch", str(path), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 2  # one record is not a valid bundle
    assert [json.loads(line)["bundle_id"] for line in (tmp_path / "out.jsonl").read_bytes().splitlines()] == [
        "",
        "",
        "#3",
    ]
    assert f"{path}: bundle ``: $.month: error[facts/schema]" in result.stderr


HUGE_EXPONENT = b"1e" + b"9" * 22  # past the exponent a Decimal holds (18 digits): Decimal() raises InvalidOperation


def test_a_number_too_long_to_read_is_its_records_error_as_in_batch(evaluator: Evaluator, tmp_path: Path) -> None:
    """A number whose exponent no Decimal holds raised InvalidOperation out of the reader: the whole
    request was a 500 (`internal error: InvalidOperation`), and `batch` made the line an internal
    error (a bug, it said). It is a number too long to read, as an integer over 4,300 digits is:
    that record's `facts/limit` error, worded as batch words it, and the other lines are decided."""
    spoilt = b'{"month": "2025-03", "id": "b", "time": [{"minutes": ' + HUGE_EXPONENT + b"}]}\n"
    body = b'{"month": "2025-03", "id": "a"}\n' + spoilt + b'{"month": "2025-03", "id": "c"}\n'
    answer = call(evaluator, body, JSONL)
    assert (answer.status, answer.headers["x-carepolicy-records"], answer.headers["x-carepolicy-invalid"]) == (
        422,
        "3",
        "1",
    )
    first, error, last = answer.lines()
    assert (first["bundle_id"], last["bundle_id"]) == ("a", "c")
    (problem,) = error["error"]
    assert (problem["code"], problem["line"], problem["message"]) == (
        "facts/limit",
        2,
        "a number with a 22-digit exponent; fact files allow at most 15 digits",
    )
    path = tmp_path / "huge.jsonl"
    path.write_bytes(body)
    CliRunner().invoke(cli, ["batch", str(path), "-o", str(tmp_path / "out.jsonl")])
    written = (tmp_path / "out.jsonl").read_bytes().replace(json.dumps(str(path)).encode(), b'"<request>"')
    assert written.splitlines()[1] == answer.body.splitlines()[1]  # the reader's diagnostic, byte for byte


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        (b'[{"month": "2025-03", "n": ' + HUGE_EXPONENT + b"}]", "json"),
        (b'month: "2025-03"\ntime:\n  - minutes: ' + HUGE_EXPONENT + b'\n---\nmonth: "2025-03"\n', "yaml"),
        (b'{"month": "2025-03", "n": ' + HUGE_EXPONENT + b'}\n{"month": "2025-03"}\n', None),  # detected (stdin)
    ],
)
def test_a_number_too_long_to_read_is_a_limit_in_every_format(text: bytes, fmt: str | None) -> None:
    """The same number in a JSON document (which, as a 4,300-digit integer, cannot be read at all),
    in a YAML stream (its document alone) and on standard input's first line (detected as JSON
    Lines, as a line holding such an integer is): a `facts/limit` error, never InvalidOperation."""
    results = carepolicy.load().evaluate_text(text, fmt=fmt or "jsonl") if fmt else None
    if fmt is None:
        from carepolicy.engine import iter_records

        records = list(iter_records(io.BytesIO(text), None, name="<stdin>"))
        assert [type(r).__name__ for r in records] == ["BundleError", "Bundle"]
        messages = [d.message for d in records[0].diagnostics]  # type: ignore[union-attr]
    else:
        assert results is not None
        messages = [d.message for d in results[0].diagnostics]
        assert [r.ok for r in results[1:]] == [True] * (len(results) - 1)
    assert len(messages) == 1
    assert messages[0].startswith("a number with a 22-digit exponent; fact files allow at most 15")


DEEP = b'{"month": "2025-03", "id": "deep", "x": ' + b"[" * 40 + b"]" * 40 + b"}\n"


def test_a_json_line_too_deep_is_its_records_error_not_a_413(evaluator: Evaluator, tmp_path: Path) -> None:
    """One line nested past --max-depth (32) refused the whole request 413, losing every record with
    it. Each line is its own record: the reader, which refuses a line nested deeper than 16 levels
    without recursing, gives it the error record batch gives it, and the other lines are decided.
    (A JSON document, parsed whole, is still refused whole: test_service.test_deep_nesting_is_413.)"""
    flood = b"[" * 200_000 + b"\n"  # no recursion, however deep: the reader's line error
    body = dumps(VALID[0]).encode() + b"\n" + DEEP + flood + dumps(VALID[1]).encode() + b"\n"
    answer = call(evaluator, body, JSONL)
    assert (answer.status, answer.headers["x-carepolicy-records"], answer.headers["x-carepolicy-invalid"]) == (
        422,
        "4",
        "2",
    )
    lines = answer.lines()
    assert [line["bundle_id"] for line in lines] == [VALID[0]["id"], "deep", "#3", VALID[1]["id"]]
    assert [(e["code"], e["message"]) for line in lines[1:3] for e in line["error"]] == [
        ("facts/limit", "nested more than 16 levels deep")
    ] * 2
    path = tmp_path / "deep.jsonl"
    path.write_bytes(body)
    CliRunner().invoke(cli, ["batch", str(path), "-o", str(tmp_path / "out.jsonl")])
    written = (tmp_path / "out.jsonl").read_bytes().replace(json.dumps(str(path)).encode(), b'"<request>"')
    assert written.splitlines()[1:3] == answer.body.splitlines()[1:3]


def test_a_stricter_max_depth_makes_a_deeper_line_its_records_error(evaluator: Evaluator) -> None:
    """With --max-depth below the reader's own 16, a line nested deeper than it is refused as that
    record's error, in the reader's words with the service's limit, and the other lines decided."""
    nested = b'{"month": "2025-03", "id": "nested", "x": [[[[[[[[1]]]]]]]]}\n'  # 9 levels
    body = dumps(VALID[0]).encode() + b"\n" + nested + dumps(VALID[1]).encode() + b"\n"
    answer = call(evaluator, body, JSONL, config=ServiceConfig(max_depth=8))
    lines = answer.lines()
    assert (answer.status, [line["bundle_id"] for line in lines]) == (422, [VALID[0]["id"], "#2", VALID[1]["id"]])
    (problem,) = lines[1]["error"]
    assert (problem["code"], problem["line"]) == ("facts/limit", 2)
    assert problem["message"] == "nested more than 8 levels deep"
    assert ["error" in line for line in lines] == [False, True, False]
    refused = call(evaluator, b"[" + nested.strip() + b"]", config=ServiceConfig(max_depth=8))
    assert (refused.status, refused.lines()[0]["error"][0]["code"]) == (413, "service/too-deep")  # a document


async def streamed(app: Any, body: bytes, on_body: Callable[[bytes], None], version: str = "1.1") -> int:
    """A JSON Lines request (HTTP `version`) whose answer is handed to `on_body` piece by piece as it
    arrives, not kept (a client reading as it comes); the status."""
    done = asyncio.Event()
    messages = iter([{"type": "http.request", "body": body, "more_body": False}])
    status = [0]

    async def receive() -> dict[str, Any]:
        message = next(messages, None)
        if message is None:
            await done.wait()
            return {"type": "http.disconnect"}
        return message

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status[0] = message["status"]
        if message["type"] == "http.response.body":
            on_body(message["body"])
            if not message.get("more_body"):
                done.set()

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/decisions",
        "raw_path": b"/v1/decisions",
        "query_string": b"",
        "root_path": "",
        "scheme": "http",
        "headers": [(b"content-type", JSONL.encode())],
        "http_version": version,
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1),
    }
    await app(scope, receive, send)
    return status[0]


def test_the_answer_is_streamed_as_it_is_decided(evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer was built whole before its first byte was sent: up to 2,000 times the request
    (a minimal bundle's decision with its trace is ~40 kB). It is sent as it is decided: the first
    lines leave before the last bundle is decided, in many pieces, each of whole lines."""
    decided = count_decisions(monkeypatch)
    pieces: list[tuple[int, bytes]] = []  # each piece, and how many bundles were decided when it came
    app = service_app.create_app(evaluator, ServiceConfig())
    status = asyncio.run(streamed(app, b'{"month": "2025-03"}\n' * 100, lambda b: pieces.append((len(decided), b))))
    assert status == 200
    assert pieces[0][0] < 10  # the first lines were sent with ~90 bundles still to decide
    sent = [piece for _, piece in pieces if piece]
    assert len(sent) > 10
    assert all(piece.endswith(b"\n") for piece in sent)
    assert [json.loads(line)["bundle_id"] for line in b"".join(sent).splitlines()] == [f"#{n}" for n in range(1, 101)]


def test_the_memory_held_is_a_chunk_not_the_answer(evaluator: Evaluator) -> None:
    """Measured with tracemalloc over a request of 300 minimal bundles (an answer of ~12 MB): the
    peak of what the service allocates is a small part of the answer, which it never holds whole.
    (Built whole, the answer was held twice: its lines, then their join.)"""
    import tracemalloc

    body = b'{"month": "2025-03"}\n' * 300
    app = service_app.create_app(evaluator, ServiceConfig())
    received = [0]

    def count(piece: bytes) -> None:
        received[0] += len(piece)

    asyncio.run(streamed(app, body, count))  # once first: the month's plan and caches are made, and kept
    received[0] = 0
    tracemalloc.start()
    try:
        asyncio.run(streamed(app, body, count))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received[0] > 10_000_000
    assert peak < received[0] / 8, (peak, received[0])


def test_an_http_10_answer_is_spooled_not_held(evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch) -> None:
    """An HTTP/1.0 client cannot be streamed chunks (service/whole.py), so its answer was built in
    memory whole, then joined: 300 minimal bundles (~12 MB of answer) peaked at twice the answer.
    It is spooled to a temporary file past SPOOL_BYTES and read back a piece at a time: the peak is
    a small part of the answer, the answer is the one an HTTP/1.1 client is streamed, and the file
    is closed once it is sent."""
    import hashlib
    import tracemalloc

    from carepolicy.service import whole

    body = b'{"month": "2025-03"}\n' * 300
    app = service_app.create_app(evaluator, ServiceConfig())
    streamed_11: list[bytes] = []
    asyncio.run(streamed(app, body, streamed_11.append))  # once first: the month's plan and caches are kept
    files: list[Any] = []
    spool = whole.spool
    monkeypatch.setattr(whole, "spool", lambda *args: files.append(spool(*args)) or files[-1])
    monkeypatch.setattr(service_app, "spool", whole.spool)
    received = hashlib.sha256()  # (not kept: the client's copy would be in the peak)
    tracemalloc.start()
    try:
        status = asyncio.run(streamed(app, body, received.update, version="1.0"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    answer = b"".join(streamed_11)
    assert status == 200
    assert received.digest() == hashlib.sha256(answer).digest()
    assert len(answer) > 10_000_000
    assert peak < len(answer) / 8, (peak, len(answer))
    (spooled,) = files
    assert spooled.file.closed


def test_a_failure_while_the_answer_is_sent_is_that_records_error(
    evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the status is sent, nothing can turn the answer into a 500: a record whose line cannot
    be read (a reader bug) or written (a writer bug) is that record's error record, as in batch
    (eval/internal, output/serialise), and the records after it are still answered, one line each."""
    from carepolicy.cli import batch_input

    read_line = batch_input.decode
    written = carepolicy.Result.jsonl

    def fragile_decode(record: batch_input.RawRecord) -> Any:
        if record.index == 1:
            raise RuntimeError("a reader bug")
        return read_line(record)

    def fragile_line(result: carepolicy.Result) -> bytes:
        if result.bundle_id == "#3":
            raise ValueError("a writer bug")
        line: bytes = written.__get__(result)
        return line

    monkeypatch.setattr(answers, "decode", fragile_decode)
    monkeypatch.setattr(carepolicy.Result, "jsonl", property(fragile_line))
    answer = call(evaluator, b'{"month": "2025-03"}\n' * 5, JSONL)
    lines = answer.lines()
    assert [line["bundle_id"] for line in lines] == ["#1", "#2", "#3", "#4", "#5"]
    assert [line["error"][0]["code"] if "error" in line else None for line in lines] == [
        None,
        "eval/internal",
        "output/serialise",
        None,
        None,
    ]
    assert lines[1]["error"][0]["message"] == "internal error: RuntimeError: a reader bug"


def test_a_failure_of_the_stream_itself_ends_it_with_an_error_record(
    evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug past the first line (not in one record: answers.py makes those the record's own line)
    cannot be a 500, the status being sent: the answer ends with one `service/internal` error record
    saying the records after the last line were not answered, and the traceback goes to the log."""
    real_chunks = service_app.chunks

    def breaking(lines: Iterator[Any]) -> Iterator[bytes]:
        pieces = real_chunks(lines)
        yield next(pieces)
        raise RuntimeError("a bug")

    monkeypatch.setattr(service_app, "chunks", breaking)
    answer = call(evaluator, b'{"month": "2025-03"}\n' * 20, JSONL)
    assert answer.status == 200
    *decided, last = answer.lines()
    assert decided
    assert all("error" not in line for line in decided)
    assert (last["bundle_id"], last["error"][0]["code"]) == (None, "service/internal")
    assert last["error"][0]["message"] == (
        "internal error: RuntimeError; the records after the last line above were not answered"
    )
    assert "RuntimeError: a bug" in caplog.text
