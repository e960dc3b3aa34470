"""Fee schedules from a CSV and from a policy case: one constructor, the same checks, the same digest;
and the case-file features that use them (`fee_schedule`, `allowed`, `null` amounts, `with`)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from carepolicy.engine import PolicyError, PolicySet, load_fee_schedule
from carepolicy.engine.evaluation.fee_schedule import FeeEntry, build_fee_schedule
from carepolicy.engine.policy_cases import read_cases, run_cases

CASE = """\
- name: {name}
  facts:
    month: '{month}'
    beneficiary: {{part_b: true, dual_status: 'none', medigap_plan: null, deductible_remaining: 0.00}}
    practitioner: {{id: P1, kind: {kind}, new_patient: false, last_visit: '2025-05-14'}}
    practice: {{certified_ehr: true, access_24_7: true, continuity_designated_member: true,
               electronic_care_plan_shared: true}}
    chronic_conditions:
    - {{name: a, icd10: X, expected_months: 24, significant_risk: true}}
    - {{name: b, icd10: Y, expected_months: 24, significant_risk: true}}
    consent: {{documented: true, practitioner: P1, date: '2025-06-01', method: verbal, service: ccm}}
    care_plan: {{comprehensive: true, established_or_substantially_revised_this_month: false}}
    medical_decision_making: low
    time: [{{practitioner: P1, by: clinical_staff, minutes: 25, service: ccm}}]
    other_claims_this_month: []
{extra}"""


def run(
    policies: PolicySet, tmp_path: Path, *cases: tuple[str, str, str], kind: str = "physician"
) -> dict[str, tuple[str, ...]]:
    """Write cases (name, month, the YAML after `facts`) to a case file; each case's failures, by name."""
    text = "cases:\n" + "".join(CASE.format(name=n, month=m, extra=extra, kind=kind) for n, m, extra in cases)
    (tmp_path / "cases.yaml").write_text(text, encoding="utf-8")
    return {r.case.name: r.failures for r in run_cases(policies, read_cases(tmp_path))}


def test_csv_and_case_build_the_same_schedule(tmp_path: Path) -> None:
    csv = tmp_path / "fees.csv"
    csv.write_text("code,allowed,rvu\n99487,,4.07\n99490,66.13,\n", encoding="utf-8")
    from_csv = load_fee_schedule(csv)
    # the same values in another order, as a case gives them (YAML reads 66.13 as an exact Decimal)
    entries = [FeeEntry("rvu", "99487", Decimal("4.07"), "x"), FeeEntry("allowed", 99490, Decimal("66.13"), "y")]
    from_case = build_fee_schedule(str(csv), entries)
    assert from_csv == from_case
    assert from_csv.amounts == {"99490": Decimal("66.13")}
    assert from_csv.rvus == {"99487": Decimal("4.07")}
    assert build_fee_schedule("other name", entries).digest != from_csv.digest  # the name is shown in decisions


def test_a_csv_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    csv = tmp_path / "fees.csv"
    csv.write_bytes(b"\xef\xbb\xbfcode,allowed\r\n99490,66.13\r\n")  # a spreadsheet's "CSV UTF-8"
    assert load_fee_schedule(csv).amounts == {"99490": Decimal("66.13")}
    csv.write_bytes("code,allowed\n99490,66.13\n".encode("utf-16"))  # a spreadsheet's "Unicode text"
    with pytest.raises(PolicyError) as error:
        load_fee_schedule(csv)
    (problem,) = error.value.diagnostics
    assert problem.message == (f"cannot read fee schedule `{csv}`: not UTF-8 text (byte 1): it is UTF-16 "
                               "(it starts with a UTF-16 byte-order mark); save it as UTF-8")


