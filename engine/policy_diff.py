"""Two editions of a policy set, the same bundles: which decisions change, and which declaration
change caused each (`carepolicy diff`).

The two sets are compared declaration by declaration: what each declaration says (its syntax
tree: comments, spacing and line breaks aside) under its kind and id, parameter values one by one
(by their effective interval) and a parameter's own clauses apart, switches with their options and
default. A changed decision is attributed to the changed declarations its traces used (under
either edition): the rules, codes, exclusions and pricing its trace nodes name, the exclusions and
exclusive groups behind the denial reasons that differ, the RVU tables their prices came from, and
the parameters, definitions and switches they read; a parameter read through a definition counts
for that definition. A changed decision that uses no changed declaration is listed as unattributed
(say, a change the traces do not name).
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from .decision.model import Decision
from .decision.trace_nodes import TraceNode
from .diagnostics import plural
from .language import syntax as s
from .language.format import without_spans

UNATTRIBUTED = "(no changed declaration in its trace)"


def _meaning(node: object) -> object:
    """What a declaration (or parameter value) says, as nested tuples: its syntax tree without
    places. Comments, spacing and line breaks are not in the tree, so re-laying a clause, adding a
    comment line inside a declaration or running `carepolicy fmt` changes nothing here; an edited
    cite, threshold or title does."""
    return without_spans(node)


def declaration_texts(policies: Any) -> dict[str, tuple[str, object, object]]:
    """label -> (the name traces use for it, what it says, what it says but for its `effective`);
    parameter values one by one, and a parameter's own clauses (cites, `otherwise unknown`) apart."""
    texts: dict[str, tuple[str, object, object]] = {}
    for decl in policies.checked.index.declarations():
        if isinstance(decl, s.Parameter):
            for value in decl.values:
                said = _meaning(value)
                texts[f"parameter {decl.id} value effective {value.effective}"] = (decl.id, said, said)
            own = _meaning(replace(decl, values=()))
            texts[f"parameter {decl.id}"] = (decl.id, own, own)
            continue
        label = f"{decl.kind} {decl.id}" + (f" effective {decl.effective}" if decl.effective else "")
        texts[label] = (decl.id, _meaning(decl), _meaning(replace(decl, effective=None)))
    return texts


def changed_declarations(old: Any, new: Any) -> dict[str, str]:
    """label -> the name a trace would use, for every declaration added (`... (new)`), removed
    (`... (removed)`) or changed."""
    before, after = declaration_texts(old), declaration_texts(new)
    changed = {
        label: (after.get(label) or before[label])[0]
        for label in sorted(before.keys() | after.keys())
        if before.get(label, ("", None))[1] != after.get(label, ("", None))[1]
    }
    # A declaration whose `effective` moved (`pricing pfs.national` to a new year) is one change,
    # not one removed and one added; parameter values stay one by one, each its own year.
    for key in {label.partition(" effective ")[0] for label in changed if not label.startswith("parameter ")}:
        same = [label for label in changed if label.partition(" effective ")[0] == key]
        gone, added = [la for la in same if la not in after], [la for la in same if la not in before]
        if len(gone) == 1 and len(added) == 1:
            name = changed.pop(gone[0])
            del changed[added[0]]
            was = gone[0].partition(" effective ")[2]
            edited = before[gone[0]][2] != after[added[0]][2]
            changed[f"{added[0]} (was {was}{'; and edited' if edited else ''})"] = name
    # Said of a declaration (or parameter value) that only one edition has: a new year's value
    # reads `(new)`, not as if an existing value had changed.
    only = dict.fromkeys(before.keys() - after.keys(), " (removed)")
    only |= dict.fromkeys(after.keys() - before.keys(), " (new)")
    marked = {label + only.get(label, ""): name for label, name in changed.items()}
    return dict(sorted(marked.items()))


def _read_names(nodes: Iterable[TraceNode], found: set[str]) -> set[str]:
    """The parameters, definitions and switches a trace read (pricing names its factor and its RVU
    table in text)."""
    for node in nodes:
        found.update(read.name for read in node.reads)
        found.update(re.findall(r"× (\w+) \$", node.result))
        found.update(re.findall(r"\brvu table ([\w.]+)", node.result))
        _read_names(node.children, found)
    return found


