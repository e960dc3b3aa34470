"""Text from outside (a bundle id, a quoted value, a file name) made safe to print on a terminal.

A fact bundle may carry any character in a string: an id with an escape sequence (`\\x1b[2J`
clears the screen), a bell, a line break that forges a second line of output, or a bidirectional
override that shows text in another order than it is (the "Trojan source" characters). The human
forms (diagnostics, the decision's text, the batch report's text) show each such character as a
visible escape instead, `\\x1b` or `\\u202e`, so what a biller or an analyst reads is what the input
holds. The JSON forms need nothing: JSON escapes control characters itself (and the other ones are
harmless there).
"""

from __future__ import annotations

# C0 controls but the tab (a policy line may be indented with one), DEL, and C1 controls
_CONTROLS = [c for c in range(0x20) if c != 0x09] + [0x7F] + list(range(0x80, 0xA0))
# invisible characters that change how the text around them is shown or broken into lines
_FORMATTING = [0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF]
# invisible characters with no use in an id or a name: `P1\u200b` would read as `P1`, another
# practitioner shown as this one (the zero-width space, the word joiner and the invisible math
# operators, and the tag characters that hide ASCII text). The joiners (U+200C, U+200D) and the soft
# hyphen are kept: scripts and emoji need them.
_FORMATTING += [0x200B, *range(0x2060, 0x2065), 0xE0001, *range(0xE0020, 0xE0080)]

_ESCAPES: dict[int, str] = {c: f"\\x{c:02x}" for c in _CONTROLS} | {
    c: f"\\u{c:04x}" if c <= 0xFFFF else f"\\U{c:08x}" for c in _FORMATTING  # (as Python spells them)
}

# the separator the one-line forms put between their fields (summary; the text form's first lines)
FIELD_SEPARATOR = "·"


def printable(text: str, *, separators: str = "") -> str:
    """`text` with every control or invisible formatting character shown as its escape (one line).

    `separators`: characters the form itself puts between its fields (the ` · ` of the summary and
    of the text form's first lines), also shown as escapes (`\\u00b7`), so that text from a bundle
    cannot forge a field: an id `a · 2025-03 · 99490 × 1` is not read as a bundle `a` billing 99490.
    """
    if text.isprintable() and not (separators and any(c in text for c in separators)):
        return text  # nearly always: one C scan, no copy (a tab, too, takes the slow path)
    if not separators:
        return text.translate(_ESCAPES)
    return text.translate(_ESCAPES | {ord(c): f"\\u{ord(c):04x}" for c in separators})


# an id longer than this is shortened in the human forms (text, summary, CSV, the report's error
# records): its first ID_HEAD and last ID_TAIL characters, and a marker with its length. The end is
# kept as well as the start: ids of one export often share a long prefix and differ at the end (a
# sequence number), so the start alone would make them all look alike. The JSON forms keep it whole.
ID_SHOWN = 64
ID_HEAD, ID_TAIL = 40, 20


def shortened_id(text: str) -> str:
    """`text` as the human forms show an id: whole up to ID_SHOWN characters; else its start, `…`,
    its end and `(2,000 characters, shortened)`. Not yet printable: `printable` it after."""
    if len(text) <= ID_SHOWN:
        return text
    return f"{text[:ID_HEAD]}…{text[-ID_TAIL:]} ({len(text):,} characters, shortened)"


def printable_lines(lines: list[str]) -> str:
    """The lines made printable, each on its own: a line break inside a line is shown, not kept."""
    return "\n".join(printable(line) for line in lines)


def utf8_text(text: str) -> str:
    """`text` as UTF-8 can hold it: a lone surrogate (JSON's `\\ud800` read back, or a file name that
    is not UTF-8, `\\udcff`) spelled as its escape, as JSON writes it; any other text unchanged."""
    if text.isascii():  # nearly always: no copy
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
