"""The bundles `carepolicy explain` decides again, found in BUNDLE by id and facts hash.

All valid bundles of BUNDLE were held, about 5.4 kB each: expanding a 2,000,000-record batch
output would have needed some 11 GB. A batch output's decisions come in the order of the bundles they were
made from, so a JSON Lines file (a regular file: it may be read twice) is now read in step with the
decisions: each takes the next valid bundle when it is the one decided (its id and facts hash),
and only that bundle is held. A decision that is not the next bundle's (a grep's few lines, an
error record where a bundle had no decision) reads on until its bundle is found. The first that is
not found before the end of the file (decisions out of order or given twice, an id the file does
not hold, facts that changed) turns to an index of the whole file, built in one more pass: the
place of each valid bundle's line, by id (about 220 bytes a bundle, not 5.4 kB), from which each
bundle is then read again.

Any bundle with the decided id and facts hash gives the same decision (a decision reads neither
the bundle's line nor its place in the file), so taking the next such bundle rather than the first
changes no output. What is said when none matches needs every bundle of that id, in file order:
only the index gives that, and it is built before anything is said. Any other BUNDLE (YAML, a JSON
document, Parquet, standard input or a pipe) is read whole, as before, with every valid bundle held.
"""

from __future__ import annotations

import os
import stat
from array import array
from collections.abc import Generator
from typing import TYPE_CHECKING, NoReturn, Protocol

from .common import ErrorRecord, fail, finish, internal_error, iter_inputs
from .exit_codes import ExitCode
from .reporting import report

if TYPE_CHECKING:
    from carepolicy.engine import Bundle, Diagnostic
    from carepolicy.engine.facts.records import LinePlace


class Bundles(Protocol):
    path: str

    def find(self, bundle_id: str, facts_hash: str) -> Bundle | None:
        """Of the valid bundles with this id, one with this facts hash (the one decided), else the
        first in the file (to say how it differs), else None."""

    def invalid(self, bundle_id: str) -> bool:
        """Whether the file holds a bundle with this id that is not valid (asked once `find` found none)."""

    def unread(self) -> int:
        """How many records of the file could not be read far enough to know their id (asked once
        `find` found none): the bundle sought may be one of them."""

    def close(self) -> None:
        """Let go of the file."""


def open_bundles(path: str) -> Bundles:
    """The bundles of the file at `path` (`-`: stdin). A file that cannot be opened or holds no
    bundle ends the command here, before any decision is read, as when every bundle was read
    first; a read error half-way through JSON Lines ends it where it is met."""
    return InStep(path) if _json_lines_file(path) else Held(path)


class Held:
    """Every valid bundle of the file, by id (an id may come again, as `batch` allows)."""

    def __init__(self, path: str) -> None:
        from carepolicy.engine import Bundle, BundleError

        self.path = path
        self.by_id: dict[str, list[Bundle]] = {}
        self.invalid_ids: set[str] = set()
        for item in iter_inputs([path]):
            if isinstance(item, ErrorRecord):  # the file as a whole (missing, empty, not parsed)
                _end(item.diagnostics)
            if isinstance(item, Bundle):
                self.by_id.setdefault(item.id, []).append(item)
            elif isinstance(item, BundleError):
                self.invalid_ids.add(item.id)

    def find(self, bundle_id: str, facts_hash: str) -> Bundle | None:
        same_id = self.by_id.get(bundle_id, [])
        return next((b for b in same_id if b.facts_hash == facts_hash), same_id[0] if same_id else None)

    def invalid(self, bundle_id: str) -> bool:
        return bundle_id in self.invalid_ids

    def unread(self) -> int:
        return _unread(self.invalid_ids)

    def close(self) -> None:
        pass


