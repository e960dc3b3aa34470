"""What the headers of an answer count, and an HTTP/1.0 answer (sent whole, spooled) whose spool
cannot be written: in process, the app called as uvicorn calls it (tests/test_service_requests.py).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import IO, Any

import pytest

import carepolicy
from carepolicy.evaluator import Evaluator
from carepolicy.service import whole
from carepolicy.service.limits import ServiceConfig
from tests.test_service_requests import JSONL, Answer, call, count_decisions

HTTP10 = (("x-test-http-version", "1.0"),)
# two valid bundles around one that is not, and a fourth whose decision cannot be written (below)
BODY = b'{"month": "2025-03"}\n{"month": "2025-13"}\n{"month": "2025-03"}\n{"month": "2025-03"}\n'


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return carepolicy.load()


def _error_codes(answer: Answer) -> list[str | None]:
    return [line["error"][0]["code"] if "error" in line else None for line in answer.lines()]


def _unwritable_third_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """The decision of bundle #3 cannot be written (a writer bug): an error found only once it is
    decided, after a streamed answer's headers are sent."""
    written = carepolicy.Result.jsonl

    def fragile(result: carepolicy.Result) -> bytes:
        if result.bundle_id == "#3":
            raise ValueError("a writer bug")
        line: bytes = written.__get__(result)
        return line

    monkeypatch.setattr(carepolicy.Result, "jsonl", property(fragile))


