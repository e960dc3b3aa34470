"""`carepolicy serve` over real HTTP on 127.0.0.1: started as a user would, in a subprocess on a free port.

The server runs with two workers (the multi-process path, each worker loading the policy set from
the settings `serve` passes on) and small limits, so that refusals are cheap to provoke.
"""

from __future__ import annotations

import asyncio
import gzip
import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from carepolicy.cli.main import cli
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import carepolicy
from carepolicy.service.limits import nesting_depth
from tests.pipeline_data import INVALID, dumps, jsonl, mixed_bundles

MAX_BODY = 200_000
READ_TIMEOUT = 1.5
BUNDLES = mixed_bundles(40, seed=5)
JSONL = "application/x-ndjson"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    port = _free_port()
    command = [str(Path(sys.executable).parent / "carepolicy"), "serve", "--port", str(port), "--workers", "2",
               "--max-body", str(MAX_BODY), "--read-timeout", str(READ_TIMEOUT)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if request(port, "GET", "/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                _, err = process.communicate(timeout=10) if process.poll() is not None else (b"", b"")
                pytest.fail(f"carepolicy serve did not start: {err.decode(errors='replace')}")
            time.sleep(0.3)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def request(port: int, method: str, path: str, body: bytes | None = None, media: str = "application/json",
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers={"content-type": media, **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def cli_lines(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The CLI's jsonl lines for BUNDLES, with the file name written as the service names a request."""
    path = tmp_path_factory.mktemp("service") / "bundles.jsonl"
    path.write_text(jsonl(BUNDLES), encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluate", "--format", "jsonl", str(path)], catch_exceptions=False)
    output = result.stdout_bytes.replace(json.dumps(str(path)).encode(), b'"<request>"')
    return output.splitlines(keepends=True)


def test_one_bundle_gives_the_cli_line(server: int, cli_lines: list[bytes]) -> None:
    status, headers, body = request(server, "POST", "/v1/decisions", jsonl(BUNDLES[:1]).encode())
    assert status == 200
    assert body == cli_lines[0]
    assert headers["content-type"] == "application/json"
    assert headers["x-carepolicy-policy-set-hash"] == carepolicy.load().policy_set_hash


def test_many_bundles_give_the_cli_bytes_and_422_for_the_invalid(server: int, cli_lines: list[bytes]) -> None:
    status, headers, body = request(server, "POST", "/v1/decisions", jsonl(BUNDLES).encode(), JSONL)
    assert status == 422
    assert body == b"".join(cli_lines)
    assert headers["x-carepolicy-invalid"] == str(len(INVALID))
    assert headers["x-carepolicy-records"] == str(len(BUNDLES))


def test_valid_bundles_only_give_200(server: int, cli_lines: list[bytes]) -> None:
    status, _, body = request(server, "POST", "/v1/decisions", jsonl(BUNDLES[:3]).encode(), JSONL)
    assert status == 200
    assert body == b"".join(cli_lines[:3])


def test_a_json_list_of_bundles_is_answered_as_json_lines(server: int, cli_lines: list[bytes]) -> None:
    """A list is one JSON document but several decisions: the answer says it is JSON Lines, which it is."""
    body = ("[" + ",".join(dumps(b) for b in BUNDLES[:3]) + "]").encode()
    status, headers, answer = request(server, "POST", "/v1/decisions", body)
    assert (status, headers["content-type"], headers["x-carepolicy-records"]) == (200, JSONL, "3")
    assert answer == b"".join(cli_lines[:3])


def test_an_invalid_bundle_is_422_with_the_cli_diagnostics(server: int, cli_lines: list[bytes]) -> None:
    index = BUNDLES.index(dict(INVALID[1]))
    status, _, body = request(server, "POST", "/v1/decisions", jsonl([BUNDLES[index]]).encode())
    assert status == 422
    assert body == cli_lines[index]
    (problem,) = json.loads(body)["error"]
    assert problem["fact_path"] == "$.beneficiary.colour"


def test_a_key_that_is_not_text_is_422(server: int) -> None:
    """`\\ud800` is a JSON key but not text UTF-8 can write: the bundle's error names it as JSON spells it."""
    body = b'{"month": "2025-03", "\\ud800": 1}'
    status, _, answer = request(server, "POST", "/v1/decisions", body)
    assert status == 422
    (problem,) = json.loads(answer.decode("utf-8"))["error"]
    assert (problem["code"], problem["fact_path"]) == ("facts/limit", "$['\\\\ud800']")


def _refusal(status: int, body: bytes) -> str:
    record = json.loads(body)
    assert record["bundle_id"] is None
    assert "Traceback" not in body.decode()
    code: str = record["error"][0]["code"]
    return f"{status} {code}"


def test_oversize_is_413(server: int) -> None:
    big = jsonl(BUNDLES * 10).encode()
    assert len(big) > MAX_BODY
    assert _refusal(*_status_body(request(server, "POST", "/v1/decisions", big, JSONL))) == "413 service/too-large"
    # without a Content-Length (chunked), the service counts what arrives
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    chunks = (big[i:i + 65536] for i in range(0, len(big), 65536))
    connection.request("POST", "/v1/decisions", body=chunks, headers={"content-type": JSONL}, encode_chunked=True)
    response = connection.getresponse()
    assert _refusal(response.status, response.read()) == "413 service/too-large"
    connection.close()


def _status_body(answer: tuple[int, dict[str, str], bytes]) -> tuple[int, bytes]:
    return answer[0], answer[2]


def test_deep_nesting_is_413(server: int) -> None:
    deep = b'{"month": "2025-03", "x": ' + b"[" * 500 + b"]" * 500 + b"}"
    assert _refusal(*_status_body(request(server, "POST", "/v1/decisions", deep))) == "413 service/too-deep"


def test_the_depth_check_is_linear_in_the_body() -> None:
    """The check runs on the event loop before any limit but the size: a body of quotes that never
    close (`"\\"\\"\\"...`) must cost one pass, not one pass per quote (that was 4 s for 32 kB)."""
    assert nesting_depth(b'{"a": ["x\\"]", {"b": "{["}]}') == 3  # brackets in strings are not counted
    assert nesting_depth(b'"\n[[[[]]]]\n"') == 4  # a string ends at its line (a JSON line is read alone)
    unclosed = b'"' + b'\\"' * 100_000  # 200 kB: the service's whole budget was minutes of one core
    started = time.monotonic()
    assert nesting_depth(unclosed + b"[[]]") == 0
    assert time.monotonic() - started < 2.0


def test_other_refusals(server: int) -> None:
    body = jsonl(BUNDLES[:1]).encode()
    assert _refusal(*_status_body(request(server, "POST", "/v1/decisions", body, "text/plain"))) == (
        "415 service/media-type"
    )
    assert _refusal(*_status_body(request(server, "GET", "/v1/decisions"))) == "405 service/route"
    assert request(server, "PUT", "/v1/decisions", body)[1]["allow"] == "POST"  # a 405 says what is allowed
    packed = request(server, "POST", "/v1/decisions", gzip.compress(body), headers={"content-encoding": "gzip"})
    assert _refusal(*_status_body(packed)) == "415 service/media-type"  # not `facts/io: not UTF-8 text`
    assert _refusal(*_status_body(request(server, "GET", "/nowhere"))) == "404 service/route"
    # a trailing slash is another path: a 404 that says so, not a redirect with an empty body
    assert _refusal(*_status_body(request(server, "POST", "/v1/decisions/", body))) == "404 service/route"
    # a query parameter is never ignored: `?trace=compact` would be answered with the full trace
    status, _headers, answer = request(server, "POST", "/v1/decisions?trace=compact&trace=none", body)
    assert _refusal(status, answer) == "400 service/query"
    assert json.loads(answer)["error"][0]["message"] == "the service takes no query parameters; found `trace`"


def test_an_internal_error_is_500_with_the_headers_of_every_response(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug is answered by Starlette's outermost layer, past the middleware that adds the headers
    to every other response: the handler adds them itself. (In process: no input is known to fail.)"""
    from carepolicy.service import app as service_app

    def fail(*args: object) -> object:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service_app, "answer_lines", fail)
    evaluator = carepolicy.load()
    application = service_app.create_app(evaluator, service_app.ServiceConfig())
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b'{"month": "2025-03"}', "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/decisions", "raw_path": b"/v1/decisions",
             "query_string": b"", "root_path": "", "headers": [(b"content-type", b"application/json")],
             "scheme": "http", "http_version": "1.1", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1)}
    with pytest.raises(RuntimeError):  # re-raised after the answer, for the server's log
        asyncio.run(application(scope, receive, send))  # type: ignore[arg-type]
    headers = dict(sent[0]["headers"])
    assert sent[0]["status"] == 500
    assert headers[b"x-carepolicy-policy-set-hash"] == evaluator.policy_set_hash.encode()
    assert headers[b"x-carepolicy-engine-version"] == carepolicy.engine_version().encode()
    assert json.loads(sent[1]["body"])["error"][0]["code"] == "service/internal"


@pytest.mark.parametrize("option", ["--read-timeout", "--request-timeout"])
def test_a_timeout_that_is_not_a_number_is_refused(option: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`nan` passes a range check (no comparison with it is true): it would make every request a
    500 (the read deadline) or never time out (the request deadline)."""
    import uvicorn

    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(args))
    result = CliRunner().invoke(cli, ["serve", "--workers", "1", option, "nan"])
    assert (result.exit_code, started) == (2, [])
    assert f"Invalid value for '{option}': nan is not a number of seconds" in result.output


@pytest.mark.parametrize("where", ["in use", "no such host"])
def test_an_address_it_cannot_listen_on_is_a_usage_error_before_the_start(
    where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """uvicorn said `ERROR: [Errno 98] ... address already in use` and exited with status 3,
    which carepolicy does not document (s33 CLI sweep): now usage/listen, exit 2, never started."""
    import socket

    import uvicorn

    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(args))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        host = "127.0.0.1" if where == "in use" else "no-such-host.invalid"
        result = CliRunner().invoke(cli, ["serve", "--workers", "1", "--host", host, "--port", str(port)])
    assert (result.exit_code, started) == (2, [])
    said = (f"cannot listen on 127.0.0.1:{port}: address already in use" if where == "in use"
            else "`no-such-host.invalid` is not an address or a host name that resolves")
    assert f"carepolicy: error[usage/listen]: {said}" in result.stderr
    assert "Traceback" not in result.output


def _complete(answer: bytes) -> bool:
    head, found, body = answer.partition(b"\r\n\r\n")
    lengths = [line.split(b":", 1)[1] for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")]
    return bool(found) and bool(lengths) and len(body) >= int(lengths[0])


def test_a_slow_body_is_408(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=30) as raw:
        raw.sendall(b"POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100\r\n\r\n{\"month\"")
        answer = b""
        while not _complete(answer):
            chunk = raw.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    (problem,) = json.loads(body)["error"]  # with a help, as every other refusal has (it had none)
    assert (problem["code"], problem["help"]) == ("service/timeout", "send the whole body at once, or start the "
                                                                      "service with a larger --read-timeout")


def _read_until_closed(port: int, request: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """What a raw HTTP request is answered, read until the server closes: status line, headers, body."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as raw:
        raw.sendall(request)
        answer = b""
        while chunk := raw.recv(1 << 20):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *fields = head.split(b"\r\n")
    return status, {k.strip().lower(): v.strip() for k, _, v in (f.decode().partition(":") for f in fields)}, body


def test_an_http_10_client_reads_the_answer_an_http_11_client_is_streamed(server: int) -> None:
    """Over a real uvicorn (httptools) and a raw socket: an HTTP/1.0 client cannot read chunks, and
    httptools sends them to it whatever its version, so its answer (here ~1.6 MB, past the 1 MiB it
    is held in memory, so spooled to a file) comes whole, with its length, then the connection
    closes; the bytes are those an HTTP/1.1 client is streamed, one line per record."""
    body = jsonl(BUNDLES).encode()
    status, headers, answer = _read_until_closed(server, b"POST /v1/decisions HTTP/1.0\r\nHost: x\r\n"
                                                 b"Content-Type: application/x-ndjson\r\nContent-Length: "
                                                 + str(len(body)).encode() + b"\r\n\r\n" + body)
    streamed_status, streamed_headers, streamed = request(server, "POST", "/v1/decisions", body, JSONL)
    assert status.startswith(b"HTTP/1.1 422")  # (uvicorn names its own version; 1.0 clients read it)
    assert streamed_status == 422
    assert "content-length" not in streamed_headers
    assert "transfer-encoding" not in headers
    assert headers["content-length"] == str(len(answer))
    assert len(answer) > 1024 * 1024
    assert answer == streamed
    assert answer.count(b"\n") == len(BUNDLES)
    assert (headers["x-carepolicy-records"], headers["x-carepolicy-errors"]) == (str(len(BUNDLES)), str(len(INVALID)))


def test_description_endpoints(server: int) -> None:
    evaluator = carepolicy.load()
    status, _, body = request(server, "GET", "/v1/policy-set")
    described = json.loads(body)
    assert status == 200
    assert described["policy_set_hash"] == evaluator.policy_set_hash
    assert described["switches"] == evaluator.describe()["switches"]
    assert described["limits"]["max_body_bytes"] == MAX_BODY
    health = json.loads(request(server, "GET", "/v1/health")[2])
    assert health == {"status": "ok", "policy_set_hash": evaluator.policy_set_hash,
                      "engine_version": carepolicy.engine_version()}
    document = json.loads(request(server, "GET", "/v1/openapi.json")[2])
    assert document["openapi"] == "3.1.0"
    schemas = document["components"]["schemas"]
    assert schemas["FactBundleV1"]["required"] == ["month"]
    assert [v["$ref"].rsplit("/", 1)[1] for v in schemas["FactBundle"]["oneOf"]] == ["FactBundleV1", "FactBundleV2"]
    assert set(document["paths"]) == {"/v1/decisions", "/v1/health", "/v1/policy-set"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300) | st.text(max_size=200).map(str.encode),
       media=st.sampled_from(["application/json", JSONL]))
def test_any_body_gets_an_answer_not_a_traceback(server: int, body: bytes, media: str) -> None:
    status, _, answer = request(server, "POST", "/v1/decisions", body, media)
    assert status in ((200, 413, 422) if body else (400,))
    for line in answer.splitlines():
        assert isinstance(json.loads(line), dict)