def _results(nodes: Iterable[TraceNode], found: dict[str, list[str]]) -> dict[str, list[str]]:
    """Each declaration's verdicts in a trace (rules, codes, requirements, exclusions, pricing...)."""
    for node in nodes:
        found.setdefault(node.id.split(":")[0], []).append(node.result)
        _results(node.children, found)
    return found


_CHOSEN = re.compile(r", which was chosen: (.+)$")


def _denial_names(before: Decision, after: Decision, titles: Mapping[str, set[str]]) -> set[str]:
    """The rules behind the denial reasons that differ. An exclusion or exclusive group has no
    trace node: a code it ruled out by a claim on file names it as the reason's rule, and one it
    kept out of the chosen coding only by its title (`not billed with 99490, which was chosen:
    TITLE`), looked up in `titles` (either edition's; a shared title names each)."""
    def reasons(decision: Decision) -> set[tuple[str, str]]:
        return {(reason.rule, reason.text) for denial in decision.denied for reason in denial.reasons}

    found: set[str] = set()
    for rule, text in reasons(before) ^ reasons(after):
        found.add(rule)
        chosen = _CHOSEN.search(text)
        if chosen is not None:
            found |= titles.get(chosen.group(1), set())
    return found


def _titles(*editions: Any) -> dict[str, set[str]]:
    """title -> the ids of the declarations with that title, in any of the editions."""
    found: dict[str, set[str]] = defaultdict(set)
    for policies in editions:
        for decl in policies.checked.index.declarations():
            found[decl.title].add(decl.id)
    return found


def _used_names(before: Decision, after: Decision, titles: Mapping[str, set[str]]) -> set[str]:
    """What a changed decision depends on that changed: declarations whose verdict differs between
    the two traces or in the denials, and every value both read (a parameter's change shows as a
    different figure)."""
    was, now = _results(before.trace or (), {}), _results(after.trace or (), {})
    differing = {name for name in was.keys() | now.keys() if was.get(name) != now.get(name)}
    differing |= _denial_names(before, after, titles)
    return differing | _read_names(before.trace or (), set()) | _read_names(after.trace or (), set())


@dataclass(frozen=True, slots=True)
class Outcome:
    billable: tuple[tuple[str, int], ...]
    denied: tuple[str, ...]
    allowed: Decimal | None
    beneficiary: Decimal | None

    @staticmethod
    def of(decision: Decision) -> Outcome:
        return Outcome(
            tuple(sorted((line.code, line.units) for line in decision.billable)),
            tuple(sorted({d.code for d in decision.denied})),
            decision.totals.allowed,
            decision.patient_responsibility,
        )

    def show(self) -> str:
        codes = ", ".join(f"{c}×{u}" for c, u in self.billable) or "nothing"
        return f"{codes}; allowed {_money(self.allowed)}, beneficiary {_money(self.beneficiary)}"


def _denials_moved(was: Outcome, now: Outcome) -> str:
    """` (now denied: G9999; no longer denied: 99457)`, or nothing: the billing and amounts do not
    show a denied code that came or went, which may be all that changed."""
    came = [code for code in now.denied if code not in was.denied]
    went = [code for code in was.denied if code not in now.denied]
    said = [f"now denied: {', '.join(came)}"] if came else []
    said += [f"no longer denied: {', '.join(went)}"] if went else []
    return f" ({'; '.join(said)})" if said else ""


def _money(value: Decimal | None) -> str:
    return "not determined" if value is None else f"${value:.2f}"


@dataclass
class Group:
    cause: str
    bundles: list[tuple[str, Outcome, Outcome]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)  # each decision's place among those compared

    def totals(self) -> dict[str, str | None]:
        def total(values: Sequence[Decimal | None]) -> str | None:
            known = [v for v in values if v is not None]
            return f"{sum(known, Decimal(0)):.2f}" if known else None

        return {
            "allowed_before": total([b.allowed for _, b, _ in self.bundles]),
            "allowed_after": total([a.allowed for _, _, a in self.bundles]),
            "beneficiary_before": total([b.beneficiary for _, b, _ in self.bundles]),
            "beneficiary_after": total([a.beneficiary for _, _, a in self.bundles]),
        }