def test_no_header_of_a_streamed_answer_undercounts_its_error_records(
    evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A streamed answer's headers go before its first line, when only the records that are not
    valid bundles are known: its `x-carepolicy-errors: 1` was sent over an answer with two error
    records, and a pipeline that trusted it missed the second. The count it can give is sent under
    the name of what it counts, `x-carepolicy-invalid`, and no `x-carepolicy-errors` is sent."""
    _unwritable_third_line(monkeypatch)
    answer = call(evaluator, BODY, JSONL)
    assert _error_codes(answer) == [None, "facts/schema", "output/serialise", None]
    assert answer.status == 422
    assert (answer.headers["x-carepolicy-records"], answer.headers["x-carepolicy-invalid"]) == ("4", "1")
    assert "x-carepolicy-errors" not in answer.headers


def test_an_answer_sent_whole_counts_every_error_record(evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch) -> None:
    """Decided before its headers, an HTTP/1.0 answer (and one bundle's) knows all its error
    records: `x-carepolicy-errors` counts them all, `x-carepolicy-invalid` those that are not
    valid bundles, as in a streamed answer."""
    _unwritable_third_line(monkeypatch)
    answer = call(evaluator, BODY, JSONL, headers=HTTP10)
    assert _error_codes(answer) == [None, "facts/schema", "output/serialise", None]
    counts = [answer.headers[f"x-carepolicy-{name}"] for name in ("records", "invalid", "errors")]
    assert (answer.status, counts) == (422, ["4", "1", "2"])
    one = call(evaluator, b'{"month": "2025-13"}')
    counts = [one.headers[f"x-carepolicy-{name}"] for name in ("records", "invalid", "errors")]
    assert (one.status, counts) == (422, ["1", "1", "1"])


@pytest.mark.parametrize(
    ("body", "media"),
    [(b'{"month": "2025-03", "id": "' + b"x" * 1_990 + b'", "time": [' + b", ".join(
        [b'{"practitioner": "P1", "by": "clinical_staff", "minutes": 1}'] * 1_200) + b"]}", "application/json"),
     (b'[{"month": "2025-03"}]', "application/json"),
     (b'{"month": "2025-03", "time": [' + b", ".join([b'{"minutes": 1}'] * 7_000) + b"]}\n", JSONL)],
    ids=["a bundle over 64 KiB", "a bundle alone in a JSON list", "a JSON line over 64 KiB"],
)
def test_one_bundle_is_answered_whole_however_it_is_sent(evaluator: Evaluator, body: bytes, media: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The headers a pipeline reads of one bundle's answer do not depend on its size: one over
    64 KiB (decided on a worker thread, not on the event loop), or alone in a JSON list, was
    streamed, with no `x-carepolicy-errors` (the guide promises it for one bundle), no length, and
    a status that left out an error found once it was decided (failed before: KeyError)."""
    monkeypatch.setattr(carepolicy.Result, "jsonl", property(lambda result: 1 / 0))  # every decision unwritable
    answer = call(evaluator, body, media)
    assert _error_codes(answer) == ["output/serialise"]
    counts = [answer.headers[f"x-carepolicy-{name}"] for name in ("records", "invalid", "errors")]
    assert (answer.status, counts) == (422, ["1", "0", "1"])
    assert int(answer.headers["content-length"]) == len(answer.body)
    assert answer.headers["content-type"] == ("application/json" if media == "application/json" else JSONL)


def _refused_whole(answer: Answer) -> dict[str, Any]:
    """The one error record of an answer that is complete (its last body message says so)."""
    bodies = [m for m in answer.messages if m["type"] == "http.response.body"]
    assert bodies
    assert not bodies[-1].get("more_body")  # not a response cut short or left open
    assert answer.headers["content-type"] == "application/json"
    assert "x-carepolicy-policy-set-hash" in answer.headers
    (record,) = answer.lines()
    (problem,) = record["error"]
    assert (record["bundle_id"], problem["code"]) == (None, "service/spool")
    return dict(problem)


def test_a_full_disk_while_an_http_10_answer_is_spooled_is_a_507_and_the_spool_is_closed(
    evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The spool's file is /dev/full, whose every write fails with ENOSPC (a full disk). That was
    a 500 `internal error: OSError`, `this is a bug in carepolicy`, and its traceback raised out of
    the app: it is a 507 saying the answer could not be written and what to do, the file is closed
    (its space freed: it was unlinked as it was made), and the operator's log says where."""
    opened: list[IO[bytes]] = []

    def full_disk(**_: object) -> IO[bytes]:
        file = open("/dev/full", "w+b")  # noqa: SIM115 (closed by the spool, which the test checks)
        opened.append(file)
        return file

    monkeypatch.setattr(whole, "SPOOL_BYTES", 1000)  # past it at the first line: to the file
    monkeypatch.setattr(tempfile, "TemporaryFile", full_disk)
    with caplog.at_level(logging.WARNING, logger="carepolicy.serve"):
        answer = call(evaluator, BODY, JSONL, headers=HTTP10)
    assert answer.status == 507
    problem = _refused_whole(answer)
    assert problem["message"] == ("the whole answer an HTTP/1.0 request gets could not be written to the "
                                  "service's temporary storage: No space left on device")
    assert "HTTP/1.1" in problem["help"]
    assert len(opened) == 1
    assert opened[0].closed
    assert "No space left on device" in caplog.text


def test_a_missing_temporary_folder_for_an_http_10_answer_is_a_507(
    evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """TMPDIR gone (or unwritable: the tests run as root, which writes anywhere, so a missing one
    stands for both): the spool cannot roll over to a file. A 507 that says so, not a 500. An
    answer within SPOOL_BYTES is held in memory and needs no folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    small = call(evaluator, BODY, JSONL, headers=HTTP10)  # ~160 kB: within SPOOL_BYTES (1 MiB)
    assert (small.status, len(small.lines())) == (422, 4)
    monkeypatch.setattr(whole, "SPOOL_BYTES", 1000)
    answer = call(evaluator, BODY, JSONL, headers=HTTP10)
    assert answer.status == 507
    assert _refused_whole(answer)["message"].endswith("temporary storage: No such file or directory")
    assert not list(tmp_path.iterdir())  # nothing left behind


def test_an_http_10_answer_over_max_spool_is_refused_before_it_fills_the_disk(
    evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spooled answer had no bound but the request's: 8 MiB of minimal bundles decided for 30 s
    (~1,900 a second with the trace, measured on a shared machine) is gigabytes of temporary file
    per request. It stops at --max-spool: a 507 saying so, with the bundles after the line that
    passed it left undecided. A streamed (HTTP/1.1) answer takes no disk, and is not limited."""
    decided = count_decisions(monkeypatch)
    config = ServiceConfig(max_spool_bytes=100_000)  # about two decisions with the trace (~42 kB each)
    body = b'{"month": "2025-03"}\n' * 20
    answer = call(evaluator, body, JSONL, headers=HTTP10, config=config)
    assert answer.status == 507
    problem = _refused_whole(answer)
    assert problem["message"] == ("the whole answer an HTTP/1.0 request gets is over --max-spool "
                                  "(100000 bytes) at its record 3")
    assert "HTTP/1.1" in problem["help"]
    assert len(decided) == 3
    streamed = call(evaluator, body, JSONL, config=config)
    assert (streamed.status, len(streamed.lines())) == (200, 20)


def test_the_openapi_document_describes_the_counts_and_the_507(evaluator: Evaluator) -> None:
    """A client generated from the description learns which count each answer carries, and that an
    HTTP/1.0 answer can be a 507."""
    document = call(evaluator, b"", method="GET", path="/v1/openapi.json").lines()[0]
    responses = document["paths"]["/v1/decisions"]["post"]["responses"]
    assert "--max-spool" in responses["507"]["description"]
    for status in ("200", "422"):
        headers = responses[status]["headers"]
        assert {"x-carepolicy-records", "x-carepolicy-invalid", "x-carepolicy-errors"} <= set(headers)
        assert "not sent" in headers["x-carepolicy-errors"]["description"]


def test_the_spools_of_answers_sent_at_once_are_bounded_together(
    evaluator: Evaluator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each HTTP/1.0 request in flight had its own --max-spool, and uvicorn does not limit their
    number: N at once could take N times it of the disk. They share it: an answer that fits alone
    but not with those being sent is a 503 (ask again), and an answer's bytes are given back once
    it is sent."""
    config = ServiceConfig(max_spool_bytes=1_000_000)
    body = b'{"month": "2025-03"}\n' * 2
    alone = call(evaluator, body, JSONL, headers=HTTP10, config=config)
    assert (alone.status, len(alone.lines())) == (200, 2)
    assert whole.HELD.held == 0  # given back once sent
    assert whole.HELD.take(999_000, 1_000_000)  # another answer, being sent (a decision is ~40 kB)
    try:
        crowded = call(evaluator, body, JSONL, headers=HTTP10, config=config)
    finally:
        whole.HELD.give_back(999_000)
    assert crowded.status == 503
    problem = _refused_whole(crowded)
    assert problem["code"] == "service/spool"
    assert problem["message"] == ("the whole answers of the HTTP/1.0 requests this service is sending at once are "
                                  "over --max-spool (1000000 bytes) with this one's record 1")
    assert problem["help"].startswith("ask again once they have been sent")
    assert whole.HELD.held == 0  # what it had taken, given back
    again = call(evaluator, body, JSONL, headers=HTTP10, config=config)
    assert (again.status, again.lines()) == (200, alone.lines())


def test_an_answer_spooled_and_never_sent_gives_its_bytes_back(evaluator: Evaluator) -> None:
    """A response dropped before it is sent (its client gone) never runs its generator, whose
    `finally` closes the file: the bytes it held are given back when the file is dropped."""
    import gc
    import threading

    from carepolicy.service.answers import request_work

    works = request_work(b'{"month": "2025-03"}\n' * 2, "jsonl", 32)
    spooled = whole.spool(evaluator, works, float("inf"), 1_000_000, threading.Event())
    assert whole.HELD.held == spooled.size > 0
    response = whole.spooled_response(spooled, "jsonl")
    del response, spooled
    gc.collect()
    assert whole.HELD.held == 0
