"""Mistakes an analyst makes editing a rule file by hand, each with the one diagnostic it gives:
where (line and column), and a help line that says what to write instead, in the file's own terms.

Found by session 34's sweep of the yearly workflow (hC): before it, most of these had no help line,
or a generic one ("names use letters, digits and `_`; titles go in double quotes"), or a wrong one
(`1 hour` -> "did you mean `or`?", `else fewer ...` -> "every declaration needs a title").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from carepolicy.engine import check_policies
from carepolicy.engine.language.parse import parse_partial

HEADER = 'policy p "P"\n  source S1 "s"\n\n'
PARAMETER = 'parameter f "F"\n  cite S1 "x"\n  value $33.4009 effective 2026-01-01..2026-12-31 from S1 "y"\n'
RULE = 'rule r "R"\n  cite S1 "x"\n  requires a >= 20 min\n  requires b = 1 and c = 2 else "no"\n'


def _only(text: str) -> tuple[int, int, str]:
    _policy, problems, _skipped = parse_partial(HEADER + text, "t.policy")
    assert len(problems) == 1, [p.message for p in problems]
    (problem,) = problems
    assert problem.span is not None
    return problem.span.line, problem.span.column, problem.help or ""


# (what the analyst wrote, in place of what, in which text) -> (line, column, help)
CASES = {
    'money `257.00$`': (
        PARAMETER, '$33.4009', '33.4009$',
        (6, 16, 'write the `$` before the amount: `$33.4009`'),
    ),
    'money `$ 33.4009`': (
        PARAMETER, '$33.4009', '$ 33.4009',
        (6, 9, 'write money with no space after the `$`: `$33.4009`'),
    ),
    'money `USD 33.4009`': (
        PARAMETER, '$33.4009', 'USD 33.4009',
        (6, 13, 'money is written with `$` right before the amount: `$33.4009`'),
    ),
    'percent `20 %`': (
        PARAMETER, '$33.4009', '20 %',
        (6, 12, 'write a percentage with no space before the `%`: `20%`'),
    ),
    'percent `20 percent`': (
        PARAMETER, '$33.4009', '20 percent',
        (6, 12, 'write a percentage with `%` right after the number: `20%`'),
    ),
    'range `to`': (
        PARAMETER, '2026-01-01..', '2026-01-01 to ',
        (6, 39, 'write two dots between the first and the last day: `2026-01-01..2026-12-31`'),
    ),
    'range ` - `': (
        PARAMETER, '2026-01-01..', '2026-01-01 - ',
        (6, 39, 'write two dots between the first and the last day: `2026-01-01..2026-12-31`'),
    ),
    'range of three dots': (
        PARAMETER, '2026-01-01..', '2026-01-01...',
        (6, 40, 'a range has two dots, not three: `2026-01-01..2026-12-31`'),
    ),
    'range of years': (
        PARAMETER, '2026-01-01..2026-12-31', '2026..2026',
        (6, 28, 'write days in full, YYYY-MM-DD: the year 2026 is `2026-01-01..2026-12-31`'),
    ),
    'range of months': (
        PARAMETER, '2026-01-01..2026-12-31', '2026-01..2026-12',
        (6, 28, 'an interval is written with days, YYYY-MM-DD: `2026-01-01` is the first day of 2026-01'),
    ),
    'value without `from`': (
        PARAMETER, ' from S1', ' S1',
        (6, 51, 'name the value\'s source with `from`: `from S1 "where in the source"`'),
    ),
    'value without `effective`': (
        PARAMETER, ' effective 2026-01-01..2026-12-31', '',
        (6, 18, 'a value gives its days before its source: `value $33.4009 effective '
                '2026-01-01..2026-12-31 from S1 "where"`'),
    ),
    '`from` text unquoted': (
        PARAMETER, '"y"', '§8.1 y',
        (6, 59, 'the text after `from S1` goes in double quotes: from S1 "where in the source"'),
    ),
    'cite text unquoted': (
        PARAMETER, 'cite S1 "x"', 'cite S1 §8.1 x',
        (5, 11, 'the text after `cite S1` goes in double quotes: cite S1 "where in the source"'),
    ),
    'cite text in single quotes': (
        PARAMETER, 'cite S1 "x"', "cite S1 'x'",
        (5, 11, 'titles, reasons and citation texts go in double quotes: "like this" '
                '(a single quote is no quote here)'),
    ),
    'else text unquoted': (
        RULE, 'else "no"', 'else no such thing',
        (7, 33, 'the reason after `else` goes in double quotes: else "..."'),
    ),
    'a title left out': (
        RULE, 'rule r "R"', 'rule r',
        (5, 3, 'a declaration\'s title goes in double quotes on its first line, after its id: rule r "title"'),
    ),
    '`1 hour`': (
        RULE, '20 min', '1 hour',
        (6, 19, 'write time in minutes: `60 min`'),
    ),
    '`AND`': (
        RULE, 'b = 1 and', 'b = 1 AND',
        (7, 18, 'keywords are written in lower case: `and`'),
    ),
    '`&&`': (
        RULE, 'b = 1 and', 'b = 1 &&',
        (7, 18, 'write the word `and` (not `&` or `&&`)'),
    ),
    '`;` at the end': (
        RULE, '20 min\n', '20 min;\n',
        (6, 23, 'remove the `;`: a line ends without punctuation'),
    ),
    '`.` at the end': (
        RULE, '20 min\n', '20 min.\n',
        (6, 23, 'remove the `.` at the end of the line: a line ends without punctuation'),
    ),
    'backticks': (
        RULE, 'requires a >=', 'requires `a` >=',
        (6, 12, 'write names without backticks: `ccm.patient` in the docs is ccm.patient in a rule file'),
    ),
    'a `//` comment': (
        RULE, '  requires a', '  // minutes\n  requires a',
        (6, 3, 'comments start with `#`, not `//`'),
    ),
    'a `(` not closed': (
        RULE, 'b = 1 and c = 2', '(b = 1 and c = 2',
        (7, 29, 'the `(` at line 7, column 12 is not closed: add `)` where its condition ends'),
    ),
    'a `)` too many': (
        RULE, 'c = 2 else', 'c = 2) else',
        (7, 27, 'this `)` closes no `(`: remove it, or add the `(` it closes'),
    ),
    "a decimal comma": (
        PARAMETER, '$33.4009', '$33,4009',
        (6, 12, 'write decimals with a point: `$33.4009`'),
    ),
    "an id with a hyphen": (
        RULE, 'rule r "R"', 'rule r-one "R"',
        (4, 7, 'ids use letters, digits, `_` and `.`, not `-`: write `r_one`'),
    ),
    "an id with a hyphen, after a tab": (
        RULE, 'rule r "R"', 'rule\tr-one "R"',
        (4, 7, 'ids use letters, digits, `_` and `.`, not `-`: write `r_one`'),
    ),
    "a line ending in `and`": (
        RULE, 'a >= 20 min\n', 'a >= 20 min and\n',
        (7, 12, 'the line above ends with `and`: finish its condition there, or remove the `and`'),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_mistake_one_diagnostic_with_a_help_that_says_what_to_write(name: str) -> None:
    text, old, new, expected = CASES[name]
    assert text.count(old) == 1, old
    assert _only(text.replace(old, new)) == expected


def test_a_misspelt_declaration_keyword_takes_only_its_own_declaration_with_it() -> None:
    # `cdoe 99490` used to skip from the declaration above it to the next one, and what it
    # declared was then "not declared" at every use (8 more errors in the shipped policies)
    text = RULE + '\ncdoe 99490 "CCM"\n  cite S1 "x"\n  requires r\n\nrule s "S"\n  cite S1 "y"\n  requires r\n'
    policy, problems, skipped = parse_partial(HEADER + text, "t.policy")
    assert [(p.span.line, p.span.column, p.help) for p in problems if p.span] == [(9, 1, "did you mean `code`?")]
    assert policy is not None
    assert [d.id for d in policy.declarations] == ["r", "s"]  # the rule above it is kept
    assert "99490" in skipped


def test_a_percentage_written_as_a_fraction_is_shown_as_the_percentage(tmp_path: Path) -> None:
    (tmp_path / "p.policy").write_text(
        HEADER + 'parameter c "C"\n  cite S1 "x"\n  value 0.2 effective 2015-01-01.. from S1 "x"\n\n'
        'cost sharing part_b "B"\n  cite S1 "x"\n  effective 2015-01-01..\n  coinsurance c\n',
        encoding="utf-8",
    )
    _result, _sources, diagnostics = check_policies(tmp_path)
    (diagnostic,) = diagnostics
    assert diagnostic.help == "the values of parameter `c` are written without their unit: write them as `20%`"
    assert [(label, span.line) for label, span in diagnostic.related] == [("its value", 6)]


def test_a_case_name_holding_a_colon_is_told_to_be_quoted() -> None:
    # "- name: staff 45 min over two contacts: 99490": YAML's own words only, before
    from carepolicy.engine.diagnostics import FactError
    from carepolicy.engine.facts.yaml_records import load_yaml_documents

    with pytest.raises(FactError) as raised:
        load_yaml_documents("cases:\n- name: staff 45 min over two contacts: 99490\n", "tests/ccm.yaml")
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.span is not None
    assert (diagnostic.span.line, diagnostic.span.column) == (2, 39)
    assert diagnostic.help == (
        "this value holds `: `, which YAML reads as a new key: put the whole value in quotes, e.g. name: '...'"
    )


def test_one_mistake_in_a_base_bundle_is_shown_twice_then_counted(tmp_path: Path) -> None:
    # `month: 05/2025` in `bases:` failed every case built on the base, each with the same line
    # (64 of them in policies/tests/ccm.yaml); -v still lists every case
    from carepolicy.cli.main import cli
    from click.testing import CliRunner

    (tmp_path / "tests").mkdir()
    (tmp_path / "p.policy").write_text(
        HEADER + 'code 99490 "CCM"\n  cite S1 "x"\n  program ccm\n  requires true\n', encoding="utf-8"
    )
    cases = "".join(f"- name: case {n}\n  base: b\n  expect: {{billable: []}}\n" for n in range(1, 6))
    bundle = "{month: 05/2025, beneficiary: {part_b: true}, practitioner: {id: P1, kind: physician}}"
    (tmp_path / "tests" / "c.yaml").write_text(f"bases:\n  b: {bundle}\ncases:\n{cases}", encoding="utf-8")
    result = CliRunner().invoke(cli, ["test", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 1
    problem = "$.month: `05/2025` is not a month `YYYY-MM`"
    assert result.stdout.splitlines() == [
        "✘ tests/c.yaml::case 1", f"    {problem}",
        "✘ tests/c.yaml::case 2", f"    {problem}",
        f"✘ 3 more cases failed the same way ({problem}); -v lists them",
        "0 cases passed, 5 failed",
    ]
    verbose = CliRunner().invoke(cli, ["test", str(tmp_path), "-v"], catch_exceptions=False)
    assert verbose.stdout.count(problem) == 5


def test_did_you_mean_prefers_the_fewest_letters_changed() -> None:
    # `program cmm`: difflib ties `pcm` and `ccm`, and the warning said "did you mean `pcm`?"
    from carepolicy.engine.diagnostics import did_you_mean

    assert did_you_mean("cmm", ["apcm", "ccm", "pcm", "rpm"]) == "did you mean `ccm`?"
    assert did_you_mean("requries", ["require", "requires"]) == "did you mean `requires`?"
