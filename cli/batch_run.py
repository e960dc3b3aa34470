"""Deciding `batch` records in order, in this process or in a pool of worker processes.

Each record becomes exactly one output line: its decision, or the error record that stands in its
place (a record that cannot be decoded, validated, evaluated or serialised). With `--jobs N > 1`
the records go in chunks of `CHUNK` to N worker processes (batch_pool.py) and come back as one
joined block of lines per chunk, yielded in input order, with a bounded number of chunks pending,
so memory stays bounded whatever the input's size. The workers are forked from the process that
loaded the policy set, so each has it loaded once, and the output is byte for byte the output of
`--jobs 1` (the same `decide_one` on every record, the same order).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple

from carepolicy.record_outcomes import error_line, serialise_error

from .batch_input import BLOCK_RECORDS, RawLines, RawRecord, Read, Work, decode, records_in, records_of
from .batch_output import LineWriter
from .common import ErrorRecord, Setup, decide, internal_error

if TYPE_CHECKING:
    from .batch_pool import WorkerPool

CHUNK = BLOCK_RECORDS  # records per task sent to a worker: large enough that the hand-over costs little


class Done(NamedTuple):
    """Output lines in input order (one record's, or a chunk's joined) and the error records among them.

    A named tuple, not a frozen dataclass: one is made for every record, and a frozen dataclass's
    `__init__` sets each field through `object.__setattr__` (~1.5 µs a record for these three).
    """

    line: bytes
    errors: tuple[ErrorRecord, ...] = ()
    count: int = 1  # type: ignore[assignment]  # how many lines `line` holds (tuple.count is never used)

    @property
    def error(self) -> ErrorRecord | None:
        """The one record's error record (a chunk: its first)."""
        return self.errors[0] if self.errors else None


def decide_one(work: Work, setup: Setup, trace_form: str) -> Done:
    engine, json_form = _MODULES[0] if _MODULES else _modules()
    try:
        item = decode(work) if isinstance(work, RawRecord) else work
    except Exception as error:  # a reader bug on one record must not lose the others
        assert isinstance(work, RawRecord)
        failed = internal_error(error, source=work.source, bundle=f"#{work.index + 1}")
        return Done(error_line(failed), (failed,))
    record = decide(item, setup)
    if isinstance(record, ErrorRecord):
        return Done(error_line(record), (record,))
    try:
        return Done(json_form.to_json_bytes(record, trace=trace_form, end=b"\n"))
    except Exception as error:  # TypeError, ValueError (a lone surrogate), ... or a bug in a writer: one record's
        source = item.source if isinstance(item, engine.Bundle) else "<input>"
        failed = serialise_error(error, record, source)
        return Done(error_line(failed), (failed,))


# The modules `decide_one` reads, imported on its first record and kept (late: `--help` does not
# need the engine). Two import statements on every record cost ~1.4 µs a record; their names are
# still read from the modules at each call, as the import statements read them (tests patch them).
_MODULES: list[tuple[ModuleType, ModuleType]] = []


def _modules() -> tuple[ModuleType, ModuleType]:
    import carepolicy.engine
    from carepolicy.engine.decision import json_form

    _MODULES.append((carepolicy.engine, json_form))
    return _MODULES[0]


# --------------------------------------------------------------------------------------------- chunks

_SETUP: tuple[Setup, str] | None = None  # set before the workers are forked: inherited, never pickled


def decide_chunk(chunk: list[Read]) -> tuple[list[bytes], int, tuple[ErrorRecord, ...]]:
    """A worker's task: the chunk's lines (one message back, not one per record; the worker writes
    them as they are, batch_pool.py), how many, and its error records."""
    assert _SETUP is not None
    setup, form = _SETUP
    done = [decide_one(record, setup, form) for work in chunk for record in records_of(work)]
    return [d.line for d in done], len(done), tuple(d.error for d in done if d.error is not None)


