"""Varied valid fact bundles, and the same bundle written every way a user may send it.

A hypothesis strategy (`bundle_lists`) starts from the benchmark generator's bundles
(benchmarks/bundle_generator.py, seeded) and moves them to the edges the contract allows: unicode
ids and names, money written with many decimals or an exponent (`1e1`, `10.0`, `6613e-2`), 0
minutes, months at a year's or February's end (2024-02-29), dates on a month's first and last day,
empty optional lists, keys in any order. A number is kept as the text it is written with
(`Written`), so that every writer puts the same token in its file: the JSON and YAML writers below
write it as it is, and `api_value` gives the Python API the `Decimal` of that text.
Used by tests/test_input_routes.py (`CAREPOLICY_FUZZ_EXAMPLES=300` for a larger run).
"""

from __future__ import annotations

import calendar
import json
import random
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from benchmarks.bundle_generator import make_bundle


@dataclass(frozen=True)
class Written:
    """A number as its file writes it: `10`, `10.0`, `1e1` and `1.0E+1` are one amount."""

    text: str


_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
# months at the edges: a leap February, a year's last and first month, a plain February
EDGE_MONTHS = ("2024-02", "2024-12", "2025-01", "2025-02", "2025-12", "2026-01")
# text the formats must carry alike: accents, CJK, emoji (outside the BMP), right-to-left,
# combining marks, a YAML indicator at the start, quotes and backslashes, and the characters JSON
# Lines and YAML break or do not break lines at (U+2028, NEL), which a JSON string holds as text
_TEXTS = ("Ñúñez", "東京-診療所", "🩺pt", "مريض", "e\u0301", "- dash", "# hash", 'q"uo\\te', "a: b",
          "line\u2028sep", "nel\u0085x", "tab\tx", "  spaced  ", "0123", "true", "null", "~", "1e1")
_UNICODE = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)


def _index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _month(index: int) -> str:
    return f"{index // 12}-{index % 12 + 1:02d}"


def _moved(value: str, old: int, new: int, edge: random.Random) -> str:
    """A date or month string of a bundle of month `old`, at the same distance from month `new`;
    a day goes to its month's first or last day (the edges), or keeps its number when it exists."""
    match = _DATE.match(value)
    assert match is not None
    month = _month(_index(value[:7]) - old + new)
    if match.group(3) is None:
        return month
    last = calendar.monthrange(int(month[:4]), int(month[5:]))[1]
    day = edge.choice((1, last, min(int(match.group(3)), last)))
    return f"{month}-{day:02d}"


def _walk(value: Any, leaf: Any) -> Any:
    if isinstance(value, dict):
        return {key: _walk(item, leaf) for key, item in value.items()}
    if isinstance(value, list):
        return [_walk(item, leaf) for item in value]
    return leaf(value)


def _spell(amount: Decimal, how: int) -> Written:
    """`amount` (at most two places) written one of the ways JSON and YAML 1.2 write a number."""
    if how == 1:
        return Written(f"{amount:.9f}")  # many decimals, all zero after the cents
    if how == 2:  # an exponent: the digits of the cents, and e-2 (`6613e-2`, `0e-2`)
        return Written(f"{int(amount * 100)}e-2")
    if how == 3 and amount == amount.to_integral_value() and amount > 0:
        digits = str(int(amount)).rstrip("0")  # `1e1`, `2.5E2`, `1.0e0`
        exponent = len(str(int(amount))) - 1
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else ".0" if exponent == 0 else "")
        return Written(f"{mantissa}{'E' if exponent % 2 else 'e'}{exponent}")
    if how == 4 and amount == amount.to_integral_value():
        return Written(f"{int(amount)}.0")
    if how == 5 and amount == 0:
        return Written("-0.0")  # a zero with a sign, which JSON and YAML must keep alike
    return Written(str(amount))


