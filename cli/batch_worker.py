"""One worker process of `batch --jobs N` (batch_pool.py forks them and keeps their order).

A worker decides every chunk it receives into one block of lines, and writes that block to the
output file itself when told its turn and offset (or sends it back, for a writer of another
kind). Its pipe is read by a thread of its own, so a chunk or a turn sent to it never waits for a
chunk being decided (batch_pool.py says why neither side can wait for the other forever).
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import socket
import struct
import sys
import threading
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, TypeAlias

from .batch_input import Read
from .common import ErrorRecord

Chunk: TypeAlias = list[Read]
Decided: TypeAlias = tuple[list[bytes], int, tuple[ErrorRecord, ...]]  # a chunk's lines, how many, its errors
Decide: TypeAlias = Callable[[Chunk], Decided]

IOV_MAX = 1024  # the buffers one pwritev takes (POSIX's minimum is 16; Linux's is 1024)
HEADER = struct.Struct("!QQ")  # a message's lines' length (0: none), its pickled note's length
SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})  # blocked from the fork until a worker's handlers are set


class Serve:
    """A worker's loop: decide every chunk received; write (or send back) each block when told."""

    def __init__(self, tasks: Connection, decide: Decide, output: int | None) -> None:
        self.tasks, self.decide, self.output = tasks, decide, output
        self.inbox: queue.SimpleQueue[Chunk | None] = queue.SimpleQueue()  # bounded by the parent's window
        self.blocks: deque[list[bytes]] = deque()  # decided, not written yet (at most the window)
        self.sending = threading.Lock()  # both threads send: one message at a time
        self.results = socket.socket(fileno=os.dup(tasks.fileno()))

    def __call__(self) -> None:
        # the parent handles ^C and SIGTERM and ends the workers (`close`): a signal to the process group
        # (systemd, `kill -TERM -- -PGID`) leaves them their chunks to finish (SIGTERM ended them with them)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)  # (blocked by the fork: see batch_pool._Worker)
        # the reader thread waits for the interpreter lock while the main thread decides, and the
        # turns to write pass through it one block at a time: hand it over within 0.5 ms, not 5
        sys.setswitchinterval(0.0005)
        threading.Thread(target=self._receive, daemon=True).start()
        while (chunk := self.inbox.get()) is not None:
            lines, count, errors = self.decide(chunk)
            size = sum(map(len, lines))
            if self.output is None:
                self._send(("decided", count, errors, size), b"".join(lines))
            else:
                self.blocks.append(lines)
                self._send(("decided", count, errors, size))

    def _receive(self) -> None:
        try:
            while True:
                message = self.tasks.recv()
                if message is None or message[0] == "chunk":
                    self.inbox.put(None if message is None else message[1])
                    if message is None:
                        return
                else:  # ("write", offset): the oldest block's turn
                    self._write(self.blocks.popleft(), message[1])
        except (EOFError, OSError):  # the parent is gone (killed): nothing left to do for it
            os._exit(1)

    def _write(self, block: list[bytes], offset: int) -> None:
        """The block's lines at `offset`, by `pwritev` from the lines themselves: joining a chunk's
        ~23 kB lines first was 1.6% of a worker's instructions a record (callgrind, session 17)."""
        assert self.output is not None
        views = [memoryview(line) for line in block if line]
        first = 0  # the first line not wholly written
        try:
            while first < len(views):
                done = os.pwritev(self.output, views[first : first + IOV_MAX], offset)
                offset += done
                while first < len(views) and done >= len(views[first]):
                    done -= len(views[first])
                    first += 1
                if done:  # a line cut short (a full disk writes what fits, then fails)
                    views[first] = views[first][done:]
        except OSError as error:
            self._send(("failed", error.errno, error.strerror))
            return
        self._send(("written",))

    def _send(self, note: tuple[Any, ...], lines: bytes = b"") -> None:
        about = pickle.dumps(note)
        with self.sending:
            self.results.sendall(HEADER.pack(len(lines), len(about)) + about)
            if lines:
                self.results.sendall(lines)


def serve(tasks: Connection, decide: Decide, output: int | None, parents: list[Connection | socket.socket]) -> None:
    for end in parents:  # the parent's ends, inherited by the fork: with them closed, its death is our pipe's end
        end.close()
    Serve(tasks, decide, output)()


__all__ = ["HEADER", "SIGNALS", "Chunk", "Decide", "Decided", "Serve", "serve"]
