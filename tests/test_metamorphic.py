"""Metamorphic properties: changes to a bundle whose effect on the decision cms-rules.md fixes.

No expected answer is written down: each property compares the decision of a generated bundle
(benchmarks/bundle_generator.py, seeded) with the decision of the same bundle changed in a way the
reference or the contract says cannot matter, or can matter in one direction only:

- the order of `time`, `chronic_conditions`, `other_claims_this_month`, `prior_claims`, the consent's
  services and of every mapping's keys (the contract gives lists no order): the same decision,
  apart from the index a note gives a time entry, the order of a denied code's reasons and of the
  claims to withdraw (the docs fix none: they follow the claims' order);
- practitioner ids renamed consistently: the same decision once the ids are named back;
- one time entry split into two of the same minutes, day and kind: the same decision (a note on an
  entry outside the month is said per entry);
- a time entry that cannot count (non-clinical staff, or another practitioner's, §1.4): the same
  codes, units and shares;
- SLMB, QI and no dual status owe alike (§7.2: Medicaid pays the Part B premium only); a QMB owes
  nothing (§7.2); less deductible remaining, or a Medigap plan, never raises the share (§7.1, §7.3);
- a chronic condition listed again under its ICD-10 code (as written, in small letters or without
  its dot): the same decision; one condition is never counted as a second (§2.1, `count distinct`);
- the bundle and every date in it moved to another month of the same year in which no rule or
  amount changes (§8.1, §9): the same codes, units, amounts and shares.

The driver that ran these over the 20,000 benchmark bundles (and more relations) is described in
the session-35 hE report; these are the ones that held everywhere it looked.
"""

from __future__ import annotations

import calendar
import copy
import json
import re
from decimal import Decimal
from typing import Any

from carepolicy.engine import Bundle, PolicySet, evaluate, load_fact_text, to_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.bench_evaluate import make_bundles
from benchmarks.bench_facts import as_json

_LINE = re.compile(r"\.policy:\d+")
_ENTRY = re.compile(r"^time\[\d+\] \((\d+) minutes of (\S+) by `([^`]*)`\) is dated (\S+), outside")
_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decide(policies: PolicySet, bundle: dict[str, Any]) -> dict[str, Any]:
    [item] = load_fact_text(json.dumps(bundle) + "\n", name="<meta>.jsonl", fmt="jsonl")
    assert isinstance(item, Bundle), item
    decision: dict[str, Any] = json.loads(to_json(evaluate(policies, item, trace=False)))
    return decision


def generated(data: st.DataObject) -> dict[str, Any]:
    [bundle] = make_bundles(1, data.draw(st.integers(0, 100_000), label="seed"))
    plain: dict[str, Any] = json.loads(json.dumps(as_json(bundle)))
    return plain


def comparable(decision: dict[str, Any]) -> str:
    """The decision without what names the input rather than decides it (ids, hashes, the line of a
    policy), with what the docs leave to input order normalised: the position of a time entry in a
    note (and its note per entry: minutes added up per kind and date), a denied code's reasons."""
    d = {k: v for k, v in decision.items() if k not in ("decision_id", "facts_hash", "bundle_id")}
    notes, entries = [], {}
    for note in d.get("notes", []):
        m = _ENTRY.match(note)
        if m:
            key = f"{m.group(2)} {m.group(3)} {m.group(4)}"
            entries[key] = entries.get(key, 0) + int(m.group(1))
        else:
            notes.append(note)
    d["notes"] = notes + sorted(f"{k}: {v}" for k, v in entries.items())
    d["denied"] = [{**x, "reasons": sorted(x["reasons"], key=lambda r: json.dumps(r, sort_keys=True))}
                   for x in d.get("denied", [])]
    d["withdraw"] = sorted(d.get("withdraw", []), key=lambda w: json.dumps(w, sort_keys=True))  # claims' order
    return _LINE.sub(".policy", json.dumps(d, sort_keys=True))


def lines(decision: dict[str, Any]) -> tuple[Any, ...]:
    """What is billed and what the beneficiary owes: codes, units, amounts, shares."""
    billed = sorted(json.dumps([x["code"], x["units"], x["allowed"], x["shares"]], sort_keys=True)
                    for x in decision["billable"])
    return (billed, decision["patient_responsibility"])


def share(decision: dict[str, Any]) -> Decimal | None:
    owed = decision["patient_responsibility"]
    return None if owed is None else Decimal(owed)


