"""Where a recorded decision differs from the one its bundle gives again, as `explain` words it.

`explain` decides a bundle again and requires the decision recorded (read from JSON) to be that
decision exactly, as JSON. When it is not, "the decision was changed" alone leaves an analyst to
diff two 20 kB lines by eye; `first_difference` finds the first place they differ, in the order
the canonical JSON writes it (keys sorted), and `difference_text` says what is there and what
deciding again gives there. Values are compared as JSON: `1`, `1.0` and `true` are three values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..facts.schema_messages import describe, json_path, show

__all__ = ["Difference", "difference_text", "first_difference"]


class _Missing:
    """A key one of the two objects does not have (not `None`, which is JSON's `null`)."""


MISSING = _Missing()


@dataclass(frozen=True, slots=True)
class Difference:
    parts: tuple[str | int, ...]  # from the decision's root
    recorded: object  # what the decision holds there (MISSING: the key is not there)
    expected: object  # what deciding again gives there (MISSING: a key it does not write)

    def path(self, root: object, prefix: Sequence[str | int] = ()) -> str:
        """The JSON path, `$.trace.rules`, under `prefix` (`$[1]` for an item of a JSON list)."""
        return json_path((*prefix, *self.parts), root)


def _same_kind(a: object, b: object) -> bool:
    # bool is an int to Python, and 1 == 1.0: JSON tells all three apart
    return type(a) is type(b)


def first_difference(recorded: object, expected: object, parts: tuple[str | int, ...] = ()) -> Difference | None:
    """The first place where `recorded` is not `expected`, or None when they are the same JSON.

    Recursion follows `expected` (a decision, a few levels deep), so a recorded value nested as
    deep as a JSON reader allows is compared without a RecursionError."""
    if not _same_kind(recorded, expected):
        return Difference(parts, recorded, expected)
    if isinstance(recorded, dict) and isinstance(expected, dict):
        for key in sorted({*recorded, *expected}):
            if key not in recorded or key not in expected:
                return Difference((*parts, key), recorded.get(key, MISSING), expected.get(key, MISSING))
            found = first_difference(recorded[key], expected[key], (*parts, key))
            if found is not None:
                return found
        return None
    if isinstance(recorded, list) and isinstance(expected, list):
        for index, (item, wanted) in enumerate(zip(recorded, expected, strict=False)):
            found = first_difference(item, wanted, (*parts, index))
            if found is not None:
                return found
        return None if len(recorded) == len(expected) else Difference(parts, recorded, expected)
    return None if recorded == expected else Difference(parts, recorded, expected)


def _items(count: int) -> str:
    return f"{count} item{'' if count == 1 else 's'}"


def difference_text(found: Difference) -> str:
    """What the decision holds at the place, and what deciding again gives there, in one phrase."""
    recorded, expected = found.recorded, found.expected
    if isinstance(recorded, _Missing):
        return f"the decision has no `{found.parts[-1]}`, where deciding again gives {describe(expected)}"
    if isinstance(expected, _Missing):
        return f"the decision has `{found.parts[-1]}`, which deciding again does not give"
    if isinstance(recorded, list) and isinstance(expected, list):
        return f"the decision holds {_items(len(recorded))} where deciding again gives {_items(len(expected))}"
    if isinstance(recorded, str) and isinstance(expected, str):
        return _text_difference(recorded, expected)
    return f"the decision holds {describe(recorded)} where deciding again gives {describe(expected)}"


def _text_difference(recorded: str, expected: str) -> str:
    if len(recorded) <= 60 and len(expected) <= 60:
        return f"the decision holds text `{show(recorded)}` where deciding again gives `{show(expected)}`"
    at = next((i for i, (a, b) in enumerate(zip(recorded, expected, strict=False)) if a != b), None)
    if at is None:  # one is the other cut short, or made longer
        return (
            f"the decision holds text of {len(recorded)} characters where deciding again gives "
            f"{len(expected)} (the first {min(len(recorded), len(expected))} are the same)"
        )
    return (
        f"the decision holds text that differs at character {at + 1}: `{show(recorded[at])}` where deciding "
        f"again gives `{show(expected[at])}`"
    )
