"""The sizes docs/reference/cli.md gives a decision line are the sizes `batch` writes.

A pipeline engineer sizes storage from them. The page said a full-trace line is about 58 kB
(12 GB for 200,000 records) and a compact one about 22.6 kB, with a 1.25 kB trace; on the
benchmark bundles `batch` had come to write ~73 kB, ~25 kB and ~1.4 kB (session 35), as the rules
grew. The page's figures are read from it here and compared with `batch` over generated bundles.
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest

from benchmarks.bundle_generator import write_input

ROOT = Path(__file__).resolve().parents[1]
CLI_PAGE = ROOT / "docs" / "reference" / "cli.md"
RECORDS = 200  # their means are within 1% of 2,000's (measured in session 35)
TOLERANCE = 0.10  # a page's "about" figure may be a tenth off the mean


def _row(option: str) -> str:
    """The text of the cli.md table row whose first cell starts with `option`."""
    rows = re.findall(rf"^\| `{re.escape(option)}[^\n]*$", CLI_PAGE.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert rows, f"docs/reference/cli.md: no table row for {option}"
    return "\n".join(rows)


def _kb(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, f"docs/reference/cli.md no longer says {pattern!r}: update this test with the page"
    return float(found[1]) * 1000


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[float, float, int]]:
    """Per trace form: the mean line (with its LF), the mean trace and the largest trace, in bytes."""
    from carepolicy.cli.main import cli
    from click.testing import CliRunner

    folder = tmp_path_factory.mktemp("sizes")
    source = folder / "in.jsonl"
    write_input(source, RECORDS)
    sizes = {}
    for form in ("full", "compact", "none"):
        out = folder / f"{form}.jsonl"
        result = CliRunner().invoke(cli, ["batch", str(source), "-o", str(out), "--trace", form, "--jobs", "1"])
        assert result.exit_code == 0, result.stderr
        lines = out.read_bytes().splitlines()
        assert len(lines) == RECORDS
        traces = [len(json.dumps(json.loads(line)["trace"], separators=(",", ":"), ensure_ascii=False).encode())
                  for line in lines if form != "none"] or [0]
        sizes[form] = (statistics.mean(len(line) + 1 for line in lines), statistics.mean(traces), max(traces))
    return sizes


def _close(stated: float, actual: float, what: str) -> None:
    assert abs(stated - actual) <= TOLERANCE * actual, (
        f"docs/reference/cli.md says {what} is about {stated / 1000:g} kB; batch writes {actual / 1000:.1f} kB "
        f"on average over {RECORDS} benchmark bundles")


def test_the_trace_option_gives_the_sizes_batch_writes(measured: dict[str, tuple[float, float, int]]) -> None:
    row = _row("--trace full")
    full_line, full_trace, _ = measured["full"]
    compact_line, compact_trace, _ = measured["compact"]
    _close(_kb(r"`full` \([^)]*?about ([\d.]+) kB, a line", row), full_trace, "the full trace")
    _close(_kb(r"`full` \([^)]*?a line about ([\d.]+) kB\)", row), full_line, "a full-trace line")
    _close(_kb(r"`compact` \([^)]*?about ([\d.]+) kB, a line", row), compact_trace, "the compact trace")
    _close(_kb(r"`compact` \([^)]*?a line about ([\d.]+) kB", row), compact_line, "a compact line")


def test_batchs_trace_row_gives_the_sizes_batch_writes(measured: dict[str, tuple[float, float, int]]) -> None:
    row = _row("--trace compact")
    compact_line, compact_trace, compact_largest = measured["compact"]
    _close(_kb(r"compact trace \(about ([\d.]+) kB", row), compact_trace, "the compact trace")
    assert compact_largest <= _kb(r"; ([\d.]+) kB at most on the benchmark bundles", row)
    _close(_kb(r"A line is about ([\d.]+) kB with it", row), compact_line, "a compact line")
    _close(_kb(r"kB with it, ([\d.]+) kB without a trace", row), measured["none"][0], "a line without a trace")
    full = _kb(r"`--trace full` makes each line about ([\d.]+) kB", row)
    _close(full, measured["full"][0], "a full-trace line")
    total = re.search(r"about [\d.]+ kB \(([\d.]+) GB for 200,000 records\)", row)
    assert total, row
    _close(float(total[1]) * 1e9, measured["full"][0] * 200_000, "200,000 full-trace lines (in GB)")


def test_batchs_help_gives_the_sizes_batch_writes(measured: dict[str, tuple[float, float, int]]) -> None:
    # `carepolicy batch --help` (and the generated Command options page) said ~37 kB and ~58 kB too
    from carepolicy.cli.commands.batch import TRACE_HELP

    full_line, full_trace, _ = measured["full"]
    compact_line, compact_trace, _ = measured["compact"]
    for pattern, actual, what in (
        (r"full: [^;]*?~([\d.]+) kB of trace", full_trace, "the full trace"),
        (r"full: .*?a line ~([\d.]+) kB\)", full_line, "a full-trace line"),
        (r"compact: .*?~([\d.]+) kB of trace", compact_trace, "the compact trace"),
        (r"compact: .*?a line ~([\d.]+) kB;", compact_line, "a compact line"),
        (r"none: no trace \(a line ~([\d.]+) kB", measured["none"][0], "a line without a trace"),
    ):
        found = re.search(pattern, TRACE_HELP)
        assert found, f"`batch --help` no longer says {pattern!r}: update this test with it"
        stated = float(found[1]) * 1000
        assert abs(stated - actual) <= TOLERANCE * actual, (
            f"`carepolicy batch --help` says {what} is ~{found[1]} kB; batch writes {actual / 1000:.1f} kB")
