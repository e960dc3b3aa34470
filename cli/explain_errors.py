"""The error records of a `batch` output, as `carepolicy explain` writes them: through, one for one.

explain skipped them, so its output had a line fewer for each, and a pipeline that matches output
lines to input lines by position (line 7 of the expanded file is line 7 of the batch output) was
off by one after the first. An error record is now written where it was read: the bytes read when
they are the canonical line `batch` writes for what they hold (keys sorted, no spaces, LF; JSON
that holds a lone surrogate escaped as batch escapes it), else that canonical line, written again
from the values read (the bytes of a line another tool re-wrote, or an item of a JSON document), and
counted so in the summary. A record with `error` that is not of the error record's shape (a
decision with an `error` key added, a key of another type) is refused, not written through as one.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .common import error_heading
from .explain_input import ReadDecision

ERROR_KEYS = ("bundle_id", "source", "error")


class Passed(NamedTuple):
    """The line an error record is written as (with its line end), and whether it is the bytes read."""

    line: str
    as_read: bool


def is_error_record(obj: Any) -> bool:
    """A record of DECISION that stands for an input record with no decision (it has `error`)."""
    return isinstance(obj, dict) and "error" in obj


def shape_problem(obj: dict[str, Any]) -> tuple[str, tuple[str | int, ...]] | None:
    """What makes `obj` (which has `error`) not an error record as batch writes it, at which JSON
    path; None when it is one."""
    from carepolicy.engine.facts.schema_messages import describe, show

    extra = [key for key in obj if key not in ERROR_KEYS]
    if extra:
        return (f"expected an error record (`bundle_id`, `source` and `error` only), found key `{show(extra[0])}` "
                "too", (extra[0],))
    if "bundle_id" not in obj or not (obj["bundle_id"] is None or isinstance(obj["bundle_id"], str)):
        found = describe(obj["bundle_id"]) if "bundle_id" in obj else "nothing"
        return f"expected the id of the bundle of an error record (text or null), found {found}", ("bundle_id",)
    if not isinstance(obj.get("source"), str):
        found = describe(obj["source"]) if "source" in obj else "nothing"
        return f"expected the file of an error record (text), found {found}", ("source",)
    problems = obj["error"]
    if not isinstance(problems, list):
        return f"expected the problems of an error record (a list), found {describe(problems)}", ("error",)
    for index, problem in enumerate(problems):
        if not isinstance(problem, dict):
            return f"expected a diagnostic (an object with `code` and `message`), found {describe(problem)}", (
                "error", index)
        for key in ("code", "message"):
            if not isinstance(problem.get(key), str):
                found = describe(problem[key]) if key in problem else "nothing"
                return f"expected the diagnostic's `{key}` (text), found {found}", ("error", index, key)
    return None


def passed_through(read: ReadDecision) -> Passed:
    """The JSON line of the error record `read` (of the shape `shape_problem` checks)."""
    from carepolicy.engine.jsontext import escaped_bytes

    canonical = escaped_bytes(read.obj)  # (what batch writes: cli.common.record_json_line)
    as_read = read.text == canonical
    return Passed((read.text if as_read and read.text is not None else canonical).decode("utf-8") + "\n", as_read)


def error_record_text(obj: dict[str, Any]) -> str:
    """The error record for people, as `evaluate` shows one, with its problems under it (an explain
    reports nothing on stderr for it: the problems were reported when batch wrote it)."""
    from carepolicy.engine.printable import printable_lines, utf8_text

    problems = obj["error"]
    out = [error_heading(obj["bundle_id"], len(problems), obj["source"])]
    for problem in problems:
        severity = problem.get("severity")
        out.append(f"  {severity if isinstance(severity, str) else 'error'}[{problem['code']}]: {problem['message']}")
    return utf8_text(printable_lines(out)) + "\n"  # (a file name not UTF-8, `in\udcff.jsonl`, as JSON spells it)
