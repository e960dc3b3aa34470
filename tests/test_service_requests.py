"""The service's answers to awkward requests, in process: the app is called as uvicorn calls it.

No server is started (tests/test_service.py has the one over real HTTP): each request is a list of
ASGI messages, so a body cut short, a client that leaves, or the thread a body is decided on can be
set up exactly, with nothing timed.
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
from carepolicy.service.limits import ServiceConfig, nesting_depth
from tests.pipeline_data import dumps, mixed_bundles

JSONL = "application/x-ndjson"
VALID = [bundle for bundle in mixed_bundles(3, seed=7) if "colour" not in str(bundle)][:2]


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return carepolicy.load()


class Answer:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages
        starts = [m for m in messages if m["type"] == "http.response.start"]
        self.status: int | None = starts[0]["status"] if starts else None
        self.headers = {k.decode(): v.decode() for k, v in starts[0]["headers"]} if starts else {}
        self.body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.body.splitlines()]


def call(evaluator: Evaluator, body: bytes | list[bytes], media: str | list[str] = "application/json",
         method: str = "POST", path: str = "/v1/decisions", disconnect: bool = False,
         headers: tuple[tuple[str, str], ...] = (), leaves: bool = False, leaves_after: int | None = None,
         config: ServiceConfig | None = None) -> Answer:
    """One request to a fresh app; `body` as one message or as chunks; `media`: the Content-Type
    (a list: one header each); `disconnect`: the client leaves after the chunks, before the body is
    complete; `leaves`: it leaves once the body is sent, before the answer; `leaves_after`: once
    that many pieces of the answer's body have arrived."""
    app = service_app.create_app(evaluator, config or ServiceConfig())
    return asyncio.run(exchange(app, method, path, body, media, disconnect, headers, leaves, leaves_after))


async def exchange(app: Any, method: str, path: str, body: bytes | list[bytes],
                   media: str | list[str] = "application/json", disconnect: bool = False,
                   headers: tuple[tuple[str, str], ...] = (), leaves: bool = False,
                   leaves_after: int | None = None) -> Answer:
    chunks = [body] if isinstance(body, bytes) else body
    incoming: Iterator[dict[str, Any]] = iter(
        [{"type": "http.request", "body": chunk, "more_body": disconnect or i < len(chunks) - 1}
         for i, chunk in enumerate(chunks)]
    )
    sent: list[dict[str, Any]] = []
    answered = asyncio.Event()
    pieces = [0]

    async def receive() -> dict[str, Any]:
        message = next(incoming, None)
        if message is not None:
            return message
        if not (disconnect or leaves):  # as a server does: the client stays until it is answered
            await answered.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body":
            pieces[0] += 1
            if not message.get("more_body") or pieces[0] == leaves_after:
                answered.set()

    path, _, query = path.partition("?")
    version = "1.0" if ("x-test-http-version", "1.0") in headers else "1.1"  # (a header of the test only)
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": query.encode(),
             "root_path": "", "scheme": "http",
             "headers": [(b"content-type", kind.encode()) for kind in ([media] if isinstance(media, str) else media)]
             + [(name.encode(), value.encode()) for name, value in headers],
             "http_version": version, "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1)}
    await app(scope, receive, send)
    return Answer(sent)


def test_truncated_lines_do_not_add_up_to_a_deep_body(evaluator: Evaluator) -> None:
    """Each JSON line is read alone, so the brackets a cut-off line leaves open close nothing on the
    next: eleven truncated records of depth 3 are eleven error records, not a body `nested deeper
    than 32 levels` refused whole with the valid records around them."""
    cut = b'{"month": "2025-03", "time": [{"minutes": 3\n'
    body = dumps(VALID[0]).encode() + b"\n" + cut * 11 + dumps(VALID[1]).encode() + b"\n"
    answer = call(evaluator, body, JSONL)
    assert answer.status == 422
    lines = answer.lines()
    assert len(lines) == 13
    assert [line.get("bundle_id") for line in (lines[0], lines[-1])] == [VALID[0]["id"], VALID[1]["id"]]
    assert {line["error"][0]["code"] for line in lines[1:-1]} == {"facts/syntax"}


def test_the_depth_of_json_lines_is_that_of_the_deepest_line() -> None:
    assert nesting_depth(b"[[[\n[[[\n", lines=True) == 3
    assert nesting_depth(b"[[[\n[[[\n") == 6  # one JSON document may span lines
    # closing brackets a line has too many of hide nothing that follows
    assert nesting_depth(b"]]]]" + b"[" * 40, lines=True) == 40
    assert nesting_depth(b"]]]]\n" + b"[" * 40) == 40


