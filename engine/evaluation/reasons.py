"""The words of a denial: the reasons evaluation writes from what it found (rules.py uses them).

A condition that did not hold denies with its own words (`requires ... "message"`), or with words
made from the values it compared (`ccm_staff_minutes: 19 of 20 minutes (1 more needed)`) or the
facts it lacked (`` `consents.ccm.date` not recorded ``); a claim on file denies with its code,
practitioner and status. A batch meets the same few of each again and again, so each is made once
for its values and shared (`CompiledPolicySet.described`, bounded), and so are the denials made of
them (`CompiledPolicySet.denial`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..compile.compiled import CompiledRequirement, Condition, Header
from ..compile.policy_set import CompiledPolicySet
from ..compile.runtime import UNKNOWN, Env
from ..decision.model import Reason
from ..language import syntax as s
from ..language.valuetypes import COUNT, MINUTES, MONEY, NUMBER

_COUNTED = (MINUTES, COUNT, NUMBER, MONEY)  # the types `describe` writes as "19 of 20 minutes (1 more needed)"


def show(value: Any, vtype: Any = None) -> str:
    """A value as the language writes it, for reasons and the text trace."""
    if value is UNKNOWN:
        return "missing"
    if value is True or value is False:
        return str(value).lower()
    if type(value) is int:  # the usual case (minutes, counts), first
        return f"{value} min" if vtype is MINUTES else str(value)
    if vtype is MONEY and isinstance(value, Decimal):
        return f"${value:.2f}"
    if isinstance(value, frozenset | set | tuple | list):
        return "{" + ", ".join(sorted(str(v) for v in value)) + "}"
    return str(value)


UNKNOWN_KEY = "\0unknown"  # marks a memo key of an undecided condition (never an int, as the two sides are)


def not_recorded_text(names: Sequence[str]) -> str:
    """`` `cocm.first_month` not recorded ``: the facts a denial could not be decided without."""
    return (", ".join(f"`{n}`" for n in names) + " not recorded") if names else "a fact it needs is not recorded"


def as_written(label: str, facts: Mapping[str, Any]) -> str:
    """A fact's name as the bundle writes it, for the words of a reason.

    Rules read consent per program (`consents.ccm.date`, fact bundle v2); a version 1 bundle writes
    one `consent` for every service it lists (upgrade.py keeps it beside the per-program records),
    so a biller who sent `consent.date` is told `consent.date` not recorded, the name in the file
    (docs/reference/decision-format.md), not a `consents` that the file does not have."""
    if label.startswith("consents.") and isinstance(facts.get("consent"), Mapping):
        parts = label.split(".", 2)
        if len(parts) == 3:
            return f"consent.{parts[2]}"
    return label


_DEFINE_DEPTH = 8  # how deep `missing_reads` looks inside definitions for the fact they lack


def missing_reads(
    reads: Sequence[tuple[str, str, Any]],
    env: Env,
    define_reads: Callable[[str], Sequence[tuple[str, str, Any]]],
    depth: int = 0,
) -> tuple[str, ...]:
    """The facts among `reads` this bundle leaves unknown, named as it writes them.

    A definition that cannot be worked out is not "not recorded": the facts it lacks are named in
    its place (`initiating_visit.ccm_discussed`, not `qualifying_initiating_visit`), looked for
    inside the definitions it reads in turn; it is named itself only when no fact of its own is
    missing (a value unknown for another reason)."""
    found: list[str] = []
    for label, kind, reader in reads:
        if reader(env) is not UNKNOWN:
            continue
        inner = define_reads(label) if kind == "define" and depth < _DEFINE_DEPTH else None
        named = missing_reads(inner, env, define_reads, depth + 1) if inner else ()
        for name in named or (as_written(label, env.facts),):
            if name not in found:
                found.append(name)
    return tuple(found)


class ReasonWriter:
    """The reason-writing part of `Evaluation` (rules.py): what it reads of the evaluation."""

    env: Env
    compiled: CompiledPolicySet
    me: str

    def _reason(self, owner: Header, requirement: CompiledRequirement, condition: Condition, value: Any) -> Reason:
        """Why a condition that did not hold denies: its own words, or words made from its values.

        A batch meets the same few failures again and again (`19 of 20 minutes`, `consents.ccm.date`
        not recorded), and the words depend only on the values named in the memo's key, so each
        such Reason is made once and shared (CompiledPolicySet.described: bounded); shared reasons
        let the denials made of them be shared too (CompiledPolicySet.denial)."""
        message = requirement.message
        compiled = self.compiled
        if value is UNKNOWN:  # the words depend only on which of the facts it reads are missing
            missing = missing_reads(condition.reads, self.env, compiled.define_reads)
            key: tuple[Any, ...] = (owner.id, id(condition), UNKNOWN_KEY, missing)
            return compiled.described(key, self._unknown_reason, owner, message, condition, missing)
        if message is not None:  # found false: its own words, the same every time
            return compiled.fixed_reason(owner, requirement)
        sides = condition.sides
        if sides is not None and sides[3] in _COUNTED:  # `minutes >= 20` found false: the two sides' values
            left, right = sides[0](self.env), sides[1](self.env)
            if type(left) is int and type(right) is int and isinstance(condition.expr, s.Compare):
                key = (owner.id, id(condition), left, right)
                return compiled.described(key, self._described, owner, condition, value)
        return self._described(owner, condition, value)

    @staticmethod
    def _unknown_reason(owner: Header, message: str | None, condition: Condition, missing: tuple[str, ...]) -> Reason:
        """The reason of a condition that could not be decided, `missing` the facts it lacks."""
        what = not_recorded_text(missing)
        if message is None:
            text = f"{what}, so `{condition.text}` cannot be checked"
        else:  # not "consent obtained after the month" when the date is not recorded
            text = f"{what}: cannot rule out \"{message}\""
        return Reason(owner.id, owner.title, owner.cites, owner.source, text)

    def _described(self, owner: Header, condition: Condition, value: Any) -> Reason:
        return Reason(owner.id, owner.title, owner.cites, owner.source, self.describe(condition, value))

    def not_recorded(self, condition: Condition) -> str:
        """`consent.date` not recorded: the facts a condition needs that the bundle does not hold."""
        return not_recorded_text(missing_reads(condition.reads, self.env, self.compiled.define_reads))

    def describe(self, condition: Condition, value: Any) -> str:
        """A reason written from the failed condition, e.g. `19 of 20 minutes (1 more needed)`."""
        if value is UNKNOWN:
            return f"{self.not_recorded(condition)}, so `{condition.text}` cannot be checked"
        expr = condition.expr
        if condition.sides is not None and isinstance(expr, s.Compare):
            left_fn, right_fn, name, vtype = condition.sides
            left, right = left_fn(self.env), right_fn(self.env)
            if vtype in _COUNTED and left is not UNKNOWN and right is not UNKNOWN:
                need = right + (1 if expr.op == ">" and vtype in (MINUTES, COUNT) else 0)
                unit = " minutes" if vtype is MINUTES else ""
                return f"{name}: {show(left)} of {show(need)}{unit} ({show(need - left)} more needed)"
        values = ", ".join(f"{label} = {show(reader(self.env))}" for label, _kind, reader in condition.reads)
        return f"`{condition.text}` does not hold" + (f" ({values})" if values else "")

    def _claim_reason(self, header: Header, claim: Mapping[str, Any], when: str = "this month") -> Reason:
        """`99490 already paid to the same practitioner (P1) this month: ...`: made once for its
        values (CompiledPolicySet.described: bounded) when they are plain text, as they usually are."""
        code, by, status = claim.get("code"), claim.get("practitioner"), claim.get("status")
        if type(code) is str and type(by) is str and (status is None or type(status) is str):
            key = (header.id, id(header), code, by, by == self.me, status, when)
            return self.compiled.described(key, self._claim_reason_made, header, claim, when)
        return self._claim_reason_made(header, claim, when)

    def _claim_reason_made(self, header: Header, claim: Mapping[str, Any], when: str) -> Reason:
        by = claim.get("practitioner")
        if by is None:  # `practitioner` is optional on a claim: not "another practitioner (None)"
            whom = "a practitioner the claim does not name"
        else:
            whom = f"the same practitioner ({by})" if by == self.me else f"another practitioner ({by})"
        status = "paid to" if claim.get("status") == "paid" else "claimed by"
        text = f"{claim.get('code')} already {status} {whom} {when}: {header.title}"
        return Reason(header.id, header.title, header.cites, header.source, text)
