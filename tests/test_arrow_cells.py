"""Arrow cells Python cannot hold: where they are, and what is accepted.

A timestamp or date outside Python's years 1 to 9,999 was the row's error `a value Python cannot
hold: Python int too large to convert to C int` (or `days=...; must have magnitude <= 999999999`)
at its top-level column: no row, no path inside a list of structs, no word of what is accepted.
Each is now said at its JSON path, with its column, row, stored count and the range accepted.
"""

from __future__ import annotations

import pyarrow as pa
import pytest
from carepolicy.engine import Bundle, BundleError

from carepolicy.arrow_bundles import bundles_from_batches

ACCEPTED = "are accepted from 0001-01-01 to 9999-12-31 (the years Python's datetime holds)"
FAR = 9 * 10**18  # seconds: about year 285 billion


def _errors(batch: pa.RecordBatch) -> list[tuple[str, str | None, str]]:
    out = []
    for item in bundles_from_batches([batch], source="t.parquet"):
        if isinstance(item, BundleError):
            (diag,) = item.diagnostics
            out.append((item.id, diag.fact_path, diag.message))
        else:
            assert isinstance(item, Bundle)
            out.append((item.id, None, "decided"))
    return out


def _rows(**columns: pa.Array) -> pa.RecordBatch:
    return pa.record_batch({"id": ["a", "b"], "month": ["2025-03", "2025-03"], **columns})


def test_a_timestamp_in_a_list_of_structs_is_named_at_its_path_with_the_range() -> None:
    entry = pa.struct([("minutes", pa.int64()), ("date", pa.timestamp("s"))])
    time = pa.array([[], [{"minutes": 5, "date": 0}, {"minutes": 5, "date": FAR}]], pa.list_(entry))
    (first, second) = _errors(_rows(time=time))
    assert first[0] == "a"
    assert second == ("b", "$.time[1].date", (
        "column `time`, row 2: timestamp out of range: 9,000,000,000,000,000,000 seconds from 1970-01-01 (about "
        f"year 285,198,648,531, column type timestamp[s]); timestamps {ACCEPTED}"))


def test_a_date_before_year_one_in_a_dictionary_encoded_struct_field() -> None:
    dates = pa.array([0, -800_000], pa.date32())  # -800,000 days: about 221 BCE
    consent = pa.StructArray.from_arrays([dates.dictionary_encode()], ["date"])
    (_first, second) = _errors(_rows(consent=consent))
    assert second == ("b", "$.consent.date", (
        "column `consent`, row 2: date out of range: -800,000 days from 1970-01-01 (about 221 BCE, column type "
        f"date32[day]); dates {ACCEPTED}"))


@pytest.mark.parametrize("unit", ["ms", "us", "ns"])
def test_each_timestamp_unit_is_counted_in_its_own_unit(unit: str) -> None:
    far = {"ms": 10**17, "us": 10**18, "ns": None}[unit]
    if far is None:  # (a nanosecond timestamp always fits: int64 nanoseconds end in year 2262)
        assert _errors(_rows(ts=pa.array([0, 2**63 - 1], pa.timestamp(unit))))[1][2] == "unknown key `ts`"
        return
    words = {"ms": "milliseconds", "us": "microseconds"}[unit]
    (_first, (bundle, path, message)) = _errors(_rows(ts=pa.array([0, far], pa.timestamp(unit, tz="UTC"))))
    assert (bundle, path) == ("b", "$.ts")
    assert message.startswith(f"column `ts`, row 2: timestamp out of range: {far:,} {words} from 1970-01-01")
    assert message.endswith(f"timestamps {ACCEPTED}")


def test_a_struct_bundle_column_names_the_path_inside_the_bundle_and_the_rows_id() -> None:
    cells = pa.StructArray.from_arrays(
        [pa.array(["near", "far"]), pa.array(["2025-03"] * 2), pa.array([0, FAR], pa.timestamp("s"))],
        ["id", "month", "ccm_start"])
    (_first, second) = _errors(pa.record_batch({"bundle": cells}))
    assert second[:2] == ("far", "$.ccm_start")
    assert second[2].startswith("column `bundle`, row 2: timestamp out of range: 9,000,000,000,000,000,000 seconds")


DAY_MS = 86_400_000


def test_a_date64_that_is_not_a_whole_day_is_its_rows_error_not_a_dropped_time() -> None:
    """A date64 cell of 86,400,005 ms became the date 1970-01-02 with its 5 ms dropped, without a word
    (Arrow does not check that a date64 is whole days; Python's date keeps the day only)."""
    consent = pa.StructArray.from_arrays([pa.array([DAY_MS * 20_000, DAY_MS + 5], pa.date64())], ["date"])
    (first, second) = _errors(_rows(consent=consent))
    assert first == ("a", None, "decided")  # (a whole day: read as the date it is)
    assert second == ("b", "$.consent.date", (
        "column `consent`, row 2: a date64 value of 86,400,005 milliseconds from 1970-01-01 is not a whole day "
        "(5 ms into the day, which a date would drop); dates are whole days: write it as a date32 date, or as a "
        "timestamp where a time of day is meant"))


def test_a_date64_in_a_list_of_a_struct_bundle_column_is_found_at_its_path() -> None:
    entry = pa.struct([("minutes", pa.int64()), ("date", pa.date64())])
    time = pa.array([[{"minutes": 5, "date": DAY_MS}], [{"minutes": 5, "date": DAY_MS}, {"minutes": 5, "date": 7}]],
                    pa.list_(entry))
    cells = pa.StructArray.from_arrays([pa.array(["ok", "odd"]), pa.array(["2025-03"] * 2), time],
                                       ["id", "month", "time"])
    (first, second) = _errors(pa.record_batch({"bundle": cells}))
    assert first == ("ok", None, "decided")
    assert second[:2] == ("odd", "$.time[1].date")
    assert second[2].startswith("column `bundle`, row 2: a date64 value of 7 milliseconds from 1970-01-01")