def test_a_client_that_leaves_mid_body_is_no_internal_error(evaluator: Evaluator) -> None:
    """A client that closes the connection before its body is complete (a timeout on its side) is
    not a bug in carepolicy: no `service/internal` answer, no exception for the server to log as an
    error with a traceback; there is no one left to answer."""
    answer = call(evaluator, [b'{"month": "2025-03", ', b'"beneficiary": '], disconnect=True)
    assert b"service/internal" not in answer.body
    assert answer.status != 500


@pytest.mark.parametrize(("body", "media"), [
    (b'{"month": "2025-03"}\n' * 200, JSONL),
    (b"[" + b",".join([b'{"month": "2025-03"}'] * 200) + b"]", "application/json"),
])
def test_many_records_in_a_small_body_leave_the_health_check_answered(evaluator: Evaluator, body: bytes,
                                                                     media: str) -> None:
    """A body of many bundles is decided off the event loop however few bytes it has: 64 KiB of
    minimal bundles is 3,000 decisions, seconds during which a health check would wait. So a health
    check sent with it is answered first; one bundle is still decided on the loop (no hand-off), so
    it is answered before the health check sent after it."""
    assert len(body) < 64 * 1024
    assert finishing_order(evaluator, body, media) == ["health", "decisions"]
    assert finishing_order(evaluator, b'{"month": "2025-03"}', "application/json") == ["decisions", "health"]
    assert finishing_order(evaluator, b'{"month": "2025-03"}\n', JSONL) == ["decisions", "health"]


def finishing_order(evaluator: Evaluator, body: bytes, media: str) -> list[str]:
    """Which of a decision request and a health check sent just after it is answered first."""
    app = service_app.create_app(evaluator, ServiceConfig())
    finished: list[str] = []

    async def run(name: str, method: str, path: str, sent: bytes, kind: str) -> None:
        await exchange(app, method, path, sent, kind)
        finished.append(name)

    async def both() -> None:
        await asyncio.gather(run("decisions", "POST", "/v1/decisions", body, media),
                             run("health", "GET", "/v1/health", b"", "application/json"))

    asyncio.run(both())
    return finished


@pytest.mark.parametrize(("body", "media"), [
    (b'{"month": "2025-13"}', "application/json"),
    (b'{"month": "2025-13"}\n{"month": "2025-03"}\n', JSONL),
    (b'{"month": "2025-03"}', "application/json"),
    (b'{"month": "2025-03"}\n{"month": "2025-03"}\n', JSONL),
    (b'{"month": "2025-03"}', "text/plain"),
])
def test_the_openapi_document_describes_each_answer(evaluator: Evaluator, body: bytes, media: str) -> None:
    """A client generated from the description must expect the content type each status comes with:
    one bad bundle is answered 422 with one JSON error record (application/json), not JSON Lines."""
    document = json.loads(call(evaluator, b"", method="GET", path="/v1/openapi.json").body)
    answer = call(evaluator, body, media)
    described = document["paths"]["/v1/decisions"]["post"]["responses"][str(answer.status)]
    assert answer.headers["content-type"] in described["content"]


@pytest.mark.parametrize("media", ["application/json; charset=iso-8859-1", "application/x-ndjson; charset=utf-16",
                                   'application/json; charset="windows-1252"'])
def test_a_body_declared_in_another_charset_is_refused(evaluator: Evaluator, media: str) -> None:
    """The service reads UTF-8 only (as JSON is exchanged): a body declared in another character set
    is refused as such, not read as UTF-8 regardless (Latin-1 `Ã©` would be read as `é`)."""
    answer = call(evaluator, '{"month": "2025-03", "id": "JosÃ©"}'.encode("latin-1"), media)
    assert answer.status == 415
    (problem,) = answer.lines()[0]["error"]
    assert problem["code"] == "service/media-type"
    charset = media.split("=")[1].strip('"')
    assert problem["message"] == f"the body is declared `{charset}`; the service reads only UTF-8"


@pytest.mark.parametrize("media", ["application/json; charset=utf-8", "application/json;charset=UTF-8",
                                   'application/x-ndjson; charset="utf8"', "application/json; version=1"])
