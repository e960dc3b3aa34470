"""`carepolicy explain`: turn decisions with a compact trace back into decisions with the full trace."""

from __future__ import annotations

import errno
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..common import ErrorRecord, Setup, fail, finish, output_stream, plural, prepare, read_inputs
from ..exit_codes import ExitCode
from ..reporting import report
from .evaluate import FEE_HELP, POLICIES_HELP

if TYPE_CHECKING:
    from carepolicy.engine import Bundle, Decision


NO_DECISIONS_HELP = "give the decisions `evaluate --trace compact` or `batch --trace compact` wrote"


class _Mismatch(Exception):
    """The decision cannot be expanded with these bundles and policies (exit 2)."""

    def __init__(self, message: str, help: str) -> None:
        super().__init__(message)
        self.message, self.help = message, help


def _decisions(path: str) -> Iterator[tuple[str, Any]]:
    """(where, parsed object) of every decision in a JSON or JSON Lines file: `path:line`, or
    `path $[i]` for the items of a JSON list (`evaluate --format json` of several bundles)."""
    import orjson
    from carepolicy.engine.jsontext import loads  # (a lone surrogate escaped too: a file name not UTF-8)

    try:  # a byte-order mark (a Windows editor's) is dropped, as the fact files' is; stdin is decoded
        # here too, not read as the locale's text (where a byte not in UTF-8 becomes a surrogate)
        if path == "-" and sys.stdin is None:  # `<&-`: as the fact readers word it
            raise OSError(errno.EBADF, "standard input is closed")
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")  # (as text mode reads line ends)
    except UnicodeDecodeError as error:
        from carepolicy.engine.facts.record_errors import not_utf8

        fail("usage/input", f"cannot read `{path}`: {not_utf8(error.object, error)}", file=path)
    except OSError as error:
        fail("usage/input", f"cannot read `{path}`: {(error.strerror or str(error)).lower()}", file=path)
    try:  # one JSON document (`evaluate --format json`), possibly indented
        document = loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        if isinstance(document, list):
            yield from ((f"{path} $[{index}]", item) for index, item in enumerate(document))
        else:
            yield f"{path}:1", document
        return
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                yield f"{path}:{number}", loads(line)
            except orjson.JSONDecodeError as error:
                fail("usage/input", f"line {number} of `{path}` is not JSON: {error}", file=path)


def _bundles(path: str) -> dict[str, list[Bundle]]:
    """The valid bundles of the bundle file by id (an id may come again, as `batch` allows); a file
    that cannot be read ends the command."""
    from carepolicy.engine import Bundle

    found: dict[str, list[Bundle]] = {}
    for item in read_inputs([path]):
        if isinstance(item, ErrorRecord):  # the file as a whole (missing, empty, not parsed)
            report(item.diagnostics)
            finish(ExitCode.BAD_INPUT)
        if isinstance(item, Bundle):
            found.setdefault(item.id, []).append(item)
    return found


def expand(obj: Any, bundles: dict[str, list[Bundle]], setup: Setup) -> Decision:
    """The decision `obj` (with a compact trace) decided again, with its trace; checked to be the same."""
    from carepolicy.engine import PolicyError, evaluate, to_json_obj
    from carepolicy.engine.evaluation.compact import COMPACT_VERSION
    from carepolicy.engine.jsontext import canonical_bytes

    if not isinstance(obj, dict):
        from carepolicy.engine.facts.schema_messages import describe

        raise _Mismatch(f"expected a decision (a JSON object), found {describe(obj)}", NO_DECISIONS_HELP)
    trace = obj.get("trace")
    if not isinstance(trace, dict) or trace.get("form") != "compact":
        form = "none" if trace is None else "full"
        raise _Mismatch(f"the decision has no compact trace (trace: {form})", "write it with `--trace compact`")
    bundle_id, wanted_hash = obj.get("bundle_id"), trace.get("policy_set_hash")
    if trace.get("version") != COMPACT_VERSION:
        raise _Mismatch(
            f"decision `{bundle_id}` has a compact trace of version {trace.get('version', 1)}; this carepolicy "
            f"reads version {COMPACT_VERSION}",
            "expand it with the carepolicy version that wrote it, or decide the bundle again",
        )
    if wanted_hash != setup.policies.policy_hash:
        raise _Mismatch(
            f"decision `{bundle_id}` was made with policy set {wanted_hash}; these policies are "
            f"{setup.policies.policy_hash}",
            "give --policies the folder of the policy set the decision was made with",
        )
    same_id = bundles.get(bundle_id, []) if isinstance(bundle_id, str) else []
    # of the bundles with this id, the one decided (by its facts), else the first, to say how it differs
    bundle = next((b for b in same_id if b.facts_hash == obj.get("facts_hash")), same_id[0] if same_id else None)
    if bundle is None:
        raise _Mismatch(f"no valid bundle `{bundle_id}` in the bundle file", "give the file the decision was made from")
    if bundle.facts_hash != obj.get("facts_hash"):
        raise _Mismatch(
            f"bundle `{bundle_id}` is not the one decided: its facts hash is {bundle.facts_hash}, "
            f"the decision's {obj.get('facts_hash')}",
            "the facts changed since the decision was made",
        )
    switches = obj.get("switches") if isinstance(obj.get("switches"), dict) else {}
    try:
        decision = evaluate(setup.policies, bundle, switches=switches, fee_schedule=setup.fee_schedule, trace=True)
    except PolicyError as error:  # switches these policies do not have: the line was edited
        problem = error.diagnostics[0].message if error.diagnostics else "its switches are not valid"
        raise _Mismatch(f"decision `{bundle_id}`: {problem}", "the decision was changed after it was written") from None
    engine = obj.get("engine")
    version = engine.get("version") if isinstance(engine, dict) else None
    if decision.decision_id != obj.get("decision_id"):
        raise _Mismatch(
            f"decision `{bundle_id}` was made by carepolicy {version} or with "
            f"another fee schedule (its id is not this run's {decision.decision_id})",
            "use the same carepolicy version and --fee-schedule as the run that made it",
        )
    recorded = to_json_obj(decision, trace="compact")
    # as JSON, not only as Python values, where 1 == 1.0 == True: an edit to `"units": 1.0` or `true`
    # is an edit (compared as text only once equal as values: the line may nest deeper than JSON writes)
    if recorded != obj or canonical_bytes(recorded) != canonical_bytes(obj):
        raise _Mismatch(
            f"deciding bundle `{bundle_id}` again does not give the decision recorded",
            "the decision was changed after it was written",
        )
    return decision


