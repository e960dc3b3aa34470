"""Why a `.parquet` file cannot be opened, in words that say what to do: a file cut short, one whose
footer is damaged, one that holds JSON text under a Parquet name. Only the file's first and last
bytes are read (no pyarrow): `batch` (parquet.py) and `explain` (cli/explain_parquet.py) word their
errors with it."""

from __future__ import annotations

import os

_CUT_SHORT = ("it starts as a Parquet file, but its end, where Parquet keeps the index of its rows, cannot be "
              "read: the file was cut short (a copy, upload or write that did not finish) or damaged there, and "
              "none of its rows can be read without it: copy or write it again from its source")


_BAD_FOOTER = ("it starts and ends as a Parquet file, but the index of its rows that Parquet keeps at its end (the "
               "footer) cannot be read: the file is damaged there or a part of it is missing (a copy, upload or "
               "write that went wrong), and none of its rows can be read without it: copy or write it again from "
               "its source")


def text_help(path: str, error: Exception) -> str | None:
    """A way forward for a `.parquet` file that cannot be opened: one that holds JSON text (an export
    named wrongly; the name decides the format, and `--input-format` does not change it), or one
    that starts as Parquet (its magic number) and does not end so, having lost its footer: Arrow said only
    `Parquet magic bytes not found in footer. Either the file is corrupted or this is not a parquet
    file.`, not that a file cut short has no row that can be read (JSON Lines keeps its first lines);
    or one that starts and ends so and still cannot be opened, its footer damaged: Arrow said
    `Couldn't deserialize thrift: ...` or that the file is smaller than its footer says, and no help."""
    damaged = damaged_help(path, error)
    if damaged is not None:
        return damaged
    if not starts_as_json(path):
        return None
    return "it holds JSON text, not Parquet: name it `.jsonl` (one bundle a line) or `.json` to read it as such"


def damaged_help(path: str, error: Exception) -> str | None:
    """The help for a Parquet file that Arrow could not open (`error`) because its end is cut short or
    its footer is damaged, or None: a file of bundles (`batch`) or of decisions (`explain`) alike."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(4)
            size = os.fstat(stream.fileno()).st_size
            stream.seek(max(0, size - 8))
            end = stream.read(8)  # the footer's length (4 bytes, little-endian), then PAR1
    except OSError:
        return None
    if head == b"PAR1" and end[-4:] != b"PAR1":
        return _CUT_SHORT
    if head == b"PAR1" and _footer_damaged(size, end, error):
        return _BAD_FOOTER
    return None


def starts_as_json(path: str) -> bool:
    """Whether the file's first bytes (past a byte order mark and white space) open JSON."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(64)
    except OSError:
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"["))


def _footer_damaged(size: int, end: bytes, error: Exception) -> bool:
    """Whether a file that starts and ends with PAR1 was refused for its footer: its length (as the
    file's last 8 bytes give it) past the file's start, or footer bytes Arrow cannot decode. Arrow
    gives the latter no type of its own, so its words are looked for (`Couldn't deserialize thrift`,
    Arrow's message for any metadata it cannot decode); a file refused for another reason (a schema
    nested past Arrow's depth limit, its footer whole) gets no help that says it is damaged."""
    footer = int.from_bytes(end[:4], "little") if len(end) == 8 else size
    return footer + 12 > size or "deserialize thrift" in str(error)
