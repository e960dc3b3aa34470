"""How `carepolicy batch` hears SIGINT and SIGTERM: a stop at the next record once lines are being
written (the lines written so far kept, for `--resume`), and a stop at once while nothing is: while
the run is set up, and while the next input record is awaited from a pipe or FIFO. Whether the run
stopped so is complete after all (the signal came once every record was written) is decided in
commands/batch.py.

Kept apart from commands/batch.py, which runs the command: the handlers' states (noted, immediate)
and their hand-over read in one place.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from .batch_input import Read


class Interrupted(BaseException):  # as KeyboardInterrupt: no `except Exception` may swallow it
    """A signal while the run is being set up (the policies loading): nothing to finish, stop at once."""


class Stop:
    """SIGINT/SIGTERM ask the run to stop at the next record; the lines written so far are kept.

    The handlers are in place before the output is checked: until `now()` a signal is only noted, while
    the output is checked and opened (for Parquet, importing pyarrow and the engine: 0.3 s, in which a signal
    ended the run with click's "Aborted!", exit 1, or for SIGTERM with no word at all, exit -15).
    From `now()` on, while `immediate` (the setup: loading the policies takes about a second; an input
    awaited), a signal stops at once, so that it too ends with exit 130 and the count of lines written."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self.heard = 0  # signals heard: after the first, the records read are still written (`again`)
        self.immediate = False
        self.awaiting = False  # the run stopped while the next input record was awaited (see `awaited`)
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Stop:
        for number in (signal.SIGINT, signal.SIGTERM):
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def now(self) -> None:
        """From here on a signal stops at once; one noted before (while the output was opened) does now."""
        self.immediate = True
        if self.signal is not None:
            self.immediate = False
            raise Interrupted

    @contextmanager
    def again(self) -> Iterator[None]:
        """A wait in which a second signal stops at once (raises `Interrupted`): after the first,
        the records read are decided and written (with --jobs, the chunks the workers hold: a few
        chunks' time), and ^C twice cuts that short. One heard before the wait stops it as it begins."""
        self.immediate = True
        try:
            if self.heard > 1:
                self.immediate = False
                raise Interrupted
            yield
        finally:
            self.immediate = False

    def _handle(self, number: int, _frame: FrameType | None) -> None:
        self.signal = number
        self.heard += 1
        if self.immediate:
            self.immediate = False  # one stop: a second signal (^C twice) while it is reported is only noted
            raise Interrupted

    def __exit__(self, *_exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]


def may_wait(inputs: Sequence[str]) -> bool:
    """Whether a read of these inputs may wait for ever: one is a pipe, a FIFO, a terminal or a
    socket (standard input too), or standard input cannot be told. A regular file's read returns."""
    for path in inputs:
        try:
            mode = os.fstat(sys.stdin.fileno()).st_mode if path == "-" else os.stat(path).st_mode
        except (OSError, ValueError, AttributeError):  # no such file: its error record comes at once
            if path == "-":  # standard input closed, or not a file descriptor: as a pipe
                return True
            continue
        if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode):
            return True
    return False


def awaited(works: Iterator[Read], stop: Stop, wait: bool = True) -> Iterator[Read]:
    """The input records, read with a signal stopping the run at once while the next one is read
    when the read may wait for ever (`wait`): an idle pipe (`producer | batch -`) or FIFO, while no
    line is being written. Then the end of the input is known only if a read found it.

    From regular files (not `wait`) a read is never cut short: a signal in it is noted, and once one
    is, one more read says whether the input has ended. A signal as the last record was decided, or
    in the read that found the end, so leaves a run with every record written, and it is complete
    (commands/batch.py), as the same run is with `--jobs`, which reads ahead."""
    while True:
        # (set before the signal is looked at: one noted between the two would not stop the read)
        stop.immediate = wait
        try:
            noted = stop.signal is not None
            if noted and wait:  # (with --jobs the input is read ahead: not one more record)
                raise Interrupted
            work = next(works, None)
        except Interrupted:
            stop.awaiting = wait
            raise
        finally:
            stop.immediate = False
        if work is None:
            return
        if noted:  # the input goes on: this record is not decided
            raise Interrupted
        yield work
