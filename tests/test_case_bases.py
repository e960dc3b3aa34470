"""Policy test cases an analyst can write: bases and changes, reasons on failure, -k and -v."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Any

from carepolicy.cli.exit_codes import ExitCode
from carepolicy.cli.main import cli
from carepolicy.engine.case_bases import ABSENT, difference, merge
from carepolicy.engine.policy_cases import read_cases
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

SHIPPED = Path(str(files("carepolicy.policies")))
ROOT = Path(__file__).resolve().parents[1]


def test_merge_is_deep_for_mappings_whole_for_lists_and_absent_removes() -> None:
    base = {"month": "2025-05", "beneficiary": {"part_b": True, "dual_status": "none"}, "time": [{"minutes": 25}]}
    change = {"beneficiary": {"dual_status": "qmb"}, "time": [{"minutes": 5}], "consent": ABSENT, "month": None}
    assert merge(base, change) == {
        "month": None,
        "beneficiary": {"part_b": True, "dual_status": "qmb"},
        "time": [{"minutes": 5}],
    }
    assert base["beneficiary"] == {"part_b": True, "dual_status": "none"}  # not modified


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["a", "b", "2025-05"]))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("abcd"), inner, max_size=4)),
    max_leaves=12,
)
_BUNDLES = st.dictionaries(st.sampled_from("abcdef"), _VALUES, max_size=5)


@settings(max_examples=200, deadline=None)
@given(_BUNDLES, _BUNDLES)
def test_difference_then_merge_gives_back_the_target(base: dict[str, Any], target: dict[str, Any]) -> None:
    assert merge(base, difference(base, target)) == target


def _write_cases(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cases.yaml").write_text(text, encoding="utf-8")


def test_a_case_based_on_a_base_bundle_runs_as_the_full_bundle(tmp_path: Path) -> None:
    full = read_cases(SHIPPED / "tests")[0]
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    float_tag = "tag:yaml.org,2002:float"
    Dumper.add_representer(Decimal, lambda dumper, value: dumper.represent_scalar(float_tag, str(value)))
    text = yaml.dump(
        {
            "bases": {"typical": dict(full.facts)},
            "cases": [
                {"name": "as is", "base": "typical", "expect": dict(full.expect)},
                {"name": "unknown base", "base": "typicl", "expect": {}},
            ],
        },
        Dumper=Dumper,
    )
    _write_cases(tmp_path / "tests", text)
    based, unknown = read_cases(tmp_path / "tests")
    assert based.facts == full.facts
    assert not based.problems
    assert unknown.problems
    assert "did you mean `typical`" in unknown.problems[0]


def _copy_with_tests(tmp_path: Path) -> Path:
    copy = tmp_path / "policies"
    shutil.copytree(SHIPPED, copy, ignore=shutil.ignore_patterns("examples", "__pycache__", "*.py"))
    return copy


def test_a_broken_rule_fails_carepolicy_test_and_pytest_with_the_reason(tmp_path: Path) -> None:
    copy = _copy_with_tests(tmp_path)
    ccm = copy / "ccm.policy"
    text = ccm.read_text(encoding="utf-8")
    broken = re.sub(r"(code 99490 .*?requires \w*staff_minutes >= )20 min", r"\g<1>30 min", text, count=1, flags=re.S)
    assert broken != text
    ccm.write_text(broken, encoding="utf-8")

    result = CliRunner().invoke(cli, ["test", str(copy), "-k", "ccm.yaml"], catch_exceptions=False)
    assert result.exit_code == ExitCode.POLICY_ERRORS
    assert "✘ tests/ccm.yaml::" in result.stdout
    assert re.search(r"99490: denied: .*of 30 minutes.*\[99490\]", result.stdout), result.stdout
    assert "✔" not in result.stdout  # passes are quiet without -v

    env = {**os.environ, "CAREPOLICY_POLICY_DIR": str(copy)}
    env.pop("PYTHONPATH", None)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_policy_cases.py",
         "-k", "test_policy_case and ccm.yaml", "-x"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert re.search(r"99490: denied: .*of 30 minutes", run.stdout), run.stdout


def test_k_selects_cases_and_v_lists_passes() -> None:
    quiet = CliRunner().invoke(cli, ["test", "-k", "ccm.yaml"], catch_exceptions=False)
    assert quiet.exit_code == ExitCode.OK
    assert "✔" not in quiet.stdout
    count = int(quiet.stdout.split()[0])
    loud = CliRunner().invoke(cli, ["test", "-k", "ccm.yaml", "-v"], catch_exceptions=False)
    assert loud.stdout.count("✔ tests/ccm.yaml::") == count
    none = CliRunner().invoke(cli, ["test", "-k", "no such case at all"], catch_exceptions=False)
    assert none.exit_code == ExitCode.BAD_INPUT
