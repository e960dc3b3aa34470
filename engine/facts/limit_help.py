"""The help of each `facts/limit` error: what the limit is for, and how to bring the record under it.

Every other kind of fact error says what to do (`help:`); a limit said only that it was crossed.
The limits' messages are made in several places (limits.py for the values of a bundle, the readers
for a record's size and nesting, and for a number too long to read at all), so the help is chosen
here, once, from the message's words, by every place that makes a `facts/limit` diagnostic
(`record_error`, a table cell's error, a bundle's problems, a YAML error). The values named agree
with docs/reference/fact-input.md (Limits); tests/test_limit_help.py checks that they do.
"""

from __future__ import annotations

from .limits import CYCLE, MAX_DIGITS

RECORD_HELP = (
    "a bundle of one patient-month is a few kilobytes: check that each bundle ends its line (bundles joined "
    "without a line break are one record) and that no value holds a whole file"
)
DOCUMENT_HELP = (
    "a JSON document or YAML list is read whole: split the file, or write it as JSON Lines (one bundle per "
    "line, `.jsonl`), which is read line by line and has no file limit"
)
DEPTH_HELP = (
    "a bundle is 4 levels deep: check this value's brackets, and that the record is the bundle itself, not a "
    "bundle inside further lists or mappings"
)
VALUES_HELP = "a bundle holds one patient and one month: split the data into one bundle for each"
TEXT_HELP = "names, ids and codes are short: check that this is the value meant (not a note or a file pasted in)"
SURROGATE_HELP = (
    "it is half of a character (JSON can write `\\ud800`, no UTF-8 file can hold it): write the whole character, "
    "or remove it"
)
DIGITS_HELP = (
    f"numbers are kept exact to {MAX_DIGITS} digits: write the amount with fewer digits (money in dollars and "
    "cents, `257.00`); an id or a code made of digits is text: quote it"
)
FINITE_HELP = "infinity and not-a-number are no amount or count: write the number, or leave the fact out"
CYCLE_HELP = "give a bundle whose mappings and lists do not hold themselves (a JSON or YAML file cannot)"
OTHER_HELP = "the limits of a fact record are listed in docs/reference/fact-input.md (Limits)"

# (words of a limit's message, its help), looked for in this order: the message of a number too
# long to read names its digits (`a number with 4400 digits`), one over the limits names them too
_HELPS = (
    ("levels deep", DEPTH_HELP),
    (CYCLE, CYCLE_HELP),
    ("values (list items and mapping entries)", VALUES_HELP),
    ("half of a UTF-16 pair", SURROGATE_HELP),
    ("characters; fact files allow", TEXT_HELP),
    ("is not a finite number", FINITE_HELP),
    ("digits", DIGITS_HELP),
    ("decimal places", DIGITS_HELP),
    ("bytes; fact files allow", RECORD_HELP),
    ("bytes, the limit for one", DOCUMENT_HELP),
)


def limit_help(message: str) -> str:
    """The help of the `facts/limit` error whose message is `message`."""
    for words, help_text in _HELPS:
        if words in message:
            return help_text
    return OTHER_HELP