@pytest.mark.parametrize(
    ("header", "found"), [("Code,Allowed", "`Code`, `Allowed`"), ("code;allowed", "`code;allowed`"), ("", "empty")]
)
def test_a_csv_without_the_columns_names_the_ones_it_has(tmp_path: Path, header: str, found: str) -> None:
    csv = tmp_path / "fees.csv"
    csv.write_text(f"{header}\n" if header else "", encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        load_fee_schedule(csv)
    (problem,) = error.value.diagnostics
    assert problem.message == f"`{csv}` needs a `code` column and `allowed` or `rvu`; its header is {found}"
    assert problem.help == "e.g. a header line `code,allowed` then `99490,66.13` (names in lower case)"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("99490,abc", "line 2: `abc` is not a number"),
        ("99490,$60.49", "line 2: `$60.49` is not a number"),
        ("99490,-1", "line 2: `-1` is negative"),
        ("99490,nan", "line 2: `nan` is not a number"),
        ("99490,60.499", "line 2: `60.499` has more than two decimal places"),
        ("9949,60.49", "line 2: `9949` is not a billing code"),
        ("99490,60.49\n99490,61.00", "line 3: a second `allowed` for 99490 (the first is at line 2)"),
        ("99490,66,13", "line 2: 3 cells, but the header names 2 columns"),  # a decimal comma: not 66.00
    ],
)
def test_csv_values_are_checked(tmp_path: Path, row: str, message: str) -> None:
    csv = tmp_path / "fees.csv"
    csv.write_text(f"code,allowed\n{row}\n", encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        load_fee_schedule(csv)
    assert [d.message for d in error.value.diagnostics] == [message]


def test_a_column_named_twice_is_refused(tmp_path: Path) -> None:
    csv = tmp_path / "fees.csv"
    csv.write_text("code,allowed,allowed\n99490,66.13,70.00\n", encoding="utf-8")  # one of them would be lost
    with pytest.raises(PolicyError) as error:
        load_fee_schedule(csv)
    assert [(d.code, d.message) for d in error.value.diagnostics] == [
        ("fee-schedule/columns", f"`{csv}` names the column `allowed` twice")
    ]
    csv.write_text("code,allowed,,\n99490,66.13,,\n99491,12.00, ,,\n", encoding="utf-8")  # a spreadsheet's export
    assert load_fee_schedule(csv).amounts == {"99490": Decimal("66.13"), "99491": Decimal("12.00")}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('code,allowed\n99490,60.49\n"99491,12.00\n99492,13.00\n', "line 3: unexpected end of data"),
        ("code,allowed\n99490," + "1" * 200_000 + "\n", "line 2: field larger than field limit (131072)"),
        ('"code,allowed\n99490,60.49\n', "line 1: unexpected end of data"),
    ],
)
def test_csv_that_is_not_csv_is_refused(tmp_path: Path, text: str, message: str) -> None:
    """A quote never closed would read every later row as one cell (a schedule silently emptied)."""
    csv = tmp_path / "fees.csv"
    csv.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        load_fee_schedule(csv)
    assert [(d.code, d.message) for d in error.value.diagnostics] == [
        ("fee-schedule/unreadable", f"cannot read fee schedule `{csv}`: {message}")
    ]


def expect(more: str) -> str:
    return f"  expect: {{billable: [{{code: '99490'}}], {more}}}\n"


def test_a_case_prices_a_month_with_its_own_fee_schedule(policies: PolicySet, tmp_path: Path) -> None:
    rvu = "  fee_schedule: {rvu: {'99490': 1.87}}\n"
    qp = "  switches: {qualifying_apm_participant: qp}\n"
    results = run(
        policies,
        tmp_path,
        ("right", "2026-03", rvu + expect("allowed: 62.46, patient_responsibility: 12.49")),
        ("wrong", "2026-03", rvu + expect("allowed: 62.77")),
        ("qp", "2026-03", rvu + qp + expect("allowed: 62.77")),
        ("unpriced", "2026-03", expect("allowed: null, patient_responsibility: null")),
        ("not unpriced", "2026-03", rvu + expect("allowed: null")),
        ("allowed column", "2026-03", "  fee_schedule: {allowed: {'99490': 66.13}}\n" + expect("allowed: 66.13")),
    )
    assert results == {
        "right": (),
        "wrong": ("allowed 62.46; expected 62.77",),
        "qp": (),
        "unpriced": (),
        "not unpriced": ("allowed 62.46; expected not determined",),
        "allowed column": (),
    }


