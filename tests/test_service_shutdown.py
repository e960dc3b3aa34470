"""How `carepolicy serve` stops: on SIGTERM it takes no new connection, lets the answers in flight
finish, and gives those whose clients do not read them at most --shutdown-timeout seconds.

uvicorn waits for ever by default: one client that stopped reading its answer (a stalled pipeline,
a half-open connection) kept the service from stopping until that client went, whatever the
signals sent to it. Started here as a user starts it, in a subprocess on a free port.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.main import cli
from click.testing import CliRunner

from benchmarks.bench_evaluate import make_bundles
from tests.pipeline_data import jsonl

JSONL = "application/x-ndjson"
STALLED = jsonl(make_bundles(400, 3)).encode()  # valid bundles: answered 200
READ = jsonl(make_bundles(6, 4)).encode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(*options: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    command = [str(Path(sys.executable).parent / "carepolicy"), "serve", "--port", str(port), *options]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            time.sleep(0.3)
    process.kill()
    pytest.fail(f"carepolicy serve did not start: {process.communicate()[1].decode(errors='replace')}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def _stalled_client(port: int) -> socket.socket:
    """A client that sends a batch whose answer (~10 MB with the trace) is far more than the socket
    buffers hold, reads its status line, and then stops reading."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # (before connecting, so that it holds)
    raw.connect(("127.0.0.1", port))
    raw.sendall(b"POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: " + JSONL.encode()
                + b"\r\nContent-Length: " + str(len(STALLED)).encode() + b"\r\n\r\n" + STALLED)
    raw.settimeout(60)
    assert raw.recv(12) == b"HTTP/1.1 200"
    return raw


def test_a_client_that_stops_reading_does_not_keep_the_service_from_stopping() -> None:
    """Failed before: the service was still running 60 s after SIGTERM (and after a second one),
    until the stalled client closed its connection; and with one worker, a SIGTERM ended it with
    the signal's status (-15) where several workers exit 0."""
    process, port = _start("--workers", "1", "--shutdown-timeout", "2")
    reader_lines: list[Any] = []

    def reader() -> None:  # a client that reads its answer, under way at the SIGTERM: answered whole
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("POST", "/v1/decisions", body=READ, headers={"content-type": JSONL})
        response = connection.getresponse()
        started.set()
        reader_lines.extend(json.loads(line) for line in response.read().splitlines())

    started = threading.Event()
    try:
        stalled = _stalled_client(port)
        thread = threading.Thread(target=reader)
        thread.start()
        assert started.wait(60)
        process.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        try:
            process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            pytest.fail("the service was still running 45 s after SIGTERM, held by a client that does not read")
        took = time.monotonic() - stopping
        thread.join(60)
        stalled.close()
    finally:
        _stop(process)
    assert took < 30, took
    assert process.returncode == 0  # a stop asked for and carried out, as with several workers (was -15)
    assert [line["bundle_id"] for line in reader_lines] == [json.loads(b)["id"] for b in READ.splitlines()]
    assert process.stderr is not None
    assert b"Traceback" not in process.stderr.read()


@pytest.mark.parametrize(
    ("options", "grace"),
    [((), 70), (("--read-timeout", "1", "--request-timeout", "2.5"), 6), (("--shutdown-timeout", "0"), 0),
     (("--request-timeout", "inf"), None)],
)
def test_the_shutdown_timeout_is_given_to_uvicorn(options: tuple[str, ...], grace: int | None,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """By default the longest a request's work may take (its body, then its records read and decided
    within the request timeout, and those left read again): an answer being read is not cut."""
    import uvicorn

    given: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: given.append(kwargs))
    result = CliRunner().invoke(cli, ["serve", "--workers", "1", "--port", str(_free_port()), *options])
    assert result.exit_code == 0, result.output
    assert [kwargs["timeout_graceful_shutdown"] for kwargs in given] == [grace]


# ------------------------------------------------------------- what uvicorn's cancellation leaves, in process


async def _cancelled(app: Any, body: bytes, more_body: bool, stalls: bool) -> list[dict[str, Any]]:
    """A request cancelled as uvicorn cancels what still runs --shutdown-timeout after a SIGTERM:
    its body complete or not (`more_body`: the rest never comes), its client reading its answer or
    not (`stalls`: the first piece of the body is never taken). Returns what was sent; the request's
    task must end without raising."""
    sent: list[dict[str, Any]] = []
    never = asyncio.Event()
    delivered = [False]

    async def receive() -> dict[str, Any]:
        if not delivered[0]:
            delivered[0] = True
            return {"type": "http.request", "body": body, "more_body": more_body}
        await never.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if stalls and message["type"] == "http.response.body" and message.get("body"):
            await never.wait()

    scope = {"type": "http", "method": "POST", "path": "/v1/decisions", "raw_path": b"/v1/decisions",
             "query_string": b"", "root_path": "", "scheme": "http", "headers": [(b"content-type", JSONL.encode())],
             "http_version": "1.1", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1)}
    task = asyncio.ensure_future(app(scope, receive, send))
    for _ in range(600):  # until it waits for the body's rest, or for its client to read
        await asyncio.sleep(0.05)
        if (not more_body and any(m.get("body") for m in sent)) or (more_body and delivered[0]):
            break
    task.cancel()
    await task  # ended by the service, not by the cancellation: it raises nothing
    return sent


def test_a_request_cut_off_before_its_answer_gets_a_503_error_record() -> None:
    """Failed before: the cancellation went on to uvicorn, which logged it with a traceback and
    answered uvicorn's plain-text `500 Internal Server Error`."""
    import carepolicy
    from carepolicy.service.app import create_app
    from carepolicy.service.limits import ServiceConfig

    app = create_app(carepolicy.load(), ServiceConfig())
    sent = asyncio.run(_cancelled(app, READ[:100], more_body=True, stalls=False))
    start, body = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
    headers = dict(start["headers"])
    assert (start["status"], headers[b"content-type"]) == (503, b"application/json")
    assert b"x-carepolicy-policy-set-hash" in headers
    assert json.loads(body)["error"][0]["code"] == "service/shutdown"


def test_an_answer_its_client_does_not_read_is_cut_off_without_a_traceback(caplog: pytest.LogCaptureFixture) -> None:
    import carepolicy
    from carepolicy.service.app import create_app
    from carepolicy.service.limits import ServiceConfig

    app = create_app(carepolicy.load(), ServiceConfig())
    sent = asyncio.run(_cancelled(app, READ, more_body=False, stalls=True))
    assert sent[0]["status"] == 200
    assert not any(m["type"] == "http.response.body" and not m.get("more_body", False) for m in sent)  # cut
    assert "an answer not read within --shutdown-timeout was cut off" in caplog.text
