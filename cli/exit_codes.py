"""The exit codes of every `carepolicy` command, defined once."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What a `carepolicy` process tells its caller."""

    OK = 0  # success; a denial is an answer, so it is a success too
    POLICY_ERRORS = 1  # `check` found policy errors, a `test` case failed, or `fmt --check`/`--diff` found changes
    BAD_INPUT = 2  # bad input or usage: a missing or unreadable file, a bad bundle, a bad option
    INTERRUPTED = 130  # `batch` stopped by SIGINT or SIGTERM: the complete lines are kept, --resume continues


__all__ = ["ExitCode"]