def last_day(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{month[:7]}-{calendar.monthrange(year, number)[1]:02d}"


def attribute(
    changed: Mapping[str, str], used: set[str], month: str, behind: Mapping[str, set[str]]
) -> list[str]:
    """The changed declarations (labels) a decision's traces used."""
    names = set(used)
    for name in used:
        names |= behind.get(name, set())
    causes = []
    for label, name in changed.items():
        if name not in names:
            continue
        interval, _, note = label.partition(" effective ")[2].partition(" (")
        day = last_day(month)
        if label.startswith("parameter ") and interval and not _contains(interval, day):
            continue  # a value of another year of a parameter this decision read
        was = note.removeprefix("was ").removesuffix(")")
        if note.startswith("was ") and ";" not in note and _contains(interval, day) == _contains(was, day):
            continue  # only its interval moved, and not across this month: in effect (or not) in both
        causes.append(label)
    return causes


def _contains(interval: str, day: str) -> bool:
    start, _, end = interval.partition("..")
    return (not start or start <= day) and (not end or day <= end)


def diff_decisions(old: Any, new: Any, bundles: Iterable[Any], evaluate: Any) -> tuple[dict[str, Group], int]:
    """Groups of changed decisions by cause, and how many bundles were compared."""
    from .coverage import _parameters_behind

    changed = changed_declarations(old, new)
    behind = {**_parameters_behind(old.checked.index), **_parameters_behind(new.checked.index)}
    titles = _titles(old, new)
    groups: dict[str, Group] = defaultdict(lambda: Group(""))
    compared = 0
    for bundle in bundles:
        compared += 1
        before, after = evaluate(old, bundle, trace=True), evaluate(new, bundle, trace=True)
        was, now = Outcome.of(before), Outcome.of(after)
        if was == now:
            continue
        used = _used_names(before, after, titles)
        for cause in attribute(changed, used, bundle.month, behind) or [UNATTRIBUTED]:
            group = groups[cause]
            group.cause = cause
            group.bundles.append((bundle.id, was, now))
            group.numbers.append(compared)
    return dict(sorted(groups.items())), compared


def render_text(groups: Mapping[str, Group], compared: int, changed: Mapping[str, str]) -> str:
    verb = "differs" if len(changed) == 1 else "differ"
    out = [f"{plural(len(changed), 'declaration')} {verb}" + (":" if changed else "")]
    out += [f"  {label}" for label in changed]  # one a line: a new year changes a dozen
    # by place, not by bundle id: ids need not be unique across files (one patient, two months)
    affected = {number for group in groups.values() for number in group.numbers}
    out.append(f"{len(affected)} of {compared} decisions change")
    for cause, group in groups.items():
        totals = group.totals()
        out.append("")
        out.append(f"{cause}: {plural(len(group.bundles), 'decision')}")
        shown = {key: "not determined" if total is None else total for key, total in totals.items()}
        out.append(
            f"  allowed {shown['allowed_before']} -> {shown['allowed_after']}, "
            f"beneficiary {shown['beneficiary_before']} -> {shown['beneficiary_after']}"
        )
        for bundle, was, now in group.bundles:
            out.append(f"  {bundle}: {was.show()}  ->  {now.show()}{_denials_moved(was, now)}")
    return "\n".join(out) + "\n"


def to_json_obj(groups: Mapping[str, Group], compared: int, changed: Mapping[str, str]) -> dict[str, Any]:
    def outcome(o: Outcome) -> dict[str, Any]:
        return {
            "billable": [{"code": c, "units": u} for c, u in o.billable],
            "denied": list(o.denied),
            "allowed": None if o.allowed is None else f"{o.allowed:.2f}",
            "beneficiary": None if o.beneficiary is None else f"{o.beneficiary:.2f}",
        }

    return {
        "compared": compared,
        "changed_declarations": list(changed),
        "groups": [
            {
                "cause": cause,
                "count": len(group.bundles),
                **group.totals(),
                "decisions": [
                    {"bundle_id": b, "before": outcome(was), "after": outcome(now)} for b, was, now in group.bundles
                ],
            }
            for cause, group in groups.items()
        ],
    }