def shuffled(data: st.DataObject, value: Any) -> Any:
    if isinstance(value, dict):
        keys = data.draw(st.permutations(list(value)), label="keys")
        return {k: shuffled(data, value[k]) for k in keys}
    if isinstance(value, list):
        return [shuffled(data, v) for v in value]
    return value


@SETTINGS
@given(st.data())
def test_the_order_of_lists_and_keys_does_not_change_the_decision(policies: PolicySet, data: st.DataObject) -> None:
    bundle = generated(data)
    moved = copy.deepcopy(bundle)
    for key in ("time", "chronic_conditions", "other_claims_this_month", "prior_claims"):
        if isinstance(moved.get(key), list):
            moved[key] = data.draw(st.permutations(moved[key]), label=key)
    consent = moved.get("consent")
    if isinstance(consent, dict) and isinstance(consent.get("service"), list):
        consent["service"] = data.draw(st.permutations(consent["service"]), label="services")
    assert comparable(decide(policies, shuffled(data, moved))) == comparable(decide(policies, bundle))


def practitioner_places(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Every mapping whose `practitioner` (or, for the practitioner, `id`) names a practitioner."""
    places = [e for key in ("time", "other_claims_this_month", "prior_claims") for e in bundle.get(key) or []]
    places += [bundle[key] for key in ("consent", "initiating_visit") if isinstance(bundle.get(key), dict)]
    return places


@SETTINGS
@given(st.data())
def test_renaming_practitioners_changes_only_the_names(policies: PolicySet, data: st.DataObject) -> None:
    bundle = generated(data)
    renamed = copy.deepcopy(bundle)
    # names no id, reason or note contains, so that naming them back cannot touch other text
    names = {old: f"Zq{i}x{data.draw(st.integers(0, 999), label='name')}" for i, old in enumerate(
        sorted({bundle["practitioner"]["id"]} | {p["practitioner"] for p in practitioner_places(bundle)
                                                  if isinstance(p.get("practitioner"), str)}))}
    renamed["practitioner"]["id"] = names[bundle["practitioner"]["id"]]
    for place in practitioner_places(renamed):
        if isinstance(place.get("practitioner"), str):
            place["practitioner"] = names[place["practitioner"]]
    text = json.dumps(decide(policies, renamed))
    for old, new in names.items():
        text = text.replace(new, old)
    assert comparable(json.loads(text)) == comparable(decide(policies, bundle))


@SETTINGS
@given(st.data())
def test_splitting_a_time_entry_does_not_change_the_decision(policies: PolicySet, data: st.DataObject) -> None:
    bundle = generated(data)
    entries = [i for i, e in enumerate(bundle.get("time") or []) if e.get("minutes", 0) >= 2]
    if not entries:
        return
    split = copy.deepcopy(bundle)
    i = data.draw(st.sampled_from(entries), label="entry")
    part = data.draw(st.integers(1, split["time"][i]["minutes"] - 1), label="part")
    split["time"][i]["minutes"] -= part
    split["time"].insert(i + 1, {**split["time"][i], "minutes": part})
    assert comparable(decide(policies, split)) == comparable(decide(policies, bundle))


@SETTINGS
@given(st.data())
def test_time_that_cannot_count_changes_nothing_billed(policies: PolicySet, data: st.DataObject) -> None:
    bundle = generated(data)
    service = data.draw(st.sampled_from(["ccm", "pcm", "bhi", "cocm", "apcm", "rpm"]), label="service")
    minutes = data.draw(st.integers(1, 120), label="minutes")
    entry = data.draw(st.sampled_from([
        {"practitioner": bundle["practitioner"]["id"], "by": "non_clinical_staff"},
        {"practitioner": "another practitioner", "by": "clinical_staff"},
        {"practitioner": "another practitioner", "by": "billing_practitioner"},
    ]), label="whose")
    more = copy.deepcopy(bundle)
    more.setdefault("time", []).append({**entry, "minutes": minutes, "service": service})
    assert lines(decide(policies, more)) == lines(decide(policies, bundle))


@SETTINGS
@given(st.data())
def test_cost_sharing_moves_one_way(policies: PolicySet, data: st.DataObject) -> None:
    bundle = generated(data)
    base = decide(policies, bundle)
    beneficiary = bundle["beneficiary"]
    if beneficiary["dual_status"] in ("none", "slmb", "qi"):
        other = data.draw(st.sampled_from(["none", "slmb", "qi"]), label="dual")
        changed = decide(policies, {**bundle, "beneficiary": {**beneficiary, "dual_status": other}})
        assert lines(changed) == lines(base), f"{beneficiary['dual_status']} -> {other}"
    qmb = decide(policies, {**bundle, "beneficiary": {**beneficiary, "dual_status": "qmb"}})
    assert share(qmb) in (None, 0)
    before = share(base)
    less = data.draw(st.sampled_from(["0", "0.01", "100"]), label="deductible")
    if Decimal(less) < Decimal(str(beneficiary["deductible_remaining"])):
        after = decide(policies, {**bundle, "beneficiary": {**beneficiary, "deductible_remaining": float(less)}})
        assert before is None or share(after) is None or share(after) <= before
    if beneficiary["medigap_plan"] is None:
        plan = data.draw(st.sampled_from("ABCDFGKLMN"), label="plan")
        insured = decide(policies, {**bundle, "beneficiary": {
            **beneficiary, "medigap_plan": plan, "medicare_eligible_before_2020": True}})
        assert before is None or share(insured) is None or share(insured) <= before, plan


@SETTINGS
@given(st.data())
def test_a_condition_listed_twice_is_not_two_conditions(policies: PolicySet, data: st.DataObject) -> None:
    bundle = generated(data)
    conditions = bundle.get("chronic_conditions") or []
    if not conditions:
        return
    twice = copy.deepcopy(bundle)
    entry = copy.deepcopy(data.draw(st.sampled_from(conditions), label="condition"))
    if not entry.get("icd10"):
        return  # an entry without a code may be another condition: it counts as one (docs/language.md)
    spell = data.draw(st.sampled_from([str, str.lower, lambda code: code.replace(".", "")]), label="spelling")
    entry["icd10"] = spell(entry["icd10"])
    twice["chronic_conditions"].insert(data.draw(st.integers(0, len(conditions)), label="at"), entry)
    assert comparable(decide(policies, twice)) == comparable(decide(policies, bundle))


def moved_months(value: Any, by: int) -> Any:
    """Every date and month of a bundle `by` months later (days kept: the caller avoids days past 28)."""
    if isinstance(value, dict):
        return {k: moved_months(v, by) for k, v in value.items()}
    if isinstance(value, list):
        return [moved_months(v, by) for v in value]
    m = _DATE.match(value) if isinstance(value, str) else None
    if m is None:
        return value
    year, month = divmod(int(m.group(1)) * 12 + int(m.group(2)) - 1 + by, 12)
    return f"{year:04d}-{month + 1:02d}" + ("" if m.group(3) is None else f"-{m.group(3)}")


def same_rules_months(bundle: dict[str, Any]) -> list[int]:
    """The months of the bundle's year whose rules and amounts are those of its month: 2025 and 2026
    whole; 2024 from April (the conversion factor changed on 2024-03-09, §8.1); an RHC/FQHC's 2025
    on the same side of the G0511 transition's end (June 30, or September 30, §6 (L))."""
    year, month = int(bundle["month"][:4]), int(bundle["month"][5:])
    if year == 2024:
        return list(range(4, 13)) if month >= 4 else []
    if year == 2025 and bundle["practitioner"]["kind"] == "fqhc":
        return list(range(1, 7)) if month <= 6 else list(range(10, 13)) if month >= 10 else []
    return list(range(1, 13))


@SETTINGS
@given(st.data())
def test_another_month_of_the_same_rules_bills_alike(policies: PolicySet, data: st.DataObject) -> None:
    bundle = generated(data)
    months = [m for m in same_rules_months(bundle) if m != int(bundle["month"][5:])]
    days = re.findall(r'"\d{4}-\d{2}-(\d{2})"', json.dumps(bundle))
    if not months or any(int(d) > 28 for d in days) or (bundle.get("rpm") or {}).get("device_days", 0) > 28:
        return  # a day or a device day past the 28th does not move to every month
    to = data.draw(st.sampled_from(months), label="month")
    moved = moved_months(bundle, to - int(bundle["month"][5:]))
    assert calendar.monthrange(int(moved["month"][:4]), to)[1] >= 28
    base, after = decide(policies, bundle), decide(policies, moved)
    assert lines(after) == lines(base)
    assert sorted(x["code"] for x in after["denied"]) == sorted(x["code"] for x in base["denied"])
