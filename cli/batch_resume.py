"""`batch --resume`: the lines of a partial output, each checked against the input record in its place.

A line is kept only if this run would write it: the same bundle id at the same position, and for
a decision the same policy set and trace form, the same facts (`facts_hash`) and the same
`decision_id`, which also covers the switches, the fee schedule and the engine version. Ids alone
were not enough: a corrected export of the same month keeps its ids, and its stale decisions were
kept without a word. An error record of a record still not a valid bundle is kept only if it is the
one this run writes (known without deciding: a corrected record invalid in another way kept its
stale diagnostics); an error record of a valid one, an evaluation error, is kept as it was.

Those checks read the line's JSON, not its bytes: a partial output rewritten by another tool (CRLF
line ends, white space, keys reordered, non-ASCII escaped) passed them, and was kept in the
finished file as the tool left it. So a line must also be the bytes batch writes for what it holds:
its canonical JSON (engine/jsontext.py) and LF, written again from the parsed line and compared
(~25 µs a line of the benchmark's). The first line that is not is decided again, with every line
after it, as an unfinished last line is: the finished file is then the bytes of an uninterrupted
run, and nothing the inputs hold is lost.

A line edited by hand and written back canonical passes all of those. The values a decision
echoes of its input and of the run (`month`; `decision_format`, `engine`, `switches`) are checked
too (a dict compare a line); what it computes (codes, amounts, reasons, trace) is not: only
deciding it again could, the work `--resume` skips. docs/reference/cli.md says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from .batch_input import RawRecord, Work, decode
from .batch_output import OutputProblem, ResumeProblem, reason

if TYPE_CHECKING:
    from .common import Setup

CHANGED_INPUTS = "the inputs changed since the partial output was written; run without --resume to start again"
CHANGED_SETTINGS = "resume with the same policies, --trace, --switch and --fee-schedule, or run without --resume"
EDITED = ("the line was changed after batch wrote it: cut the partial output before it to have it and the lines "
          "after it decided again, or run without --resume")


@dataclass(frozen=True, slots=True)
class WrittenLine:
    """What `--resume` checks of a line already written."""

    bundle_id: str | None
    policy_set_hash: str | None
    trace_form: str | None  # "full", "compact", "none", or None for an error record
    facts_hash: str | None = None
    decision_id: str | None = None
    error_codes: tuple[str, ...] = ()  # an error record's diagnostic codes
    text: bytes = b""  # an error record's line, as written
    month: object = None  # a decision's month, echoed from its input record
    run: tuple[object, ...] = ()  # a decision's decision_format, engine and switches: the run's


class ResumeScan:
    """The complete lines of a partial output, one at a time; `kept` bytes and `lines` once done,
    and `rewritten`: why the line after them is not as batch writes it (None: it is the end)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.kept = 0
        self.lines = 0
        self.rewritten: str | None = None

    def __iter__(self) -> Iterator[WrittenLine]:
        from carepolicy.engine.jsontext import loads  # (orjson, or json.loads for a lone surrogate escaped)

        try:
            stream: BinaryIO = open(self.path, "rb")  # noqa: SIM115 — closed below
        except FileNotFoundError:
            return
        except OSError as error:
            raise OutputProblem(f"cannot read `{self.path}` to resume: {reason(error)}") from None
        with stream:
            for line in stream:
                if not line.endswith(b"\n"):  # the end of a run that was killed mid-write: written again
                    return
                if b"\r" in line:  # before the parse: two lines joined by a lone CR are not JSON
                    self.rewritten = "a carriage return; batch ends a line with LF alone"
                    return
                written, obj = self._parse(line, loads)
                if _as_batch_writes(obj) != line:
                    self.rewritten = ("its JSON written otherwise: white space, keys in another order or "
                                      "escapes, which batch does not write")
                    return
                yield written
                self.kept += len(line)
                self.lines += 1

    def _parse(self, line: bytes, loads: Callable[[bytes], Any]) -> tuple[WrittenLine, dict[str, Any]]:
        try:
            obj = loads(line)
        except ValueError:
            obj = None
        if not isinstance(obj, dict) or "bundle_id" not in obj:
            raise ResumeProblem(
                f"cannot resume: line {self.lines + 1} of `{self.path}` is not a decision or an error record",
                help="remove the file, or run without --resume to start again",
            )
        bundle_id = obj.get("bundle_id")
        if "error" in obj:
            errors = obj["error"] if isinstance(obj["error"], list) else []
            codes = tuple(str(e.get("code")) for e in errors if isinstance(e, dict))
            return WrittenLine(bundle_id, None, None, error_codes=codes, text=line), obj
        trace = obj.get("trace")
        form = "none" if trace is None else ("full" if isinstance(trace, list) else "compact")
        hashes = obj.get("policy_set_hash"), form, obj.get("facts_hash"), obj.get("decision_id")
        run = obj.get("decision_format"), obj.get("engine"), obj.get("switches")
        return WrittenLine(bundle_id, *hashes, month=obj.get("month"), run=run), obj


