"""The `carepolicy` console script (pyproject: carepolicy.cli.entry:main).

Importing click and the commands takes ~50 ms. A SIGINT in that time gave a KeyboardInterrupt
traceback, and a SIGTERM a silent kill; each now ends with one line and `ExitCode.INTERRUPTED`
(130), as `batch` does once it runs (nothing has been read or written yet). Once the commands are
imported, the usual handlers are back: each command handles an interruption its own way.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType

from .exit_codes import ExitCode

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _before_start(signum: int, _frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    sys.stderr.write(f"carepolicy: interrupted by {name} before the command started: nothing was read or written\n")
    raise SystemExit(ExitCode.INTERRUPTED)


def main() -> None:
    """Import the commands with the early handler in place, then run the command asked for."""
    previous = {signum: signal.signal(signum, _before_start) for signum in _SIGNALS}
    from .main import main as run_command  # (imported here: the handler must be in place first)

    for signum, handler in previous.items():
        signal.signal(signum, handler)
    run_command()
