"""The human form of a decision: what is billable first, then what is denied and why, then the trace.

`render_decision_text` is a pure function of the `Decision`: no colour, no terminal width, no clock,
so the same decision always gives the same bytes (the CLI's text output and its golden tests rely
on it). The machine form is `decision.to_json`; this module adds nothing that is not in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from .model import Alternative, Decision, Denial, Line, Read, Reason, Shares, TraceNode

__all__ = ["render_decision_text"]

_PASS, _FAIL, _OTHER = "✔", "✘", "·"
_FAILED = frozenset({"not met", "unmet", "unknown", "not valid"})
_PASSED = frozenset({"met", "applies", "shared"})


def render_decision_text(decision: Decision, *, explain: bool = True) -> str:
    """Decision first, then why: billable, denied, alternatives, then (if `explain`) the trace."""
    out: list[str] = [f"Bundle {decision.bundle_id} · service month {decision.month}"]
    if decision.switches:
        out.append("Switches: " + ", ".join(f"{name}={option}" for name, option in decision.switches))
    out.append("")
    out.extend(_billable(decision))
    denied = _denied(decision)
    if denied:
        out.extend(["", *denied])
    if decision.alternatives:
        out.extend(["", "Alternatives (valid, not chosen)"])
        for alternative in decision.alternatives:
            out.extend(_alternative(alternative))
    if decision.notes:
        out.extend(["", "Notes", *(f"  {note}" for note in decision.notes)])
    if explain and decision.trace:
        out.extend(["", "Why"])
        for i, node in enumerate(decision.trace):
            _tree(node, "", i == len(decision.trace) - 1, out)
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------- billable


def _money(value: Decimal | None) -> str:
    return "—" if value is None else f"${value:.2f}"


def _billable(decision: Decision) -> list[str]:
    out = ["Billable"]
    if not decision.billable:
        out.append("  nothing is billable this month")
    for line in decision.billable:
        out.extend(_line(line))
    totals = decision.totals
    out.append("")
    if totals.allowed is None:
        out.append(f"  Total: {totals.note or 'not priced'}")
    else:
        medicaid = "indeterminate" if totals.medicaid is None else _money(totals.medicaid)
        out.append(
            f"  Total: allowed {_money(totals.allowed)} · Medicare {_money(totals.medicare)}"
            f" · Medigap {_money(totals.medigap)} · Medicaid {medicaid}"
        )
    if decision.patient_responsibility is not None:
        out.append(f"  Patient responsibility: {_money(decision.patient_responsibility)}")
    else:
        why = totals.note or "no cost sharing could be computed"
        out.append(f"  Patient responsibility: indeterminate ({why})")
    if totals.note and totals.allowed is not None and decision.patient_responsibility is not None:
        out.append(f"  note: {totals.note}")
    return out


def _line(line: Line) -> list[str]:
    head = f"  {line.code} × {line.units}  practitioner {line.practitioner}"
    if line.allowed is None:
        reason = line.price_source.removeprefix("not priced: ")
        out = [f"{head}  allowed: not priced: {reason}"]
    else:
        out = [f"{head}  allowed {_money(line.allowed)}", f"    priced by {line.price_source}"]
    out.append(f"    {_shares(line.shares, priced=line.allowed is not None)}")
    if line.decided_by:
        out.append(f"    decided by {', '.join(line.decided_by)}")
    return out


def _shares(shares: Shares | None, *, priced: bool) -> str:
    if shares is None:
        why = "no cost sharing in effect" if priced else "the line is not priced"
        return f"shares: not computed ({why})"
    beneficiary = (
        (
            f"beneficiary {_money(shares.beneficiary)} (deductible {_money(shares.deductible)}, "
            f"coinsurance {_money(shares.coinsurance)})"
        )
        if shares.beneficiary is not None
        else f"beneficiary indeterminate ({shares.note or 'unknown'})"
    )
    medicaid = "Medicaid indeterminate" if shares.medicaid is None else f"Medicaid {_money(shares.medicaid)}"
    return " · ".join(
        [beneficiary, f"Medicare {_money(shares.medicare)}", f"Medigap {_money(shares.medigap)}", medicaid]
    )


# --------------------------------------------------------------------------------------------- denied


def _not_in_effect(denial: Denial, month: str) -> bool:
    """A code denied only because it is not in effect this month (said once, on one line)."""
    if len(denial.reasons) != 1:
        return False
    reason = denial.reasons[0]
    dormant = reason.text.startswith(f"not in effect in {month}")
    return dormant and reason.rule == denial.code and not reason.source


def _denied(decision: Decision) -> list[str]:
    dormant = [d.code for d in decision.denied if _not_in_effect(d, decision.month)]
    blocks = [d for d in decision.denied if not _not_in_effect(d, decision.month)]
    if not blocks and not dormant:
        return []
    out = ["Denied"]
    for denial in blocks:
        qualifiers = ([f"unit {denial.unit}"] if denial.unit is not None else []) + (
            [f"with {denial.with_code}"] if denial.with_code is not None else []
        )
        out.append(f"  {denial.code}" + (f" ({', '.join(qualifiers)})" if qualifiers else ""))
        out.extend(_reason(reason) for reason in denial.reasons)
    if dormant:
        out.append(f"  not in effect in {decision.month}: {', '.join(dormant)}")
    return out


def _reason(reason: Reason) -> str:
    where = [f"[{reason.source}]"] if reason.source else []
    cites = [f"cites {'; '.join(reason.cites)}"] if reason.cites else []
    return "\n".join([f"    ✘ {reason.rule}: {reason.text}", "      " + " ".join([*where, *cites])]).rstrip()


def _alternative(alternative: Alternative) -> list[str]:
    codes = " + ".join(f"{code} × {units}" for code, units in alternative.codes) or "nothing"
    total = "not priced" if alternative.total_allowed is None else _money(alternative.total_allowed)
    share = alternative.patient_responsibility
    patient = "indeterminate" if share is None else _money(share)
    return [
        f"  {codes}: total allowed {total}, patient responsibility {patient}",
        f"    not chosen: {alternative.why_not}",
    ]


# --------------------------------------------------------------------------------------------- trace


def _mark(result: str) -> str:
    if result in _FAILED:
        return _FAIL
    if (
        result in _PASSED
        or result.startswith("valid")
        or (result.startswith("chose ") and not result.startswith("chose nothing"))
    ):
        return _PASS
    return _OTHER


def _show(value: Any) -> str:
    """A value read by a rule, as the policy language writes it; sets and lists in a stable order."""
    if value is True or value is False:
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, frozenset | set):
        return "{" + ", ".join(sorted(_show(v) for v in value)) + "}"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: str(kv[0]))
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in items) + "}"
    return str(value)


def _read(read: Read) -> str:
    return f"{read.name} = {_show(read.value)}" + (f" (as of {read.as_of})" if read.as_of else "")


def _label(node: TraceNode) -> str:
    parts = [_mark(node.result), node.kind, node.id]
    if node.title and node.title != node.id:
        parts.append(f'"{node.title}"')
    text = " ".join(parts) + f": {node.result}"
    if node.source:
        text += f" [{node.source}]"
    if node.cites:
        text += f" cites {'; '.join(node.cites)}"
    return text


def _tree(node: TraceNode, prefix: str, last: bool, out: list[str]) -> None:
    out.append(f"{prefix}{'└─ ' if last else '├─ '}{_label(node)}")
    inner = prefix + ("   " if last else "│  ")
    out.extend(_lines_under(inner + ("│ " if node.children else "  "), (_read(r) for r in node.reads)))
    for i, child in enumerate(node.children):
        _tree(child, inner, i == len(node.children) - 1, out)


def _lines_under(prefix: str, texts: Iterable[str]) -> list[str]:
    return [f"{prefix}{text}".rstrip() for text in texts]
