"""The human form of a decision: the answer first, then what is denied and why, on one screen.

`render_decision_text` is a pure function of the `Decision`: no colour, no terminal width, no clock,
so the same decision always gives the same bytes (the CLI's text output and its golden tests rely
on it). The order is a biller's: what to bill and who pays what; the denials that matter (codes of
the programs this bundle is in: consented, with time recorded, claimed, or considered because
their program's gate passed), each with its reasons and the distance to a threshold; one line per
cause for the codes that were not considered; the sources cited, with their titles; then, only with
`explain`, the why-tree (trace_text.py). Nothing here is not in `decision.to_json`.
"""

from __future__ import annotations

import re

from ..printable import FIELD_SEPARATOR, printable, printable_lines, shortened_id
from .billable_text import billable_text, money, unpriced
from .context import EMPTY_CONTEXT, DecisionContext
from .model import Alternative, Decision, Denial, Reason, Withdrawal
from .trace_nodes import TraceNode
from .trace_text import render_trace

__all__ = ["first_reason", "render_decision_text", "split_denials"]


def render_decision_text(decision: Decision, *, explain: bool = False) -> str:
    """The answer, the denials that matter, what was not considered, sources; the trace if `explain`."""
    context = decision.context or EMPTY_CONTEXT
    # the bundle's text in the lines whose fields ` · ` separates shows a `·` as `\u00b7`: an id
    # `a · service month 2025-04` is not read as another month (printable_lines does the rest)
    bundle = printable(shortened_id(decision.bundle_id), separators=FIELD_SEPARATOR)
    out: list[str] = [f"Bundle {bundle} · service month {decision.month}", answer(decision)]
    changed = [(n, o) for n, o in decision.switches if context.switch_defaults.get(n, o) != o]
    if changed:
        out.append("Switches not at their default: " + ", ".join(f"{n}={o}" for n, o in changed))
    out.extend(["", *billable_text(decision)])
    if decision.withdraw:
        out.extend(["", "Withdraw (claims on file that a billed code bundles)", *_withdraw(decision.withdraw)])
    matter, skipped, dormant = split_denials(decision, context)
    if matter:
        out.extend(["", "Denied", *_denied(matter)])
    if decision.alternatives:
        out.extend(["", "Other valid codings, not chosen"])
        for alternative in decision.alternatives:
            out.extend(_alternative(alternative))
    if decision.notes:
        out.extend(["", "Notes", *(f"  {note}" for note in decision.notes)])
    if skipped or dormant:
        out.extend(["", "Not considered", *_not_considered(skipped, dormant, decision.month)])
    cites = [reason.cites for claim in decision.withdraw for reason in claim.reasons]
    cites += [reason.cites for denial in matter for reason in denial.reasons]
    cites.append(decision.note_cites)
    if explain and decision.trace:
        cites.extend(_trace_cites(decision))
    sources = context.sources_of(cites)
    if sources:
        out.extend(["", "Sources cited"])
        out.extend(f"  {tag:<5} {info.title or '(not declared in the policies)'}" for tag, info in sources.items())
    footer = f"decision {decision.decision_id} · policy set {decision.policy_set_hash}"
    out.extend(["", footer + ("" if explain else " · --explain shows why")])
    if explain and decision.trace:
        out.extend(["", "Why", *render_trace(decision.trace)])
    return printable_lines(out) + "\n"  # (ids, names and values are the bundle's: any character)


# --------------------------------------------------------------------------------------------- answer


def answer(decision: Decision) -> str:
    """One line: what to bill, the allowed amount and the patient's share; or why nothing."""
    totals = decision.totals
    if not decision.billable:
        reason = first_reason(decision)
        return "Nothing to bill" + (f": {printable(reason, separators=FIELD_SEPARATOR)}" if reason else "")
    codes = ", ".join(f"{line.code} × {line.units}" for line in decision.billable)
    allowed = f"allowed: {unpriced(totals.note)}" if totals.allowed is None else f"allowed {money(totals.allowed)}"
    share = decision.patient_responsibility
    patient = f"patient owes {money(share)}" if share is not None else "patient share indeterminate"
    withdraw = "".join(f" · withdraw the {w.code} claim" for w in decision.withdraw)
    practitioner = printable(shortened_id(decision.billable[0].practitioner), separators=FIELD_SEPARATOR)
    return f"Bill {codes} (practitioner {practitioner}) · {allowed} · {patient}{withdraw}"


