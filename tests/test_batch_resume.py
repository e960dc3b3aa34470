"""`batch --resume` and the partial output an earlier run left: what an interruption says of it,
and which of its lines are kept."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from carepolicy.cli.batch_input import Work
from carepolicy.cli.batch_input import read_work as real_read_work
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from click.testing import CliRunner, Result

from tests.test_batch import uninterrupted_output, write_jsonl
from tests.test_batch_edges import interrupted_in_setup

HERE = Path(__file__).resolve().parent
SMOKE = ("--policies", str(HERE / "fixtures" / "policies"))
UNKNOWN = "of an unknown number (the input was not read to the end)"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("claims") / "claims.jsonl", 40)


@pytest.fixture(scope="module")
def reference(claims: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return uninterrupted_output(claims, tmp_path_factory.mktemp("reference"))


def _first_lines(reference: bytes, count: int) -> bytes:
    return b"".join(reference.splitlines(keepends=True)[:count])


# --------------------------------------------------------------------------------------------- interrupted


def test_a_signal_while_the_partial_output_is_checked_counts_the_lines_it_holds(
        claims: Path, reference: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--resume` reads the input records in the place of the partial output's lines to check
    them; a SIGINT then said "0 records ... written" of a file that holds 10 lines."""
    partial = tmp_path / "out.jsonl.partial"
    kept = _first_lines(reference, 10)
    partial.write_bytes(kept)

    def interrupted_at_the_third(paths: tuple[str, ...], input_format: str | None = None,
                                 **options: bool) -> Iterator[Work]:
        for index, work in enumerate(real_read_work(paths, input_format, **options)):
            if index == 3:  # the partial output's lines 1-3 are checked
                os.kill(os.getpid(), signal.SIGINT)
            yield work

    monkeypatch.setattr("carepolicy.cli.commands.batch.read_work", interrupted_at_the_third)
    target = tmp_path / "out.jsonl"
    result = run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(target), "--resume")
    assert result.exit_code == ExitCode.INTERRUPTED, result.stderr
    assert f"interrupted by SIGINT: 10 records {UNKNOWN} written to {partial}" in result.stderr
    assert partial.read_bytes() == kept  # as it was
    monkeypatch.undo()
    resumed = run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(target), "--resume")
    assert resumed.exit_code == ExitCode.OK, resumed.stderr
    assert "(10 kept from the partial output, 30 decided now)" in resumed.stderr
    assert target.read_bytes() == reference


@pytest.mark.parametrize("resume", [("--resume",), ()], ids=["resume", "anew"])
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_a_resumed_run_is_set_up_counts_the_lines_the_partial_output_holds(
        claims: Path, reference: bytes, tmp_path: Path, how: signal.Signals, resume: tuple[str, ...]) -> None:
    """A signal while the policies load (here: a fee schedule that is a pipe no one writes) said
    "0 records ... written" of a partial output holding 7 complete lines (and part of an eighth).
    So did a run without --resume, which starts the partial output anew only once it is set up:
    until then the file is the earlier run's, which --resume still continues."""
    partial = tmp_path / "out.jsonl.partial"
    held = _first_lines(reference, 7) + reference.splitlines(keepends=True)[7][:100]
    partial.write_bytes(held)
    status, err = interrupted_in_setup(claims, tmp_path / "out.jsonl", how, *resume)
    assert status == ExitCode.INTERRUPTED, err
    assert err.startswith(f"\ninterrupted by {how.name}: 7 records {UNKNOWN} written to {partial}")
    assert "--resume" in err
    assert partial.read_bytes() == held


# --------------------------------------------------------------------------------------------- lines kept


def _crlf(line: bytes) -> bytes:
    return line.replace(b"\n", b"\r\n")


def _spaced(line: bytes) -> bytes:  # Python's json.dumps with its default separators: `, ` and `: `
    return json.dumps(json.loads(line), sort_keys=True, ensure_ascii=False).encode() + b"\n"


def _unsorted(line: bytes) -> bytes:  # the same members, the keys in reverse order
    obj = json.loads(line)
    return json.dumps(dict(reversed(obj.items())), separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def _escaped(line: bytes) -> bytes:  # a character written as a \u escape: the same JSON, other bytes
    assert b'"bundle_id":' in line
    return line.replace(b'"bundle_id":', b'"\\u0062undle_id":', 1)


@pytest.mark.parametrize(
    ("rewritten", "first_redone", "why"),
    [
        (lambda n, line: _crlf(line), 1, "a carriage return"),  # the whole file through a CRLF tool
        (lambda n, line: _crlf(line) if n >= 6 else line, 6, "a carriage return"),  # its end only
        (lambda n, line: line[:-1] + b" \n" if n == 4 else line, 4, "its JSON written otherwise"),
        (lambda n, line: b"\t" + line if n == 7 else line, 7, "its JSON written otherwise"),
        # rewritten by a JSON tool: these passed the checks of braces, CR and tab, and were kept as written
        (lambda n, line: _spaced(line) if n >= 3 else line, 3, "its JSON written otherwise"),
        (lambda n, line: _unsorted(line) if n == 5 else line, 5, "its JSON written otherwise"),
        (lambda n, line: _escaped(line) if n >= 2 else line, 2, "its JSON written otherwise"),
    ],
)
def test_a_kept_line_not_as_batch_writes_it_is_written_again_with_the_lines_after_it(
        claims: Path, reference: bytes, tmp_path: Path, rewritten: Callable[[int, bytes], bytes],
        first_redone: int, why: str) -> None:
    """The lines were checked by id and hashes, not bytes: a partial output rewritten with CRLF
    line ends was kept as it was, and the finished file was not the bytes of an uninterrupted run."""
    partial = tmp_path / "out.jsonl.partial"
    lines = reference.splitlines(keepends=True)[:10]
    partial.write_bytes(b"".join(rewritten(n, line) for n, line in enumerate(lines, start=1)))
    target = tmp_path / "out.jsonl"
    result = run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(target), "--resume")
    assert result.exit_code == ExitCode.OK, result.stderr
    assert target.read_bytes() == reference
    assert (f"note: line {first_redone} of `{partial}` is not as batch writes it ({why}"
            in result.stderr.replace("\n", " "))
    kept = first_redone - 1
    if kept:
        assert f"({kept} kept from the partial output, {40 - kept} decided now)" in result.stderr
    else:
        assert "kept from the partial output" not in result.stderr
    assert "no complete line" not in result.stderr


