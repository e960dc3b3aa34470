"""What the commands share: loading the policy set, reading inputs, and output records.

Every function that can fail on user input reports the diagnostics on stderr (reporting.py) and
ends the command with `ExitCode.BAD_INPUT`; none lets a traceback through for bad input. The engine
is imported inside the functions so that importing this module (for `--help`) stays cheap.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import click

# an input record's outcome (its decision or its error record) is shared with the Python API, Arrow
# and the service: defined below all of them, named here for the commands, which import it from here
from carepolicy.record_outcomes import ErrorRecord as ErrorRecord
from carepolicy.record_outcomes import Item as Item
from carepolicy.record_outcomes import Record as Record
from carepolicy.record_outcomes import Setup as Setup
from carepolicy.record_outcomes import decide as decide
from carepolicy.record_outcomes import internal_error as internal_error
from carepolicy.record_outcomes import record_json_line as record_json_line
from carepolicy.record_outcomes import record_json_obj as record_json_obj

from .exit_codes import ExitCode
from .output import output_stream as output_stream  # re-exported: commands import it from here too
from .reporting import diagnostic, report

if TYPE_CHECKING:
    from carepolicy.engine import Bundle, BundleError, Diagnostic, PolicySet
    from carepolicy.engine.evaluation.pricing import FeeSchedule
    from carepolicy.engine.source import SourceFile


def finish(code: ExitCode) -> NoReturn:
    """End the command with `code` (click turns this into the process exit status)."""
    raise click.exceptions.Exit(int(code))


def fail(code: str, message: str, *, help: str | None = None, file: str | None = None) -> NoReturn:
    """Report one usage or input problem and end with `BAD_INPUT`."""
    report([diagnostic(code, message, help=help, file=file)])
    finish(ExitCode.BAD_INPUT)


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


def plural(count: int, noun: str) -> str:
    """engine.diagnostics.plural, imported when first used: importing the engine at this module's
    import would cost every command, `--help` included, ~0.3 s."""
    from carepolicy.engine.diagnostics import plural as engine_plural

    return engine_plural(count, noun)


def error_heading(bundle_id: str | None, problems: int, source: str) -> str:
    """How the text forms head an error record (`evaluate`, `explain --format text`): `Bundle X ·
    not evaluated: 2 problems in SOURCE`; the caller makes the whole line printable. The id's `·`
    is escaped here: in the summary form `a · 2025-03 · 99490 × 1` would read as an answer."""
    from carepolicy.engine.printable import FIELD_SEPARATOR, printable, shortened_id

    who = "File" if bundle_id is None else f"Bundle {printable(shortened_id(bundle_id), separators=FIELD_SEPARATOR)}"
    return f"{who} · not evaluated: {plural(problems, 'problem')} in {source}"


# --------------------------------------------------------------------------------------------- setup


def parse_switches(raw: Sequence[str]) -> dict[str, str]:
    """`--switch NAME=OPTION` values as a mapping; a malformed or contradictory one ends the command."""
    settings: dict[str, str] = {}
    problems: list[Diagnostic] = []
    for item in raw:
        name, equals, option = (part.strip() for part in item.partition("="))
        if not equals or not name or not option:
            problems.append(
                diagnostic(
                    "usage/switch", f"`{item}` is not NAME=OPTION", help="e.g. `--switch complex_ccm_care_plan=relaxed`"
                )
            )
        elif settings.get(name, option) != option:
            twice = f"switch `{name}` is set twice (`{settings[name]}`, `{option}`)"
            problems.append(diagnostic("usage/switch", twice))
        else:
            settings[name] = option
    if problems:
        report(problems)
        finish(ExitCode.BAD_INPUT)
    return settings


def policy_sources(directory: str | None) -> Mapping[str, SourceFile]:
    """The policy texts, for quoting lines in diagnostics (empty when they cannot be read)."""
    from carepolicy.engine import check_policies

    try:
        return check_policies(directory)[1]
    except Exception:  # only used to decorate a report that is already being made
        return {}


def load_policy_set(directory: str | None) -> PolicySet:
    """The checked, compiled policy set; errors are reported with a hint to run `carepolicy check`."""
    from carepolicy.engine import PolicyError, load_policies

    try:
        policies = load_policies(directory)
    except PolicyError as error:
        report(error.diagnostics, policy_sources(directory))
        if any(d.code not in ("policy/not-found", "policy/empty") for d in error.diagnostics):  # nothing more to see
            target = "" if directory is None else " " + shlex.quote(directory)
            click.echo(f"hint: the policy set has errors; run `carepolicy check{target}` to see them all", err=True)
        finish(ExitCode.BAD_INPUT)
    except (OSError, ValueError) as error:  # unreadable or not UTF-8
        fail("policy/io", f"cannot read the policies at `{directory or 'policies'}`: {_reason(error)}")
    if policies.warnings:
        click.echo(
            f"note: the policy set has {plural(len(policies.warnings), 'warning')}; `carepolicy check` shows them",
            err=True,
        )
    return policies


def load_fee_schedule_file(path: str) -> FeeSchedule:
    from carepolicy.engine import PolicyError, load_fee_schedule

    try:
        return load_fee_schedule(path)
    except PolicyError as error:
        report(error.diagnostics)
        finish(ExitCode.BAD_INPUT)


def prepare(policies_dir: str | None, switch_args: Sequence[str], fee_schedule: str | None, *, trace: bool) -> Setup:
    """Load and check everything shared by all bundles; any problem ends the command with BAD_INPUT."""
    from carepolicy.engine import PolicyError, resolve_switches

    overrides = parse_switches(switch_args)  # cheap usage errors before the expensive load
    policies = load_policy_set(policies_dir)
    try:
        settings = resolve_switches(policies, overrides)
    except PolicyError as error:
        report(error.diagnostics)
        finish(ExitCode.BAD_INPUT)
    fees = load_fee_schedule_file(fee_schedule) if fee_schedule is not None else None
    return Setup(policies, settings, fees, trace)


# --------------------------------------------------------------------------------------------- records


INPUT_FORMAT_HELP = (
    "How to read the inputs: yaml, json or jsonl (one bundle per line). Default: from each file's extension;"
    " for `-` (stdin) or a file without one, detected from the first line that is not blank."
)


def input_format_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """`--input-format`, defined once for every command that reads fact files."""
    return click.option(
        "--input-format",
        "input_format",
        type=click.Choice(["yaml", "json", "jsonl"]),
        default=None,
        help=INPUT_FORMAT_HELP,
    )(function)


def iter_inputs(paths: Sequence[str], input_format: str | None = None) -> Iterator[Item]:
    """Every input record of every file, in order, read lazily; a file that cannot be read is one error record.

    Records read before a file-level problem are kept: the error record for the file follows them.
    """
    from carepolicy.engine import FactError, iter_records

    for path in paths:
        source = "<stdin>" if path == "-" else path
        if path != "-" and os.path.isdir(path):
            yield ErrorRecord(None, path, (_folder_problem(path),))
            continue
        try:
            if path.lower().endswith(".parquet"):
                yield from _parquet_items(path)
            else:
                yield from iter_records(path, input_format)
        except FactError as error:
            yield ErrorRecord(None, source, error.diagnostics)
        except Exception as error:  # one unreadable input never stops the others
            yield internal_error(error, source=source, bundle=None)


def _folder_problem(path: str) -> Diagnostic:
    """A folder given as an input: said as "is a directory" (Arrow's words for a `.parquet` one were
    its own), with the files to pass instead. Folders are not read: which of their files are records
    (Spark's `_SUCCESS`, `.crc` files beside its `part-*.parquet`) is for the caller to say."""
    try:
        names = [entry.name for _, entry in zip(range(1000), os.scandir(path), strict=False)]
    except OSError:
        names = []
    kind = next((end for end in (".parquet", ".jsonl", ".json", ".yaml") if any(n.endswith(end) for n in names)), None)
    if kind == ".parquet":
        help = (f"a folder of Parquet files (Spark writes part-*.parquet files into one): pass its files, "
                f"`{os.path.join(path, '*.parquet')}`; folders are not read")
    else:
        help = f"pass the files in it, e.g. `{os.path.join(path, '*' + (kind or '.jsonl'))}`; folders are not read"
    return diagnostic("facts/io", f"cannot read `{path}`: is a directory", help=help, file=path)


def read_inputs(paths: Sequence[str], input_format: str | None = None) -> list[Item]:
    """Every input record of every file, in order (held in memory: `iter_inputs` streams)."""
    return list(iter_inputs(paths, input_format))


def _parquet_items(path: str) -> Iterator[Bundle | BundleError]:
    """The rows of a Parquet input (carepolicy/parquet.py); only with the `arrow` extra installed."""
    from carepolicy.engine import FactError

    try:
        from carepolicy.parquet import read_parquet_items
    except ImportError:  # this file's error record; the other inputs are still read
        problem = diagnostic("usage/missing-extra", f"reading `{path}` needs pyarrow, which is not installed",
                             help="install the Arrow extra: pip install 'carepolicy[arrow]'", file=path)
        raise FactError([problem]) from None
    return read_parquet_items(path)


def records_json_document(records: Sequence[Record], *, trace: str = "full") -> str:
    """The json form: the one record itself, or a list of them when there are several."""
    from carepolicy.engine import to_json

    if len(records) == 1 and not isinstance(records[0], ErrorRecord):
        return to_json(records[0], trace=trace) + "\n"
    objs: Any = (
        record_json_obj(records[0], trace=trace)
        if len(records) == 1
        else [record_json_obj(r, trace=trace) for r in records]
    )
    return json.dumps(objs, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
