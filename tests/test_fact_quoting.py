"""The source line a fact diagnostic quotes: the line its span counts, whatever ends the lines.

YAML breaks lines at LF, CRLF and a lone CR (YAML 1.2's b-break), and the reader counts them so
(engine/facts/yaml_records.py); JSON and JSON Lines count LF only. The quoting (cli/reporting.py)
read every file at LF: a YAML file with old-Mac CR line ends was one line, and its diagnostics,
with the right line number, quoted nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from click.testing import CliRunner, Result

from tests.intake_data import BASE

HERE = Path(__file__).resolve().parent
SMOKE = ("--policies", str(HERE / "fixtures" / "policies"))
SPOILT = BASE.replace("deductible_remaining: 0", "deductible_remaining: 0x14")
LINE_3 = SPOILT.splitlines()[2]  # the beneficiary: the error's line
HEX = "`0x14` is a hexadecimal number"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _quoted(stderr: str, number: int) -> tuple[str, str]:
    """The quoted line `number` and the caret line under it."""
    lines = stderr.splitlines()
    found = [i for i, line in enumerate(lines) if line.startswith(f"{number:>4} | ")]
    assert found, f"line {number} is not quoted:\n{stderr}"
    return lines[found[0]].removeprefix(f"{number:>4} | "), lines[found[0] + 1]


@pytest.mark.parametrize("end", ["\r", "\r\n", "\n"])
@pytest.mark.parametrize("name", ["march.yaml", "march.yml", "march"])  # (no extension: detected)
def test_a_yaml_error_quotes_its_line_whatever_ends_the_lines(tmp_path: Path, end: str, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(f"# exported by an old tool\n{SPOILT}".replace("\n", end).encode())
    result = run("evaluate", str(path), *SMOKE)
    assert result.exit_code == ExitCode.BAD_INPUT
    header = next(line for line in result.stderr.splitlines() if HEX in line)
    column = LINE_3.index("0x14") + 1
    assert header.startswith(f"{path}:4:{column}: error[facts/number]")
    quoted, caret = _quoted(result.stderr, 4)
    assert quoted == LINE_3
    assert caret.index("^") - len("   4 | ") == column - 1


def test_the_input_format_given_decides_how_the_lines_are_counted(tmp_path: Path) -> None:
    """A YAML flow mapping starts like JSON: without --input-format it would be read as JSON, and
    the quoting, reading it as JSON too, counted its CR-ended lines as one."""
    path = tmp_path / "march.txt"
    lines = ["{id: march,", "month: 2025-03,", "beneficiary: {part_b: true, dual_status: none, medigap_plan: null, "
             "deductible_remaining: 0x14},", "time: []}"]
    path.write_bytes("\r".join(lines).encode())
    result = run("evaluate", str(path), *SMOKE, "--input-format", "yaml")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"{path}:3:{lines[2].index('0x14') + 1}: error[facts/number]" in result.stderr
    assert _quoted(result.stderr, 3)[0] == lines[2]


@pytest.mark.parametrize("end", ["\r", "\r\n"])
def test_batch_quotes_the_line_of_a_yaml_file_with_cr_line_ends(tmp_path: Path, end: str) -> None:
    """The batch summary reads the lines it quotes the same way (one pass, each line in part)."""
    path = tmp_path / "march.yaml"
    path.write_bytes(f"{BASE}---\n{SPOILT.replace('id: march', 'id: april')}".replace("\n", end).encode())
    result = run("batch", str(path), *SMOKE, "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == ExitCode.BAD_INPUT
    number = BASE.count("\n") + 1 + 3  # the first document, `---`, then the second's line 3
    assert f"{path}:{number}:" in result.stderr
    assert _quoted(result.stderr, number)[0] == LINE_3


def test_a_json_document_counts_a_lone_cr_as_white_space_not_a_line_end(tmp_path: Path) -> None:
    """JSON's line numbers count LF only: its quoting must not break at CR as YAML's does."""
    path = tmp_path / "march.json"
    path.write_bytes(b'{"id": "march",\r"month": "2025-03",\r"beneficiary": 0x14}\r\n')
    result = run("evaluate", str(path), *SMOKE)
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"{path}:1:" in result.stderr
    quoted, caret = _quoted(result.stderr, 1)  # (the CRs in it shown as escapes: they are not text)
    assert quoted == r'{"id": "march",\x0d"month": "2025-03",\x0d"beneficiary": 0x14}'
    # the caret under the error (the `x`: JSON reads the number 0, then expects a comma), after the
    # two CRs' escapes: it stood 6 columns to the left, under the characters' count
    assert caret[len("   1 | ") :].index("^") == quoted.index("0x14") + 1