@st.composite
def bundles(draw: st.DrawFn, number: int = 0) -> dict[str, Any]:
    """One valid bundle at the edges (see the module's text); its `id` ends with `number`."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = random.Random(seed)  # the shape: a benchmark bundle; the edges: hypothesis's draws
    bundle = make_bundle(rng, number)
    if draw(st.booleans()):  # an edge month, every date and month moved with it
        old, new = _index(bundle["month"]), _index(draw(st.sampled_from(EDGE_MONTHS)))
        bundle = _walk(bundle, lambda v: _moved(v, old, new, rng) if isinstance(v, str) and _DATE.match(v) else v)
        if "rpm" in bundle:  # no more days of data than the new month has (more is impossible)
            days = calendar.monthrange(int(bundle["month"][:4]), int(bundle["month"][5:]))[1]
            bundle["rpm"]["device_days"] = min(bundle["rpm"]["device_days"], days)
    names = {"P1": draw(st.sampled_from(("P1", *_TEXTS)) | _UNICODE)}
    names["P2"] = draw(st.sampled_from(("P2", "Dr. Łukasz", "医師2")).filter(lambda n: n != names["P1"]))
    bundle = _walk(bundle, lambda v: names.get(v, v) if isinstance(v, str) else v)
    for condition in bundle["chronic_conditions"]:
        if draw(st.booleans()):
            condition["name"] = draw(st.sampled_from(_TEXTS) | _UNICODE)
    bundle["id"] = draw(st.sampled_from(_TEXTS) | _UNICODE) + f"·{number}"
    if draw(st.integers(0, 3)) == 0:
        bundle["time"].append({"practitioner": names["P1"], "by": "clinical_staff", "minutes": 0,
                               "service": "ccm", "date": bundle["month"] + "-01"})
    for key in ("chronic_conditions", "time", "other_claims_this_month", "prior_claims"):
        if draw(st.integers(0, 5)) == 0:
            bundle[key] = []
    how = draw(st.integers(0, 5))  # one way of writing every amount of this bundle

    def leaf(value: Any) -> Any:
        return _spell(value, how) if isinstance(value, Decimal) else value
    bundle = _walk(bundle, leaf)
    order = random.Random(draw(st.integers(0, 2**32 - 1)))
    return _shuffled(bundle, order) if draw(st.booleans()) else bundle


def _shuffled(value: Any, order: random.Random) -> Any:
    if isinstance(value, dict):
        keys = list(value)
        order.shuffle(keys)
        return {key: _shuffled(value[key], order) for key in keys}
    if isinstance(value, list):
        return [_shuffled(item, order) for item in value]
    return value


@st.composite
def bundle_lists(draw: st.DrawFn, max_size: int = 6) -> list[dict[str, Any]]:
    count = draw(st.integers(1, max_size))
    return [draw(bundles(number)) for number in range(count)]


# --------------------------------------------------------------------------- writers


def json_text(value: Any, *, ascii_only: bool = False, indent: str | None = None, depth: int = 0) -> str:
    """`value` as JSON, each `Written` number as its text; `indent` spreads it over lines."""
    if isinstance(value, Written):
        return value.text
    if isinstance(value, str | bool | int) or value is None:
        return json.dumps(value, ensure_ascii=ascii_only)
    if isinstance(value, dict):
        items = [json.dumps(k, ensure_ascii=ascii_only) + ": "
                 + json_text(v, ascii_only=ascii_only, indent=indent, depth=depth + 1) for k, v in value.items()]
        opening, closing = "{", "}"
    else:
        items = [json_text(v, ascii_only=ascii_only, indent=indent, depth=depth + 1) for v in value]
        opening, closing = "[", "]"
    if indent is None or not items:
        return opening + ", ".join(items) + closing
    inner, outer = "\n" + indent * (depth + 1), "\n" + indent * depth
    return opening + inner + ("," + inner).join(items) + outer + closing


# YAML 1.2 double-quoted text escapes what is not printable, and the line breaks of YAML 1.1
# (NEL, LS, PS), which carepolicy refuses written as themselves in a YAML document
_YAML_ESCAPE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")
_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")  # plain text no YAML 1.2 reader takes for another type
_NOT_TEXT = {"true", "false", "null", "True", "False", "TRUE", "FALSE", "Null", "NULL"}


def yaml_scalar(value: Any) -> str:
    if isinstance(value, Written):
        return value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    assert isinstance(value, str)
    if _PLAIN.match(value) and value not in _NOT_TEXT:
        return value
    body = value.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n")
    return '"' + _YAML_ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", body) + '"'


def yaml_text(value: Any, depth: int = 0) -> str:
    """`value` as block YAML (lines ending with a newline); `[]` and `{}` for empty ones."""
    pad = "  " * depth
    if isinstance(value, dict) and value:
        out = []
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                out.append(f"{pad}{yaml_scalar(key)}:\n{yaml_text(item, depth + 1)}")
            else:
                out.append(f"{pad}{yaml_scalar(key)}: {_flat(item)}\n")
        return "".join(out)
    if isinstance(value, list) and value:
        out = []
        for item in value:
            if isinstance(item, dict | list) and item:
                body = yaml_text(item, depth + 1)
                out.append(f"{pad}- {body[len(pad) + 2:]}")  # the first key on the dash's line
            else:
                out.append(f"{pad}- {_flat(item)}\n")
        return "".join(out)
    return pad + _flat(value) + "\n"


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return yaml_scalar(value)


def api_value(value: Any) -> Any:
    """What the Python API is given for `value`: each written number as the Decimal of its text."""
    return _walk(value, lambda v: Decimal(v.text) if isinstance(v, Written) else v)
