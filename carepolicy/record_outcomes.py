"""An input record's outcome: its decision, or the error record that stands in its place.

What every way in shares: the command line (cli/), the Python API (evaluator.py), Arrow and
Parquet (arrow.py, parquet.py) and the HTTP service (service/) all decide a record with `decide`
and write it with `record_json_line`, so their bytes are one another's by construction. It lived
in cli/common.py, which made the pipeline API and the service import the command line; here it is
below all of them, and cli/common.py names it for the commands.

The engine is imported inside the functions: cli/common.py imports this module, and importing the
engine there would cost every command, `--help` included, ~0.3 s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from carepolicy.engine import Bundle, BundleError, Decision, Diagnostic, PolicySet
    from carepolicy.engine.evaluation.pricing import FeeSchedule


@dataclass(frozen=True, slots=True)
class Setup:
    """Everything an evaluation needs besides the bundle."""

    policies: PolicySet
    switches: Mapping[str, str]
    fee_schedule: FeeSchedule | None
    trace: bool


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    """The output record of an input record that has no decision (bundle_id None: the file as a whole)."""

    bundle_id: str | None
    source: str
    diagnostics: tuple[Diagnostic, ...]

    def to_json_obj(self) -> dict[str, Any]:
        from carepolicy.engine.diagnostics import to_json_obj

        return {"bundle_id": self.bundle_id, "source": self.source, "error": [to_json_obj(d) for d in self.diagnostics]}


Item: TypeAlias = "Bundle | BundleError | ErrorRecord"
Record: TypeAlias = "Decision | ErrorRecord"


def internal_error(error: BaseException, *, source: str, bundle: str | None) -> ErrorRecord:
    from carepolicy.engine import Diagnostic

    message = f"internal error: {type(error).__name__}: {error}".rstrip(": ")
    diag = Diagnostic(
        "eval/internal",
        message,
        file=source,
        bundle=bundle,
        help="this is a bug in carepolicy; please report it with the bundle that caused it",
    )
    return ErrorRecord(bundle, source, (diag,))


def decide(item: Item, setup: Setup) -> Record:
    """The decision for one input record, or the error record that stands in its place."""
    engine = _ENGINE[0] if _ENGINE else _engine()
    if isinstance(item, ErrorRecord):
        return item
    if isinstance(item, engine.BundleError):
        return ErrorRecord(item.id, item.source, item.diagnostics)
    try:
        return engine.evaluate(  # type: ignore[no-any-return]
            setup.policies, item, switches=setup.switches, fee_schedule=setup.fee_schedule, trace=setup.trace
        )
    except Exception as error:  # an engine bug on one record must not lose the others
        return internal_error(error, source=item.source, bundle=item.id)


# The engine, imported by `decide` on its first record and kept: the import statement it made on
# every record of a batch cost ~0.5 µs (a package's `from ... import` runs Python code each time).
# Its names are still read from the package at each call, as the statement read them.
_ENGINE: list[ModuleType] = []


def _engine() -> ModuleType:
    import carepolicy.engine

    _ENGINE.append(carepolicy.engine)
    return _ENGINE[0]


def record_json_obj(record: Record, *, trace: str = "full") -> dict[str, Any]:
    from carepolicy.engine import to_json_obj

    return record.to_json_obj() if isinstance(record, ErrorRecord) else to_json_obj(record, trace=trace)


def record_json_line(record: Record, *, trace: str = "full") -> str:
    """One record as one line of JSON (keys sorted, compact, UTF-8): the jsonl and batch form."""
    from carepolicy.engine import to_json
    from carepolicy.engine.jsontext import escaped_bytes

    if isinstance(record, ErrorRecord):  # (a lone surrogate in an id or a file name: escaped)
        return escaped_bytes(record.to_json_obj()).decode("utf-8")
    return to_json(record, indent=None, trace=trace)


def serialise_error(error: BaseException, decision: Decision, source: str) -> ErrorRecord:
    """The error record of a decision that cannot be written as JSON (batch, Arrow and the service)."""
    failed = internal_error(error, source=source, bundle=decision.bundle_id)
    diag = failed.diagnostics[0]
    from dataclasses import replace

    message = f"the decision cannot be written as JSON: {type(error).__name__}: {error}"
    return ErrorRecord(failed.bundle_id, failed.source, (replace(diag, code="output/serialise", message=message),))


def error_line(record: ErrorRecord) -> bytes:
    """An error record's line; one that is not Unicode text (a lone surrogate in an id) is escaped."""
    return (record_json_line(record) + "\n").encode("utf-8")
