"""What the service accepts: its limits and settings, passed to every worker process as JSON.

uvicorn starts each worker by importing the app factory, so the settings travel in one environment
variable (`CAREPOLICY_SERVE_CONFIG`), written by `carepolicy serve` and read by each worker.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field

CONFIG_VARIABLE = "CAREPOLICY_SERVE_CONFIG"

# JSON Lines media types in use (there is no registered one); application/json is one bundle.
JSONL_TYPES = frozenset(
    {"application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/json-lines"}
)
JSON_TYPES = frozenset({"application/json"})

# a string (skipped), one bracket, or a line end. A string ends at its closing quote or, unclosed,
# at the end of its line (a JSON string holds no raw newline), so each byte is matched once and an
# unclosed quote cannot hide the lines after it. (Without the line end, each unclosed quote of
# `"\\"\\"...` scanned to the end of the body: quadratic, 4 s for 32 kB.)
_BRACKETS = re.compile(rb'"(?:[^"\\\n]|\\.)*"?|[\[\]{}\n]')


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Everything a worker needs besides the code: what to load and what to refuse."""

    policies: str | None = None
    switches: dict[str, str] = field(default_factory=dict)
    fee_schedule: str | None = None
    trace: bool = True
    max_body_bytes: int = 8 * 1024 * 1024  # 413 above this: about 5,000 generated bundles
    max_depth: int = 32  # 413 above this nesting of JSON arrays and objects (a bundle needs 4)
    read_timeout: float = 10.0  # seconds to receive the whole body (408 after)
    request_timeout: float = 30.0  # seconds of evaluation per request (503 after, nothing half-written)
    max_spool_bytes: int = 1024**3  # 507 above this: the disk an HTTP/1.0 answer (sent whole) may take
    # what the command loaded and announced; a worker that loads anything else does not serve (workers.py)
    policy_set_hash: str | None = None
    fee_schedule_digest: str | None = None
    failure_file: str | None = None  # where a worker that does not serve says why, for the command to report

    def to_environment(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_environment(cls) -> ServiceConfig:
        raw = os.environ.get(CONFIG_VARIABLE)
        if raw is None:
            return cls()
        values = json.loads(raw)
        return cls(**values)


def nesting_depth(body: bytes, *, lines: bool = False) -> int:
    """The deepest nesting of JSON arrays and objects in `body`, brackets inside strings not counted.

    Runs before parsing: Python's JSON parser recurses once per level, so a body of a million `[`
    would otherwise end in a RecursionError. Unbalanced input is left to the parser to report.
    With `lines` (JSON Lines) each line is counted alone, as it is read: the brackets a truncated
    record leaves open must not add up, line after line, to a depth that refuses the whole body.
    A surplus of closing brackets counts as depth 0, so that it cannot hide nesting after it.
    """
    depth = deepest = 0
    for match in _BRACKETS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth = max(depth - 1, 0)
        elif token == b"\n" and lines:
            depth = 0
    return deepest
