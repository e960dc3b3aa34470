"""Fact bundle version 1 -> version 2, on read: rules only ever see the latest version.

A version 1 bundle stays valid unchanged: it is validated against the version 1 schema, then
upgraded here, then read like any version 2 bundle. The upgrade only adds what version 2 says
differently; every version 1 field keeps its value, so a decision on a version 1 bundle is the
same as before version 2 existed. New version 2 fields that version 1 cannot state are left out
(unknown), never invented.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_CONSENT_FIELDS = ("documented", "practitioner", "date", "method", "revoked")


def bundle_version(raw: Mapping[str, Any]) -> int:
    """The contract version a bundle claims: 2 with `fact_bundle: 2`, else 1 (the key is optional in v1)."""
    return 2 if raw.get("fact_bundle") == 2 else 1


def upgrade_v1(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A valid version 1 bundle as the version 2 bundle that says the same thing.

    Version 1 has one consent record for every service it lists: it becomes one record per
    listed service (the same documented/practitioner/date/method/revoked), and `ccm_start`, the
    one start month version 1 has, becomes each record's `start`. A service not listed gets no
    record (no consent), as in version 1. The upgraded bundle keeps `consent` and `ccm_start`
    for policies written for version 1 (schema.model_schema); a version 2 bundle may not give them.
    """
    upgraded = dict(raw)
    upgrade_v1_in_place(upgraded)
    return upgraded


def upgrade_v1_in_place(bundle: dict[str, Any]) -> None:
    """`upgrade_v1` without the copy, for a caller that owns the dict (the typed intake): it only
    reads keys it never writes, so upgrading in place gives the same keys, values and order."""
    bundle["fact_bundle"] = 2
    consent = bundle.get("consent")
    if type(consent) is dict or isinstance(consent, Mapping):  # the exact type first: an ABC check costs more
        services = consent.get("service", ())
        services = (services,) if isinstance(services, str) else services or ()
        record = {key: consent[key] for key in _CONSENT_FIELDS if key in consent}
        if "ccm_start" in bundle:
            record["start"] = bundle["ccm_start"]
        bundle["consents"] = {service: record.copy() for service in services}
    fold_tcm_period_in_place(bundle)


def fold_tcm_period(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The bundle's `tcm_period` (any version) as one `tcm` entry of `service_periods`, as rules
    read it. A version 2 bundle may still give `tcm_period` (its schema accepts it): rules read
    only `service_periods`, so a period given the old way was dropped without a word and a
    pre-2020 CCM month inside it was billed. Nothing is added when the same period is listed."""
    if not _tcm_period_to_fold(data):
        return data
    folded = dict(data)
    fold_tcm_period_in_place(folded)
    return folded


def _tcm_period_to_fold(data: Mapping[str, Any]) -> dict[str, Any] | None:
    period = data.get("tcm_period")
    # most bundles have none: `is None` first, as the ABC check of `isinstance` costs more
    if period is None or not (type(period) is dict or isinstance(period, Mapping)):
        return None
    # Who furnished it and under which code `tcm_period` does not say, so those stay unknown.
    entry = {"service": "tcm", "start": period.get("start"), "end": period.get("end")}
    for listed in data.get("service_periods") or ():
        if (
            isinstance(listed, Mapping)
            and listed.get("service") == "tcm"
            and (listed.get("start"), listed.get("end")) == (entry["start"], entry["end"])
        ):
            return None
    return entry


def fold_tcm_period_in_place(bundle: dict[str, Any]) -> bool:
    """`fold_tcm_period` without the copy (True: a period was added)."""
    entry = _tcm_period_to_fold(bundle)
    if entry is None:
        return False
    bundle["service_periods"] = (*(bundle.get("service_periods") or ()), entry)
    return True


def fold_claims(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """Every claim in one list, `claims`, as rules read it (any version of the bundle).

    `other_claims_this_month` (each entry gets the bundle's month) and `prior_claims` (which carry
    their month) stay accepted in bundles and are appended, in that order, to the `claims` a
    version 2 bundle may give; the two old lists are then gone from what rules and the evaluator
    see, so "already paid", "once per patient" and "claimed by another practitioner this month"
    all read one list.
    """
    if data.get("other_claims_this_month") is None and data.get("prior_claims") is None:
        return data
    folded = dict(data)
    fold_claims_in_place(folded)
    return folded


def fold_claims_in_place(data: dict[str, Any]) -> bool:
    """`fold_claims` without the copy (True: there was something to fold)."""
    this_month = data.get("other_claims_this_month")
    earlier = data.get("prior_claims")
    if this_month is None and earlier is None:
        return False
    month = data.get("month")
    data.pop("other_claims_this_month", None)
    data.pop("prior_claims", None)
    data["claims"] = [
        *(data.get("claims") or ()),
        *({**claim, "month": month} for claim in this_month or ()),
        *(earlier or ()),
    ]
    return True
