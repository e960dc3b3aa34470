"""Reading one policy test file: its one YAML document, checked for the shape `read_cases` walks.

A case file holds one mapping: `cases:` (a list of mappings) and optionally `bases:` (a mapping).
Anything else is a `test/cases` error naming the file and the JSON path, as a fact diagnostic does:
a second document, a list at the top, another key (`case:` for `cases:`) or a case that is text
would otherwise be skipped without a word (its cases never run) or fail with the name of a Python
exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, FactError
from .facts.reader import load_yaml_documents
from .facts.record_errors import not_utf8, not_utf8_place, span, utf16_or_32
from .facts.schema_messages import describe

SHAPE_HELP = "a case file holds `cases:`, a list of {name, facts, switches, expect} (see `carepolicy test --help`)"
FILE_KEYS = ("cases", "bases")
MAPPINGS = ("switches", "expect")  # facts and fee_schedule of another shape fail their case, with the reason


def case_document(path: Path) -> Mapping[str, Any]:
    """The mapping a case file holds ({} for a file without one); raises `FactError` for any other shape."""
    name = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        said = utf16_or_32(error.object)  # the message then says how to save it
        place = not_utf8_place(error.object, error)  # (a case file is long: `byte 11064` alone was no place)
        raise FactError([Diagnostic("test/cases", not_utf8(error.object, error), file=name,
                                    span=None if place is None else span(name, *place),
                                    help=None if said else "save the file as UTF-8")]) from None
    except OSError as error:
        raise _problem(name, None, f"cannot read `{name}`: {(error.strerror or str(error)).lower()}", None) from None
    documents = [d for d in load_yaml_documents(text, name) if d is not None]
    if len(documents) > 1:
        message = f"`{name}` holds {len(documents)} YAML documents; a case file holds one"
        raise _problem(name, None, message, "put all the cases in the one `cases:` list, or in files of their own")
    document = documents[0] if documents else {}
    if not isinstance(document, dict):
        raise _problem(name, "$", f"expected a mapping with `cases:`, found {describe(document)}")
    for key in document:
        if key not in FILE_KEYS:  # `case:` for `cases:`: the file's cases would never run
            from .diagnostics import did_you_mean

            hint = did_you_mean(str(key), FILE_KEYS) or "a case file holds `cases:` and, optionally, `bases:`"
            raise _problem(name, f"$.{key}", f"unknown key `{key}`", hint)
    _expect(name, document, "cases", list, "a list of cases")
    _expect(name, document, "bases", dict, "a mapping of base bundles by name")
    for index, case in enumerate(document.get("cases") or ()):
        where = f"$.cases[{index}]"
        if not isinstance(case, dict):
            raise _problem(name, where, f"expected a case (a mapping), found {describe(case)}")
        for key in MAPPINGS:
            _expect(name, case, key, dict, "a mapping", where)
    return document


def _expect(name: str, mapping: Mapping[str, Any], key: str, kind: type, what: str, where: str = "$") -> None:
    value = mapping.get(key)
    if value is not None and not isinstance(value, kind):
        raise _problem(name, f"{where}.{key}", f"expected {what}, found {describe(value)}")


def _problem(name: str, path: str | None, message: str, help: str | None = SHAPE_HELP) -> FactError:
    return FactError([Diagnostic("test/cases", message, fact_path=path, file=name, help=help)])
