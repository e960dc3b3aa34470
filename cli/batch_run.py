"""Deciding `batch` records in order, in this process or in a pool of worker processes.

Each record becomes exactly one output line: its decision, or the error record that stands in its
place (a record that cannot be decoded, validated, evaluated or serialised). With `--jobs N > 1`
the records go in chunks to N - 1 worker processes and this one, which decides a chunk itself
whenever the workers have `WINDOW_PER_JOB` chunks each in flight; the results are written in input
order, with a bounded number of chunks pending, so memory stays bounded whatever the input's size.
The workers are forked from the process that loaded the policy set, so each has it loaded once,
and the output is byte for byte the output of `--jobs 1` (same code, same order).
"""

from __future__ import annotations

import json
import multiprocessing
import signal
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice
from multiprocessing.pool import AsyncResult, Pool
from typing import TYPE_CHECKING

from .batch_input import RawRecord, Work, decode
from .common import ErrorRecord, Setup, decide, internal_error

if TYPE_CHECKING:
    from carepolicy.engine import Decision

CHUNK = 64  # records per task sent to a worker: large enough that the hand-over costs little
WINDOW_PER_JOB = 4  # chunks in flight per worker


@dataclass(frozen=True, slots=True)
class Done:
    """One record's output line, and its error record when it has no decision."""

    line: bytes
    error: ErrorRecord | None


def decide_one(work: Work, setup: Setup, trace_form: str) -> Done:
    from carepolicy.engine import Bundle
    from carepolicy.engine.decision.model import to_json_bytes

    try:
        item = decode(work) if isinstance(work, RawRecord) else work
    except Exception as error:  # a reader bug on one record must not lose the others
        assert isinstance(work, RawRecord)
        failed = internal_error(error, source=work.source, bundle=f"#{work.index + 1}")
        return Done(error_line(failed), failed)
    record = decide(item, setup)
    if isinstance(record, ErrorRecord):
        return Done(error_line(record), record)
    try:
        return Done(to_json_bytes(record, trace=trace_form) + b"\n", None)
    except (TypeError, ValueError, OverflowError, RecursionError) as error:  # UnicodeEncodeError is a ValueError
        source = item.source if isinstance(item, Bundle) else "<input>"
        failed = _serialise_error(error, record, source)
        return Done(error_line(failed), failed)


def _serialise_error(error: BaseException, decision: Decision, source: str) -> ErrorRecord:
    failed = internal_error(error, source=source, bundle=decision.bundle_id)
    diag = failed.diagnostics[0]
    from dataclasses import replace

    message = f"the decision cannot be written as JSON: {type(error).__name__}: {error}"
    return ErrorRecord(failed.bundle_id, failed.source, (replace(diag, code="output/serialise", message=message),))


def error_line(record: ErrorRecord) -> bytes:
    """An error record's line; one that is not Unicode text (a lone surrogate in an id) is escaped."""
    from carepolicy.engine.jsontext import canonical_bytes

    obj = record.to_json_obj()
    try:
        return canonical_bytes(obj) + b"\n"
    except ValueError:
        return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("ascii") + b"\n"


# --------------------------------------------------------------------------------------------- workers

_WORKER: tuple[Setup, str] | None = None  # set in the parent before the fork: inherited, never pickled


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles ^C and ends the pool
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _decide_chunk(chunk: list[Work]) -> list[Done]:
    assert _WORKER is not None
    setup, form = _WORKER
    return [decide_one(work, setup, form) for work in chunk]


def _chunks(works: Iterable[Work]) -> Iterator[list[Work]]:
    it = iter(works)
    while chunk := list(islice(it, CHUNK)):
        yield chunk


def _ready(done: AsyncResult[list[Done]] | list[Done]) -> bool:
    return isinstance(done, list) or done.ready()


class Decider:
    """Decides records in input order; `close()` ends the workers (also after an interruption)."""

    def __init__(self, setup: Setup, trace_form: str, jobs: int) -> None:
        self.setup, self.trace_form, self.jobs = setup, trace_form, jobs
        self._pool: Pool | None = None

    def run(self, works: Iterable[Work]) -> Iterator[Done]:
        it = iter(works)
        first = list(islice(it, self.jobs * CHUNK)) if self.jobs > 1 else []
        if len(first) < self.jobs * CHUNK:  # one process (or an input too small to share): no pool
            for work in chain(first, it):
                yield decide_one(work, self.setup, self.trace_form)
            return
        global _WORKER
        _WORKER = (self.setup, self.trace_form)
        # jobs - 1 workers, and this process decides too: on a machine with as many cores as jobs,
        # a parent that only waited would leave one core to three processes (measured: 1.55x
        # with two workers, see the commit). It keeps the workers' queues full and decides a chunk
        # itself whenever they are; the output stays in input order, as with --jobs 1.
        workers = self.jobs - 1
        pool = self._pool = multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker)
        pending: deque[AsyncResult[list[Done]] | list[Done]] = deque()
        queued = 0  # chunks in `pending` given to the workers
        most_queued, most_pending = workers * WINDOW_PER_JOB, self.jobs * WINDOW_PER_JOB
        for chunk in _chunks(chain(first, it)):
            while pending and (len(pending) >= most_pending or _ready(pending[0])):
                done = pending.popleft()
                if not isinstance(done, list):
                    queued -= 1
                    done = done.get()
                yield from done
            if queued < most_queued:
                pending.append(pool.apply_async(_decide_chunk, (chunk,)))
                queued += 1
            else:
                pending.append([decide_one(work, self.setup, self.trace_form) for work in chunk])
        while pending:
            done = pending.popleft()
            yield from done if isinstance(done, list) else done.get()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


__all__ = ["CHUNK", "Decider", "Done", "decide_one", "error_line"]