def test_a_body_declared_utf8_is_read(evaluator: Evaluator, media: str) -> None:
    answer = call(evaluator, b'{"month": "2025-03"}\n', media)
    assert (answer.status, answer.headers["x-carepolicy-records"]) == (200, "1")


def test_writing_the_answer_counts_in_the_request_timeout(evaluator: Evaluator,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
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
        "service/timeout", "not decided within the request timeout (3 decided before it)")
    assert clock[0] == 30.0  # the two bundles past the deadline were not decided


@pytest.mark.parametrize(("media", "headers"), [
    (["application/json", "text/plain"], ()),
    ("application/json", (("content-encoding", "identity"), ("content-encoding", "gzip"))),
])
def test_a_header_sent_twice_is_read_whole(evaluator: Evaluator, media: str | list[str],
                                           headers: tuple[tuple[str, str], ...]) -> None:
    """HTTP reads a header sent twice as one, its values joined by a comma: a second Content-Type
    or Content-Encoding is not left unread (a gzip body read as text; a body of two types read as
    the first), whichever order they come in."""
    body = b'{"month": "2025-03"}'
    swapped = media[::-1] if isinstance(media, list) else media
    answers = [call(evaluator, body, media, headers=headers), call(evaluator, body, swapped, headers=headers[::-1])]
    assert [(a.status, a.lines()[0]["error"][0]["code"]) for a in answers] == [(415, "service/media-type")] * 2