def _as_batch_writes(obj: dict[str, Any]) -> bytes:
    """The line batch writes for what a line holds: its canonical JSON (the bytes of a decision, as
    json_form.to_json_bytes is held to; of an error record, as error_line writes it, with a lone
    surrogate escaped) and LF. A line that is not these bytes was written by something else."""
    from carepolicy.engine.jsontext import escaped_bytes

    return escaped_bytes(obj) + b"\n"


def complete_lines(path: str) -> int | None:
    """How many complete lines `path` holds (0 when there is no such file; None when it cannot be
    read): what an interrupted `--resume` says of a partial output it has not yet taken over. The
    count reads the file once more, far quicker than the scan that checks it (a JSON parse a line)."""
    count = 0
    try:
        with open(path, "rb") as stream:
            while block := stream.read(1 << 20):
                count += block.count(b"\n")
    except FileNotFoundError:
        return 0
    except OSError:
        return None
    return count


def kept_lines(works: Iterator[Work], scan: ResumeScan, setup: Setup, form: str) -> Iterator[bool]:
    """For each line of the partial output, checked against the record `works` has in its place:
    whether it is an error record. Raises `ResumeProblem` at the first line this run would not
    write; at the end, `works` is at the first record still to decide."""
    from carepolicy.engine import Bundle, engine_version
    from carepolicy.engine.api import decision_id
    from carepolicy.engine.decision.json_form import DECISION_FORMAT
    from carepolicy.engine.evaluation.coding import ENGINE_NAME
    from carepolicy.engine.jsontext import escaped_bytes

    from .batch_run import error_line
    from .common import ErrorRecord, decide

    policies = setup.policies
    run = DECISION_FORMAT, {"name": ENGINE_NAME, "version": engine_version()}, dict(setup.switches)
    written_run = escaped_bytes(run)
    for position, line in enumerate(scan, start=1):
        work = next(works, None)
        where = f"line {position} of `{scan.path}`"
        if work is None:
            raise ResumeProblem(
                f"cannot resume: {where} has no input record in its place (the inputs hold fewer records)",
                help=CHANGED_INPUTS,
            )
        item = decode(work) if isinstance(work, RawRecord) else work
        expected = item.bundle_id if isinstance(item, ErrorRecord) else item.id
        if line.bundle_id != expected:
            raise ResumeProblem(
                f"cannot resume: {where} is bundle `{line.bundle_id}`, but input record {position} is `{expected}`",
                help=CHANGED_INPUTS,
            )
        if line.trace_form is None:  # an error record
            if isinstance(item, Bundle) and any(code.startswith("facts/") for code in line.error_codes):
                raise ResumeProblem(f"cannot resume: {where} is the error record of an input that was not a valid "
                                    f"bundle, but input record {position} (`{expected}`) is one", help=CHANGED_INPUTS)
            elif not isinstance(item, Bundle):  # still not valid: the same error record, or the input changed
                record = decide(item, setup)  # (no evaluation: the error record `decide_one` writes for it)
                assert isinstance(record, ErrorRecord)
                if line.text != error_line(record):  # a corrected record invalid in another way: stale diagnostics
                    raise ResumeProblem(f"cannot resume: {where} is not the error record of input record {position} "
                                        f"(`{expected}`) as it is now: its diagnostics differ", help=CHANGED_INPUTS)
        elif line.policy_set_hash != policies.policy_hash or line.trace_form != form:
            written = f"policy set {line.policy_set_hash}, trace {line.trace_form}"
            now = f"{policies.policy_hash}, trace {form}"
            raise ResumeProblem(f"cannot resume: {where} was written with {written}; this run uses {now}",
                                help=CHANGED_SETTINGS)
        elif not isinstance(item, Bundle):
            raise ResumeProblem(f"cannot resume: {where} is a decision, but input record {position} (`{expected}`) "
                                "is not a valid bundle", help=CHANGED_INPUTS)
        elif line.facts_hash != item.facts_hash:
            raise ResumeProblem(f"cannot resume: {where} was decided from other facts than input record {position} "
                                f"(`{expected}`) holds", help=CHANGED_INPUTS)
        elif line.decision_id != decision_id(policies, item, switches=setup.switches, fee_schedule=setup.fee_schedule):
            raise ResumeProblem(f"cannot resume: {where} was decided with other switches, another fee schedule or "
                                "another engine version than this run's", help=CHANGED_SETTINGS)
        # its facts and settings are this run's (the hashes above): a value it echoes of them that is
        # not was edited since. (What the decision computes could be checked only by deciding it again)
        elif line.month != item.month:
            raise ResumeProblem(f"cannot resume: {where} gives month `{line.month}`, but it was decided from input "
                                f"record {position} (`{expected}`), of month `{item.month}`", help=EDITED)
        elif line.run != run or escaped_bytes(line.run) != written_run:  # (as JSON: `true` == 1 in Python)
            raise ResumeProblem(f"cannot resume: {where} lists other switches, another engine or another "
                                "decision_format than the run that decided it", help=EDITED)
        yield line.trace_form is None


__all__ = ["ResumeScan", "WrittenLine", "complete_lines", "kept_lines"]
