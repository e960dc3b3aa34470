"""Writing results: the one place that turns an output that cannot be written into a clear error.

Every command writes through `output_stream` (a `--output` file or stdout) or prints to stdout under
the command group's guard (`guarded_invoke` in main.py). A disk that is full (`-o /dev/full`), a
folder that cannot be written, a closed pipe: each ends the command with `usage/output` on stderr
and exit status 2, never a traceback.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NoReturn, TextIO

import click

from .exit_codes import ExitCode
from .reporting import diagnostic, report

# errors that mean "this output cannot be written"; any other OSError is not ours to explain
_WRITE_ERRORS = frozenset(
    {errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EBADF, errno.EFBIG, errno.EDQUOT, errno.EROFS, errno.EACCES}
)


def _reason(error: OSError) -> str:
    return (error.strerror or str(error) or type(error).__name__).lower()


def _silence_stdout() -> None:
    """After stdout failed, point it at /dev/null so that the interpreter's final flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (e.g. under a test runner)
        pass


class ForgivingStderr(io.TextIOWrapper):
    """Standard error that cannot end a command: a write that fails (`2>/dev/full`, a closed pipe
    or terminal) silences it (/dev/null from then on) instead of raising.

    Standard error carries the summary, the progress and the diagnostics; where it cannot be
    written they are lost either way, but the results are not: `batch 2>/dev/full` wrote every line
    and renamed the output, then the summary's failed write was reported as "cannot write standard
    output" (to standard error, failing again) and the command exited 1 with the interpreter's
    dump of the error. The exit status is the command's own, as with any other stream of logs."""

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except OSError as error:
            if not is_write_error(error):
                raise
            self._silence()
            return len(text)

    def flush(self) -> None:
        try:
            super().flush()
        except OSError as error:
            if not is_write_error(error):
                raise
            self._silence()

    def _silence(self) -> None:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.fileno())
        os.close(devnull)
        super().flush()  # what the failed write left in the buffer goes to /dev/null now


def forgiving_stderr() -> ForgivingStderr:
    """Standard error (descriptor 2) as a ForgivingStderr, line-buffered as Python's own."""
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    raw = open(2, "wb", closefd=False)  # noqa: SIM115 — the process's own, never closed
    return ForgivingStderr(raw, encoding=encoding, errors="backslashreplace", line_buffering=True)


class _ClosedStdout(io.RawIOBase):
    """Standard output that was closed when the command started (`cmd >&-`, a daemon's).

    main.py points descriptor 1 at /dev/null then, so that no file the command opens takes it.
    But what the command wrote there was lost with exit status 0: `fmt - < draft.policy >&-` said
    `1 file reformatted` and the formatted text was gone. The first write now fails as a closed
    descriptor does (EBADF), which the command reports as any output it cannot write (usage/output,
    exit 2); later writes are dropped, so the interpreter's last flush stays quiet. A command that
    writes nothing there (`batch`, `evaluate -o FILE`) is not affected."""

    def __init__(self) -> None:
        super().__init__()
        self._refused = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return 1

    def write(self, data: object) -> int:
        size = len(memoryview(data))  # type: ignore[arg-type]  # (a bytes-like object, as io passes)
        if size and not self._refused:
            self._refused = True
            raise OSError(errno.EBADF, "it was closed when the command started")
        return size


def closed_stdout() -> io.TextIOWrapper:
    """sys.stdout for a descriptor 1 that was closed when the command started: see _ClosedStdout."""
    return io.TextIOWrapper(io.BufferedWriter(_ClosedStdout()), encoding="utf-8")


def cannot_write(target: str, error: OSError, *, file: str | None = None) -> NoReturn:
    """Report that `target` cannot be written and end the command with BAD_INPUT (exit 2)."""
    if target == "standard output":
        _silence_stdout()
    report([diagnostic("usage/output", f"cannot write {target}: {_reason(error)}", file=file)])
    raise click.exceptions.Exit(int(ExitCode.BAD_INPUT))


def is_write_error(error: OSError) -> bool:
    return error.errno in _WRITE_ERRORS


def same_file(a: str, b: str) -> bool:
    """Whether two paths name one existing file (also through a symlink or another spelling)."""
    try:
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


