"""The documentation: every diagnostic code is catalogued, and the mkdocs site builds strictly.

`mkdocs build --strict` fails on a page missing from the nav, a broken link or a broken anchor
(see `validation` in mkdocs.yml), so a renamed heading or page cannot leave dead links behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

ROOT = Path(__file__).resolve().parents[1]
ERRORS_PAGE = ROOT / "docs" / "reference" / "errors.md"
FAMILIES = ("parse", "check", "facts", "policy", "usage", "eval", "fee-schedule", "test", "explain", "output",
            "service", "report")
# A diagnostic code as the code writes it: a whole quoted string such as "check/unknown-name".
_ALTERNATIVES = "|".join(map(re.escape, FAMILIES))
CODE = re.compile(rf"""["'](?P<code>(?:{_ALTERNATIVES})/[a-z]+(?:-[a-z]+)*)["']""")


def codes_in_source() -> dict[str, list[str]]:
    """Each diagnostic code used in engine/, cli/ and carepolicy/, with the places it appears."""
    found: dict[str, list[str]] = {}
    for folder in ("engine", "cli", "carepolicy"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                for match in CODE.finditer(line):
                    found.setdefault(match["code"], []).append(f"{path.relative_to(ROOT)}:{number}")
    return found


def documented_codes() -> set[str]:
    """The codes that have a heading of their own in docs/reference/errors.md."""
    headings = re.findall(r"^#{2,4}\s+`?([a-z-]+/[a-z-]+)`?\s*$", ERRORS_PAGE.read_text(encoding="utf-8"),
                          flags=re.MULTILINE)
    return set(headings)


def test_the_source_uses_diagnostic_codes() -> None:
    # guards the regex: if it stopped matching, the catalogue test below would pass vacuously
    found = codes_in_source()
    assert {"parse/unexpected-token", "check/unknown-name", "facts/schema"} <= found.keys(), sorted(found)


def test_every_diagnostic_code_has_a_section_in_the_errors_page() -> None:
    missing = {code: places for code, places in codes_in_source().items() if code not in documented_codes()}
    assert not missing, (
        "add a section (`### CODE`: what it means, an example, how to fix it) to docs/reference/errors.md for:\n"
        + "\n".join(f"  {code}  (used at {', '.join(places[:3])})" for code, places in sorted(missing.items()))
    )


def test_the_errors_page_lists_no_code_that_is_never_used() -> None:
    stale = sorted(documented_codes() - codes_in_source().keys())
    assert not stale, f"docs/reference/errors.md documents codes no code in engine/, cli/ or carepolicy/ uses: {stale}"


def test_the_errors_page_lists_every_family() -> None:
    # the table of families at the top, and a `## family/: ...` section for each
    text = ERRORS_PAGE.read_text(encoding="utf-8")
    in_table = set(re.findall(r"^\| `([a-z-]+)/` \|", text, flags=re.MULTILINE))
    sections = set(re.findall(r"^## ([a-z-]+)/: ", text, flags=re.MULTILINE))
    assert in_table == set(FAMILIES), f"the table of families: {sorted(in_table)}; the code's: {sorted(FAMILIES)}"
    assert sections == set(FAMILIES), f"the family sections: {sorted(sections)}; the code's: {sorted(FAMILIES)}"


def _mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    # not --quiet: it hides warnings from the counter that --strict aborts on, so nothing would fail
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["NO_MKDOCS_2_WARNING"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=config.parent, capture_output=True, text=True, check=False, env=env, timeout=300,
    )


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("docs") / "site"
    result = _mkdocs_build(ROOT / "mkdocs.yml", site)
    if result.returncode != 0:
        pytest.fail(f"`mkdocs build --strict` failed:\n{result.stdout}{result.stderr}", pytrace=False)
    return site


def test_mkdocs_build_strict(built_site: Path) -> None:
    assert (built_site / "reference" / "errors.html").is_file()


def test_the_build_generates_the_reference_pages(built_site: Path) -> None:
    # carepolicy/mkdocs_hooks.py: generated during the build from the schemas, the click commands and the policies
    fields = (built_site / "reference" / "fact-bundle-fields.html").read_text(encoding="utf-8")
    assert "beneficiary.part_b" in fields
    assert "fact-bundle-v2.json" in fields
    options = (built_site / "reference" / "cli-options.html").read_text(encoding="utf-8")
    assert "--resume" in options
    assert "--fee-schedule" in options
    ccm = (built_site / "reference" / "policies" / "ccm.html").read_text(encoding="utf-8")
    assert "ccm.patient" in ccm
    assert "99490" in ccm
    assert "CMS MLN Fact Sheet Chronic Care Management Services" in ccm  # a citation shows its source's title
    catalogue = (built_site / "reference" / "policies" / "index.html").read_text(encoding="utf-8")
    assert 'href="ccm.html"' in catalogue
    home = (built_site / "index.html").read_text(encoding="utf-8")
    assert "reference/policies/ccm.html" in home  # every catalogue page is in the nav


def test_carepolicy_blocks_are_highlighted_by_the_lexer(built_site: Path) -> None:
    # codehilite finds the lexer through the package's pygments.lexers entry point
    language = (built_site / "language.html").read_text(encoding="utf-8")
    assert '<span class="kd">rule</span>' in language


def test_mkdocs_build_strict_fails_on_a_broken_link(tmp_path: Path) -> None:
    # the check above is only worth something if the strict build really rejects broken links and anchors
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copy2(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    (tmp_path / "carepolicy").mkdir()  # the hook that generates the reference pages, at the path mkdocs.yml names
    shutil.copy2(ROOT / "carepolicy" / "mkdocs_hooks.py", tmp_path / "carepolicy" / "mkdocs_hooks.py")
    with (tmp_path / "docs" / "index.md").open("a", encoding="utf-8") as page:
        page.write("\nSee [a missing anchor](reference/errors.md#no-such-code).\n")
    result = _mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert result.returncode != 0, "mkdocs --strict accepted a link to a missing anchor"
    assert "no-such-code" in result.stderr + result.stdout


# --- the tutorial: every command it shows prints what it shows ------------------------------------

TUTORIAL = ROOT / "docs" / "tutorial.md"
_FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
# a decision id covers the engine version (a release changes every one); the rest is compared as shown
_DECISION_ID = re.compile(r"\bdecision [0-9a-f]{32}\b")


def _tutorial_blocks() -> list[tuple[str, str]]:
    return _FENCE.findall(TUTORIAL.read_text(encoding="utf-8"))


def _the_block(language: str, start: str) -> str:
    found = [body for lang, body in _tutorial_blocks() if lang == language and body.startswith(start)]
    assert len(found) == 1, f"docs/tutorial.md: expected one ```{language} block starting {start!r}, found {len(found)}"
    return found[0]


def _assert_shows(shown: str, printed: str, what: str) -> None:
    """`printed` is `shown`, a line that is only `  ...` standing for any lines left out."""
    shown, printed = _DECISION_ID.sub("decision <id>", shown), _DECISION_ID.sub("decision <id>", printed)
    pattern = "".join(".*?" if line == "  ..." else re.escape(line) + "\n"
                      for line in shown.splitlines())
    assert re.fullmatch(pattern, printed, flags=re.DOTALL), (
        f"docs/tutorial.md shows for {what}:\n{shown}\nbut it prints:\n{printed}")


def _write_the_tutorials_files(folder: Path) -> tuple[Path, Path, Path]:
    """The policy file, the bundle and the case file the tutorial has the reader create, as first written."""
    (folder / "my-policies" / "tests").mkdir(parents=True)
    policy = folder / "my-policies" / "ccm.policy"
    policy.write_text(_the_block("carepolicy", "# my-policies/ccm.policy"), encoding="utf-8")
    march = folder / "march.yaml"
    march.write_text(_the_block("yaml", "id: mrs-lopez-2025-03"), encoding="utf-8")
    cases = folder / "my-policies" / "tests" / "ccm.yaml"
    cases.write_text(_the_block("yaml", "cases:"), encoding="utf-8")
    return policy, march, cases


def test_the_tutorial_prints_what_it_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # "Every command and output below was run as shown": each `$ carepolicy ...` transcript of the
    # tutorial, run in order on the files it has the reader create and edit
    from carepolicy.cli.main import cli
    from click.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    policy, march, cases = _write_the_tutorials_files(tmp_path)
    transcripts = [body for lang, body in _tutorial_blocks() if lang == "text" and body.startswith("$ carepolicy ")]
    assert len(transcripts) == 6, [t.splitlines()[0] for t in transcripts]

    def replace(path: Path, old: str, new: str) -> None:
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{path.name}: {old!r}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    def run(transcript: str, expected_status: int) -> None:
        command, _, shown = transcript.partition("\n")
        result = CliRunner().invoke(cli, command.split()[2:], catch_exceptions=False)
        _assert_shows(shown, result.stderr + result.stdout, command)
        assert result.exit_code == expected_status, (command, result.exit_code)

    run(transcripts[0], 1)  # the gap the checker finds
    fixed_pricing = _the_block("carepolicy", "pricing pfs.national")
    replace(policy, fixed_pricing.replace("  effective 2025-01-01..2025-12-31\n", ""), fixed_pricing)
    run(transcripts[1], 0)
    # the typos it shows: `consent.documentd`, and `20` without its unit
    typos = _the_block("text", "my-policies/ccm.policy:19:12")
    replace(policy, "consent.documented else", "consent.documentd else")
    replace(policy, "staff_minutes >= 20 min", "staff_minutes >= 20")
    result = CliRunner().invoke(cli, ["check", "my-policies"], catch_exceptions=False)
    _assert_shows(typos, result.stderr, "the typos")
    replace(policy, "consent.documentd else", "consent.documented else")
    replace(policy, "staff_minutes >= 20\n", "staff_minutes >= 20 min\n")
    run(transcripts[2], 0)  # 19 minutes, with --explain
    replace(march, "minutes: 7, service: ccm, date: '2025-03-19'", "minutes: 8, service: ccm, date: '2025-03-19'")
    run(transcripts[3], 0)  # "Log one more minute"
    run(transcripts[4], 1)  # the wrong expectation
    replace(cases, '    - {practitioner: P1, by: non_clinical_staff, minutes: 45, service: ccm}\n  expect:\n'
                   '    billable: [{code: "99490", units: 1}]\n',
            '    - {practitioner: P1, by: non_clinical_staff, minutes: 45, service: ccm}\n'
            + _the_block("yaml", "  expect:"))
    run(transcripts[5], 0)


# --- command options: what the pages say each command takes is what it takes --------------------

CLI_PAGE = ROOT / "docs" / "reference" / "cli.md"
OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")
SHARED = "Options shared by evaluate and batch"
PLUS_SHARED = "plus [the shared options](#options-shared-by-evaluate-and-batch)."


def _commands() -> dict[str, click.Command]:
    from carepolicy.cli.main import cli

    return dict(cli.commands)


def _options_of(command: click.Command) -> set[str]:
    found = {"-h", "--help"}
    for parameter in command.params:
        found.update(parameter.opts)
        found.update(parameter.secondary_opts)
    return found


def _cli_page_sections() -> dict[str, str]:
    text = CLI_PAGE.read_text(encoding="utf-8")
    sections = re.finditer(r"^## ([^\n]+)\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    return {match[1]: match[2] for match in sections}


def _documented_options(section: str) -> set[str]:
    """The options of a section's usage block and of the first column of its option tables."""
    usage = re.search(r"^```text\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    cells = re.findall(r"^\|((?:[^|\\\n]|\\.)*)\|", section, re.MULTILINE)  # a `\|` stays in its cell
    in_cells = {option for cell in cells for option in OPTION.findall(cell)}
    return set(OPTION.findall(usage[1] if usage else "")) | in_cells


def test_the_cli_reference_gives_each_command_the_options_it_has() -> None:
    commands = _commands()
    sections = _cli_page_sections()
    text = CLI_PAGE.read_text(encoding="utf-8")
    overview = re.match(r".*?\n\|[^\n]*\n\|---[^\n]*\n((?:\|[^\n]*\n)+)", text, re.DOTALL)
    assert overview, "docs/reference/cli.md: no table of commands at the top"
    listed = set(re.findall(r"^\| \[?`([a-z-]+)`", overview[1], re.MULTILINE))
    assert listed == commands.keys(), (
        f"the table of commands at the top of docs/reference/cli.md (one table, no blank line in it) lists "
        f"{sorted(listed - commands.keys())} that are not commands and misses {sorted(commands.keys() - listed)}")
    shared = _documented_options(sections[SHARED])
    problems = []
    for name, command in sorted(commands.items()):
        if name not in sections:
            problems.append(f"`carepolicy {name}` has no `## {name}` section")
            continue
        has, documented = _options_of(command), _documented_options(sections[name])
        takes_shared = PLUS_SHARED in sections[name]
        problems += [f"## {name} documents {option}, which `carepolicy {name}` does not take"
                     for option in sorted(documented - has)]
        problems += [f"## {name} says it takes the shared options, but `carepolicy {name}` has no {option}"
                     for option in sorted(shared - has) if takes_shared]
        available = documented | (shared if takes_shared else set())
        problems += [f"`carepolicy {name}` takes {'/'.join(parameter.opts)}, which ## {name} does not document"
                     for parameter in command.params
                     if isinstance(parameter, click.Option) and not parameter.hidden
                     and not set(parameter.opts + parameter.secondary_opts) & available]
    assert not problems, "docs/reference/cli.md:\n" + "\n".join(problems)


def _invocations(text: str, names: str) -> list[tuple[int, str, str]]:
    """(line, command, what follows it) for each `carepolicy COMMAND ...` of a page.

    In a code block: every `carepolicy COMMAND` on a line, up to a pipe, `&&`, `;`, a redirection or
    a comment, and the lines of a usage block that continue it (`   [--switch ...]`). Elsewhere: a
    code span that is a command line, `carepolicy batch --resume` or `batch --trace full`."""
    found: list[tuple[int, str, str]] = []
    in_block, command = False, ""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("```"):
            in_block, command = not in_block, ""
        elif in_block:
            matches = list(re.finditer(rf"carepolicy ({names})\b([^|;&#>]*)", line))
            found += [(number, match[1], match[2]) for match in matches]
            if matches:
                command = matches[-1][1]
            elif command and re.match(r"\s+\[", line):
                found.append((number, command, line))
            else:
                command = ""
        else:
            found += [(number, match[1], match[2])
                      for match in re.finditer(rf"`(?:carepolicy )?({names})((?: [^`]*)?)`", line)]
    return found


def test_every_option_the_pages_give_a_command_is_one_it_has() -> None:
    # README.md, every page and every command's --help examples: a renamed or removed option
    # left in a command line, `carepolicy batch --jobs 2` or `evaluate --format jsonl`
    commands = _commands()
    names = "|".join(sorted(commands, key=len, reverse=True))
    texts = {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
             for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]}
    for name, command in commands.items():  # the examples of its --help: a block of command lines
        examples = [line for line in (command.help or "").splitlines() if line.lstrip().startswith("carepolicy ")]
        texts[f"carepolicy {name} --help"] = "\n".join(["```", *examples, "```"])
    seen, wrong = 0, []
    for where, text in texts.items():
        for number, name, rest in _invocations(text, names):
            for option in OPTION.findall(rest):
                seen += 1
                if option not in _options_of(commands[name]):
                    wrong.append(f"{where}:{number}: `carepolicy {name}` has no {option}: {name}{rest}")
    assert seen > 100, f"only {seen} options found in the pages: the scan no longer finds the command lines"
    assert not wrong, "\n".join(wrong)


_HEAD = re.compile(r"^(?P<file>[\w-]+)(?:/[\w./-]+)?\.policy:\d+:\d+: (?:error|warning)\[", re.MULTILINE)


def _diagnostics(text: str) -> dict[str, list[str]]:
    """Each diagnostic of a text form by its first line, with the lines under it."""
    found: dict[str, list[str]] = {}
    for piece in re.split(r"(?=^[^\s].*?\.policy:\d+:\d+: )", text, flags=re.MULTILINE):
        head, *lines = piece.splitlines() or [""]
        found[head] = lines
    return found


def test_the_errors_page_shows_the_diagnostics_the_checker_gives() -> None:
    # a diagnostic the page shows for a file that has a golden under tests/golden/diagnostics/
    # (which test_diagnostics_golden keeps current) is one of the golden's: its first line, and
    # each line the page shows under it (it may leave some out), as the checker writes them
    golden = ROOT / "tests" / "golden" / "diagnostics"
    text = ERRORS_PAGE.read_text(encoding="utf-8")
    compared, wrong = 0, []
    for block in re.findall(r"^```text\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        for head, lines in _diagnostics(block).items():
            name = _HEAD.match(head)
            path = golden / f"{name['file']}.diagnostics.txt" if name else None
            if path is None or not path.is_file():
                continue
            compared += 1
            given = _diagnostics(path.read_text(encoding="utf-8"))
            if head not in given:
                wrong.append(f"{head}\n  {path.relative_to(ROOT)} has no such diagnostic:\n    " + "\n    ".join(given))
            else:
                wrong += [f"{head}\n  shows {line!r}, which {path.relative_to(ROOT)} does not have under it"
                          for line in lines if line not in given[head]]
    assert compared >= 25, f"only {compared} examples have a golden: the file names no longer match"
    assert not wrong, "docs/reference/errors.md:\n" + "\n".join(wrong)


def test_the_output_forms_page_shows_the_forms_the_goldens_hold() -> None:
    # the text, summary and claim-note examples of docs/reference/output-forms.md are the shipped
    # examples' forms, which test_forms keeps in tests/golden/forms/ (ids and hashes aside)
    page = (ROOT / "docs" / "reference" / "output-forms.md").read_text(encoding="utf-8")
    golden = ROOT / "tests" / "golden" / "forms"

    def masked(text: str) -> str:
        text = re.sub(r"\bdecision (?:[0-9a-f]{32}|<decision id>)", "decision <decision id>", text)
        return re.sub(r"\bpolicy set (?:[0-9a-f]{32}|<policy set hash>)", "policy set <policy set hash>", text)

    def shown(start: str, *, notes: bool = False) -> str:
        # (the claim note of the example with a note starts as the example's: its `Notes` tells them apart)
        found = [block for block in re.findall(r"^```text\n(.*?)^```", page, flags=re.MULTILINE | re.DOTALL)
                 if block.startswith(start) and ("\nNotes\n" in block) == notes]
        assert len(found) == 1, f"docs/reference/output-forms.md: no one ```text block starting {start!r}"
        return masked(found[0])

    def held(*names: str) -> str:
        return masked("".join((golden / name).read_text(encoding="utf-8") for name in names))

    assert shown("Bundle example-ccm-60-minutes") == held("example-ccm-60-minutes.txt")
    assert shown("complex-ccm-90-minutes ·") == held(
        "complex-ccm-90-minutes.summary.txt", "qmb-apcm-level-3.summary.txt", "consent-missing.summary.txt")
    assert shown("2025-03 99490x1 99439x2") == held("example-ccm-60-minutes.claim-note.txt")
    # the forms of the example with a time entry dated outside the month (tests/test_form_notes.py)
    assert shown("time-outside-month ·") == held("time-outside-month.summary.txt")
    assert shown("2025-03 99490x1 99439x2", notes=True) == held("time-outside-month.claim-note.txt")
    assert shown("Notes\n") in held("time-outside-month.txt")
    [csv_row] = [block for block in re.findall(r"^```text\n(.*?)^```", page, flags=re.MULTILINE | re.DOTALL)
                 if block.startswith("time-outside-month,")]
    assert csv_row in held("time-outside-month.csv")  # (read_text reads its CRLF as a line end)


def test_the_decision_format_example_is_the_tutorials_decision(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # docs/reference/decision-format.md shows the tutorial's 19-minute bundle as decided by the
    # tutorial's policies (with the pricing fix of its step 2), without the trace
    from carepolicy.cli.main import cli
    from click.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    policy, _march, _cases = _write_the_tutorials_files(tmp_path)
    fixed_pricing = _the_block("carepolicy", "pricing pfs.national")
    text = policy.read_text(encoding="utf-8")
    policy.write_text(text.replace(fixed_pricing.replace("  effective 2025-01-01..2025-12-31\n", ""), fixed_pricing),
                      encoding="utf-8")
    result = CliRunner().invoke(cli, ["evaluate", "--policies", "my-policies", "--format", "json", "--trace", "none",
                                      "march.yaml"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    decided = json.loads(result.stdout)
    page = (ROOT / "docs" / "reference" / "decision-format.md").read_text(encoding="utf-8")
    example = re.search(r"^## An example\n.*?^```json\n(.*?)^```", page, flags=re.MULTILINE | re.DOTALL)
    assert example, "docs/reference/decision-format.md has no ```json block under `## An example`"
    shown = json.loads(example[1])
    for varies in ("decision_id", "engine"):  # they cover the engine version, which a release changes
        shown.pop(varies)
        decided.pop(varies)
    assert shown == decided


def test_the_exit_status_table_lists_every_exit_code() -> None:
    from carepolicy.cli.exit_codes import ExitCode

    section = _cli_page_sections()["Exit status"]
    listed = set(re.findall(r"^\| `(\d+)` \| `([A-Z_]+)` \|", section, flags=re.MULTILINE))
    assert listed == {(str(code.value), code.name) for code in ExitCode}, sorted(listed)


def test_every_rule_block_of_the_pages_parses() -> None:
    # a ```carepolicy block shows declarations as the grammar takes them (a block that shows clauses
    # alone, indented, is a fragment and left out); a keyword renamed in the grammar fails here
    from carepolicy.engine.language.parse import parse_partial

    parsed, wrong = 0, []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = path.read_text(encoding="utf-8")
        for block in re.finditer(r"^```carepolicy\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
            body = block[1]
            if body.startswith(" "):
                continue
            source = body if re.match(r"(#.*\n)*policy ", body) else 'policy doc "a page\'s example"\n\n' + body
            _tree, diagnostics, _names = parse_partial(source, "page.policy")
            place = f"{path.relative_to(ROOT)}:{text[:block.start()].count(chr(10)) + 1}"
            wrong += [f"{place}: {d.code}: {d.message}" for d in diagnostics if d.severity == "error"]
            parsed += 1
    assert parsed >= 25, parsed
    assert not wrong, "\n".join(wrong)


def test_the_report_json_keys_are_the_ones_the_cli_reference_lists(tmp_path: Path) -> None:
    from carepolicy.cli.main import cli
    from click.testing import CliRunner

    decisions = tmp_path / "decisions.jsonl"
    bundles = str(ROOT / "policies" / "examples" / "month-batch.yaml")
    made = CliRunner().invoke(cli, ["evaluate", "--format", "jsonl", "--trace", "none", "-o", str(decisions), bundles])
    assert made.exit_code == 0, made.stderr
    result = CliRunner().invoke(cli, ["report", "--format", "json", str(decisions)])
    assert result.exit_code == 0, result.stderr
    row = re.search(r"^\| `--format json` \|([^\n]*)$", _cli_page_sections()["report"], flags=re.MULTILINE)
    assert row, "docs/reference/cli.md: no `--format json` row under ## report"
    keys_listed = re.search(r"\(keys ([^)]*)\)", row[1])
    assert keys_listed, row[1]
    assert set(re.findall(r"`(\w+)`", keys_listed[1])) == set(json.loads(result.stdout))


def test_the_python_api_example_runs_as_written(tmp_path: Path) -> None:
    # the page's first block, as a user pastes it into a file: it once used `out`, `bundles` and
    # `body` without making them (NameError), and `result.decision` unchecked after `if result.ok:`
    from tests.test_quality import python_blocks

    block = python_blocks("docs/guides/python-api.md")[0]
    (tmp_path / "example.py").write_text(block, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, timeout=300,
                          check=False, env=env)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    printed, *lines = done.stdout.decode("utf-8").splitlines()
    assert printed == "[] 0.00"  # the billable codes and what the patient owes, as the block prints them
    records = [json.loads(line) for line in lines]
    assert [record["bundle_id"] for record in records] == ["p-17", "p-18", "p-19"]
    assert ["error" in record for record in records] == [False, False, True]  # p-19's month 2025-13


def test_the_python_api_table_names_the_parameters_the_functions_take() -> None:
    # a call written with the names docs/guides/python-api.md gives (`evaluate_text(data=...)`) works
    import inspect

    import carepolicy
    from carepolicy.evaluator import Evaluator

    page = (ROOT / "docs" / "guides" / "python-api.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(carepolicy\.load|Evaluator\.\w+)\(([^)]*)\)` \|", page, flags=re.MULTILINE)
    assert len(rows) >= 5, rows
    for name, shown in rows:
        function = carepolicy.load if name == "carepolicy.load" else getattr(Evaluator, name.split(".")[1])
        takes = [parameter for parameter in inspect.signature(function).parameters if parameter != "self"]
        listed = [part.split("=")[0].strip() for part in shown.split(",") if part.strip() not in ("", "*")]
        assert listed == takes, f"{name}: the page gives ({shown}), the function takes {takes}"


# A shipped policy line as a decision quotes it (`[policies/ccm.policy:116 · S20]`); the tutorial's
# own folder (`my-policies/...`) is its own and not matched.
_QUOTED_DECLARATION = re.compile(r"(?<![\w-])policies/(?P<file>[a-z_0-9]+\.policy):(?P<line>\d+) ·")


# the kinds a decision's reason quotes by place, besides codes and notes (a `define`, `switch` or
# `parameter` is quoted by name, never by `file:line ·`)
_QUOTED_KINDS = ("rule", "precondition", "exclusion", "exclusive", "exception", "bundling")


def _quote_names_its_declaration(declaration: str, before: str) -> bool:
    """Whether the text just before a quoted `file:line ·` names the declaration on that line: a
    code's or an add-on's code, a note's title (its first 30 characters); a rule's reason is prose of
    its own, so a rule (and its like) only has to be one of the kinds a reason quotes."""
    kind, _space, rest = declaration.partition(" ")
    if kind in ("code", "add-on"):
        return rest.split(" ", 1)[0] in before
    if kind == "note":
        title = rest.partition('"')[2].partition('"')[0]
        return " ".join(title.split())[:30] in before
    return kind in _QUOTED_KINDS


def test_the_policy_lines_the_pages_quote_are_declarations() -> None:
    """A page quoting a decision names where a code or note is declared: after an edit to the
    policies moves it, the quote must move too (two pages named a note at common.policy:186, a
    `define` 29 lines above it)."""
    stale = []
    for page in sorted((ROOT / "docs").rglob("*.md")):
        if page.name == "performance-history.md":  # a record of past sessions, quoted as it was
            continue
        text = page.read_text(encoding="utf-8")
        for match in _QUOTED_DECLARATION.finditer(text):
            lines = (ROOT / "policies" / match["file"]).read_text(encoding="utf-8").splitlines()
            number = int(match["line"])
            declaration = lines[number - 1] if number <= len(lines) else ""
            before = " ".join(text[max(0, match.start() - 300) : match.start()].split())
            if (not declaration or declaration[0].isspace() or declaration.startswith("#")
                    or not _quote_names_its_declaration(declaration, before)):
                stale.append(f"{page.relative_to(ROOT)}: {match[0]} is `{declaration.strip()}`")
    assert not stale, "\n".join(stale)


def test_the_golden_refresh_command_names_every_module_with_golden_files() -> None:
    """The refresh command of docs/contributing/testing.md named 4 of the 13 modules that call
    `assert_golden`: following it left the diagnostics, compact-trace, fmt, diff and codes-table
    goldens stale, to fail on the next full run."""
    page = (ROOT / "docs" / "contributing" / "testing.md").read_text(encoding="utf-8")
    command = re.search(r"^CAREPOLICY_UPDATE_GOLDENS=1 \.venv/bin/python -m pytest ((?:.*\\\n)*.*)$", page, re.M)
    assert command, "testing.md has no refresh command"
    named = set(re.findall(r"tests/(test_\w+\.py)", command.group(1)))
    golden = {p.name for p in (ROOT / "tests").glob("test_*.py")
              if re.search(r"^\s*from tests\.goldens import .*\bassert_golden\b", p.read_text(encoding="utf-8"), re.M)}
    assert len(golden) > 10
    assert named == golden, f"missing: {sorted(golden - named)}; not golden: {sorted(named - golden)}"