def first_reason(decision: Decision) -> str:
    """Why nothing is billable, in one phrase: a code valid on its own but not billed because the
    strategy kept a claim on file that it bundles says so first; else the reason shared by most
    denials that matter (the first such on a tie), else the first cause of the codes not considered."""
    matter, skipped, dormant = split_denials(decision, decision.context or EMPTY_CONTEXT)
    if not decision.billable:  # nothing chosen, so a denial `with` a code is one a kept claim blocks
        kept = next((d for d in matter if d.with_code is not None and d.reasons), None)
        if kept is not None:
            return kept.reasons[0].text
    # One measure short of several thresholds (`ccm_staff_minutes: 0 of 20`, `0 of 40`, `0 of 60`,
    # `0 of 90` for 99490, 99439, 99487, 99489) is one cause: counted once per denial under its
    # measure and shown by its lowest threshold (the base code's). Counted word for word, each
    # was one denial's, and a month with no countable minutes was answered "medical decision
    # making below moderate", which 99487 and 99489 share.
    # A reason said only beside shortfalls explains them ("minutes of CCM dated before the CCM
    # consent ... do not count" beside "0 of 20 minutes"): the answer gives it instead.
    counts: dict[str, int] = {}
    shown: dict[str, tuple[int, str, Denial]] = {}
    causes_of: list[tuple[Denial, dict[str, tuple[int, str]]]] = []
    for denial in matter or skipped:
        causes: dict[str, tuple[int, str]] = {}
        for reason in denial.reasons:
            short = _SHORT_OF.match(reason.text)
            cause, rank = (short.group(1), int(short.group(2))) if short else (reason.text, 0)
            if cause not in causes or rank < causes[cause][0]:
                causes[cause] = (rank, reason.text)
        causes_of.append((denial, causes))
        for cause, (rank, text) in causes.items():
            counts[cause] = counts.get(cause, 0) + 1
            if cause not in shown or rank < shown[cause][0]:
                shown[cause] = (rank, text, denial)
    if not counts:
        return f"no code in effect in {decision.month}" if dormant else ""
    # on a tie a reason in words goes first: the shortfalls of add-ons beyond a base that is not
    # short (25 minutes: "25 of 40" for 99439, "25 of 60" for 99487) do not outweigh "no
    # documented consent" said of 99490 and 99487; then, of two measures short, the one nearer its
    # threshold: 29 minutes of PCM by staff are "pcm_staff_minutes: 29 of 30 minutes (1 more
    # needed)" (99426, 99427), not "pcm_personal_minutes: 0 of 30" (99424, 99425), which the
    # order of the codes gave; max keeps the first of equals
    cause = max(counts, key=lambda name: (counts[name], shown[name][1] == name, -_needed(shown[name][1])))
    _rank, text, denial = shown[cause]
    if text != cause:  # a shortfall: what the denial that shows it says beside it, if only beside it
        for reason in denial.reasons:
            beside = [found for _d, found in causes_of if reason.text in found]
            if not _SHORT_OF.match(reason.text) and all(_has_shortfall(found) for found in beside):
                return reason.text
    return text


def _needed(text: str) -> int:
    """How much more a shortfall's measure needs (`(5 more needed)`: 5); 0 for a reason in words."""
    more = _MORE_NEEDED.search(text)
    return int(more.group(1)) if more else 0


def _has_shortfall(causes: dict[str, tuple[int, str]]) -> bool:
    """Whether a denial's causes (first_reason) include a measure short of a threshold."""
    return any(text != cause for cause, (_rank, text) in causes.items())


# a reason that a measure is short of a threshold: `ccm_staff_minutes: 19 of 20 minutes (1 more needed)`
_SHORT_OF = re.compile(r"^([A-Za-z_][\w.()]*): \S+ of (\d+)\b")
_MORE_NEEDED = re.compile(r"\((\d+) more needed\)")


# --------------------------------------------------------------------------------------------- denied


def _not_in_effect(denial: Denial, month: str) -> bool:
    """A code denied only because it is not in effect this month (said once, on one line)."""
    if len(denial.reasons) != 1:
        return False
    reason = denial.reasons[0]
    return reason.text.startswith(f"not in effect in {month}") and reason.rule == denial.code


