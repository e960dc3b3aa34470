"""`carepolicy fmt`: rewrite policy files in the one canonical layout (engine/language/format.py)."""

from __future__ import annotations

import codecs
import difflib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..common import fail, finish, plural
from ..exit_codes import ExitCode
from ..reporting import report

if TYPE_CHECKING:
    from carepolicy.engine import Diagnostic

STDIN = "-"
_ANY_WRITE = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


@click.command("fmt")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option(
    "--policies",
    "policies_dir",
    metavar="DIR",
    help="The policy folder to format when no PATH is given (default: the shipped policies, as `check`).",
)
@click.option("--check", "check_only", is_flag=True, help="Write nothing; exit 1 and list the files that would change.")
@click.option("--diff", "show_diff", is_flag=True, help="Write nothing; print what would change as a unified diff.")
def fmt(paths: tuple[str, ...], policies_dir: str | None, check_only: bool, show_diff: bool) -> None:
    """Rewrite rule files in the one canonical layout, keeping every comment.

    Each PATH is a .policy file, a folder (every .policy file under it) or `-` (read standard input,
    write the formatted text to standard output). With no PATH the policy folder is formatted: the
    one given with --policies, else the shipped policies, as `carepolicy check` reads them.

    The layout (docs: "Formatting rule files"): each declaration at column 0 with one blank line
    before it; each clause (`cite`, `requires`, `effective`, ...) on its own line, indented two
    spaces; one space between words; your line breaks inside a clause are kept, the continuation
    lines indented at least two spaces deeper. Formatting never changes what a file means: the
    formatted text is parsed again and must give the same rules, or nothing is written.

    A file that does not parse is reported (file:line:col, as `check` does) and left untouched, and so
    is a file that cannot be written (read-only); the other files are still formatted. Files are
    replaced atomically (a temporary file beside, then a rename), and only when their text changes;
    for a symlink, the file it names (the link stays).

    \b
    Examples:
      carepolicy fmt                               # the policy folder, in place
      carepolicy fmt --check                       # in CI: exit 1 if a file is not formatted
      carepolicy fmt --diff my-policies/ccm.policy # show the change, write nothing
      carepolicy fmt my-policies/
      carepolicy fmt - < draft.policy > tidy.policy

    \b
    Exit status:
      0  every file is formatted (or was rewritten)
      1  --check or --diff: some file would change (listed on stdout)
      2  a file does not parse, cannot be read, or cannot be written (read-only, or
         its folder is): it is left as it was; or a folder holds no .policy file
    """
    from carepolicy.engine import PolicyError
    from carepolicy.engine.language.format import format_text
    from carepolicy.engine.policy_folder import decode_policy_text
    from carepolicy.engine.source import SourceFile

    write = not (check_only or show_diff)
    bad, unchanged, changed = 0, 0, []
    for name, data in list(_inputs(paths, policies_dir)):
        text = decode_policy_text(name, data)
        if not isinstance(text, str):
            report([text])
            bad += 1
            continue
        try:
            formatted = format_text(text, name)
        except PolicyError as error:
            report(error.diagnostics, {name: SourceFile(name, text.removeprefix("\ufeff"))})
            bad += 1
            continue
        if name == STDIN and write:
            click.echo(formatted, nl=False)
        if isinstance(data, bytes) and data.startswith(codecs.BOM_UTF8):  # decoding dropped it; so does the layout
            text = "\ufeff" + text
        if formatted == text:
            unchanged += 1
            continue
        changed.append(name)
        if show_diff:
            click.echo("".join(difflib.unified_diff(
                text.splitlines(keepends=True), formatted.splitlines(keepends=True), name, name)), nl=False)
        elif check_only:
            click.echo(f"would reformat {name}")
        elif name != STDIN:
            problem = _write(Path(name), formatted)
            if problem is not None:
                report([problem])
                changed.pop()
                bad += 1
    verb = "reformatted" if write else "would be reformatted"
    summary = f"{plural(len(changed), 'file')} {verb}, {unchanged} unchanged"
    if bad:
        summary += f", {bad} not formatted (errors above)"
    click.echo(summary, err=True)
    finish(ExitCode.BAD_INPUT if bad else ExitCode.POLICY_ERRORS if changed and not write else ExitCode.OK)


def _inputs(paths: tuple[str, ...], policies_dir: str | None) -> Iterator[tuple[str, bytes | OSError]]:
    """(name, bytes or the error reading them) of every file to format, in order."""
    from importlib.resources import files

    if not paths:
        paths = (policies_dir or str(files("carepolicy.policies")),)
    missing = [p for p in paths if p != STDIN and not Path(p).exists()]
    if missing:  # before any file is written
        fail("policy/not-found", f"no policy file or folder at `{missing[0]}`")
    seen: set[Path] = set()  # a file named twice (itself and in its folder, or by a link) is one
    for name, data in _named(paths):
        if name != STDIN:
            real = Path(name).resolve()
            if real in seen:
                continue
            seen.add(real)
        yield name, data


def _named(paths: tuple[str, ...]) -> Iterator[tuple[str, bytes | OSError]]:
    """(name, bytes or the error reading them) of each file of each path, as given."""
    from carepolicy.engine.policy_folder import policy_files

    for path in paths:
        if path == STDIN:
            yield STDIN, sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
            continue
        root = Path(path)
        if not root.is_dir():
            try:
                yield path, root.read_bytes()
            except OSError as error:
                yield path, error
            continue
        try:  # the files `check` reads: a sub-folder that cannot be read is an error, not skipped
            found = [(str(root / name), data) for name, data in policy_files(root)]
        except OSError as error:
            found = [(path, error)]
        if not found:  # as `check` says: a wrong folder must not pass `fmt --check`
            fail("policy/empty", f"no .policy files under `{path}`")
        yield from found


def _write(path: Path, text: str) -> Diagnostic | None:
    """Replace the file at `path` with `text`, or say why it cannot be: the other files are still
    formatted. A read-only file is left as it was (the rename would replace it all the same)."""
    from ..reporting import diagnostic

    name = str(path)
    try:
        target = path.resolve()
        if not target.stat().st_mode & _ANY_WRITE or not os.access(target, os.W_OK):
            return diagnostic(
                "usage/output",
                f"cannot write `{name}`: the file is read-only",
                help=f"make it writable (`chmod u+w {name}`) to format it, or leave it out",
                file=name,
            )
        _replace(target, text)
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        return diagnostic("usage/output", f"cannot write `{name}`: {reason}", file=name)
    return None


def _replace(path: Path, text: str) -> None:
    """Write `text` to `path` atomically: a temporary file in the same folder, renamed over it.

    A symlink is followed: the file it names is replaced, and the link stays a link."""
    path = path.resolve()
    mode = path.stat().st_mode & 0o7777
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