class InStep:
    """A JSON Lines file read in step with the decisions; once a bundle is not found ahead, an
    `Index` of it. No bundle is held but the one just found (its caller's)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.index: Index | None = None
        self._records = _valid(path)
        # the first bundle is read now: a file that cannot be read (or holds nothing) ends the command here
        self._first: Bundle | None = next(self._records, (None, None))[0]

    def find(self, bundle_id: str, facts_hash: str) -> Bundle | None:
        while self.index is None:
            bundle, self._first = self._first, None
            if bundle is None:
                bundle = next(self._records, (None, None))[0]
            if bundle is None:  # not ahead: the index finds it, wherever it is (or says it is not there)
                self.index = Index(self.path)
            elif bundle.id == bundle_id and bundle.facts_hash == facts_hash:
                return bundle
        return self.index.find(bundle_id, facts_hash)

    def invalid(self, bundle_id: str) -> bool:
        return self.index is not None and bundle_id in self.index.invalid_ids

    def unread(self) -> int:
        return 0 if self.index is None else _unread(self.index.invalid_ids)

    def close(self) -> None:
        self._records.close()  # (closes the file, when it was not read to its end)
        if self.index is not None:
            self.index.close()


class Index:
    """The place of every valid bundle's line in a JSON Lines file, by id, from which a bundle is
    read again when it is wanted: four numbers in an `array` and a dict entry a bundle."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.first: dict[str, int] = {}  # id -> the number of its first bundle in `places`
        self.again: dict[str, list[int]] = {}  # id -> its other bundles, for an id that comes again
        self.places = array("q")  # the offset, length, line number and record index of each
        self.invalid_ids: set[str] = set()  # the ids of the bundles that are not valid, to say so
        for bundle, place in _valid(path, self.invalid_ids):
            assert place is not None  # (a bundle's line is never over the record size)
            number = len(self.places) // 4
            self.places.extend((place.offset, place.length, place.number, bundle.index))
            if bundle.id in self.first:
                self.again.setdefault(bundle.id, []).append(number)
            else:
                self.first[bundle.id] = number
        # kept open to read bundles again (close() closes it); unbuffered: one read of its line a
        # bundle, where a buffer would read 8 kB, and keep what it read after the file changed
        self.stream = open(path, "rb", buffering=0)  # noqa: SIM115

    def __len__(self) -> int:
        """The bundles indexed."""
        return len(self.places) // 4

    def find(self, bundle_id: str, facts_hash: str) -> Bundle | None:
        first = None
        numbers = [self.first[bundle_id], *self.again.get(bundle_id, ())] if bundle_id in self.first else []
        for number in numbers:  # in file order
            bundle = self._read(number, bundle_id)
            if bundle.facts_hash == facts_hash:
                return bundle
            first = first or bundle
        return first

    def _read(self, number: int, bundle_id: str) -> Bundle:
        from carepolicy.engine import Bundle
        from carepolicy.engine.facts.records import LinePlace, json_line_at

        offset, length, line, index = self.places[4 * number : 4 * number + 4]
        record = json_line_at(self.stream, self.path, LinePlace(offset, length, line), index)
        if not isinstance(record, Bundle) or record.id != bundle_id:  # not the line that was read
            fail("usage/input", f"`{self.path}` changed while it was read (line {line})", file=self.path,
                 help="give a bundle file that nothing writes to while `explain` reads it")
        return record

    def close(self) -> None:
        self.stream.close()


def _unread(invalid_ids: set[str]) -> int:
    """The records among `invalid_ids` named by their place (`#2`): read too little to know an id
    (a line that is not UTF-8 or not JSON)."""
    return sum(1 for bundle_id in invalid_ids if bundle_id.startswith("#") and bundle_id[1:].isdigit())


def _json_lines_file(path: str) -> bool:
    """A regular file of JSON Lines, as `iter_records` takes it (by its extension, or from its
    first lines); anything else, or a file that cannot be read (`Held` says why), is read whole."""
    from carepolicy.engine.facts.records import detected_format, input_format_of

    fmt = input_format_of(path)
    if path == "-" or path.lower().endswith(".parquet") or fmt not in (None, "jsonl"):
        return False
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a pipe (`<(zcat ...)`) cannot be read twice
            return False
        if fmt is None:
            with open(path, "rb") as stream:
                return detected_format(stream) == "jsonl"
    except OSError:
        return False
    return True


def _valid(path: str, invalid_ids: set[str] | None = None) -> Generator[tuple[Bundle, LinePlace | None], None, None]:
    """The valid bundles of a JSON Lines file, each with its line's place (and the ids of the others
    added to `invalid_ids`); the file as a whole not read (facts/io, facts/empty) ends the command,
    as `Held` ends it."""
    from carepolicy.engine import Bundle, BundleError, FactError
    from carepolicy.engine.facts.records import placed_json_lines

    try:
        for record, place in placed_json_lines(path):
            if isinstance(record, Bundle):
                yield record, place
            elif isinstance(record, BundleError) and invalid_ids is not None:
                invalid_ids.add(record.id)
    except FactError as error:
        _end(error.diagnostics)
    except Exception as error:  # as iter_inputs words a reader's bug
        _end(internal_error(error, source=path, bundle=None).diagnostics)


def _end(diagnostics: tuple[Diagnostic, ...] | list[Diagnostic]) -> NoReturn:
    report(diagnostics)
    finish(ExitCode.BAD_INPUT)
