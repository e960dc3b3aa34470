"""Generated fact bundles, the input of the benchmarks (and of tests that reuse them).

`make_bundle` / `make_bundles` draw varied, schema-valid bundles from a seeded `random.Random`
(the same seed gives the same bundles); `to_yaml` writes them as a user's fact file holds them,
`json_line` / `write_input` as the JSON Lines a pipeline sends `carepolicy batch`. A module of its
own so that every benchmark measures the same bundles without importing another benchmark's script;
bench_evaluate.py still exports `make_bundle` and `make_bundles`, the names the tests import.
"""

from __future__ import annotations

import calendar
import json
import random
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

SEED = 20250101  # the seed of bench_batch.py's input and bench_evaluate.py's default
MONTHS = tuple(f"{year}-{month:02d}" for year in (2024, 2025, 2026) for month in range(1, 13))
SERVICES = ("ccm", "pcm", "apcm", "bhi", "rpm")
CONSENT_SERVICES = ("ccm", "pcm", "apcm", "bhi", "cocm", "rpm", "rtm")
LOGGED_BY = ("clinical_staff", "billing_practitioner", "non_clinical_staff")
DUAL = ("none", "none", "none", "qmb", "slmb", "qi", "full_benefit")
MEDIGAP = (None, None, "A", "B", "C", "D", "F", "G", "K", "L", "M", "N")
KINDS = ("physician", "physician", "physician", "np", "pa", "cns", "cnm", "rn", "fqhc")
CODES = ("99490", "99439", "99491", "99437", "99487", "99489", "99424", "99425", "99426", "99427", "99484",
         "99492", "99493", "99457", "99458", "G0506", "G0511", "G0556", "G0557", "G0558", "G2064", "G2065",
         "99495", "99496", "G0181", "90960")
CONDITIONS = (("diabetes", "E11.9"), ("hypertension", "I10"), ("heart failure", "I50.9"), ("copd", "J44.9"),
              ("ckd stage 3", "N18.30"), ("depression", "F33.1"), ("atrial fibrillation", "I48.91"),
              ("asthma", "J45.909"))
PRACTITIONERS = ("P1", "P1", "P1", "P2", "P3")
SPECIALTIES = ("family_medicine", "internal_medicine", "cardiology", "psychiatry", "nephrology")


# --------------------------------------------------------------------------- bundle generation


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    """A money amount between `low` and `high` dollars, to the cent, exactly."""
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def _day(rng: random.Random, month: str) -> str:
    return f"{month}-{rng.randint(1, 28):02d}"


def _month_before(month: str, back: int) -> str:
    year, number = int(month[:4]), int(month[5:])
    index = year * 12 + number - 1 - back
    return f"{index // 12}-{index % 12 + 1:02d}"


