"""The list entries a bundle gives without a field the rules need to count them: named in the notes.

The fact contract (shared/design/fact-bundle-v1.md) writes a time entry as `{practitioner, by,
minutes, service, date?, also_claimed_for?}`; the schema accepts one without any of them, so a
bundle an export left a column out of is still decided. The rules then cannot count such an entry:
a `where` they cannot decide for an entry leaves it out (`ExprCompiler._aggregate`), and a `sum`
reads a missing field as nothing. A 35-minute CCM entry without its practitioner made "15 of 20
minutes" with no word of the 35. That is a value changed silently; an error would refuse bundles
the contract's owners may well send (the public scenarios always write these fields, but nothing
says every sender does), so the decision keeps its answer and its notes name each such entry and
what it lacks, as they name a time entry dated outside the month (impossible.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .impossible import outside_month_notes
from .limits import MAX_NOTES, shortened

# list -> (the fields its entries need to count, what the rules do with an entry without one).
# Only fields the rules read to count or match an entry: a claim without a practitioner is already
# worded in its reasons ("a practitioner the claim does not name"), a condition's name and ICD-10
# code are read by no rule, and a time entry's date is optional (an undated entry is in the month).
NEEDED: dict[str, tuple[tuple[str, ...], str]] = {
    "time": (("practitioner", "by", "minutes", "service"), "not counted in any minutes"),
    "chronic_conditions": (("expected_months", "significant_risk"), "not counted as a qualifying condition"),
    "other_claims_this_month": (("code",), "not compared with any code"),
    "prior_claims": (("code",), "not compared with any code"),
    "claims": (("code",), "not compared with any code"),  # fact bundle v2's one list of claims
}


def incomplete_entry_notes(bundle: Mapping[str, Any]) -> tuple[str, ...]:
    """A note for each entry of a list in `NEEDED` that lacks a field it names: the first
    `MAX_NOTES`, then one that counts the rest. Run on a bundle that passed the schema, which gives
    none of these fields a null: a field is lacking when its key is absent.

    Only the precise path runs it (bundle.py): the typed path and the fast walk read a bundle
    against `needing_every_field` (an entry without one is not theirs to decide), so the bundles
    of a batch, nearly all complete, pay nothing for it: run on batch's path, a loop over every
    entry of every bundle cost +2.9% instructions a record (callgrind, session 30)."""
    found = [(name, i, entry) for name in NEEDED for i, entry in enumerate(bundle.get(name) or ())
             if isinstance(entry, Mapping) and any(field not in entry for field in NEEDED[name][0])]
    return _worded(found) if found else ()


def needing_every_field(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a bundle schema whose list entries require the fields of `NEEDED`: what the typed
    path and the fast walk accept, so that every bundle with an entry lacking one goes to the precise
    path, which names it (`incomplete_entry_notes`). The shipped schema stays as it is: such a bundle is
    valid."""
    properties = dict(schema["properties"])
    for name, (fields, _) in NEEDED.items():
        listed = properties.get(name)
        if isinstance(listed, Mapping) and isinstance(listed.get("items"), Mapping):
            items = dict(listed["items"])
            items["required"] = sorted({*items.get("required", ()), *fields})
            properties[name] = {**listed, "items": items}
    return {**schema, "properties": properties}


def _worded(found: list[tuple[str, int, Mapping[str, Any]]]) -> tuple[str, ...]:
    notes = []
    for name, i, entry in found[:MAX_NOTES]:
        fields, consequence = NEEDED[name]
        missing = ", ".join(f"`{field}`" for field in fields if field not in entry)
        notes.append(f"{name}[{i}]{_described(name, entry)} has no {missing}: {consequence}")
    if len(found) > MAX_NOTES:
        notes.append(f"{len(found) - MAX_NOTES:,} more list entries lack a field the rules need to count them "
                     f"(a decision names at most {MAX_NOTES} of them)")
    return tuple(notes)


def _described(name: str, entry: Mapping[str, Any]) -> str:
    """What identifies an entry to the reader beside its position: a time entry's minutes, service
    and practitioner, a condition's name, a claim's code (those of them the entry gives)."""
    if name == "time":
        minutes, service, who = entry.get("minutes"), entry.get("service"), entry.get("practitioner")
        parts = [f"{minutes} minutes" if minutes is not None else None,
                 (f"of {service}" if minutes is not None else str(service)) if service is not None else None,
                 f"by `{shortened(str(who))}`" if who is not None else None]
        text = " ".join(part for part in parts if part)
    elif name == "chronic_conditions":
        text = shortened(str(entry["name"])) if entry.get("name") is not None else ""
    else:
        text = f"`{shortened(str(entry['practitioner']))}`" if entry.get("practitioner") is not None else ""
    return f" ({text})" if text else ""


def entry_notes(bundle: Mapping[str, Any]) -> tuple[str, ...]:
    """Every note the precise path gives a bundle: its time entries dated outside the service month,
    then its entries that lack a field the rules need (the typed path and the fast walk give the
    first kind only: they never take a bundle with the second)."""
    return (*outside_month_notes(bundle), *incomplete_entry_notes(bundle))
