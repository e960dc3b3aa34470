"""`check` names every place a new year needs when only some of them have it (docs/adding-a-year.md)."""

from __future__ import annotations

import re
import shutil
from importlib.resources import files
from pathlib import Path

from carepolicy.engine import check_policies

SHIPPED = Path(str(files("carepolicy.policies")))


def test_a_new_conversion_factor_alone_names_every_other_place(tmp_path: Path) -> None:
    copy = tmp_path / "policies"
    shutil.copytree(SHIPPED, copy, ignore=shutil.ignore_patterns("tests", "examples", "__pycache__", "*.py"))
    fees = copy / "fees.policy"
    text = fees.read_text(encoding="utf-8")
    # the last dated value of conversion_factor, repeated one year later
    values = list(re.finditer(r"^(\s+value \$[0-9.]+ effective )(\d{4})-01-01\.\.(\d{4})-12-31(.*)$", text, re.M))
    last = max(values, key=lambda m: int(m[2]))
    year = int(last[2]) + 1
    added = f"{last[1]}{year}-01-01..{year}-12-31{last[4]}"
    fees.write_text(text[: last.end()] + "\n" + added + text[last.end() :], encoding="utf-8")
    _result, _sources, diagnostics = check_policies(copy)
    warned = [d for d in diagnostics if d.code == "check/year-incomplete"]
    assert warned
    assert not [d for d in diagnostics if d.is_error]
    assert all(f"reaches {year}" in d.message for d in warned)
    named = {re.search(r"^(\w+(?: \w+)?) `([^`]+)`", d.message).group(0) for d in warned}  # type: ignore[union-attr]
    # the pricing interval and the deductible stop a year short (cost sharing is open-ended now)
    assert {"pricing `pfs.national`", "parameter `part_b_deductible`"} <= named, named
    assert all(d.help and "adding-a-year" in d.help for d in warned)


def test_the_shipped_policies_reach_the_same_last_year_everywhere() -> None:
    _result, _sources, diagnostics = check_policies()
    assert not [d for d in diagnostics if d.code == "check/year-incomplete"]


def test_a_cost_sharing_clause_dated_with_a_yearly_parameter_is_a_place(tmp_path: Path) -> None:
    """The new year added everywhere docs/adding-a-year.md names, except the `during` of the clause
    that reads the deductible: that clause would silently stop applying in the new year."""
    copy = tmp_path / "policies"
    shutil.copytree(SHIPPED, copy, ignore=shutil.ignore_patterns("tests", "examples", "__pycache__", "*.py"))
    _, _, before = check_policies(copy)
    assert not [d for d in before if d.code == "check/year-incomplete"]
    fees, cost_sharing = copy / "fees.policy", copy / "cost_sharing.policy"
    for path in (fees, cost_sharing):
        text = path.read_text(encoding="utf-8")
        text = re.sub(
            r"^(\s+value \$[0-9.]+ effective )2026-01-01\.\.2026-12-31(.*)$",
            lambda m: f"{m[0]}\n{m[1]}2027-01-01..2027-12-31{m[2]}",
            text,
            flags=re.M,
        )
        text = re.sub(r"^(\s+effective 20\d\d-\d\d-\d\d\.\.)2026-12-31$", r"\g<1>2027-12-31", text, flags=re.M)
        path.write_text(text, encoding="utf-8")
    _result, sources, diagnostics = check_policies(copy)
    assert not [d for d in diagnostics if d.is_error], [d.message for d in diagnostics if d.is_error]
    (warned,) = [d for d in diagnostics if d.code == "check/year-incomplete"]
    assert warned.span is not None
    assert Path(warned.span.source).name == "cost_sharing.policy"
    assert "(`during 2024-01-01..2026-12-31`) stops at 2026" in warned.message
    assert "during" in sources[warned.span.source].line(warned.span.line)


def test_the_new_year_case_of_adding_a_year_passes_on_a_copy_with_that_year(tmp_path: Path) -> None:
    """docs/adding-a-year.md step 4 shows the case to add for a new conversion factor; with the
    walkthrough's 2027 factor ($34.0000) it passes, as written (dates near the month included)."""
    import textwrap

    from carepolicy.engine import load_policies
    from carepolicy.engine.policy_cases import read_cases, run_cases

    copy = tmp_path / "policies"
    shutil.copytree(SHIPPED, copy, ignore=shutil.ignore_patterns("examples", "__pycache__", "*.py"))
    for path in (copy / "fees.policy", copy / "cost_sharing.policy"):
        text = re.sub(
            r"^(\s+value \$[0-9.]+ effective )2026-01-01\.\.2026-12-31(.*)$",
            lambda m: f"{m[0]}\n{m[1]}2027-01-01..2027-12-31{m[2]}",
            path.read_text(encoding="utf-8"),
            flags=re.M,
        )
        text = re.sub(r"^(\s+(?:effective|during) \S+\.\.)2026-12-31$", r"\g<1>2027-12-31", text, flags=re.M)
        text = text.replace("value $33.4009 effective 2027", "value $34.0000 effective 2027")
        path.write_text(text, encoding="utf-8")
    page = (Path(__file__).resolve().parent.parent / "docs" / "adding-a-year.md").read_text(encoding="utf-8")
    example = textwrap.dedent(re.search(r"```yaml\n(.*?)```", page, re.S)[1])  # type: ignore[index]
    (copy / "tests" / "year.yaml").write_text("cases:\n" + example, encoding="utf-8")
    [case] = [c for c in read_cases(copy / "tests") if c.file.endswith("year.yaml")]
    [result] = run_cases(load_policies(copy), [case])
    assert result.passed, result.failures
