"""docs/codes.md is generated from the policies and must stay current; the 2025 amounts it shows
must reproduce the national non-facility amounts of cms-rules.md §8.2 to the cent."""

from __future__ import annotations

from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest
from carepolicy.engine import PolicySet
from carepolicy.engine.codes_table import code_table_markdown

from tests.goldens import assert_golden

DOC = Path(__file__).resolve().parents[1] / "docs" / "codes.md"

# cms-rules.md §8.2, "Non-facility $" column (CMS PPRRVU2025_Oct.csv, CF 32.3465).
REFERENCE_2025 = {
    "99490": "60.49", "99439": "45.93", "99491": "82.16", "99437": "57.58", "99487": "131.65",
    "99489": "70.52", "G0506": "60.81", "99424": "80.87", "99425": "58.87", "99426": "61.78",
    "99427": "50.46", "G0556": "15.20", "G0557": "48.84", "G0558": "107.07", "99484": "53.05",
    "99492": "145.24", "99493": "133.59", "99457": "47.87", "99458": "38.49", "98980": "50.14",
}


def test_codes_doc_is_current(policies: PolicySet) -> None:
    assert_golden(DOC, code_table_markdown(policies))


@pytest.mark.parametrize(("code", "amount"), sorted(REFERENCE_2025.items()))
def test_2025_amount_reproduces_the_reference(policies: PolicySet, code: str, amount: str) -> None:
    if code not in policies.checked.index.codes:
        pytest.fail(f"{code} is priced in cms-rules.md §8.2 but not declared in the policies")
    row = next(line for line in code_table_markdown(policies).splitlines() if line.startswith(f"| {code} |"))
    assert f"${Decimal(amount):.2f}" in row


def test_a_threshold_restated_in_a_requirement_is_listed_once(policies: PolicySet) -> None:
    # 99490 states `ccm_staff_minutes >= 20 min` twice: once as the threshold, once with the words
    # for minutes dated before the consent; the table shows the threshold once.
    row = next(line for line in code_table_markdown(policies).splitlines() if line.startswith("| 99490 |"))
    assert row.split(" | ")[4] == ">= 20 min"


def test_a_threshold_a_switch_asks_for_is_shown_with_its_condition(policies: PolicySet) -> None:
    # G0568's 70 minutes are asked for only under `g0568_time_threshold = seventy_minutes`
    # (cms-rules.md §5.4, §10 item 5: low confidence, default no threshold): the page must not
    # state `>= 70 min` as the code's threshold.
    row = next(line for line in code_table_markdown(policies).splitlines() if line.startswith("| G0568 |"))
    assert row.split(" | ")[4].startswith("g0568_time_threshold = no_threshold or cocm_staff_minutes >= 70 min")


def test_codes_of_another_folder_name_it(tmp_path: Path) -> None:
    """`codes --policies my-policies/` said it was generated from `policies/`, kept current by a
    test of this repository."""
    import shutil

    from carepolicy.cli.main import cli
    from click.testing import CliRunner

    shipped = Path(str(files("carepolicy.policies")))
    copy = tmp_path / "my-policies"
    shutil.copytree(shipped, copy, ignore=shutil.ignore_patterns("tests", "examples", "__pycache__", "*.py"))
    result = CliRunner().invoke(cli, ["codes", "--policies", str(copy)])
    assert result.exit_code == 0, result.output
    intro = result.stdout.split("\n\n")[1]
    assert intro == (
        f"Generated from `{copy}` by `carepolicy codes --policies {copy}`. Amounts are CY2025 national"
        " non-facility allowed amounts computed from its RVUs × conversion factor; real claims are locality-adjusted."
    )


def test_a_row_labels_what_the_reference_does_not_state(policies: PolicySet) -> None:
    # 99492's 70 minutes are the CPT descriptor, not in cms-rules.md: the policy says so in an
    # `assumption`, and the row shows it beside the sources, as every decision does.
    row = next(line for line in code_table_markdown(policies).splitlines() if line.startswith("| 99492 |"))
    assert "assumption, not a CMS rule: first 70 minutes in the first month" in row.split(" | ")[7]
