"""Helps for text read in a format it is not in (`--input-format`, or an extension that does not say
what the file holds): the parser's own words (`invalid JSON: expecting value`) said what it found,
not that the whole input is YAML, or JSON Lines, or a JSON list, nor how to read it as such.

Only the help changes: the records are those of the format asked for (one error record a JSON
line; one for a JSON document that cannot be parsed), as a pipeline counts them.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

from .bundle import BundleError
from .record_errors import JSONL_HELP, Record

# a line as YAML writes a bundle: a document marker, a comment, a list item, or `key:` (a key JSON
# would quote); a JSON line, even a broken one, starts with `{`, `[`, `"`, a number or a literal
_YAML_LINE = re.compile(r"(?:---|\.\.\.)(?:\s.*)?|#.*|-(?:\s.*)?|[A-Za-z_][\w .-]*:(?:\s.*)?", re.DOTALL)

YAML_AS_JSON_LINES = ("this line looks like YAML, not a JSON object: if the input is YAML, read it with "
                      "--input-format yaml (the `.yaml` extension says so too)")
YAML_AS_JSON = "it looks like YAML, not JSON: read it with --input-format yaml (the `.yaml` extension says so too)"
LINES_AS_JSON = ("it looks like JSON Lines, one JSON object a line: read it with --input-format jsonl "
                 "(the `.jsonl` extension says so too)")
LIST_AS_JSON_LINES = ("a JSON Lines line holds one bundle, not a list of them: write each on a line of its own, "
                      "or read a file that is one JSON list with --input-format json (the `.json` extension says "
                      "so too)")


TRAILING_COMMA = "JSON allows no comma after the last item of a list or object (a trailing comma): remove it"


def trailing_comma(text: str, error: json.JSONDecodeError) -> bool:
    """Whether the parser stopped at a `]` or `}` right after a comma (blanks between): its words were
    `expecting value` or `expecting property name enclosed in double quotes`."""
    return text[error.pos:error.pos + 1] in ("]", "}") and text[:error.pos].rstrip(" \t\r\n").endswith(",")


def yaml_like(line: str) -> bool:
    """Whether a line that is not JSON reads as a line of YAML."""
    return _YAML_LINE.fullmatch(line.strip()) is not None


def document_help(text: str, error: json.JSONDecodeError) -> str:
    """The help of a JSON document that cannot be parsed: YAML's or JSON Lines' way to read it when
    it looks like either, else the advice to keep records apart as JSON Lines."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    if trailing_comma(text, error):
        return TRAILING_COMMA
    if yaml_like(first):
        return YAML_AS_JSON
    after = text[error.pos:]
    if error.msg == "Extra data" and error.colno == 1 and after.startswith("{") and first.lstrip().startswith("{"):
        return LINES_AS_JSON  # (a whole object, then another at the start of the next line)
    return JSONL_HELP


def helped(record: BundleError, help_text: str) -> BundleError:
    """`record` with `help_text` as the help of its one diagnostic."""
    return replace(record, diagnostics=(replace(record.diagnostics[0], help=help_text),))


def list_line(record: Record, obj: object) -> Record:
    """A JSON line's record: one that is a list (`not a bundle`) says how a list of bundles is read."""
    if isinstance(obj, list) and isinstance(record, BundleError) and len(record.diagnostics) == 1:
        return helped(record, LIST_AS_JSON_LINES)
    return record
