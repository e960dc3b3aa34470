"""How many units of an add-on a month's minutes give: the unit-counting part of `Evaluation` (rules.py).

A code with `units each 20 minutes of ... beyond ...` (or `units = N`, capped by `at most`) is
billed for as many units as its measure gives; the next unit's distance (`35 of 40 minutes (5 more
needed)`) is kept as a reason, and no unit at all denies the code. It is a module of its own
because it is arithmetic on the numbers a code's clauses give, not rule evaluation: the
interpreter's `code` calls `units_of`, and the generated codes function (codegen_plan.py) works
the numbers out inline and calls `count_units`.
"""

from __future__ import annotations

from typing import Any

from ..compile.compiled import CompiledCode
from ..compile.outcomes import CodeOutcome
from ..compile.policy_set import CompiledPolicySet, Counted
from ..compile.runtime import UNKNOWN, Env
from ..decision.model import Reason
from .reasons import UNKNOWN_KEY, missing_reads, not_recorded_text

_INT_OR_NONE = (int, type(None))  # the types of an add-on's cap whose units are memoised (units_of)


class UnitCounter:
    """The unit-counting part of `Evaluation` (rules.py): what it reads of the evaluation."""

    env: Env
    compiled: CompiledPolicySet

    def units_of(self, outcome: CodeOutcome) -> None:
        """How many units of an add-on the minutes give, capped; the next unit's distance as a reason."""
        code = outcome.code
        if code.unit_count is not None:
            self._counted_units(outcome, code.unit_count)
            return
        assert code.units is not None
        env = self.env
        increment_fn, measure_fn, beyond_fn = code.units
        self.count_units(outcome, increment_fn(env), measure_fn(env), beyond_fn(env))

    def count_units(self, outcome: CodeOutcome, increment: Any, measure: Any, beyond: Any) -> None:
        """`units_of` for the values of the code's `units each ... of ... beyond ...` (the generated
        codes function works them out inline, and calls this)."""
        code = outcome.code
        header = code.header
        if increment is UNKNOWN or measure is UNKNOWN or beyond is UNKNOWN:
            outcome.units = 0
            # the words depend only on which facts the units clause reads are missing (99494 without
            # `cocm.first_month` cannot tell which base's minutes to count beyond)
            missing = self._missing(code)
            text = self._uncounted(code, missing)
            unknown_key = (header.id, id(code), UNKNOWN_KEY, missing)
            cites = code.unit_cites
            outcome.reasons.append(
                self.compiled.described(unknown_key, Reason, header.id, header.title, cites, header.source, text)
            )
            return
        cap = code.unit_cap(self.env) if code.unit_cap is not None else None
        cap = None if cap is UNKNOWN else cap
        if type(measure) is int and type(increment) is int and type(beyond) is int and type(cap) in _INT_OR_NONE:
            # the usual case (minutes): what follows depends only on these four numbers, and a
            # batch meets the same few again and again, so it is worked out once (bounded: see
            # CompiledPolicySet.counted)
            key = (id(code), increment, measure, beyond, cap)
            self._apply_units(outcome, self.compiled.counted(key, self._count_units, code, *key[1:]))
            return
        self._apply_units(outcome, self._count_units(code, increment, measure, beyond, cap))

    def _missing(self, code: CompiledCode) -> tuple[str, ...]:
        """The facts and definitions the code's units clause reads that this bundle leaves unknown."""
        return missing_reads(code.unit_reads, self.env, self.compiled.define_reads)

    @staticmethod
    def _uncounted(code: CompiledCode, missing: tuple[str, ...]) -> str:
        """Why no units could be counted: the missing facts by name, as a failed condition says them
        (`` `cocm.first_month` not recorded ``), not "a fact it needs", and not "the minutes cannot be
        counted" when the minutes are known and only the point they are counted beyond is not."""
        return f"{not_recorded_text(missing)}, so the units of {code.measure_text} cannot be counted"

    @staticmethod
    def _apply_units(outcome: CodeOutcome, counted: Counted) -> None:
        units, next_unit, reason = counted
        if reason is not None:
            outcome.reasons.append(reason)
        outcome.next_unit = next_unit
        outcome.units = units

    @staticmethod
    def _count_units(code: CompiledCode, increment: Any, measure: Any, beyond: Any, cap: Any) -> Counted:
        """(units, the next unit and why it is not billed, a reason that denies the code) for known
        numbers: what `units_of` sets on an outcome."""
        header = code.header
        next_unit: tuple[int, Reason] | None = None
        denial: Reason | None = None
        units = max(0, (measure - beyond) // increment) if increment else 0
        unit = " minutes" if isinstance(measure, int) else ""
        if cap is not None and units > cap:
            next_unit = (
                cap + 1,
                Reason(
                    header.id,
                    header.title,
                    code.unit_cites,
                    header.source,
                    f"at most {cap} unit{'s' if cap != 1 else ''} per month",
                ),
            )
            units = cap
        elif cap is None or units < cap:
            needed = beyond + (units + 1) * increment
            text = f"{code.measure_text}: {measure} of {needed}{unit} ({needed - measure} more needed)"
            if code.decl.units is not None and code.decl.units.once is not None:  # `billed once when C`
                text = f"not billed: {code.measure_text} does not hold"
            reason = Reason(header.id, header.title, code.unit_cites, header.source, text)
            if units == 0:
                denial = reason
            else:
                next_unit = (units + 1, reason)
        return int(units), next_unit, denial

    def _counted_units(self, outcome: CodeOutcome, count_fn: Any) -> None:
        """`units = N`: N units, capped by `at most`; none (and a reason) when N is 0 or unknown."""
        code, header = outcome.code, outcome.code.header
        count = count_fn(self.env)
        cap = code.unit_cap(self.env) if code.unit_cap is not None else None
        if count is UNKNOWN or count < 1:
            outcome.units = 0
            if count is UNKNOWN:
                text = self._uncounted(code, self._missing(code))
            elif outcome.reasons:
                # already denied by its requirements, which say why in words (G0511: "no service this
                # month that meets its requirements"): "g0511_services is 0" only repeated it
                return
            else:
                text = f"{code.measure_text} is 0: nothing to bill"
            outcome.reasons.append(Reason(header.id, header.title, code.unit_cites, header.source, text))
            return
        units = int(count)
        if cap is not None and cap is not UNKNOWN and units > cap:
            text = f"at most {cap} unit{'s' if cap != 1 else ''} per month"
            outcome.next_unit = (int(cap) + 1, Reason(header.id, header.title, code.unit_cites, header.source, text))
            units = int(cap)
        outcome.units = units