def test_a_bad_case_fails_with_its_reasons_not_a_traceback(policies: PolicySet, tmp_path: Path) -> None:
    billable = "  expect: {billable: [{code: '99490'}]}\n"
    results = run(
        policies,
        tmp_path,
        ("text", "2026-03", "  fee_schedule: {rvu: {'99490': abc}}\n" + billable),
        ("bool", "2026-03", "  fee_schedule: {allowed: {'99490': true}}\n" + billable),
        ("column", "2026-03", "  fee_schedule: {rvus: {'99490': 1.87}}\n" + billable),
        ("shape", "2026-03", "  fee_schedule: [1.87]\n" + billable),
        ("typo", "2026-03", expect("alowed: 62.46")),
        ("amount", "2026-03", expect("allowed: lots")),
    )
    assert results["text"] == ("fee_schedule.rvu.99490: `abc` is not a number",)
    assert results["bool"] == ("fee_schedule.allowed.99490: `true` is not a number",)
    assert results["column"] == ("fee_schedule.rvus: unknown key (did you mean `rvu`?)",)
    assert results["shape"][0].startswith("fee_schedule: expected `allowed` and/or `rvu`")
    assert results["typo"] == ("expect.alowed: unknown key (did you mean `allowed`?)",)
    assert results["amount"][0].startswith("expect.allowed: `lots` is not an amount of money")


def test_with_names_why_a_code_is_denied(policies: PolicySet, tmp_path: Path) -> None:
    """G0511 in August 2025 at an RHC/FQHC: valid under the September 30 reading but outranked by
    99490 (`with: '99490'`), denied on its own under the June 30 reading (`with: null`)."""
    def case(switch: str, with_: str) -> str:
        return f"  switches: {{g0511_transition_end: {switch}}}\n" + expect(f"denied: [{{code: G0511, with: {with_}}}]")

    cases = [(f"{s} {w}", "2025-08", case(s, w)) for s in ("june_30", "september_30") for w in ("null", "'99490'")]
    assert run(policies, tmp_path, *cases, kind="fqhc") == {
        "june_30 null": (),
        "june_30 '99490'": ("G0511 is denied on its own; expected only because 99490 was chosen",),
        "september_30 null": ("G0511 is denied only because 99490 was chosen; expected on its own",),
        "september_30 '99490'": (),
    }


class _Float64(float):
    """As numpy's float64 is: a float subclass whose repr is not its number."""

    def __repr__(self) -> str:
        return f"np.float64({float.__repr__(self)})"


def test_a_float_subclass_in_a_fee_schedule_is_read_as_its_number() -> None:
    plain = build_fee_schedule("fees", [FeeEntry("allowed", "99490", 66.13, "x")])
    subclass = build_fee_schedule("fees", [FeeEntry("allowed", "99490", _Float64(66.13), "x")])
    assert subclass.digest == plain.digest
    assert subclass == plain


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("allowed", "100000.01", "line 2: `100000.01` is more than any fee (at most 100,000.00)"),
        ("allowed", "1" + "0" * 40, "line 2: `1" + "0" * 40 + "` is more than any fee (at most 100,000.00)"),
        ("allowed", "1" + "0" * 5000, "line 2: `1" + "0" * 56 + "...` is more than any fee (at most 100,000.00)"),
        ("rvu", "3000.01", "line 2: `3000.01` is more RVUs than this engine accepts for a code (at most 3,000)"),
        ("rvu", "99999999999999",
         "line 2: `99999999999999` is more RVUs than this engine accepts for a code (at most 3,000)"),
        ("rvu", "1." + "1" * 40, "line 2: `1." + "1" * 40 + "` has more than 15 decimal places"),
        ("allowed", "60.49" + "0" * 30 + "1", "line 2: `60.49" + "0" * 30 + "1` has more than two decimal places"),
    ],
)
def test_csv_values_beyond_any_fee_are_refused(tmp_path: Path, column: str, value: str, message: str) -> None:
    """A fee_schedule_override above $100,000 is an impossible fact, but the same amount in a
    `--fee-schedule` CSV was priced: `allowed` 10^40 billed $10^40 with exit 0, and 10^5000 made
    every decision an eval/internal error (decimal.InvalidOperation); 10^14 RVUs billed $3.2e15."""
    csv = tmp_path / "fees.csv"
    csv.write_text(f"code,{column}\n99490,{value}\n", encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        load_fee_schedule(csv)
    assert [d.message for d in error.value.diagnostics] == [message]
    csv.write_text(f"code,{column}\n99490,{'100000.00' if column == 'allowed' else '3000'}\n", encoding="utf-8")
    assert load_fee_schedule(csv) is not None
