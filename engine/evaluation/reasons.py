"""The words of a denial: the reasons evaluation writes from what it found (rules.py uses them).

A condition that did not hold denies with its own words (`requires ... "message"`), or with words
made from the values it compared (`ccm_staff_minutes: 19 of 20 minutes (1 more needed)`) or the
facts it lacked (`` `consents.ccm.date` not recorded ``); a claim on file denies with its code,
practitioner and status. A batch meets the same few of each again and again, so each is made once
for its values and shared (`CompiledPolicySet.described`, bounded), and so are the denials made of
them (`CompiledPolicySet.denial`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def _not_recorded(names: Sequence[str]) -> str:
    return (", ".join(f"`{n}`" for n in names) + " not recorded") if names else "a fact it needs is not recorded"


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
            missing = tuple(label for label, _kind, reader in condition.reads if reader(self.env) is UNKNOWN)
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
        what = _not_recorded(missing)
        if message is None:
            text = f"{what}, so `{condition.text}` cannot be checked"
        else:  # not "consent obtained after the month" when the date is not recorded
            text = f"{what}: cannot rule out \"{message}\""
        return Reason(owner.id, owner.title, owner.cites, owner.source, text)

    def _described(self, owner: Header, condition: Condition, value: Any) -> Reason:
        return Reason(owner.id, owner.title, owner.cites, owner.source, self.describe(condition, value))

    def not_recorded(self, condition: Condition) -> str:
        """`consent.date` not recorded: the facts a condition needs that the bundle does not hold."""
        return _not_recorded([label for label, _kind, reader in condition.reads if reader(self.env) is UNKNOWN])

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
