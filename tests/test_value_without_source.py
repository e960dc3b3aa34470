"""`check/value-without-source`: a parameter's dated value names the source that states it.

`from TAG "where"` is optional in the grammar, and `check/missing-cite` reads a declaration's own
`cite` lines only, so a value line without its source passed `check` with 0 warnings although
docs/adding-a-year.md (step 1) asks every value to name one. A parameter whose `assumption`
explains its values is exempt: a value the reference does not state has no honest source.
"""

from __future__ import annotations

from pathlib import Path

from carepolicy.engine import check_policies
from carepolicy.engine.diagnostics import Diagnostic, Severity

from tests.lsp_client import copy_of_policies, initialised

HEADER = 'policy p "P"\n  source S1 "s"\n\n'
USER = 'cost sharing part_b "B"\n  cite S1 "x"\n  effective 2024-01-01..2025-12-31\n  coinsurance c\n'


def _warnings(tmp_path: Path, parameter: str) -> list[Diagnostic]:
    (tmp_path / "p.policy").write_text(HEADER + parameter + "\n" + USER, encoding="utf-8")
    _result, _sources, diagnostics = check_policies(tmp_path)
    return [d for d in diagnostics if d.code == "check/value-without-source"]


def test_a_value_without_its_source_is_a_warning_at_the_value(tmp_path: Path) -> None:
    (warning,) = _warnings(
        tmp_path,
        'parameter c "C"\n  cite S1 "x"\n'
        '  value 20% effective 2024-01-01..2024-12-31 from S1 "2024"\n'
        "  value 20% effective 2025-01-01..2025-12-31\n",
    )
    assert warning.severity is Severity.WARNING
    assert warning.span is not None
    assert (warning.span.line, warning.span.column) == (7, 3)
    assert warning.message == (
        "value of parameter `c` effective 2025-01-01..2025-12-31 names no source: "
        '`from TAG "where"` was expected after its dates'
    )
    assert warning.help is not None
    assert 'from S<n> "<where in the source>"' in warning.help
    assert 'assumption "why"' in warning.help


def test_the_parameters_own_cite_does_not_source_its_values(tmp_path: Path) -> None:
    # the deductible cites S88 for the parameter; each year's amount has a source of its own
    parameter = 'parameter c "C"\n  cite S1 "x"\n  value 20% effective 2024-01-01..2025-12-31\n'
    assert len(_warnings(tmp_path, parameter)) == 1


def test_otherwise_unknown_does_not_source_the_values_it_has(tmp_path: Path) -> None:
    parameter = (
        'parameter c "C"\n  cite S1 "x"\n  value 20% effective 2024-01-01..2025-12-31\n'
        '  otherwise unknown because "given for 2024-2025 only"\n'
    )
    assert len(_warnings(tmp_path, parameter)) == 1


def test_a_parameter_whose_assumption_explains_its_values_is_not_warned_about(tmp_path: Path) -> None:
    parameter = (
        'parameter c "C"\n  assumption "the reference states no figure for these years"\n'
        "  value 20% effective 2024-01-01..2025-12-31\n"
    )
    assert _warnings(tmp_path, parameter) == []


def test_the_language_server_shows_the_warning(tmp_path: Path) -> None:
    folder = copy_of_policies(tmp_path)
    path = folder / "cost_sharing.policy"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    (number,) = [n for n, line in enumerate(lines) if line.startswith("  value $257.00 effective 2025-")]
    lines[number] = lines[number].split(" from ", 1)[0] + "\n"
    client, _capabilities = initialised(tmp_path)
    try:
        uri = path.as_uri()
        client.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "carepolicy", "version": 1, "text": "".join(lines)}})
        found = [d for d in client.diagnostics_for(uri) if d["code"] == "check/value-without-source"]
    finally:
        client.close()
    (diagnostic,) = found
    assert diagnostic["severity"] == 2  # Warning
    assert diagnostic["range"]["start"] == {"line": number, "character": 2}
    assert str(diagnostic["message"]).startswith(
        "value of parameter `part_b_deductible` effective 2025-01-01..2025-12-31 names no source"
    )
