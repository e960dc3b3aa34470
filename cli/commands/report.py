"""`carepolicy report`: counts, amounts and denial reasons over a batch output (JSON Lines)."""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Iterator
from typing import BinaryIO

import click

from ..common import fail, finish
from ..exit_codes import ExitCode
from ..output import output_stream

FORMATS = ("text", "html", "json")
UTF8_HELP = "a batch output is UTF-8 JSON Lines; give the file `carepolicy batch` wrote"
PARQUET_HELP = ("run `carepolicy batch` with `-o DECISIONS.jsonl` for the report; a Parquet row reads back as the "
                "JSON line with carepolicy.arrow.decision_json_line")


def _is_parquet(path: str) -> bool:
    try:
        with open(path, "rb") as stream:
            return stream.read(4) == b"PAR1"  # (a Parquet file's magic number)
    except OSError:
        return False


class _NotUtf8(Exception):
    """Line `number` of the input is not UTF-8 text."""

    def __init__(self, number: int, data: bytes, error: UnicodeDecodeError) -> None:
        super().__init__(number)
        self.number, self.data, self.error = number, data, error


def _text(lines: Iterator[bytes]) -> Iterator[str]:
    """Each line as text: a byte-order mark (a Windows editor's) dropped from the first, as the fact
    files' is; one that is not UTF-8 raises _NotUtf8 with its number, so the report can name it.
    Lines end at LF alone, as `batch` writes them and `batch --resume` counts them."""
    for number, data in enumerate(lines, start=1):
        try:
            yield (data.removeprefix(b"\xef\xbb\xbf") if number == 1 else data).decode("utf-8")
        except UnicodeDecodeError as error:
            raise _NotUtf8(number, data, error) from None


def _lines(stream: BinaryIO, size: int | None) -> Iterator[bytes]:
    """The lines of the input, with a progress bar on stderr when it is a terminal and the input big."""
    if not sys.stderr.isatty() or size is None or size < 1_000_000:
        yield from stream
        return
    with click.progressbar(length=size, label="reading", file=sys.stderr) as bar:
        update: Callable[[int], None] = bar.update
        for line in stream:
            update(len(line))
            yield line


@click.command("report")
@click.argument("decisions", metavar="DECISIONS.jsonl")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text: for the terminal; html: one self-contained page with SVG charts; json: the counts.",
)
@click.option(
    "--top", default=10, show_default=True, type=click.IntRange(1, 1000), help="How many denial reasons to list."
)
@click.option("--output", "-o", metavar="FILE", help="Write the report to FILE instead of stdout.")
def report(decisions: str, fmt: str, top: int, output: str | None) -> None:
    """Summarise a batch output: counts and amounts by code, top denial reasons, error records, totals.

    Reads DECISIONS.jsonl as `carepolicy batch` (or `evaluate --format jsonl`) writes it, one
    record a line, streaming it (two 16-byte digests are kept per record). Reports the
    records, decisions and error records; the totals of the billable lines (allowed, Medicare,
    patient, Medigap, Medicaid; an amount not priced or not known is counted apart, never as zero);
    for each code the billed lines, units, allowed amount (or `not priced`) and denials; the
    denial reasons by the number of decisions they appear in; and the first error records. A record read again (the same
    bundle_id and decision_id: an output concatenated twice) is counted once, with a warning that
    says how many and names the first few ids. A line that is not a record, or that sets a key
    twice in one object, stops the report with an error naming it. `--format html` writes one page with
    inline SVG charts (codes billed, denial reasons) that opens offline. `-` reads stdin. A progress
    bar shows on a terminal for inputs over 1 MB.

    \b
    Examples:
      carepolicy batch march.jsonl -o decisions.jsonl && carepolicy report decisions.jsonl
      carepolicy report decisions.jsonl --format html -o report.html
    """
    import json

    from carepolicy.engine.decision.batch_report import ReportError, read_report
    from carepolicy.engine.decision.report_html import render_report_html
    from carepolicy.engine.decision.report_text import render_report_text

    try:
        # stdin is read as bytes decoded here too, as a file is, not as the locale's text (bytes
        # not in UTF-8 became surrogates)
        if decisions == "-" and sys.stdin is None:  # `<&-`: as the fact readers word it
            raise OSError(errno.EBADF, "standard input is closed")
        stream = sys.stdin.buffer if decisions == "-" else open(decisions, "rb")  # noqa: SIM115
    except OSError as error:
        fail("report/io", f"cannot read `{decisions}`: {(error.strerror or str(error)).lower()}", file=decisions)
    size = None if decisions == "-" else os.path.getsize(decisions)
    try:
        with stream:
            result = read_report(_text(_lines(stream, size)), name=decisions)
    except ReportError as error:
        fail(
            "report/input",
            str(error),
            file=decisions,
            help=error.help or "give the JSON Lines file that `carepolicy batch` wrote (one decision or error record "
            "a line)",
        )
    except _NotUtf8 as problem:
        from carepolicy.engine.facts.record_errors import not_utf8

        if _is_parquet(decisions):  # what `batch -o OUT.parquet` wrote: the help above would send the user back to it
            fail("report/io", f"cannot read `{decisions}`: it is a Parquet file; report reads JSON Lines",
                 file=decisions, help=PARQUET_HELP)
        why = not_utf8(problem.data, problem.error)  # (byte N of the line; UTF-16 or compressed, if it is)
        fail("report/io", f"cannot read `{decisions}`: line {problem.number} is {why}", file=decisions,
             help=UTF8_HELP)
    except OSError as error:
        fail("report/io", f"cannot read `{decisions}`: {(error.strerror or str(error)).lower()}", file=decisions)
    if not result.records:  # an empty file or stdin (a grep that matched nothing): no report of nothing
        fail(
            "report/input",
            f"`{decisions}` holds no records",
            file=decisions,
            help="give the JSON Lines file that `carepolicy batch` wrote (one decision or error record a line)",
        )
    with output_stream(output, (decisions,)) as out:
        if fmt == "html":
            out.write(render_report_html(result, top=top))
        elif fmt == "json":
            out.write(json.dumps(result.to_json_obj(top), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        else:
            out.write(render_report_text(result, top=top))
    finish(ExitCode.OK)
