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
