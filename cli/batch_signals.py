"""How `carepolicy batch` hears SIGINT and SIGTERM: a stop at the next record once lines are being
written (the lines written so far kept, for `--resume`), and a stop at once while nothing is: while
the run is set up, and while the next input record is awaited.

Kept apart from commands/batch.py, which runs the command: the handlers' states (noted, immediate)
and their hand-over read in one place.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from types import FrameType

from .batch_input import Work


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
        self.immediate = False
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

    def _handle(self, number: int, _frame: FrameType | None) -> None:
        self.signal = number
        if self.immediate:
            self.immediate = False  # one stop: a second signal (^C twice) while it is reported is only noted
            raise Interrupted

    def __exit__(self, *_exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)  # type: ignore[arg-type]


def awaited(works: Iterator[Work], stop: Stop) -> Iterator[Work]:
    """The input records, read with a signal stopping the run at once while the next one is read:
    an idle pipe (`producer | batch -`) or FIFO may wait for ever, and no line is being written then."""
    while True:
        if stop.signal is not None:  # (with --jobs the input is read ahead: not one more record)
            raise Interrupted
        stop.immediate = True
        try:
            work = next(works, None)
        finally:
            stop.immediate = False
        if work is None:
            return
        yield work
