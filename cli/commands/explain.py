"""`carepolicy explain`: turn decisions with a compact trace back into decisions with the full trace."""

from __future__ import annotations

from contextlib import closing
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ..common import Setup, fail, finish, output_stream, plural, prepare
from ..exit_codes import ExitCode
from ..explain_bundles import Bundles, open_bundles
from ..explain_errors import error_record_text, is_error_record, passed_through, shape_problem
from ..explain_input import NO_DECISIONS_HELP, ReadDecision, read_decisions
from ..reporting import report
from .evaluate import FEE_HELP, POLICIES_HELP

if TYPE_CHECKING:
    from carepolicy.engine import Bundle, Decision
    from carepolicy.engine.evaluation.pricing import FeeSchedule


EDITED_HELP = "the decision was changed after it was written"
# Both said "the facts changed", which sent a biller to look for a corrected claim when the line
# itself may have been edited: a hash alone cannot tell which of the two files changed.
OTHER_FACTS_HELP = ("either the bundle was changed after the decision was made, or the decision's `facts_hash` "
                    "or `bundle_id` was edited: the two hashes cannot tell which; give the bundle file the decision "
                    "was made from, or decide the bundle again")
UNKNOWN_ID_HELP = ("give the bundle file the decision was made from; if it is that file, the decision's "
                   "`bundle_id` was edited")


