"""The worker processes of `batch --jobs N`: N forked deciders, this process only hands out and writes.

Each worker gets chunks of records over its own pipe and sends back, per chunk, the chunk's output
lines joined into one `bytes` and the error records among them (usually none): one message per
chunk, not one object per record, so this process spends a few microseconds per record on the
hand-over and the workers have the cores (measured in docs/explanation/performance.md). Results
come back per worker in the order its chunks were sent, and this process yields them in input
order, with at most `WINDOW_PER_JOB` chunks per worker in flight: memory stays bounded whatever
the input's size (jobs x WINDOW_PER_JOB x CHUNK records' lines at most).

No threads in this process: it waits on the pipes itself, so nothing competes with it for the
interpreter lock while it writes. A worker reads its pipe in a thread of its own, so a chunk sent
to it never waits for it to finish deciding the one before: this process can block in a send only
until that thread has read it, and the worker never waits for this process while that thread
reads, so neither can wait for the other forever.
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import TypeAlias

from .batch_input import Work
from .batch_output import OutputProblem
from .common import ErrorRecord

Chunk: TypeAlias = list[Work]
Result: TypeAlias = tuple[bytes, int, tuple[ErrorRecord, ...]]  # joined lines, how many, the error records
Decide: TypeAlias = Callable[[Chunk], Result]

WINDOW_PER_JOB = 3  # chunks in flight per worker: one being decided, the next ones already there


class WorkerLost(OutputProblem):
    """A worker process ended before it sent back a chunk (killed, out of memory)."""


_HEADER = struct.Struct("!QQ")  # a result's lines' length, its (count, errors) pickle's length


def _serve(tasks: Connection, decide: Decide) -> None:
    """A worker: decide every chunk received until None, and send back each result."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles ^C and ends the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    inbox: queue.SimpleQueue[Chunk | None] = queue.SimpleQueue()  # bounded by the parent's window

    def receive() -> None:
        while True:
            chunk = tasks.recv()
            inbox.put(chunk)
            if chunk is None:
                return

    threading.Thread(target=receive, daemon=True).start()
    results = socket.socket(fileno=os.dup(tasks.fileno()))  # the same pipe: one send per result
    while (chunk := inbox.get()) is not None:
        lines, count, errors = decide(chunk)
        about = pickle.dumps((count, errors))
        results.sendall(_HEADER.pack(len(lines), len(about)) + about)
        results.sendall(lines)
    results.close()
    tasks.close()


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
    def __init__(self, decide: Decide) -> None:
        context = get_context("fork")  # the policy set is loaded once, before the fork, and inherited
        self.connection, theirs = context.Pipe(duplex=True)
        self.process: BaseProcess = context.Process(target=_serve, args=(theirs, decide), daemon=True)
        self.process.start()
        theirs.close()
        self._results = socket.socket(fileno=os.dup(self.connection.fileno()))
        self.in_flight: deque[int] = deque()  # the chunk numbers sent to it, oldest first

    def receive(self) -> Result:
        try:
            size, about_size = _HEADER.unpack(_receive_exactly(self._results, _HEADER.size))
            count, errors = pickle.loads(_receive_exactly(self._results, about_size))
            lines = _receive_exactly(self._results, size)
        except (EOFError, OSError, struct.error):
            self.process.join(5)
            raise WorkerLost(
                f"a worker process ended unexpectedly (exit status {self.process.exitcode})",
                help="the file holds only complete lines; run again with --resume to continue",
            ) from None
        return lines, count, errors

    def end(self) -> None:
        self.process.join()
        self._results.close()
        self.connection.close()


class WorkerPool:
    """`jobs` forked workers deciding chunks; `results` yields them in the order of the chunks."""

    def __init__(self, jobs: int, decide: Decide) -> None:
        self._workers: list[_Worker] = []
        for _ in range(jobs):
            self._workers.append(_Worker(decide))

    def results(self, chunks: Iterator[Chunk]) -> Iterator[Result]:
        done: dict[int, Result] = {}  # chunks back before the ones ahead of them (bounded by the window)
        sent = written = 0
        exhausted = False
        by_connection = {worker.connection: worker for worker in self._workers}
        while True:
            while not exhausted:
                worker = min(self._workers, key=lambda w: len(w.in_flight))
                if len(worker.in_flight) >= WINDOW_PER_JOB:
                    break
                chunk = next(chunks, None)
                if chunk is None:
                    exhausted = True
                    break
                worker.connection.send(chunk)
                worker.in_flight.append(sent)
                sent += 1
            if written == sent:
                return
            while written not in done:
                busy = [worker.connection for worker in self._workers if worker.in_flight]
                for ready in wait(busy):
                    worker = by_connection[ready]  # type: ignore[index]
                    done[worker.in_flight.popleft()] = worker.receive()
            while written in done:
                yield done.pop(written)
                written += 1

    def finish(self) -> None:
        """End the workers once every result is in (`results` has ended): each is told to stop."""
        for worker in self._workers:
            worker.connection.send(None)
        for worker in self._workers:
            worker.end()
        self._workers = []

    def close(self) -> None:
        """End the workers now (after an interruption or an error); nothing when they have finished."""
        for worker in self._workers:
            worker.process.terminate()
        for worker in self._workers:
            worker.end()
        self._workers = []


__all__ = ["WINDOW_PER_JOB", "WorkerLost", "WorkerPool"]