def split_denials(decision: Decision, context: DecisionContext) -> tuple[list[Denial], list[Denial], list[str]]:
    """(denials that matter, denials of programs the bundle is not in, codes not in effect).

    A denial is out of scope when every reason is a program gate's (its program was never
    considered) and the bundle shows no activity in that program (no consent, time or claim).
    """
    matter: list[Denial] = []
    skipped: list[Denial] = []
    dormant: list[str] = []
    active = set(decision.active_programs)
    for denial in decision.denied:
        if _not_in_effect(denial, decision.month):
            dormant.append(denial.code)
        elif (
            context.gates
            and all(reason.rule in context.gates for reason in denial.reasons)
            and context.code_programs.get(denial.code) not in active
        ):
            skipped.append(denial)
        else:
            matter.append(denial)
    return matter, skipped, dormant


def _label(denial: Denial) -> str:
    qualifiers = ([f"unit {denial.unit}"] if denial.unit is not None else []) + (
        [f"with {denial.with_code}"] if denial.with_code is not None else []
    )
    return denial.code + (f" ({', '.join(qualifiers)})" if qualifiers else "")


def _denied(denials: list[Denial]) -> list[str]:
    """One block per distinct list of reasons; codes denied for exactly the same reasons share it."""
    groups: dict[tuple[tuple[str, str], ...], list[Denial]] = {}
    for denial in denials:
        groups.setdefault(tuple((r.rule, r.text) for r in denial.reasons), []).append(denial)
    out: list[str] = []
    for members in groups.values():
        label = ", ".join(_label(d) for d in members)
        for i, reason in enumerate(members[0].reasons):
            out.append(f"  {label if i == 0 else ' ' * len(label)}  ✘ {_reason(reason)}")
    return out


def _reason(reason: Reason) -> str:
    tags = ", ".join(dict.fromkeys(c.partition(":")[0] for c in reason.cites))
    where = " · ".join(part for part in (reason.source, tags) if part)
    # (a reason may quote the bundle's text: its `·` must not forge the ` · ` of the policy line's cites)
    return printable(reason.text, separators=FIELD_SEPARATOR) + (f"  [{where}]" if where else "")


def _not_considered(skipped: list[Denial], dormant: list[str], month: str) -> list[str]:
    """One line per cause: gate reasons that differ only in what follows ` to ` are merged."""
    causes: dict[str, list[str]] = {}
    for denial in skipped:
        causes.setdefault(denial.reasons[0].text, []).append(denial.code)
    merged: dict[str, tuple[list[str], list[str]]] = {}
    for text, codes in causes.items():
        head, to, rest = text.partition(" to ")
        key = head + to if to else text
        items, all_codes = merged.setdefault(key, ([], []))
        if to:
            items.append(rest)
        all_codes.extend(codes)
    out = []
    for key, (items, codes) in merged.items():
        text = key + ", ".join(items) if items else key
        count = len(dict.fromkeys(codes))
        out.append(f"  {text} ({count} code{'' if count == 1 else 's'})")
    if dormant:
        out.append(f"  not in effect in {month}: {', '.join(dormant)}")
    return out


def _withdraw(withdraw: tuple[Withdrawal, ...]) -> list[str]:
    out: list[str] = []
    for claim in withdraw:
        status = f", {claim.status}" if claim.status else ""
        head = f"  {claim.code} (practitioner {shortened_id(claim.practitioner)}, {claim.month}{status})"
        out.extend(f"{head if i == 0 else ' ' * len(head)}  ✘ {_reason(r)}" for i, r in enumerate(claim.reasons))
    return out


def _alternative(alternative: Alternative) -> list[str]:
    codes = " + ".join(f"{code} × {units}" for code, units in alternative.codes) or "nothing"
    if alternative.withdraw:
        codes += ", withdrawing the " + ", ".join(alternative.withdraw) + " claim on file"
    elif not alternative.codes:
        codes = "nothing"
    # in the answer line's words: "allowed: not priced", "patient share indeterminate" (an unknown
    # share is not something the patient "owes")
    allowed = alternative.total_allowed
    total = "allowed: not priced" if allowed is None else f"allowed {money(allowed)}"
    share = alternative.patient_responsibility
    patient = "patient share indeterminate" if share is None else f"patient owes {money(share)}"
    return [f"  {codes}: {total}, {patient}", f"    not chosen: {alternative.why_not}"]


def _trace_cites(decision: Decision) -> list[tuple[str, ...]]:
    """The cites of every trace node, in the order the tree shows them."""
    found: list[tuple[str, ...]] = []

    def visit(node: TraceNode) -> None:
        found.append(node.cites)
        for child in node.children:
            visit(child)

    for node in decision.trace or ():
        visit(node)
    return found