class _Mismatch(Exception):
    """The decision cannot be expanded with these bundles and policies (exit 2), at a JSON path of it."""

    def __init__(self, message: str, help: str, parts: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message, self.help, self.parts = message, help, parts


def _field(obj: dict[str, Any], parts: tuple[str, ...], wanted: str, help: str) -> str:
    """The text at `parts` of the decision; anything else (no such key, `null`, a number) is a mismatch there."""
    from carepolicy.engine.facts.schema_messages import describe

    value: Any = obj
    for part in parts:
        value = value.get(part, _ABSENT) if isinstance(value, dict) else _ABSENT
    if isinstance(value, str):
        return value
    raise _Mismatch(f"expected {wanted}, found {'nothing' if value is _ABSENT else describe(value)}", help, parts)


_ABSENT = object()


def _refuse_repeated(parts: tuple[str | int, ...]) -> NoReturn:
    from carepolicy.engine.facts.schema_messages import show

    raise _Mismatch(f"key `{show(parts[-1])}` appears twice in one object",
                    "keep the one value that is meant: a JSON reader would keep the last without a word", parts)


def expand(obj: Any, bundles: Bundles, setup: Setup, line: bytes | None = None) -> Decision:
    """The decision `obj` (with a compact trace; read from `line`, when it is one line) decided again,
    with its trace; checked to be the same."""
    from carepolicy.engine import PolicyError, engine_version, evaluate, to_json_obj
    from carepolicy.engine.decision.json_diff import difference_text, first_difference
    from carepolicy.engine.decision.json_form import to_json_bytes
    from carepolicy.engine.facts.schema_messages import describe

    bundle_id, facts_hash = _recorded(obj, setup)
    bundle = _bundle_decided(bundles, bundle_id, facts_hash)
    recorded_switches = obj.get("switches")
    switches: dict[str, Any] = recorded_switches if isinstance(recorded_switches, dict) else {}
    for name, option in switches.items():  # (text and numbers the engine words; a list or mapping not as Python)
        if isinstance(option, list | dict):
            raise _Mismatch(f"expected an option of switch `{name}` (text), found {describe(option)}", EDITED_HELP,
                            ("switches", name))
    try:
        decision = evaluate(setup.policies, bundle, switches=switches, fee_schedule=setup.fee_schedule, trace=True)
    except PolicyError as error:  # switches these policies do not have: the line was edited
        problem = error.diagnostics[0].message if error.diagnostics else "its switches are not valid"
        raise _Mismatch(f"decision `{bundle_id}`: {problem}", EDITED_HELP,
                        ("switches",)) from None
    recorded_id = _field(obj, ("decision_id",), "the decision's id (text)", EDITED_HELP)
    engine = obj.get("engine")
    made_by = engine.get("version") if isinstance(engine, dict) else None
    if decision.decision_id != recorded_id:
        if made_by == engine_version():  # not the version: the fee schedule, or a switch edited
            raise _another_id(bundle_id, recorded_id, decision.decision_id, bundle, switches, setup)
        made_by = made_by if isinstance(made_by, str) else describe(made_by)
        raise _Mismatch(
            f"decision `{bundle_id}` was made by carepolicy {made_by} or with "
            f"another fee schedule (its id is not this run's {decision.decision_id})",
            "use the same carepolicy version and --fee-schedule as the run that made it", ("decision_id",))
    # the line batch writes is canonical (keys sorted, no spaces): the same bytes are the same decision.
    # Else compared as JSON, not as Python values, where 1 == 1.0 == True: an edit to `"units": 1.0`
    # or `true` is an edit; the first place that differs is named (walking the two decisions took 1 ms
    # of each record's 1.8 ms, for the records that do not differ)
    if line is not None and line == to_json_bytes(decision, trace="compact"):
        return decision
    difference = first_difference(obj, to_json_obj(decision, trace="compact"))
    if difference is not None:
        raise _Mismatch(
            f"deciding bundle `{bundle_id}` again does not give the decision recorded: {difference_text(difference)}",
            EDITED_HELP, difference.parts)
    return decision


def _recorded(obj: Any, setup: Setup) -> tuple[str, str]:
    """The decision's bundle id and facts hash, once its compact trace is one these policies can
    expand: its form, its version and the hash of the policy set it was made with."""
    from carepolicy.engine.evaluation.compact import COMPACT_VERSION
    from carepolicy.engine.facts.schema_messages import describe

    if not isinstance(obj, dict):
        raise _Mismatch(f"expected a decision (a JSON object), found {describe(obj)}", NO_DECISIONS_HELP)
    trace = obj.get("trace")
    if trace is None or isinstance(trace, list):  # (`--trace none` writes no trace, `full` a list of nodes)
        form = "none" if trace is None else "full"
        raise _Mismatch(f"the decision has no compact trace (trace: {form})", "write it with `--trace compact`",
                        ("trace",))
    if not isinstance(trace, dict) or trace.get("form") != "compact":
        found = describe(trace) if not isinstance(trace, dict) else f"`form` {describe(trace.get('form'))}"
        raise _Mismatch(f"expected a compact trace (an object with `form` `compact`), found {found}",
                        "write it with `--trace compact`", ("trace",))
    bundle_id = _field(obj, ("bundle_id",), "the id of the bundle decided (text)", NO_DECISIONS_HELP)
    version = trace.get("version", 1)  # (version 1 wrote none)
    if type(version) is not int:  # (not `3.0`, `"3"` or `true`, which Python would take for a number)
        raise _Mismatch(f"expected the version of the compact trace (a whole number), found {describe(version)}",
                        EDITED_HELP, ("trace", "version"))
    if version != COMPACT_VERSION:
        raise _Mismatch(
            f"decision `{bundle_id}` has a compact trace of version {version}; "
            f"this carepolicy reads version {COMPACT_VERSION}",
            "expand it with the carepolicy version that wrote it, or decide the bundle again", ("trace", "version"))
    wanted_hash = _field(obj, ("trace", "policy_set_hash"), "the hash of a policy set (text)",
                         EDITED_HELP)
    if wanted_hash != setup.policies.policy_hash:
        raise _Mismatch(
            f"decision `{bundle_id}` was made with policy set {wanted_hash}; these policies are "
            f"{setup.policies.policy_hash}",
            "give --policies the folder of the policy set the decision was made with", ("trace", "policy_set_hash"))
    facts_hash = _field(obj, ("facts_hash",), "the hash of the facts decided (text)",
                        EDITED_HELP)
    return bundle_id, facts_hash


def _bundle_decided(bundles: Bundles, bundle_id: str, facts_hash: str) -> Bundle:
    """Of the bundles with this id, the one decided (by its facts), else the first, to say how it differs."""
    bundle = bundles.find(bundle_id, facts_hash)
    if bundle is None:
        if bundles.invalid(bundle_id):  # "give the file the decision was made from" sent one looking for another
            raise _Mismatch(f"bundle `{bundle_id}` of `{bundles.path}` is not valid, so it is not the bundle "
                            "decided", f"see its errors with `carepolicy evaluate {bundles.path}`", ("bundle_id",))
        unread = bundles.unread()
        if unread:  # (the help alone blamed an edited `bundle_id`, when the bundle's line could not be read)
            raise _Mismatch(
                f"no bundle in `{bundles.path}` has the id `{bundle_id}` that the decision names; "
                f"{unread} record{'s' if unread > 1 else ''} of it could not be read, and it may be one",
                f"see why with `carepolicy evaluate {bundles.path}`; if the bundle is not one of them, "
                + UNKNOWN_ID_HELP, ("bundle_id",))
        raise _Mismatch(f"no bundle in `{bundles.path}` has the id `{bundle_id}` that the decision names",
                        UNKNOWN_ID_HELP, ("bundle_id",))
    if bundle.facts_hash != facts_hash:  # the bundle's facts, hashed now, are not the ones the decision records
        raise _Mismatch(
            f"bundle `{bundle_id}` is not the one decided: its facts hash, computed now from the bundle, is "
            f"{bundle.facts_hash}; the decision records {facts_hash}", OTHER_FACTS_HELP, ("facts_hash",))
    return bundle


def _another_id(bundle_id: str, recorded_id: str, this_id: str, bundle: Bundle, switches: dict[str, Any],
                setup: Setup) -> _Mismatch:
    """Why a decision made by this version has another id than deciding it again gives: its id is
    a digest of the facts, policies, switches and fee schedule, the first two already checked. A
    switch edited to another of its options was blamed on the fee schedule, at `$.decision_id`:
    each other option of each switch, and no fee schedule, are tried for the id recorded."""
    from carepolicy.engine.api import decision_id

    def made_with(overrides: dict[str, Any], fee_schedule: FeeSchedule | None) -> bool:
        return decision_id(setup.policies, bundle, switches=overrides, fee_schedule=fee_schedule) == recorded_id

    for name, option in switches.items():
        for other in setup.policies.switch_options().get(name, ()):
            if other != option and made_with({**switches, name: other}, setup.fee_schedule):
                return _Mismatch(f"decision `{bundle_id}` has switch `{name}` set to `{option}`, but its id is "
                                 f"that of the decision made with `{other}`", EDITED_HELP, ("switches", name))
    edited = f"or its switches or id were edited (its id is not this run's {this_id})"
    if setup.fee_schedule is None:
        return _Mismatch(f"decision `{bundle_id}` was made with a fee schedule, which this run has not, {edited}",
                         "give --fee-schedule the fee schedule of the run that made it", ("decision_id",))
    if made_with(switches, None):
        return _Mismatch(f"decision `{bundle_id}` was made without a fee schedule; this run has "
                         f"`{setup.fee_schedule.name}`", "run explain without --fee-schedule", ("decision_id",))
    return _Mismatch(f"decision `{bundle_id}` was made with another fee schedule than `{setup.fee_schedule.name}`, "
                     f"{edited}", "give --fee-schedule the fee schedule of the run that made it", ("decision_id",))


def _error_record(read: ReadDecision, fmt: str) -> tuple[str, bool]:
    """What an error record is written as (its JSON line, or its text form), and whether that is
    the line read; one that is not of an error record's shape is a mismatch."""
    problem = shape_problem(read.obj)
    if problem is not None:
        raise _Mismatch(problem[0], "the error record was changed after batch wrote it", problem[1])
    if fmt == "jsonl":
        return passed_through(read)
    return error_record_text(read.obj), True


def _refuse(read: ReadDecision, problem: _Mismatch) -> NoReturn:
    """The mismatch as one diagnostic: the file (and line), the bundle, the JSON path, what is wrong."""
    from carepolicy.engine import Diagnostic
    from carepolicy.engine.facts.schema_messages import json_path

    bundle = read.obj.get("bundle_id") if isinstance(read.obj, dict) else None
    report([Diagnostic("explain/mismatch", problem.message, file=read.file, help=problem.help,
                       bundle=bundle if isinstance(bundle, str) else None,
                       fact_path=json_path((*read.root, *problem.parts), [read.obj] if read.root else read.obj))])
    finish(ExitCode.BAD_INPUT)


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

    DECISION holds decisions written with `--trace compact` (a JSON document, a JSON list of them,
    JSON Lines, `-` for stdin, or batch's OUT.parquet; each error record in it is written through in
    its place, so the output has one record for each record of DECISION); BUNDLE is
    the fact file they were made from (any format: a JSON Lines file is read in step with the
    decisions, not held; others are read whole). Each decision is decided again from its bundle (found by bundle
    id) with the same policy set (--policies; its hash must be the one the trace names), switches
    and fee schedule, checked to give exactly the recorded decision, and written with the full
    trace: byte for byte the line `batch --trace full` writes. A decision that does not match
    (other policies, facts or version) is an error, exit 2, and so is a DECISION that holds no
    decision at all (an empty file, or only error records, which are still written through).

    \b
    Examples:
      carepolicy explain decision.json claims-2025-03.jsonl
      grep '"bundle_id":"pt-1042"' decisions.jsonl | carepolicy explain - claims-2025-03.jsonl --format text
    """
    from carepolicy.engine.decision.explain import render_decision_text
    from carepolicy.engine.decision.json_form import to_json_bytes

    if decision_file == bundle_file == "-":  # the bundles would read the decisions as bundles, and find none
        fail("usage/input", "DECISION and BUNDLE are both standard input (`-`)", file="-",
             help="give one of them as a file: the decisions from stdin and the bundle file by name, or the other way")
    setup = prepare(policies_dir, (), fee_schedule, trace=True)
    bundles = open_bundles(bundle_file)  # (a JSON Lines file is read in step with the decisions: explain_bundles.py)
    errors = rewritten = expanded = 0
    inputs = (decision_file, bundle_file, *filter(None, (fee_schedule, policies_dir)))
    with closing(bundles), output_stream(output, inputs) as out:
        for read in read_decisions(decision_file):
            gap = "\n" if fmt == "text" and errors + expanded else ""  # as `evaluate` shows records: a blank line
            try:
                if read.repeated is not None:
                    _refuse_repeated(read.repeated)
                if is_error_record(read.obj):  # a batch's record with no decision: written through, in its place
                    text, as_read = _error_record(read, fmt)
                    errors, rewritten = errors + 1, rewritten + (not as_read)
                else:
                    decision = expand(read.obj, bundles, setup, read.text)
                    # batch's own writer (its full trace from kept templates): the bytes `to_json` gives
                    text = to_json_bytes(decision, end=b"\n").decode() if fmt == "jsonl" else render_decision_text(
                        decision, explain=True)
                    expanded += 1
            except _Mismatch as problem:
                _refuse(read, problem)
            out.write(gap + text)
            out.flush()  # each record as it is written: a pipe's reader need not wait for the end
    if errors:
        again = f"; {rewritten} written again as batch writes JSON, not as read" if rewritten else ""
        click.echo(f"note: {plural(errors, 'error record')} written through (no decision to explain{again})",
                   err=True)
    if not expanded:  # e.g. a grep that matched no line: an empty output would look like success
        only = f", only {plural(errors, 'error record')} (written through)" if errors else ""
        fail("usage/input", f"`{decision_file}` holds no decisions{only}", help=NO_DECISIONS_HELP, file=decision_file)
    finish(ExitCode.OK)
