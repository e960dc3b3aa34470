"""The worker processes of `batch --jobs N`: N forked deciders; this process hands out and keeps order.

This process reads the input and sends each worker chunks of records over its own pipe (at most
`IN_FLIGHT_PER_JOB` chunks sent and not yet decided per worker, and `HELD_PER_JOB` not yet
written). A worker decides a chunk into one block of lines
and then, when the output is a JSON Lines file, writes the block to the output file itself, at
the offset this process gives it once every block before it is written: the blocks go to the file
one at a time and in input order, so the file always holds the lines of the records before some
point, as with one process. This process only learns, per chunk, how many lines it holds and its
error records: it neither receives nor writes the ~23 kB lines (measured in
docs/explanation/performance-history.md). For another writer (Parquet) the worker sends the block back
instead. Memory stays bounded whatever the input's size: jobs x HELD_PER_JOB chunks' lines.
After a signal, `salvage` has every record read decided and written in order (a bounded wait: the
chunks in flight, and those read and not yet sent): the file then holds them all, as with one process.

No threads in this process: it waits on the pipes itself. A worker reads its pipe in a thread of
its own (which also writes its blocks), so a chunk or a turn to write sent to it never waits for
it to finish deciding: this process can block in a send only until that thread has read it, and
that thread never waits for this process, so neither can wait for the other forever.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import socket
import struct
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from multiprocessing import get_context
from multiprocessing.process import BaseProcess
from typing import Any, TypeAlias

from .batch_output import LineWriter, OutputProblem, reason
from .batch_worker import HEADER, SIGNALS, Chunk, Decide, serve
from .common import ErrorRecord

Result: TypeAlias = tuple[bytes, int, tuple[ErrorRecord, ...]]  # joined lines, how many, the error records

IN_FLIGHT_PER_JOB = 3  # chunks per worker sent and not yet decided: one being decided, the next already there
# decided chunks a worker may hold until their turn to be written. Counted apart from those in
# flight: counted together (a window of 4, sessions 13-24), a worker whose blocks waited for a
# slower one's earlier chunk stopped getting chunks, and waited too (up to a tenth of its time).
# 6, not 12: the same speed in alternating pairs (compact, none), 5% faster with the full trace,
# whose blocks are ~4 MB (12 held made the matrix's two-job full run 261 MB at its peak, not 187)
HELD_PER_JOB = 6


class WorkerLost(OutputProblem):
    """A worker process ended before its chunks were done (killed, out of memory).

    `signal`: SIGINT or SIGTERM when that ended it (the workers ignore both, see batch_worker.Serve, so only
    one sent before a worker set its handlers could): the run was interrupted, and says so (exit
    130), rather than reporting a lost worker (exit 2)."""

    def __init__(self, message: str, *, help: str | None = None, exitcode: int | None = None) -> None:
        super().__init__(message, help=help)
        stopped = -exitcode if exitcode is not None and exitcode < 0 else None
        self.signal = stopped if stopped in (signal.SIGINT, signal.SIGTERM) else None


def _receive_exactly(source: socket.socket, size: int) -> bytes:
    """`size` bytes, received straight into one `bytes` (a signal can cut a receive short)."""
    data = source.recv(size, socket.MSG_WAITALL)
    if len(data) == size:
        return data
    parts = [data]
    while size > (got := sum(map(len, parts))):
        part = source.recv(size - got, socket.MSG_WAITALL)
        if not part:
            raise EOFError
        parts.append(part)
    return b"".join(parts)


class _Worker:
    _results: socket.socket  # this process's end of the pipe, to receive on (a copy of `connection`'s)

    def __init__(self, decide: Decide, output: int | None, earlier: Sequence[_Worker] = ()) -> None:
        context = get_context("fork")  # the policy set is loaded once, before the fork, and inherited
        self.connection, theirs = context.Pipe(duplex=True)
        # the fork copies this process's end of this worker's pipe and of the `earlier` workers'
        # pipes; the worker closes them, or it never reads the end of its pipe when this process is
        # killed (SIGKILL, out of memory), and waits forever (holding stderr open)
        parents = [self.connection, *(end for worker in earlier for end in (worker.connection, worker._results))]
        self.process: BaseProcess = context.Process(target=serve, args=(theirs, decide, output, parents),
                                                    daemon=True)
        # forked with the parent's handlers (batch's, which note a signal, or stop a read) until it
        # sets its own: blocked, the signals wait for the worker's handlers (which ignore them); the
        # parent's own wait the few ms of the fork.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        try:
            self.process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        theirs.close()
        self._results = socket.socket(fileno=os.dup(self.connection.fileno()))
        self.in_flight: deque[int] = deque()  # the chunks sent to it and not decided yet, oldest first
        self.unwritten = 0  # blocks it has decided and holds until their turn to be written

    def room(self) -> int:
        """How many more chunks it may be sent now (0: none until it decides or writes one)."""
        return min(IN_FLIGHT_PER_JOB - len(self.in_flight), HELD_PER_JOB - self.unwritten - len(self.in_flight))

    def send(self, message: tuple[str, Any] | None) -> None:
        try:
            self.connection.send(message)
        except OSError:  # a broken pipe: it has ended
            raise self._lost() from None

    def receive(self) -> tuple[tuple[Any, ...], bytes]:
        try:
            size, about_size = HEADER.unpack(_receive_exactly(self._results, HEADER.size))
            note = pickle.loads(_receive_exactly(self._results, about_size))
            lines = _receive_exactly(self._results, size) if size else b""
        except (EOFError, OSError, struct.error):
            raise self._lost() from None
        return note, lines

    def _lost(self) -> WorkerLost:
        self.process.join(5)
        return WorkerLost(
            f"a worker process ended unexpectedly (exit status {self.process.exitcode})",
            help="the file holds only complete lines; run again with --resume to continue",
            exitcode=self.process.exitcode,
        )

    def end(self) -> None:
        self.process.join()
        self._results.close()
        self.connection.close()


# --------------------------------------------------------------------------------------------- the pool


def _in_flight(worker: _Worker) -> int:
    return len(worker.in_flight)


class WorkerPool:
    """`jobs` forked workers deciding chunks; `results` yields their results in the chunks' order.

    With a `writer` (JSON Lines) the workers write the lines themselves, in order, and a result's
    lines are empty (`writer.written` counts them); without one the lines come back in the result.
    """

    def __init__(self, jobs: int, decide: Decide, writer: LineWriter | None) -> None:
        self._writer = writer
        output = None if writer is None else writer.fileno()
        self._workers: list[_Worker] = []
        try:
            for _ in range(jobs):
                self._workers.append(_Worker(decide, output, self._workers))
        except OSError as error:  # a fork refused (a limit on processes, no memory): was a traceback, exit 1
            self.close()
            raise OutputProblem(f"cannot start {jobs} worker processes: {reason(error)}",
                                help="the file holds only complete lines; run again with --resume, with fewer "
                                "--jobs (--jobs 1 starts none)") from None
        self._complete: dict[int, Result] = {}  # ready to yield: at most the window
        self._decided: dict[int, tuple[_Worker, int, int, tuple[ErrorRecord, ...]]] = {}  # not written yet
        self._to_write = 0  # the next chunk to write: blocks go to the file one at a time, in order
        self._writing = False
        self._done = 0  # the next result to yield
        self._sent = 0  # the chunks sent to the workers
        # one poll object for the run: multiprocessing's `wait` made and filled a selector at each
        # wait, two a chunk (~1 µs a record of this process's time)
        self._poll = select.poll()
        self._by_fileno = {worker.connection.fileno(): worker for worker in self._workers}
        for fileno in self._by_fileno:
            self._poll.register(fileno, select.POLLIN)

    def results(self, chunks: Iterator[Chunk]) -> Iterator[Result]:
        exhausted = False
        while True:
            while not exhausted:
                ready = [worker for worker in self._workers if worker.room() > 0]
                if not ready:
                    break
                worker = min(ready, key=_in_flight)  # the one to run out of chunks first
                chunk = next(chunks, None)
                if chunk is None:
                    exhausted = True
                    break
                self._send(worker, chunk)
            if self._done == self._sent:
                return
            yield from self._next(contextlib.nullcontext)

    def salvage(self, held: Sequence[Chunk], waiting: Callable[[], AbstractContextManager[None]]) -> Iterator[Result]:
        """After a signal (`results` left where it was, or cut short in a read of the input): the
        results of every chunk sent, and of `held` (the records read and not yet sent), in order.

        The workers decide while this process waits for more input (a slow producer, a FIFO), and
        only this process tells them to write: every record read is written, as with one process.
        The wait is bounded: the chunks sent are at most IN_FLIGHT_PER_JOB a worker, and those the
        workers decided already take only the writes. `waiting()` is around each wait (a second
        signal there ends the salvage: `close` then cuts the file to the lines counted). A write
        that fails (a full disk: the file is cut back to its complete lines) or a worker lost is
        raised, as it would be without a signal."""
        for chunk in held:  # (beyond the window by at most the chunk being read: bounded too)
            self._send(min(self._workers, key=_in_flight), chunk)
        while self._done < self._sent:
            yield from self._next(waiting)

    def _send(self, worker: _Worker, chunk: Chunk) -> None:
        worker.send(("chunk", chunk))
        worker.in_flight.append(self._sent)
        self._sent += 1

    def _next(self, waiting: Callable[[], AbstractContextManager[None]]) -> Iterator[Result]:
        """The next result in order, once its chunk is decided (and written)."""
        while self._done not in self._complete:
            with waiting():
                ready = self._poll.poll()
            for fileno, _event in ready:  # (a worker with nothing to send is readable only once it has ended:
                self._hear(self._by_fileno[fileno])  # `receive` then raises WorkerLost, as a send to it would)
        # counted before it is yielded: a run that stops here (a signal) leaves `salvage` the next one
        self._done += 1
        yield self._complete.pop(self._done - 1)

    def _hear(self, worker: _Worker) -> None:
        note, lines = worker.receive()
        if note[0] == "decided":
            _, count, errors, size = note
            number = worker.in_flight.popleft()
            if self._writer is None:
                self._complete[number] = (lines, count, errors)
                return
            self._decided[number] = (worker, size, count, errors)
            worker.unwritten += 1
        else:  # ("written",) or ("failed", errno, reason): the block of chunk `_to_write`
            assert self._writer is not None
            assert self._writing
            number, self._writing = self._to_write, False
            _, size, count, errors = self._decided.pop(number)
            worker.unwritten -= 1
            if note[0] == "failed":
                self._writer.fail(OSError(note[1], note[2]))
            self._writer.committed(size, count)
            self._complete[number] = (b"", count, errors)
            self._to_write += 1
        self._turn()

    def _turn(self) -> None:
        """The worker holding the next block in order writes it, when no block is being written."""
        if self._writer is None or self._writing or self._to_write not in self._decided:
            return
        worker = self._decided[self._to_write][0]
        worker.send(("write", self._writer.end()))  # its oldest block is that one
        self._writing = True

    def finish(self) -> None:
        """End the workers once every result is in (`results` has ended): each is told to stop."""
        for worker in self._workers:
            worker.send(None)
        for worker in self._workers:
            worker.end()
        self._workers = []

    def close(self) -> None:
        """End the workers now (after an interruption or an error); nothing when they have finished.

        A block cut off mid-write is cut from the file: it holds only the lines counted as written.
        """
        if not self._workers:
            return
        for worker in self._workers:
            worker.process.kill()  # (SIGKILL: they ignore SIGTERM)
        for worker in self._workers:
            worker.end()
        self._workers = []
        if self._writer is not None:
            self._writer.cut_to_written()


__all__ = ["HELD_PER_JOB", "IN_FLIGHT_PER_JOB", "WorkerLost", "WorkerPool"]