@click.command("explain")
@click.argument("decision_file", metavar="DECISION")
@click.argument("bundle_file", metavar="BUNDLE")
@click.option("--policies", "policies_dir", metavar="DIR", help=POLICIES_HELP)
@click.option("--fee-schedule", metavar="CSV", help=FEE_HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "text"]),
    default="jsonl",
    show_default=True,
    help="jsonl: each decision as `batch --trace full` writes it; text: the decision for people, with the trace.",
)
@click.option("--output", "-o", metavar="FILE", help="Write the results to FILE instead of stdout.")
def explain(
    decision_file: str,
    bundle_file: str,
    policies_dir: str | None,
    fee_schedule: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """Expand decisions with a compact trace into the full trace.

    DECISION holds decisions written with `--trace compact` (a JSON document, a JSON list of them
    or JSON Lines, `-` for stdin; error records in it are skipped); BUNDLE is the fact file they
    were made from (any format). Each decision is decided again from its bundle (found by bundle
    id) with the same policy set (--policies; its hash must be the one the trace names), switches
    and fee schedule, checked to give exactly the recorded decision, and written with the full
    trace: byte for byte the line `batch --trace full` writes. A decision that does not match
    (other policies, facts or version) is an error, exit 2, and so is a DECISION that holds no
    decision at all (an empty file, or only error records).

    \b
    Examples:
      carepolicy explain decision.json claims-2025-03.jsonl
      grep '"bundle_id":"pt-1042"' decisions.jsonl | carepolicy explain - claims-2025-03.jsonl --format text
    """
    from carepolicy.engine.decision.explain import render_decision_text
    from carepolicy.engine.decision.json_form import to_json

    if decision_file == bundle_file == "-":  # the bundles would read the decisions as bundles, and find none
        fail("usage/input", "DECISION and BUNDLE are both standard input (`-`)", file="-",
             help="give one of them as a file: the decisions from stdin and the bundle file by name, or the other way")
    setup = prepare(policies_dir, (), fee_schedule, trace=True)
    bundles = _bundles(bundle_file)
    skipped = expanded = 0
    with output_stream(output, (decision_file, bundle_file, *filter(None, (fee_schedule, policies_dir)))) as out:
        for where, obj in _decisions(decision_file):
            if isinstance(obj, dict) and "error" in obj:  # an error record of a batch: nothing to expand
                skipped += 1
                continue
            try:
                decision = expand(obj, bundles, setup)
            except _Mismatch as problem:
                fail("explain/mismatch", f"{where}: {problem.message}", help=problem.help, file=decision_file)
            if fmt == "jsonl":
                text = to_json(decision, indent=None) + "\n"
            else:  # as `evaluate --explain` shows decisions: a blank line between two
                text = ("\n" if expanded else "") + render_decision_text(decision, explain=True)
            out.write(text)
            expanded += 1
    if skipped:
        click.echo(f"note: {plural(skipped, 'error record')} skipped (no decision to explain)", err=True)
    if not expanded:  # e.g. a grep that matched no line: an empty output would look like success
        fail("usage/input", f"`{decision_file}` holds no decisions", help=NO_DECISIONS_HELP, file=decision_file)
    finish(ExitCode.OK)