class Decider:
    """Decides records in input order; `close()` ends the workers (also after an interruption).

    `run` yields `Done` items in input order: one per record with one job, one per chunk of
    records (their lines joined) with more; with a `writer`, a chunk's lines are already in the
    file and its `Done` holds only their count and error records. The records it has read and not
    yet decided or handed to a worker it holds (`_held`): a signal while it waits for the next one
    (an idle pipe) leaves them there, and `salvage` decides them.
    """

    def __init__(self, setup: Setup, trace_form: str, jobs: int, writer: LineWriter | None = None) -> None:
        """`writer`: the JSON Lines file the workers write their lines to themselves (see batch_pool.py)."""
        self.setup, self.trace_form, self.jobs, self.writer = setup, trace_form, jobs, writer
        self._pool: WorkerPool | None = None
        self._held: deque[Read] = deque()

    def run(self, works: Iterable[Read]) -> Iterator[Done]:
        it = iter(works)
        setup, form = self.setup, self.trace_form
        if self.jobs == 1:
            for work in it:
                if isinstance(work, RawLines):  # (none: one job reads line by line, see commands/batch.py)
                    yield from (decide_one(record, setup, form) for record in records_of(work))
                else:  # one record: no generator a record on one process's path
                    yield decide_one(work, setup, form)
            return
        held = self._held
        for work in it:  # (one at a time: a signal in a read leaves those read)
            held.extend(records_of(work))  # (decided here, before the workers start: one by one)
            if len(held) >= self.jobs * CHUNK:
                break
        if len(held) < self.jobs * CHUNK:  # an input too small to share: no workers
            while held:
                yield decide_one(self._held_record(), setup, form)
            return
        # the first chunk is decided here, before the fork: the month plans it generates (a few
        # hundred ms of CPU at first use) are then inherited by every worker, not made again in each
        for _ in range(CHUNK):
            yield decide_one(self._held_record(), setup, form)
        if self.writer is not None:
            self.writer.flush()  # the workers write after the lines already in the file
        global _SETUP
        _SETUP = (setup, form)
        # `jobs` workers decide (and write); this process only reads and hands out (a few
        # microseconds a record), so it takes little of the cores from them (see batch_pool.py)
        from .batch_pool import WorkerPool  # here: multiprocessing costs ~17 ms to import, and one job needs none

        pool = self._pool = WorkerPool(self.jobs, decide_chunk, self.writer)
        for lines, count, errors in pool.results(self._chunks(it)):
            yield Done(lines, errors, count)
        pool.finish()
        self._pool = None

    def _held_record(self) -> Work:
        work = self._held.popleft()
        assert not isinstance(work, RawLines)  # (before the workers start, held one record at a time)
        return work

    def _chunks(self, works: Iterator[Read]) -> Iterator[list[Read]]:
        """The records held, then those read, in chunks of CHUNK records (a block of lines goes
        whole: a chunk may hold up to 2 x CHUNK - 1); a record read is held until its chunk is
        handed out, so one a signal found in a read after it is not lost."""
        held = self._held
        while True:
            count = sum(map(records_in, held))  # (a few items: what the last chunk left)
            for work in works if count < CHUNK else ():
                held.append(work)
                count += records_in(work)
                if count >= CHUNK:
                    break
            if not held:
                return
            yield self._held_chunk()

    def _held_chunk(self) -> list[Read]:
        """The first held items up to CHUNK records (a block of lines goes whole)."""
        held, chunk, taken = self._held, [], 0
        while held and taken < CHUNK:
            chunk.append(work := held.popleft())
            taken += records_in(work)
        return chunk

    def salvage(self, waiting: Callable[[], AbstractContextManager[None]]) -> Iterator[Done]:
        """After a signal stopped `run`: every record it read and has not yet yielded, decided, in
        order. With workers, the chunks they hold (written, with a `writer`), and the records held
        here, handed to them first (WorkerPool.salvage); before they start, the records held are
        decided here (fewer than jobs x CHUNK). With one process there are none: each record is
        written as soon as it is decided. `waiting()` is around every wait: a second signal there
        stops the salvage (the lines written so far stand)."""
        held = self._held
        if self._pool is None:
            setup, form = self.setup, self.trace_form
            while held:
                work = held.popleft()
                for record in records_of(work):
                    with waiting():
                        done = decide_one(record, setup, form)
                    yield done
            return
        chunks = []
        while held:
            chunks.append(self._held_chunk())
        for lines, count, errors in self._pool.salvage(chunks, waiting):
            yield Done(lines, errors, count)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


__all__ = ["CHUNK", "Decider", "Done", "decide_chunk", "decide_one", "error_line", "serialise_error"]
