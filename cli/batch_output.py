"""The output side of `batch`: a partial file beside the target, complete lines only, renamed at the end.

`batch -o OUT` writes to `OUT.partial` and renames it to `OUT` when every record is written, so a
reader of `OUT` never sees half a run. The file only ever holds complete lines: lines are written
in large blocks straight to the file descriptor, and when a write fails (a full disk) the file is
cut back to the end of the last block written whole. After an interruption (a signal, a full
disk, a crash) `--resume` continues `OUT.partial` (batch_resume.py checks the lines already there).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar, NoReturn

from .output import overwritten_input

PARTIAL_SUFFIX = ".partial"
_BLOCK = 1 << 20  # bytes gathered before one write: few system calls, little memory


class OutputProblem(Exception):
    """The output cannot be written (reported as a usage/output diagnostic, exit 2)."""

    def __init__(self, message: str, *, help: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.help = help


class ResumeProblem(OutputProblem):
    """The partial output does not continue these inputs (it is left as it is)."""


def reason(error: OSError) -> str:
    return (error.strerror or str(error)).lower()


def partial_path(target: str) -> str:
    return target + PARTIAL_SUFFIX


def check_target(target: str, inputs: Sequence[str]) -> None:
    """Refuse, before any input is read, an output that is an input or cannot be written."""
    try:
        _check_target(target, inputs)
    except OSError as error:  # a probe the system refuses: a name too long (`OUT.partial` is longer)
        raise OutputProblem(f"cannot write `{error.filename or target}`: {reason(error)}") from None


def _check_target(target: str, inputs: Sequence[str]) -> None:
    if target == "-" or _is_standard_output(target):
        raise OutputProblem(
            "batch writes a file, renamed when it is complete; it cannot write to standard output",
            help="give a file name, or use `carepolicy evaluate --format jsonl` to write to standard output",
        )
    path = Path(target)
    overwritten = overwritten_input(target, inputs)
    if overwritten is not None:
        raise OutputProblem(overwritten, help="write the decisions to another file")
    # the lines go to OUT.partial first: that one must not be an input either (nor a link to one)
    overwritten = overwritten_input(partial_path(target), inputs, what="partial output")
    if overwritten is not None:
        help_text = f"batch writes the lines to `{partial_path(target)}` and renames it to `{target}` when complete"
        raise OutputProblem(overwritten, help=help_text + "; write the decisions to another file")
    if path.is_dir():
        raise OutputProblem(f"cannot write `{target}`: it is a folder", help="give a file name, e.g. `out.jsonl`")
    if path.exists() and not path.is_file():
        # the finished output is renamed over the target: that would replace a device or a pipe
        raise OutputProblem(
            f"cannot write `{target}`: it is not a regular file (a device or a pipe)",
            help="batch writes a file and renames it when complete; give a file name, or use "
            "`carepolicy evaluate --format jsonl` to write to a pipe",
        )
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputProblem(f"cannot write `{target}`: permission denied")
    partial = Path(partial_path(target))
    if partial.exists() and not partial.is_file():  # opening a pipe to write would wait for a reader forever
        raise OutputProblem(
            f"cannot write `{partial}`: it is not a regular file (a device or a pipe)",
            help=f"batch writes the lines to `{partial}` and renames it to `{target}` when complete; remove it",
        )
    folder = path.parent
    if not folder.is_dir():
        raise OutputProblem(f"cannot write `{target}`: no folder `{folder}`")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputProblem(f"cannot write `{target}`: the folder `{folder}` is not writable (permission denied)")


def _is_standard_output(path: str) -> bool:
    """Whether `path` is, under another name, the regular file standard output (or error) writes to:
    `-o /dev/stdout > file`. Renamed over, that name (a symlink) would become a regular file."""
    try:
        there = os.stat(path)
    except OSError:  # no such file (yet)
        return False
    for fd in (1, 2):
        try:
            here = os.fstat(fd)
        except OSError:  # closed
            continue
        if stat.S_ISREG(here.st_mode) and (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino):
            return True
    return False


class LineWriter:
    """Complete lines to a file, in blocks; the file never keeps part of a line.

    `written` counts the lines known to be in the file, `pending` those still in the block.
    """

    # the file is the lines as bytes, so `batch --jobs` workers may write their blocks to it
    # themselves (cli/batch_pool.py); a writer that turns lines into something else says False
    workers_write: ClassVar[bool] = True
    # whether `--resume` can continue the file (a Parquet file cannot be appended to)
    resumable: ClassVar[bool] = True

    def __init__(self, path: str) -> None:
        """Open (create) `path` without changing it: the first check that the output can be written."""
        self.path = path
        self._created = False  # whether this run made the file (see `abandon`)
        try:
            try:
                self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
                self._created = True
            except FileExistsError:  # an earlier run's partial file: kept as it is until `begin`
                self._fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o666)
        except OSError as error:
            raise OutputProblem(f"cannot write `{path}`: {reason(error)}") from None
        self._block: list[bytes | memoryview] = []
        self._size = 0
        self._good = 0  # the file's length up to its last complete line
        self.written = 0
        self.pending = 0

    def begin(self, keep: int, lines_kept: int) -> None:
        """Write after the first `keep` bytes of the file (the `lines_kept` lines of a resumed run)."""
        try:
            os.ftruncate(self._fd, keep)
            os.lseek(self._fd, keep, os.SEEK_SET)
        except OSError as error:
            raise OutputProblem(f"cannot write `{self.path}`: {reason(error)}") from None
        self._good, self.written = keep, lines_kept

    def add(self, lines: bytes, count: int = 1) -> None:
        """`count` complete lines (each ending with a newline)."""
        self._block.append(lines)
        self._size += len(lines)
        self.pending += count
        if self._size >= _BLOCK:
            self.flush()

    def flush(self) -> None:
        if not self._block:
            return
        block, size = self._block, self._size
        self._block, self._size = [], 0
        try:
            _write_all(self._fd, block)
        except OSError as error:
            self.fail(error)
        self.committed(size, self.pending)
        self.pending = 0

    def fail(self, error: OSError) -> NoReturn:
        """A write failed (a full disk): cut the file back to its complete lines, and say so."""
        self.pending = 0
        self.cut_to_written()  # frees what was written of the block: room for this
        raise OutputProblem(
            f"cannot write `{self.path}`: {reason(error)}",
            help="the file holds only complete lines; make room, then run again with --resume",
        ) from None

    # `batch --jobs` workers write their blocks themselves (cli/batch_pool.py), at `end()`, one at
    # a time and in order; this process counts them with `committed`.

    def fileno(self) -> int:
        return self._fd

    def end(self) -> int:
        """Where the next block goes: the end of the complete lines written."""
        return self._good

    def committed(self, size: int, lines: int) -> None:
        """`lines` complete lines, `size` bytes, are now in the file after `end()`."""
        self._good += size
        self.written += lines

    def cut_to_written(self) -> None:
        """Drop whatever follows the complete lines counted (a block cut off mid-write)."""
        os.ftruncate(self._fd, self._good)
        os.lseek(self._fd, self._good, os.SEEK_SET)

    def close(self) -> None:
        os.close(self._fd)

    @property
    def found(self) -> bool:
        """Whether the file was there before this run (an earlier run's partial output)."""
        return not self._created

    def abandon(self) -> None:
        """Close the file and, when this run made it and nothing was written to it, remove it: a
        usage error found after the output was opened (an unknown switch, policies with errors)
        leaves no empty partial file behind. An earlier run's partial file is left as it is."""
        self.close()
        if self._created and not self.written and not self.pending:
            with contextlib.suppress(OSError):
                if os.stat(self.path).st_size == 0:
                    os.unlink(self.path)


_PIECES = 512  # buffers per writev call: within every system's IOV_MAX (1,024 on Linux and macOS)


def _write_all(fd: int, pieces: list[bytes | memoryview]) -> None:
    """Every byte of `pieces`, in order. writev gathers them in the kernel: joining the block first
    copied each ~23 kB line once more (b"".join, ~1 µs a line). A short write goes on where it
    stopped; `pieces` is the caller's own list and is changed."""
    start = 0
    while start < len(pieces):
        done = os.writev(fd, pieces[start : start + _PIECES])
        while start < len(pieces) and done >= len(pieces[start]):  # the pieces written whole
            done -= len(pieces[start])
            start += 1
        if done:  # a piece written in part: the rest of it is next
            pieces[start] = memoryview(pieces[start])[done:]


__all__ = ["LineWriter", "OutputProblem", "ResumeProblem", "check_target", "partial_path", "reason"]