def test_the_progress_rate_is_of_the_records_decided_now(capsys: pytest.CaptureFixture[str]) -> None:
    """On a terminal the progress line's rate counted the lines `--resume` kept, as the summary's
    once did: 10,000 kept and 1,000 decided in 100 s showed 110/s."""
    from types import SimpleNamespace
    from typing import cast

    from carepolicy.cli.batch_notes import Counts, Progress
    from carepolicy.cli.batch_output import LineWriter

    counts = Counts(as_left=False)
    counts.kept = 10_000
    writer = cast(LineWriter, SimpleNamespace(written=10_960, pending=40))
    progress = Progress(writer, counts)
    progress.started = progress.shown = time.perf_counter() - 100.0
    progress.tick()
    assert capsys.readouterr().err == "\revaluating: 11,000 records (10/s)"


# ------------------------------------------------------------------------------------------ edited lines


def _edited(line: bytes, change: dict[str, object]) -> bytes:
    """`line` with `change` made, written back as batch writes a line (canonical JSON and LF)."""
    from carepolicy.engine.jsontext import escaped_bytes

    return escaped_bytes({**json.loads(line), **change}) + b"\n"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"month": "2025-04"}, "month"),
        ({"facts_hash": "0" * 64}, "facts"),
        ({"engine": {"name": "carepolicy", "version": "9.9.9"}}, "engine"),
        ({"decision_format": 2}, "decision_format"),
        ({"decision_format": True}, "decision_format"),  # (equal to 1 in Python, not in JSON)
    ],
)
def test_a_line_whose_echoed_value_was_edited_is_refused_naming_it(
        claims: Path, reference: bytes, tmp_path: Path, change: dict[str, object], field: str) -> None:
    """A line edited by hand and written back canonical, its id and position kept, passed every check
    but the facts' hash and the decision_id: a decision labelled with another month (or engine, or
    decision format) than the one it was decided for was kept in the finished file. Each value a
    line echoes from its input record or from the run is checked against it; the line is named."""
    lines = reference.splitlines(keepends=True)[:10]
    lines[3] = _edited(lines[3], change)
    partial = tmp_path / "out.jsonl.partial"
    partial.write_bytes(b"".join(lines))
    result = run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(tmp_path / "out.jsonl"), "--resume")
    assert result.exit_code == ExitCode.BAD_INPUT
    said = result.stderr.replace("\n", " ")
    assert f"cannot resume: line 4 of `{partial}`" in said
    assert field in said
    assert partial.read_bytes() == b"".join(lines)  # left as it was
    assert not (tmp_path / "out.jsonl").exists()


def test_a_line_whose_switches_were_edited_is_refused(claims: Path, reference: bytes, tmp_path: Path) -> None:
    """The `switches` a decision lists are the run's (its decision_id covers the run's, not the
    line's): an edited one was kept."""
    lines = reference.splitlines(keepends=True)[:10]
    switches = json.loads(lines[6])["switches"]  # (the test policies have none: one is added)
    lines[6] = _edited(lines[6], {"switches": {**switches, "made_up": "edited"}})
    partial = tmp_path / "out.jsonl.partial"
    partial.write_bytes(b"".join(lines))
    result = run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(tmp_path / "out.jsonl"), "--resume")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"cannot resume: line 7 of `{partial}` lists other switches" in result.stderr.replace("\n", " ")


def test_an_edited_outcome_is_kept_as_documented(claims: Path, reference: bytes, tmp_path: Path) -> None:
    """What a decision computes (its codes, amounts, reasons, trace) can be checked only by deciding
    it again, the work --resume skips: an edited amount is kept. docs/reference/cli.md says so; this
    pins what it says."""
    lines = reference.splitlines(keepends=True)[:10]
    totals = json.loads(lines[2])["totals"]
    lines[2] = _edited(lines[2], {"totals": {**totals, "allowed": "999.99"}})
    (tmp_path / "out.jsonl.partial").write_bytes(b"".join(lines))
    target = tmp_path / "out.jsonl"
    result = run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(target), "--resume")
    assert result.exit_code == ExitCode.OK, result.stderr
    finished = target.read_bytes().splitlines(keepends=True)
    assert finished[2] == lines[2]
    assert b"".join(finished[3:]) == b"".join(reference.splitlines(keepends=True)[3:])
