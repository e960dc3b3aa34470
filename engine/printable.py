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

_ESCAPES: dict[int, str] = {c: f"\\x{c:02x}" for c in _CONTROLS} | {c: f"\\u{c:04x}" for c in _FORMATTING}


def printable(text: str) -> str:
    """`text` with every control or invisible formatting character shown as its escape (one line)."""
    if text.isprintable():  # nearly always: one C scan, no copy (a tab, too, takes the slow path)
        return text
    return text.translate(_ESCAPES)


def printable_lines(lines: list[str]) -> str:
    """The lines made printable, each on its own: a line break inside a line is shown, not kept."""
    return "\n".join(printable(line) for line in lines)


def utf8_text(text: str) -> str:
    """`text` as UTF-8 can hold it: a lone surrogate (JSON's `\\ud800` read back, or a file name that
    is not UTF-8, `\\udcff`) spelled as its escape, as JSON writes it; any other text unchanged."""
    if text.isascii():  # nearly always: no copy
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
