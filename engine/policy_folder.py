"""Reading a policy folder: its `.policy` files (in the order `check` reads them, as `fmt` does)
and its reference registry, each file's bytes decoded as UTF-8 or turned into a diagnostic that
names it. Nothing here parses; engine/api.py checks and compiles what it reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from .diagnostics import Diagnostic, PolicyError, Severity
from .facts.record_errors import utf16_or_32
from .language.registry import REGISTRY_FILE
from .source import Span


def policy_files(
    root: Path | Traversable, prefix: str = "", within: frozenset[Path] = frozenset()
) -> Iterator[tuple[str, bytes | OSError]]:
    """(name under `root`, bytes or the error reading them) of every `.policy` file under `root`,
    sorted: `check` and `fmt` read the same files. Sub-folders starting with `.` or `_` are left
    out; a link to a folder is followed, but not one back to a folder it is in (`self -> .`),
    which would read the same files again and again. A sub-folder that cannot be listed is one
    error, under its own name; `root` itself raises."""
    if isinstance(root, Path):
        real = root.resolve()
        if real in within:
            return
        within = within | {real}
    try:
        entries = sorted(root.iterdir(), key=lambda e: e.name)
    except OSError as error:
        if not prefix:
            raise
        yield prefix.removesuffix("/"), error  # its files would otherwise be left out without a word
        return
    for entry in entries:
        name = f"{prefix}{entry.name}"
        if entry.is_dir() and not entry.name.startswith((".", "_")):
            yield from policy_files(entry, name + "/", within)
        elif entry.name.endswith(".policy"):
            try:
                yield name, entry.read_bytes()
            except OSError as error:  # reported with the file's name; the other files are still read
                yield name, error


def decode_policy_text(name: str, data: bytes | OSError) -> str | Diagnostic:
    """A policy file's text (UTF-8, a leading byte-order mark dropped), or why it cannot be read."""
    if isinstance(data, OSError):
        reason = data.strerror.lower() if data.strerror else str(data)
        return Diagnostic("policy/unreadable", f"cannot read `{name}`: {reason}", file=name)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        text = bytes(error.object)  # after a byte-order mark: `start` counts from there
        before = text[: error.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
        encoding = utf16_or_32(data)
        return Diagnostic(
            "policy/not-utf8",
            f"byte `0x{text[error.start]:02x}` is not UTF-8"
            + (f": the file is {encoding} (it starts with a {encoding} byte-order mark)" if encoding else ""),
            span=Span(name, line, column, line, column + 1),
            help="save the file as UTF-8 (most editors: 'Save with encoding' or 'Reopen with encoding')",
        )


def read_policy_files(directory: str | Path | None = None) -> tuple[str, list[tuple[str, str]], list[Diagnostic]]:
    """(display root, [(file name, text)], problems): every readable file, and why the others are not."""
    root_name, raw = _raw_files(directory)
    texts: list[tuple[str, str]] = []
    problems: list[Diagnostic] = []
    for name, data in raw:
        decoded = decode_policy_text(name, data)
        if isinstance(decoded, Diagnostic):
            problems.append(decoded)
        else:
            texts.append((name, decoded))
    return root_name, texts, problems


def undecodable_texts(directory: str | Path | None, problems: list[Diagnostic]) -> list[str] | None:
    """The text of each file `read_policy_files` found not UTF-8, its bad bytes replaced: read
    loosely, it still says what the file declares, so `check` can tell the other files' errors that
    only repeat its absence from real ones. None when a file could not be read at all (it may
    declare any name)."""
    if any(problem.code == "policy/unreadable" for problem in problems):
        return None
    wanted = {problem.span.source for problem in problems if problem.code == "policy/not-utf8" and problem.span}
    if not wanted:
        return []
    return [data.decode("utf-8", errors="replace") for name, data in _raw_files(directory)[1]
            if name in wanted and isinstance(data, bytes)]


def _raw_files(directory: str | Path | None) -> tuple[str, list[tuple[str, bytes | OSError]]]:
    """(display root, [(file name, bytes or the error reading them)]) of a policy folder or file."""
    if directory is None:
        return "policies", [(f"policies/{n}", d) for n, d in policy_files(files("carepolicy.policies"))]
    root = Path(directory)
    if root.is_file():
        return str(root.parent), [(str(root), _read_bytes(root))]
    if not root.is_dir():
        raise PolicyError([Diagnostic("policy/not-found", f"no policy folder or file at `{directory}`")])
    return str(root), [(str(root / n), d) for n, d in policy_files(root)]


def look_alikes(directory: str | Path | None) -> list[Diagnostic]:
    """A warning for each file of a policy folder that is meant as a rule file but is not read: saved
    as `fees.policy.txt` (an editor's default) or `Fees.POLICY`. Left out without a word, its rules
    were simply gone: `check` passed, with warnings about the sources it cited being unused."""
    if directory is None or not Path(directory).is_dir():
        return []
    found = []
    for path in sorted(Path(directory).rglob("*")):
        name = path.name.lower()
        if any(part.startswith((".", "_")) for part in path.relative_to(directory).parts[:-1]):
            continue  # a folder `check` does not read either
        if path.is_file() and not path.name.endswith(".policy") and name.endswith((".policy", ".policy.txt")):
            found.append(
                Diagnostic(
                    "policy/not-read",
                    f"`{path}` is not read: only files whose names end in `.policy` are rule files",
                    file=str(path),
                    severity=Severity.WARNING,
                    help=f"rename it to `{path.name[: name.rindex('.policy')]}.policy` if it holds rules",
                )
            )
    return found


def _read_bytes(path: Path) -> bytes | OSError:
    try:
        return path.read_bytes()
    except OSError as error:
        return error


def read_policy_texts(directory: str | Path | None = None) -> tuple[str, list[tuple[str, str]]]:
    """(display root, [(file name, text)]) of a policy folder, or of the shipped policies.

    Raises PolicyError when a file cannot be read or is not UTF-8.
    """
    root, texts, problems = read_policy_files(directory)
    if problems:
        raise PolicyError(problems)
    return root, texts


def read_registry_text(directory: str | Path | None = None) -> tuple[str, str] | None:
    """(file name, text) of the reference registry beside the policies, or None when there is none.

    The registry is the file `sources.registry` in the policy folder (for a single policy file, in
    its folder); the shipped policies have one. See engine/registry.py. Raises `PolicyError` when it
    cannot be read or is not UTF-8.
    """
    if directory is None:
        shipped = files("carepolicy.policies") / REGISTRY_FILE
        return (f"policies/{REGISTRY_FILE}", shipped.read_text(encoding="utf-8")) if shipped.is_file() else None
    root = Path(directory)
    path = (root.parent if root.is_file() else root) / REGISTRY_FILE
    if not path.is_file():
        return None
    text = decode_policy_text(str(path), _read_bytes(path))  # as a policy file: a byte-order mark dropped
    if isinstance(text, Diagnostic):
        raise PolicyError([text])
    return str(path), text