def make_bundle(rng: random.Random, number: int) -> dict[str, Any]:
    """One schema-valid fact bundle (fact bundle v1); every optional part is sometimes left out.

    Each bundle has a focus service: most of its time, and usually its consent, are for that
    service. About a third are "clean" (every yes/no fact is nearly always the helpful one), so a
    fair share of decisions bill something and pricing and cost sharing run too; the rest are
    denied for the usual reasons (no consent, too few minutes, wrong staff, no care plan, ...).
    """
    month = rng.choice(MONTHS)
    me = "P1"
    focus = rng.choice(SERVICES)
    clean = rng.random() < 0.35

    def chance(p: float) -> bool:
        """True with probability p (0.99 in a clean bundle)."""
        return rng.random() < (max(p, 0.99) if clean else p)
    bundle: dict[str, Any] = {"fact_bundle": 1, "id": f"b{number:06d}", "month": month}
    bundle["beneficiary"] = {
        "part_b": chance(0.96),
        "dual_status": rng.choice(DUAL),
        "medigap_plan": rng.choice(MEDIGAP),
        "deductible_remaining": rng.choice((Decimal(0), Decimal(0), _money(rng, 0, 257))),
        "medicare_eligible_before_2020": rng.random() < 0.6,
        "medigap_oop_limit_met": rng.random() < 0.1,
    }
    practitioner: dict[str, Any] = {
        "id": me,
        "kind": rng.choice(KINDS[:3] if clean else KINDS),
        "new_patient": not chance(0.94),
        "primary_care_focal_point": chance(0.8),
    }
    if chance(0.9):
        practitioner["last_visit"] = _day(rng, _month_before(month, rng.choice((0, 1, 2, 3, 5, 8, 11, 14, 30))))
    if rng.random() < 0.5:
        practitioner["specialty"] = rng.choice(SPECIALTIES)
    bundle["practitioner"] = practitioner
    if chance(0.9):
        bundle["practice"] = {key: chance(0.93) for key in
                              ("certified_ehr", "access_24_7", "continuity_designated_member",
                               "electronic_care_plan_shared")}
    conditions = []
    for name, icd10 in rng.sample(CONDITIONS, rng.choice((2, 3, 4) if clean else (0, 1, 1, 2, 2, 2, 3, 3, 4, 5))):
        conditions.append({"name": name, "icd10": icd10, "expected_months": rng.choice((3, 6, 12, 24, 60, 60)),
                           "significant_risk": chance(0.8), "pcm_criteria_met": chance(0.5)})
    bundle["chronic_conditions"] = conditions
    consent = rng.random()
    if consent >= 0.1 or clean:  # present (otherwise absent altogether)
        others = [s for s in CONSENT_SERVICES if s != focus]
        services = [focus, *rng.sample(others, rng.randint(0, 2))] if chance(0.85) else \
            rng.sample(others, rng.randint(1, 2))
        rng.shuffle(services)
        record: dict[str, Any] = {
            "documented": chance(0.93),
            "practitioner": me if chance(0.92) else rng.choice(("P2", "P3", None)),
            "date": _day(rng, _month_before(month, rng.randint(0, 24))) if chance(0.95) else None,
            "method": rng.choice(("verbal", "written")),
            "service": services[0] if len(services) == 1 and rng.random() < 0.5 else services,
        }
        if consent < 0.17 and not clean:  # revoked, this month or earlier
            record["revoked"] = _day(rng, _month_before(month, rng.randint(0, 3)))
        bundle["consent"] = record
    if chance(0.9):
        bundle["care_plan"] = {"comprehensive": chance(0.9),
                               "established_or_substantially_revised_this_month": rng.random() < 0.3}
    if rng.random() < 0.85:
        bundle["medical_decision_making"] = rng.choice(("low", "moderate", "moderate", "high"))
    entries = []
    for _ in range(rng.choice((1, 2, 3, 4) if clean else (0, 1, 1, 2, 2, 3, 3, 4, 6))):
        entry: dict[str, Any] = {
            "practitioner": me if chance(0.88) else rng.choice(PRACTITIONERS[3:]),
            "by": rng.choices(LOGGED_BY, weights=(6, 3, 0 if clean else 1))[0],
            "minutes": rng.choice((5, 10, 15, 19, 20, 21, 25, 30, 31, 39, 40, 45, 59, 60, 61, 75, 90, 120)),
            "service": focus if chance(0.75) else rng.choice(SERVICES),
        }
        if rng.random() < 0.85:
            entry["date"] = _day(rng, month if rng.random() < 0.95 else _month_before(month, 1))
        if rng.random() < 0.03:
            entry["also_claimed_for"] = rng.choice(SERVICES)
        entries.append(entry)
    bundle["time"] = entries
    if rng.random() < 0.3:
        bundle["other_claims_this_month"] = [
            {"code": rng.choice(CODES), "practitioner": rng.choice(PRACTITIONERS),
             "status": rng.choice(("paid", "submitted"))}
            for _ in range(rng.randint(1, 3))
        ]
    if rng.random() < 0.4:
        bundle["prior_claims"] = [
            {"code": rng.choice(CODES), "practitioner": rng.choice(PRACTITIONERS),
             "month": _month_before(month, rng.randint(1, 14))}
            for _ in range(rng.randint(1, 4))
        ]
    visit = rng.random()
    if visit < 0.08:
        bundle["initiating_visit"] = None
    elif visit < 0.85:
        bundle["initiating_visit"] = {
            "code": rng.choice(("99213", "99214", "99215", "G0438", "G0439", "99204")),
            "date": _day(rng, _month_before(month, rng.randint(0, 14))),
            "practitioner": me if rng.random() < 0.9 else "P2",
            "ccm_discussed": chance(0.85),
            "extensive_assessment_by_billing_practitioner": rng.random() < 0.2,
        }
        if rng.random() < 0.6:
            bundle["ccm_start"] = _month_before(month, rng.randint(0, 6))
    if rng.random() < 0.1:
        start = _day(rng, _month_before(month, rng.randint(0, 1)))
        bundle["tcm_period"] = {"start": start, "end": _day(rng, month)}
    if rng.random() < (0.9 if focus == "rpm" else 0.2):
        # drawn from 0-31 as before (the same random stream), then no more than the month's days,
        # which intake refuses as impossible (session 18): 0.6% of the bundles changed (no rule reads it)
        days = min(rng.randint(0, 31), calendar.monthrange(int(month[:4]), int(month[5:]))[1])
        bundle["rpm"] = {"device_days": days, "interactive_communication": chance(0.8)}
    if rng.random() < (0.5 if focus == "bhi" else 0.1):
        bundle["cocm"] = {"first_month": rng.random() < 0.3, "psychiatric_consultant": rng.random() < 0.8}
    if rng.random() < 0.15:
        codes = rng.sample(CODES[:22], rng.randint(1, 4))
        bundle["fee_schedule_override"] = {code: _money(rng, 10, 160) for code in codes}
    return bundle


def make_bundles(count: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [make_bundle(rng, number) for number in range(count)]


# --------------------------------------------------------------------------- as text: YAML, JSON Lines


class _Dumper(yaml.CSafeDumper):
    """Writes Decimal money as a plain YAML number (`66.13`), the way a user's fact file holds it."""


_Dumper.add_representer(Decimal, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:float",
                                                                               str(value)))


def to_yaml(bundles: Iterable[dict[str, Any]]) -> str:
    return yaml.dump_all(bundles, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def _number(value: object) -> float:
    assert isinstance(value, Decimal)
    return float(value)  # cents: the float's shortest text is the same digits


def json_line(bundle: object) -> str:
    """One generated bundle as a JSON line (money written as the plain number a pipeline sends)."""
    return json.dumps(bundle, default=_number)


def write_input(path: Path, count: int) -> None:
    """`count` bundles of seed SEED, one JSON line each: the input of bench_batch.py and its kin."""
    rng = random.Random(SEED)
    with path.open("w", encoding="utf-8") as out:
        for number in range(count):
            out.write(json_line(make_bundle(rng, number)) + "\n")
