"""The Billable part of a decision's text form: each line, its price, and who pays what of it.

Split from explain.py (which orders the parts of the text form). It speaks as a biller does:
the allowed amount and how it was priced, then Medicare's payment, the cost sharing (deductible +
coinsurance) and who covers it (Medigap, Medicaid), and what the patient owes; a share that is not
known says why. Money is always `$` and two decimals.
"""

from __future__ import annotations

from decimal import Decimal

from .model import Decision, Line, Shares

__all__ = ["billable_text", "money", "shares_text", "unpriced"]


def money(value: Decimal | None) -> str:
    return "—" if value is None else f"${value:.2f}"


def unpriced(note: str | None) -> str:
    """The totals' note of a decision with a line not priced, `not priced: 99490, G0511`, as one
    phrase in a line that colons already divide: `not priced (99490, G0511)`."""
    if not note:
        return "not priced"
    codes = note.removeprefix("not priced: ")
    return f"not priced ({codes})" if codes != note else note


def billable_text(decision: Decision) -> list[str]:
    totals = decision.totals
    out = ["Billable"]
    if not decision.billable:
        out.append("  nothing is billable this month")
        return out
    # The assumptions a line rests on (its `cites`) follow it; those every line rests on (the
    # cost sharing's, as a Medigap Plan K limit's) are said once, after the total, not per line.
    lines = decision.billable
    common = [c for c in lines[0].cites if all(c in line.cites for line in lines[1:])] if len(lines) > 1 else []
    for line in lines:
        out.extend(_line(line, common))
    if totals.allowed is None:  # (what the patient owes may still be known: a QMB owes nothing)
        patient = "" if totals.beneficiary is None else f" · patient {money(totals.beneficiary)}"
        out.append(f"  Total allowed: {unpriced(totals.note)}{patient}")
    else:
        medicaid = "indeterminate" if totals.medicaid is None else money(totals.medicaid)
        patient = "indeterminate" if totals.beneficiary is None else money(totals.beneficiary)
        out.append(
            f"  Total allowed {money(totals.allowed)}: Medicare {money(totals.medicare)} · patient {patient}"
            f" · Medigap {money(totals.medigap)} · Medicaid {medicaid}"
        )
    if totals.note and totals.allowed is not None:
        out.append(f"  note: {totals.note}")
    out += [f"  {cite}" for cite in common]
    return out


def _line(line: Line, common: list[str]) -> list[str]:
    head = f"  {line.code} × {line.units}"
    # the assumptions it rests on (a switch's unit cap, a clause's reading), one line each
    assumed = [f"    {cite}" for cite in line.cites if cite not in common]
    if line.allowed is None:
        said = [f"{head}  not priced: {line.price_source.removeprefix('not priced: ')}"]
        if line.shares is not None and line.shares.beneficiary is not None:  # (a QMB's: known unpriced)
            said.append(f"    the patient owes {money(line.shares.beneficiary)}; what the payers pay is not known "
                        "until the line is priced")
        return [*said, *assumed]
    return [f"{head}  {money(line.allowed)}  ({line.price_source})", f"    {shares_text(line.shares)}", *assumed]


def shares_text(shares: Shares | None) -> str:
    """Who pays what of a line, as a biller says it: Medicare, then the cost sharing and who covers it.

    The deductible and coinsurance are the beneficiary's cost sharing; Medigap and Medicaid may pay
    part or all of it (a QMB patient owes nothing of it), and the patient owes the rest.
    """
    if shares is None:
        return "who pays what: not computed (no cost sharing in effect)"
    known = shares.deductible is not None and shares.coinsurance is not None
    cost_sharing = (shares.deductible or 0) + (shares.coinsurance or 0)
    medicare = "indeterminate" if shares.medicare is None else money(shares.medicare)
    if shares.medicare_after_sequestration is not None:
        medicare += f" ({money(shares.medicare_after_sequestration)} after sequestration)"
    head = f"Medicare pays {medicare}; "
    if known and cost_sharing == 0 and shares.beneficiary is not None:
        return head + "no deductible or coinsurance applies: the patient owes $0.00"
    parts = f"deductible {money(shares.deductible)} + coinsurance {money(shares.coinsurance)}"
    total = f" = {money(Decimal(cost_sharing))}" if known else " (not all known)"
    payers = [f"Medigap pays {money(shares.medigap)}"] if shares.medigap else []
    if shares.medigap is None:
        payers.append("Medigap's part is indeterminate")
    if shares.medicaid is None:
        payers.append("Medicaid's part is indeterminate")
    elif shares.medicaid:
        payers.append(f"Medicaid pays {money(shares.medicaid)}")
    if shares.beneficiary is None:
        payers.append(f"the patient's part is indeterminate ({shares.note or 'unknown'})")
    else:
        payers.append(f"the patient owes {money(shares.beneficiary)}")
    return head + f"{parts}{total}: " + ", ".join(payers)
