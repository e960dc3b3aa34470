"""The reference registry (policies/sources.registry): it equals cms-rules.md §11, and `check` enforces it.

The registry is the list of sources the shipped policies may declare (engine/registry.py). Its S
entries must be exactly the `* [Sn] title` entries of the section "## 11. Sources" of
../shared/domain/cms-rules.md, in order, with the same text (wrapped lines joined). Besides them it
lists only A1, the reference's own §12 addendum.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from carepolicy.engine import PolicyError, check_policies
from carepolicy.engine.language.registry import REGISTRY_FILE, normalise_title, parse_registry

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT.parent / "shared" / "domain" / "cms-rules.md"
REGISTRY = ROOT / "policies" / REGISTRY_FILE
# Entries that are not §11 sources, each with the heading of the part of cms-rules.md it stands for.
NOT_IN_SECTION_11 = {"A1": "## 12. Addendum after a second review"}


def section_11_sources(text: str) -> list[tuple[str, str]]:
    """(tag, title) of every `* [Sn] title` entry of "## 11. Sources", continuation lines joined."""
    match = re.search(r"^## 11\. Sources\n(.*?)(?=^## )", text, flags=re.MULTILINE | re.DOTALL)
    assert match, "cms-rules.md has no section `## 11. Sources`"
    entries: list[list[str]] = []
    for line in match[1].splitlines():
        entry = re.match(r"^\* \[(S\d+)\] (.+)$", line)
        if entry:
            entries.append([entry[1], entry[2]])
        elif line.startswith("  ") and line.strip() and entries:
            entries[-1][1] += " " + line.strip()
    return [(tag, " ".join(title.split())) for tag, title in entries]


def shipped_registry() -> list[tuple[str, str]]:
    registry, problems = parse_registry(str(REGISTRY), REGISTRY.read_text(encoding="utf-8"))
    assert not problems, problems
    return [(entry.tag, entry.title) for entry in registry.entries.values()]


def test_the_shipped_registry_equals_section_11_of_the_reference() -> None:
    reference = section_11_sources(REFERENCE.read_text(encoding="utf-8"))
    assert len(reference) > 100, "the §11 parser found too few sources"
    listed = [(tag, title) for tag, title in shipped_registry() if tag not in NOT_IN_SECTION_11]
    assert listed == reference, "policies/sources.registry differs from cms-rules.md §11"


def test_the_shipped_registry_lists_nothing_else_but_the_addendum() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    others = {tag: title for tag, title in shipped_registry() if not re.fullmatch(r"S\d+", tag)}
    assert others.keys() == NOT_IN_SECTION_11.keys()
    for tag, heading in NOT_IN_SECTION_11.items():
        assert heading + "\n" in text, f"cms-rules.md has no heading `{heading}` for {tag}"
        assert others[tag].startswith("cms-rules.md §12, Addendum after a second review")


def test_the_shipped_policies_declare_only_registry_sources() -> None:
    result, sources, diagnostics = check_policies()
    assert result is not None
    assert not diagnostics
    assert f"policies/{REGISTRY_FILE}" in sources
    listed = dict(shipped_registry())
    for tag, source in result.index.sources.items():
        assert tag in listed
        assert normalise_title(source.title) == normalise_title(listed[tag])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Fact Sheet *Chronic Care Management*, 2015", "Fact Sheet Chronic Care Management, 2015"),
        ('NGS Medicare, "Care Management"', "NGS Medicare, 'Care Management'"),
        ("RVU25D, `PPRRVU2025_Oct.csv`,\n  CF 32.3465", "RVU25D, PPRRVU2025_Oct.csv, CF 32.3465"),
        ("a _stressed_ word", "a stressed word"),
    ],
)
def test_titles_compare_without_emphasis_quotes_or_spacing(a: str, b: str) -> None:
    assert normalise_title(a) == normalise_title(b)


def test_a_different_title_is_still_different() -> None:
    assert normalise_title("NGS Medicare, 'Care Management'") != normalise_title("NGS Medicare, 'CCM'")
    assert normalise_title("sample_data/x.csv") != normalise_title("sampledata/x.csv")


def _copy_of_shipped_policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    return target


def test_an_outside_source_is_refused(tmp_path: Path) -> None:
    folder = _copy_of_shipped_policies(tmp_path)
    extra = folder / "extra.policy"
    extra.write_text(
        'policy extra "outside source"\n  source X9 "some blog"\n\n'
        'rule extra.blog "A rule from a blog"\n  cite X9 "a post"\n  requires beneficiary.part_b\n',
        encoding="utf-8",
    )
    _result, _sources, diagnostics = check_policies(folder)
    codes = [(d.code, d.span.line if d.span else 0) for d in diagnostics if d.is_error]
    assert ("check/source-not-in-registry", 2) in codes
    (refusal,) = [d for d in diagnostics if d.code == "check/source-not-in-registry"]
    assert "`X9`" in refusal.message
    assert refusal.span is not None
    assert refusal.span.source == str(extra)


def test_without_a_registry_any_source_may_be_declared(tmp_path: Path) -> None:
    folder = _copy_of_shipped_policies(tmp_path)
    (folder / REGISTRY_FILE).unlink()
    with (folder / "sources.policy").open("a", encoding="utf-8") as text:
        text.write('  source X9 "some blog"\n')
    with (folder / "ccm.policy").open("a", encoding="utf-8") as text:
        text.write('\nrule extra.blog "A rule from a blog"\n  cite X9 "a post"\n  requires beneficiary.part_b\n')
    _result, sources, diagnostics = check_policies(folder)
    assert not [d for d in diagnostics if d.is_error]
    assert not any(name.endswith(REGISTRY_FILE) for name in sources)


def test_a_single_policy_file_is_checked_against_the_registry_of_its_folder(tmp_path: Path) -> None:
    (tmp_path / REGISTRY_FILE).write_text("S1\tCMS, a data file\n", encoding="utf-8")
    policy = tmp_path / "t.policy"
    policy.write_text(
        'policy t "t"\n  source S2 "a page"\n\ncode 99490 "CCM"\n  cite S2 "a row"\n  requires beneficiary.part_b\n',
        encoding="utf-8",
    )
    _result, _sources, diagnostics = check_policies(policy)
    assert [d.code for d in diagnostics] == ["check/source-not-in-registry"]


def test_a_malformed_registry_names_file_and_line(tmp_path: Path) -> None:
    folder = _copy_of_shipped_policies(tmp_path)
    registry = folder / REGISTRY_FILE
    lines = registry.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, start=1) if line.startswith("S7\t"))
    lines[number - 1] = lines[number - 1].replace("\t", "    ")
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result, _sources, diagnostics = check_policies(folder)
    assert result is None  # nothing is checked against a broken registry
    (problem,) = diagnostics
    assert problem.code == "policy/registry"
    assert problem.span is not None
    assert (problem.span.source, problem.span.line) == (str(registry), number)


def test_a_registry_is_read_as_a_policy_file_is(tmp_path: Path) -> None:
    folder = _copy_of_shipped_policies(tmp_path)
    registry = folder / REGISTRY_FILE
    text = registry.read_bytes()
    registry.write_bytes(b"\xef\xbb\xbf" + text)  # a byte-order mark, as a Windows editor saves it
    assert [d.code for d in check_policies(folder)[2] if d.is_error] == []
    registry.write_bytes(text.replace(b"\n", b"\n\xe9", 1))  # Latin-1 on line 2
    with pytest.raises(PolicyError) as error:
        check_policies(folder)
    (problem,) = error.value.diagnostics
    assert (problem.code, problem.message) == ("policy/not-utf8", "byte `0xe9` is not UTF-8")
    assert str(problem.span) == f"{registry}:2:1"


@pytest.mark.parametrize("separator", ["\u2028", "\x85", "\x0c", "\x1c"])
def test_registry_lines_end_at_newlines_only(separator: str) -> None:
    """A comment holding a character that `str.splitlines` takes for a line end: the lines below it
    keep the numbers the policy files, the quoted source line and an editor give them."""
    text = f"# a note{separator}with a line separator in it\nS1\tRVU\nS2    no tab\n"
    registry, problems = parse_registry("sources.registry", text)
    assert list(registry.entries) == ["S1"]
    assert registry.entries["S1"].span.line == 2
    (problem,) = problems
    assert problem.span is not None
    assert problem.span.line == 3
