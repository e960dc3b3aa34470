"""JSON nested deeper than a reader recurses, read back by each command that reads batch output.

orjson refuses nesting deeper than 1,024 levels and msgspec recurses until Python's limit; the
fallback for what orjson refuses (`json.loads`, for a lone surrogate escaped) recursed too. A line
nested some thousands of levels deep (a hand-made file, a broken exporter) ended `explain`,
`batch --resume` and `report` with a RecursionError traceback instead of their own clear error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from carepolicy.engine.jsontext import loads
from click.testing import CliRunner, Result

from tests.test_batch import write_jsonl

HERE = Path(__file__).resolve().parent
SMOKE = ("--policies", str(HERE / "fixtures" / "policies"))
LEVELS = 20_000  # far beyond both Python's recursion limit and orjson's depth limit

# a list nested LEVELS deep; an object nested as deep; and one holding a lone surrogate escaped
# (orjson refuses it, so json.loads is tried: the path an error record naming a file not in UTF-8 takes)
DEEP = {
    "list": "[" * LEVELS + "]" * LEVELS,
    "object": '{"a":' * LEVELS + "1" + "}" * LEVELS,
    "escaped": '{"bundle_id":"\\ud800","error":' + "[" * LEVELS + "]" * LEVELS + "}",
}


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("claims") / "claims.jsonl", 5)


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_loads_refuses_deep_nesting_with_a_value_error(kind: str) -> None:
    with pytest.raises(ValueError, match="depth limit exceeded"):
        loads(DEEP[kind])


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_explain_says_a_deep_line_is_not_json(claims: Path, kind: str) -> None:
    result = run("explain", "-", str(claims), *SMOKE, stdin=DEEP[kind] + "\n")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith("-: error[usage/input]: line 1 of `-` is not JSON: depth limit exceeded")
    assert result.stdout == ""


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_resume_says_a_deep_line_of_the_partial_output_is_not_a_record(claims: Path, tmp_path: Path,
                                                                       kind: str) -> None:
    partial = tmp_path / "out.jsonl.partial"
    partial.write_text(DEEP[kind] + "\n", encoding="utf-8")
    result = run("batch", str(claims), *SMOKE, "--jobs", "1", "-o", str(tmp_path / "out.jsonl"), "--resume")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"cannot resume: line 1 of `{partial}` is not a decision or an error record" in result.stderr
    assert partial.read_text(encoding="utf-8") == DEEP[kind] + "\n"  # left as it was


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_report_says_a_deep_line_is_not_a_record(kind: str) -> None:
    result = run("report", "-", stdin=DEEP[kind] + "\n")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert result.stderr.startswith("-: error[report/input]: -:1: not a decision or an error record (")
    # (a list is no record at any depth: the decoder says so at its first bracket)
    assert ("not a JSON object" if kind == "list" else "depth limit exceeded") in result.stderr
    assert result.stdout == ""
