"""`carepolicy batch` probed as a hostile claim pipeline would: the holes the first round left.

An input given as the partial output (or reached through it), standard input redirected from the
output file, `--resume` over a partial output whose lines were decided from other facts, switches
or fee schedule, and a signal before the first record: each is refused or reported with its exact
outcome, and no input is ever overwritten.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from click.testing import CliRunner, Result

from tests.test_batch import write_jsonl

HERE = Path(__file__).resolve().parent
SMOKE = ("--policies", str(HERE / "fixtures" / "policies"))
COMMAND = [sys.executable, "-c", "from carepolicy.cli.main import main; main()"]


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def claims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("claims") / "claims.jsonl", 40)


# --------------------------------------------------------------------------------------------- inputs kept


def test_an_input_that_is_the_partial_output_is_refused_and_kept(claims: Path, tmp_path: Path) -> None:
    """`batch out.jsonl.partial -o out.jsonl` emptied its input (the partial is truncated before any
    line is written), then wrote one "holds no fact bundles" record and renamed it over out.jsonl."""
    partial = tmp_path / "out.jsonl.partial"
    partial.write_bytes(claims.read_bytes())
    result = run("batch", str(partial), *SMOKE, "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"the partial output `{partial}` is the input `{partial}`" in result.stderr
    assert partial.read_bytes() == claims.read_bytes()
    assert not (tmp_path / "out.jsonl").exists()


def test_a_partial_output_linked_to_an_input_is_refused_and_the_input_kept(claims: Path, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_bytes(claims.read_bytes())
    (tmp_path / "out.jsonl.partial").symlink_to(source)
    result = run("batch", str(source), *SMOKE, "-o", str(tmp_path / "out.jsonl"))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"the partial output `{tmp_path / 'out.jsonl.partial'}` is the input `{source}`" in result.stderr
    assert source.read_bytes() == claims.read_bytes()


@pytest.mark.parametrize("command", [["batch", "-"], ["evaluate", "--format", "jsonl", "-"]])
def test_standard_input_read_from_the_output_file_is_refused(claims: Path, tmp_path: Path,
                                                             command: list[str]) -> None:
    """`batch - -o x.jsonl < x.jsonl` replaced its input with the decisions (exit 0); `evaluate`
    the same. Only a real file on stdin can be compared: that is what the subprocess gives."""
    target = tmp_path / "x.jsonl"
    target.write_bytes(claims.read_bytes())
    with target.open("rb") as stdin:
        done = subprocess.run([*COMMAND, *command, *SMOKE, "-o", str(target)], stdin=stdin,
                              capture_output=True, check=False)
    assert done.returncode == ExitCode.BAD_INPUT, done.stderr.decode()
    assert f"the output `{target}` is the file standard input reads (`-`)" in done.stderr.decode()
    assert target.read_bytes() == claims.read_bytes()


def test_standard_input_from_another_file_is_read(claims: Path, tmp_path: Path) -> None:
    with claims.open("rb") as stdin:
        done = subprocess.run([*COMMAND, "batch", "-", *SMOKE, "-o", str(tmp_path / "x.jsonl")], stdin=stdin,
                              capture_output=True, check=False)
    assert done.returncode == ExitCode.OK, done.stderr.decode()
    written = [json.loads(line)["bundle_id"] for line in (tmp_path / "x.jsonl").read_text().splitlines()]
    assert written == [json.loads(line)["id"] for line in claims.read_text().splitlines()]
