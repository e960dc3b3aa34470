"""A signal while the command is still being imported ends it with one line and exit 130.

The window is ~50 ms (click and the commands being imported), too short to hit from outside
reliably, so the test makes the process signal itself at the moment the commands are imported."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from carepolicy.cli.exit_codes import ExitCode

_SIGNAL_ON_IMPORT = """
import builtins, os, signal, sys
from carepolicy.cli import entry
real_import = builtins.__import__
def signalling_import(name, globals=None, locals=None, fromlist=(), level=0):
    if name == "main" and level == 1:  # entry.main's `from .main import main`
        os.kill(os.getpid(), signal.{signal})
    return real_import(name, globals, locals, fromlist, level)
builtins.__import__ = signalling_import
sys.argv = ["carepolicy", "--version"]
entry.main()
"""


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_a_signal_while_the_commands_are_imported_ends_with_one_line_and_exit_130(signum: str) -> None:
    script = _SIGNAL_ON_IMPORT.format(signal=signum)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == ExitCode.INTERRUPTED
    assert (
        done.stderr == f"carepolicy: interrupted by {signum} before the command started: nothing was read or written\n"
    )
    assert done.stdout == ""  # the command did not run


def test_after_the_import_the_usual_handlers_are_back() -> None:
    script = (
        "import signal, sys; from carepolicy.cli import entry; sys.argv = ['carepolicy', '--version']\n"
        "try:\n    entry.main()\nexcept SystemExit:\n    pass\n"
        "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler,"
        " signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "True True"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # (this process was never touched)