def is_standard_input(path: str) -> bool:
    """Whether `path` is the file standard input reads (`cmd - -o x < x`), under any name."""
    try:
        here, there = os.fstat(sys.stdin.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):  # no such file, or stdin is no file (closed, a test's)
        return False
    return stat.S_ISREG(here.st_mode) and (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def overwritten_input(target: str, inputs: Sequence[str], *, what: str = "output") -> str | None:
    """Why writing `target` would destroy one of the `inputs` (the same file, under any path, or
    the file standard input is when an input is `-`), or None. `what` names the target."""
    for name in inputs:
        if name != "-" and same_file(target, name):
            return f"the {what} `{target}` is the input `{name}`; writing it would destroy the input"
        if name != "-" and _read_with_policies(target, name):
            return (f"the {what} `{target}` is a file of the policy folder `{name}` (a `.policy` file or "
                    f"`{_REGISTRY_FILE}`); writing it would change the policies")
        if name == "-" and is_standard_input(target):
            return f"the {what} `{target}` is the file standard input reads (`-`); writing it would destroy the input"
    return None


# engine.language.registry.REGISTRY_FILE, not imported: the engine is loaded on first use
_REGISTRY_FILE = "sources.registry"


def _read_with_policies(target: str, folder: str) -> bool:
    """Whether `target` is a file the policies are read from in `folder` (the only input that is a
    folder is `--policies`): a `.policy` file or the registry, at any depth, there already or not.
    Only files equal to an input were refused: `evaluate --policies pol -o pol/ccm.policy` wrote
    its decisions over a policy, exit 0, and the next run found a policy set with errors."""
    if not (target.endswith(".policy") or os.path.basename(target) == _REGISTRY_FILE) or not os.path.isdir(folder):
        return False
    inside, root = os.path.realpath(target), os.path.realpath(folder)
    return os.path.commonpath([inside, root]) == root


def refuse_input(target: str, inputs: Sequence[str]) -> None:
    """End the command with `usage/output` when the output `target` is one of the `inputs`."""
    message = overwritten_input(target, inputs)
    if message is not None:
        report([diagnostic("usage/output", message, help="write the results to another file", file=target)])
        raise click.exceptions.Exit(int(ExitCode.BAD_INPUT))


@contextmanager
def output_stream(path: str | None, inputs: Sequence[str] = ()) -> Iterator[TextIO]:
    """stdout, or the --output file (UTF-8, `\\n` line ends); one that cannot be opened, written or
    closed, or that is one of the `inputs`, ends the command with `usage/output` and exit status 2."""
    if path is None or path == "-":
        try:
            yield sys.stdout
            sys.stdout.flush()
        except OSError as error:
            if not is_write_error(error):
                raise
            cannot_write("standard output", error)
        return
    refuse_input(path, inputs)  # opening it would empty it
    try:
        stream = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 — closed below
    except OSError as error:
        cannot_write(f"`{path}`", error, file=path)
    try:
        with stream:
            yield stream
    except OSError as error:  # raised by a write in the body, or by the flush when closing
        if not is_write_error(error):
            raise
        _cut_to_complete_lines(path)
        cannot_write(f"`{path}`", error, file=path)


def _cut_to_complete_lines(path: str) -> None:
    """Drop the line a failed write cut short (a full disk), so the file holds only whole lines: a
    JSON Lines reader of it would otherwise stop at, or misread, the last one. Best effort: a file
    that cannot be opened again stays as it is (the error is reported either way)."""
    try:
        with open(path, "r+b") as file:
            end = file.seek(0, os.SEEK_END)
            keep = end
            while keep > 0:
                start = max(0, keep - 65536)
                file.seek(start)
                block = file.read(keep - start)
                newline = block.rfind(b"\n")
                if newline >= 0:
                    keep = start + newline + 1
                    break
                keep = start
            if keep < end:
                file.truncate(keep)
    except OSError:
        pass


class GuardedGroup(click.Group):
    """A command group whose commands' writes to stdout are guarded: see the module docstring."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()
            return result
        except click.exceptions.Exit:
            try:
                sys.stdout.flush()
            except OSError as error:
                if not is_write_error(error):
                    raise
                cannot_write("standard output", error)
            raise
        except OSError as error:
            if not is_write_error(error):
                raise
            cannot_write("standard output", error)