def test_a_client_that_leaves_before_its_answer_stops_the_work(evaluator: Evaluator,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that gives up (its own timeout) and sends again must not leave the service deciding
    for no one, up to --request-timeout each time: the bundles left are not decided. Whether it
    leaves while the records are read (before the answer starts) or once the first lines have
    arrived, at most the chunk under way is decided (a decision with its trace is ~40 kB, a chunk
    64 kB), not the 2,000."""
    decided: list[object] = []
    decide = Evaluator.decide

    def counted(self: Evaluator, item: Any) -> carepolicy.Result:
        decided.append(item)
        return decide(self, item)

    monkeypatch.setattr(Evaluator, "decide", counted)
    body = b'{"month": "2025-03"}\n' * 2_000
    call(evaluator, body, JSONL, leaves=True)
    assert len(decided) < 10
    decided.clear()
    answer = call(evaluator, body, JSONL, leaves_after=1)
    assert answer.status == 200
    assert answer.lines()[0]["bundle_id"] == "#1"  # the first chunk was sent, whole lines
    assert 0 < len(decided) < 10
    decided.clear()
    answer = call(evaluator, body, JSONL)  # a client that stays is answered in full
    assert (answer.status, len(decided), answer.headers["x-carepolicy-records"]) == (200, 2_000, "2000")
    assert len(answer.lines()) == 2_000


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
        "", "", "#3"]
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
    assert (answer.status, answer.headers["x-carepolicy-records"], answer.headers["x-carepolicy-errors"]) == (
        422, "3", "1")
    first, error, last = answer.lines()
    assert (first["bundle_id"], last["bundle_id"]) == ("a", "c")
    (problem,) = error["error"]
    assert (problem["code"], problem["line"], problem["message"]) == (
        "facts/limit", 2, "a number with a 22-digit exponent; fact files allow at most 15 digits")
    path = tmp_path / "huge.jsonl"
    path.write_bytes(body)
    CliRunner().invoke(cli, ["batch", str(path), "-o", str(tmp_path / "out.jsonl")])
    written = (tmp_path / "out.jsonl").read_bytes().replace(json.dumps(str(path)).encode(), b'"<request>"')
    assert written.splitlines()[1] == answer.body.splitlines()[1]  # the reader's diagnostic, byte for byte


@pytest.mark.parametrize(("text", "fmt"), [
    (b'[{"month": "2025-03", "n": ' + HUGE_EXPONENT + b"}]", "json"),
    (b'month: "2025-03"\ntime:\n  - minutes: ' + HUGE_EXPONENT + b"\n---\nmonth: \"2025-03\"\n", "yaml"),
    (b'{"month": "2025-03", "n": ' + HUGE_EXPONENT + b'}\n{"month": "2025-03"}\n', None),  # detected (stdin)
])
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
    assert (answer.status, answer.headers["x-carepolicy-records"], answer.headers["x-carepolicy-errors"]) == (
        422, "4", "2")
    lines = answer.lines()
    assert [line["bundle_id"] for line in lines] == [VALID[0]["id"], "deep", "#3", VALID[1]["id"]]
    assert [(e["code"], e["message"]) for line in lines[1:3] for e in line["error"]] == [
        ("facts/limit", "nested more than 16 levels deep")] * 2
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


async def streamed(app: Any, body: bytes, on_body: Callable[[bytes], None]) -> int:
    """A JSON Lines request whose answer is handed to `on_body` piece by piece as it arrives, not
    kept (a client reading as it comes); the status."""
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

    scope = {"type": "http", "method": "POST", "path": "/v1/decisions", "raw_path": b"/v1/decisions",
             "query_string": b"", "root_path": "", "scheme": "http", "headers": [(b"content-type", JSONL.encode())],
             "http_version": "1.1", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1)}
    await app(scope, receive, send)
    return status[0]


def test_the_answer_is_streamed_as_it_is_decided(evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer was built whole before its first byte was sent: up to 2,000 times the request
    (a minimal bundle's decision with its trace is ~40 kB). It is sent as it is decided: the first
    lines leave before the last bundle is decided, in many pieces, each of whole lines."""
    decided: list[object] = []
    decide = Evaluator.decide

    def counted(self: Evaluator, item: Any) -> carepolicy.Result:
        decided.append(item)
        return decide(self, item)

    monkeypatch.setattr(Evaluator, "decide", counted)
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


def test_a_failure_while_the_answer_is_sent_is_that_records_error(evaluator: Evaluator,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
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
        None, "eval/internal", "output/serialise", None, None]
    assert lines[1]["error"][0]["message"] == "internal error: RuntimeError: a reader bug"


@pytest.mark.parametrize(("media", "encoding", "path", "shown"), [
    ("application/" + "x" * 10_000, None, "/v1/decisions", "`application/xxxxxxxxxxxxxxxxxxxxxxxxxxxx…` is not"),
    ("application/json; charset=" + "x" * 10_000, None, "/v1/decisions", "declared `" + "x" * 40 + "…`"),
    ("application/json", "x" * 10_000, "/v1/decisions", "`xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…`-encoded"),
    ("application/json", None, "/v1/decisions?" + "k" * 60_000 + "=1", "found `" + "k" * 40 + "…`"),
    ("application/json", None, "/v1/decisions?" + "&".join(f"k{n}=1" for n in range(3_000)),
     "found `k0`, `k1`, `k2`, `k3`, `k4` and 2,995 more"),
    ("application/json", None, "/v1/" + "p" * 60_000, "no POST /v1/pppppppppppppppppppppppppppppppppppp… here"),
])
def test_what_a_client_sent_is_echoed_short(evaluator: Evaluator, media: str, encoding: str | None, path: str,
                                             shown: str) -> None:
    """A refusal names what it refuses, but a hostile header, query or path was echoed whole: a
    60 kB query name came back as a 60 kB message (3,000 names as a list of 3,000). Each is now
    shown by its first 40 characters, and a list of query names by its first five."""
    headers = (("content-encoding", encoding),) if encoding else ()
    answer = call(evaluator, b'{"month": "2025-03"}', media, path=path, headers=headers)
    (problem,) = answer.lines()[0]["error"]
    assert shown in problem["message"]
    assert len(answer.body) < 1_000


def test_a_failure_of_the_stream_itself_ends_it_with_an_error_record(evaluator: Evaluator,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
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
        "internal error: RuntimeError; the records after the last line above were not answered")
    assert "RuntimeError: a bug" in caplog.text


def test_an_http_10_client_is_told_it_cannot_receive_a_streamed_answer(evaluator: Evaluator) -> None:
    """uvicorn's httptools protocol (the one `serve` runs) frames a body of unknown length in chunks
    whatever the request's version, and an HTTP/1.0 client cannot read chunks: it got the answer
    with the chunk sizes in it. An answer of several records, streamed, is refused to it with a 505
    that says so; one bundle (a whole answer, with its length) is still answered."""
    http10 = (("x-test-http-version", "1.0"),)
    answer = call(evaluator, b'{"month": "2025-03"}\n' * 2, JSONL, headers=http10)
    (problem,) = answer.lines()[0]["error"]
    assert (answer.status, problem["code"]) == (505, "service/http-version")
    assert problem["message"] == "an answer of several records is streamed in chunks, which HTTP/1.0 cannot receive"
    one = call(evaluator, b'{"month": "2025-03"}', headers=http10)
    assert (one.status, one.headers["x-carepolicy-records"]) == (200, "1")
