"""`to_json_bytes` writes the decision line from pieces kept on shared objects (json_pieces.py,
DecisionContext.sources_json): it must give exactly the bytes of the old construction, a fresh
JSON object serialised whole, for every trace form, on first use and from the kept pieces, and for
awkward text (non-ASCII, lone surrogates, integers beyond 64 bits) the same bytes or the same error.
The old construction is kept here as the oracle, as it was before the pieces."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from carepolicy.engine import PolicySet, evaluate, load_policies
from carepolicy.engine.decision.citations import SourceInfo
from carepolicy.engine.decision.context import DecisionContext
from carepolicy.engine.decision.json_form import DECISION_FORMAT, _shares, money_text, to_json_bytes, to_json_obj
from carepolicy.engine.decision.json_pieces import mask_tags, tag_mask
from carepolicy.engine.decision.model import Decision, Denial, Line, Reason, Shares, Totals, Withdrawal
from carepolicy.engine.decision.trace_nodes import Trace
from carepolicy.engine.facts.reader import Bundle, validate_bundle
from carepolicy.engine.jsontext import canonical_bytes, stdlib_bytes
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.test_trace_forms import _bench_module


def oracle_obj(decision: Decision, trace: str) -> dict[str, Any]:
    """The decision's JSON object as it was built before the kept pieces (model.to_json_obj then)."""

    def reason(r: Reason) -> dict[str, Any]:
        return {"rule": r.rule, "title": r.title, "cites": list(r.cites), "source": r.source, "reason": r.text}

    totals = decision.totals
    obj: dict[str, Any] = {
        "decision_format": DECISION_FORMAT,
        "decision_id": decision.decision_id,
        "engine": {"name": decision.engine, "version": decision.engine_version},
        "policy_set_hash": decision.policy_set_hash,
        "facts_hash": decision.facts_hash,
        "bundle_id": decision.bundle_id,
        "month": decision.month,
        "switches": dict(decision.switches),
        "billable": [
            {
                "code": line.code,
                "units": line.units,
                "practitioner": line.practitioner,
                "allowed": money_text(line.allowed),
                "price_source": line.price_source,
                "shares": _shares(line.shares),
                "decided_by": list(line.decided_by),
                "cites": list(line.cites),
            }
            for line in decision.billable
        ],
        "denied": [
            {"code": d.code, "unit": d.unit, "with": d.with_code, "reasons": [reason(r) for r in d.reasons]}
            for d in decision.denied
        ],
        "alternatives": [],
        "withdraw": [
            {
                "code": w.code,
                "practitioner": w.practitioner,
                "month": w.month,
                "status": w.status,
                "bundled_into": w.bundled_into,
                "reasons": [reason(r) for r in w.reasons],
            }
            for w in decision.withdraw
        ],
        "totals": {
            "allowed": money_text(totals.allowed),
            "medicare": money_text(totals.medicare),
            "beneficiary": money_text(totals.beneficiary),
            "medigap": money_text(totals.medigap),
            "medicaid": money_text(totals.medicaid),
            "note": totals.note,
        },
        "patient_responsibility": money_text(decision.patient_responsibility),
        "notes": list(decision.notes),
        "active_programs": list(decision.active_programs),
    }
    assert not decision.alternatives  # (the generated decisions below have none; the shipped ones are
    # compared through to_json_obj, which writes alternatives as before)
    if decision.context is not None:
        cites = [r.cites for d in decision.denied for r in d.reasons]
        cites += [r.cites for w in decision.withdraw for r in w.reasons]
        cites.append(decision.note_cites)  # what the policies' notes given cite (a generated bundle
        # with non-clinical minutes, or another practitioner's, has the note on minutes not counted)
        found = decision.context.sources_of(cites)
        obj["sources"] = {tag: info.to_json_obj() for tag, info in sorted(found.items())}
    if decision.trace is not None and trace != "none":
        obj["trace"] = decision.trace.compact() if trace == "compact" else decision.trace.json()
    return obj


def oracle_bytes(decision: Decision, trace: str) -> bytes:
    return stdlib_bytes(oracle_obj(decision, trace))


@pytest.fixture(scope="module")
def shipped() -> PolicySet:
    return load_policies(None)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_the_line_is_the_old_construction_for_generated_bundles(shipped: PolicySet, seed: int) -> None:
    raw = _bench_module().make_bundles(4, seed)
    for index, item in enumerate(raw):
        bundle = validate_bundle(item, source="<generated>", index=index)
        assert isinstance(bundle, Bundle)
        decision = evaluate(shipped, bundle)
        for form in ("full", "compact", "none"):
            expected = canonical_bytes(to_json_obj(decision, trace=form))
            assert to_json_bytes(decision, trace=form) == expected
            assert to_json_bytes(decision, trace=form) == expected  # now from the kept pieces
        if not decision.alternatives:
            assert to_json_bytes(decision, trace="none") == oracle_bytes(decision, "none")


# Text that orjson and json.dumps must agree on, and some they cannot write: lone surrogates.
TEXT = st.text(max_size=12) | st.sampled_from(["S1", "S1: §2 (M)", "assumption, not a CMS rule: x", "é", "\ud800"])
CITES = st.lists(
    st.sampled_from(["S1: §1", "S2: p. 3", "S9: unknown tag", "assumption, not a CMS rule: y"]) | TEXT, max_size=3
).map(tuple)
REASONS = st.builds(Reason, TEXT, TEXT, CITES, TEXT, TEXT)
UNITS = st.none() | st.integers(min_value=-(2**70), max_value=2**70)
MONEY = st.none() | st.decimals(min_value=-1000, max_value=1000, places=2)


@st.composite
def decisions(draw: st.DrawFn) -> tuple[Decision, ...]:
    """A few decisions sharing reasons and denials (as evaluation shares them), one context."""
    reasons = draw(st.lists(REASONS, min_size=1, max_size=5))
    shared = draw(
        st.lists(
            st.builds(Denial, TEXT, st.lists(st.sampled_from(reasons), max_size=3).map(tuple), UNITS, st.none() | TEXT),
            max_size=5,
        )
    )
    context = DecisionContext(
        sources={"S1": SourceInfo("S1", "Title one", "cms.gov/x"), "S2": SourceInfo("S2", "Tïtle two", None)}
    )
    made = []
    for number in range(draw(st.integers(min_value=1, max_value=3))):
        denied = tuple(draw(st.lists(st.sampled_from(shared), max_size=6))) if shared else ()
        withdraw = tuple(
            draw(
                st.lists(
                    st.builds(
                        Withdrawal,
                        TEXT,
                        TEXT,
                        TEXT,
                        st.none() | TEXT,
                        TEXT,
                        st.lists(st.sampled_from(reasons), max_size=2).map(tuple),
                    ),
                    max_size=1,
                )
            )
        )
        money = draw(MONEY)
        shares = Shares(money, money, money, money, None, None, draw(st.none() | TEXT), money)
        billable = tuple(
            draw(
                st.lists(
                    st.builds(
                        Line, TEXT, st.integers(0, 3), TEXT, MONEY, TEXT, st.none() | st.just(shares), st.just(("r",))
                    ),
                    max_size=2,
                )
            )
        )
        made.append(
            Decision(
                decision_id=f"d{number}",
                engine="carepolicy",
                engine_version="1",
                policy_set_hash="p",
                facts_hash="f",
                bundle_id=draw(TEXT),
                month="2026-01",
                switches=(("s", "on"),),
                billable=billable,
                denied=denied,
                alternatives=(),
                totals=Totals(money, money, None, None, None, draw(st.none() | TEXT)),
                trace=None,
                notes=(draw(TEXT),),
                active_programs=("CCM",),
                context=context,
                withdraw=withdraw,
            )
        )
    return tuple(made)


@settings(max_examples=150, deadline=None)
@given(decisions())
def test_the_line_is_the_old_construction_for_awkward_decisions(made: tuple[Decision, ...]) -> None:
    for _ in range(2):  # the second time from the pieces kept on the shared reasons and denials
        for decision in made:
            try:
                expected = oracle_bytes(decision, "none")
            except UnicodeEncodeError:  # a lone surrogate: not text, and the line may not be written
                with pytest.raises(UnicodeEncodeError):
                    to_json_bytes(decision, trace="none")
                continue
            assert to_json_bytes(decision, trace="none") == expected
            assert to_json_bytes(decision, trace="none", end=b"\n") == expected + b"\n"  # batch's line end


@settings(max_examples=60, deadline=None)
@given(decisions(), st.lists(st.dictionaries(st.sampled_from(["kind", "id", "é"]), TEXT, max_size=3), max_size=3))
def test_the_full_traces_parts_are_joined_into_the_line_where_the_trace_sorts(
    made: tuple[Decision, ...], records: list[dict[str, Any]]
) -> None:
    """A full trace given as parts (`Trace.json_parts`) goes between the totals and the withdrawals,
    as orjson would write the key "trace"; a trace that gives none is serialised from `json()`."""
    json_of = lambda: [dict(record) for record in records]  # noqa: E731
    try:
        parts: list[bytes | memoryview] = [b"[", memoryview(canonical_bytes(json_of()))[1:]]
    except UnicodeEncodeError:  # a lone surrogate: not text, no line (as above)
        return
    for decision in made:
        for given_parts in (lambda: parts, lambda: None):
            traced = replace(decision, trace=Trace(lambda: (), json_of, None, given_parts))
            try:
                expected = oracle_bytes(traced, "full")
            except UnicodeEncodeError:
                continue
            assert to_json_bytes(traced, trace="full", end=b"\n") == expected + b"\n"


def test_kept_pieces_change_no_equality_and_no_object_the_caller_gets() -> None:
    reason = Reason("r", "Rule", ("S1: §1",), "a.policy:1", "not met")
    denial = Denial("99490", (reason,))
    context = DecisionContext(sources={"S1": SourceInfo("S1", "Title", None)})
    totals = Totals(Decimal("1.00"), None, None, None, None, None)
    decision = Decision(
        "d", "carepolicy", "1", "p", "f", "b", "2026-01", (), (), (denial,), (), totals, None, context=context
    )
    before = to_json_bytes(decision, trace="none")
    assert denial.written is not None  # kept on the objects
    assert reason.written is not None
    assert denial == Denial("99490", (Reason("r", "Rule", ("S1: §1",), "a.policy:1", "not met"),))
    assert hash(reason) == hash(Reason("r", "Rule", ("S1: §1",), "a.policy:1", "not met"))
    assert "written" not in repr(denial)
    obj = to_json_obj(decision, trace="none")  # the caller's own dicts: changing them changes no line
    obj["denied"][0]["reasons"][0]["cites"].append("S2: changed")
    obj["sources"]["S1"]["title"] = "changed"
    assert to_json_bytes(decision, trace="none") == before
    assert b'"sources":{"S1":{"address":null,"title":"Title"}}' in before


def test_kept_engine_switches_and_totals_follow_each_decision() -> None:
    """The engine and switches are kept for the last ones written (the switches by identity), the
    totals on the Totals: a decision with others (or equal ones in a new tuple) still gets its own."""
    context = DecisionContext(sources={})
    shared_totals = Totals(Decimal("0.00"), Decimal("0.00"), None, None, None, "a note")
    switches_a = (("mode", "strict"), ("other", "x"))
    switches_b = (("mode", "lenient"),)
    switches_a_again = tuple(pair for pair in switches_a)  # equal, another tuple
    cases = [
        ("carepolicy", "1", switches_a),
        ("carepolicy", "2", switches_b),
        ("other", "2", switches_a_again),
        ("carepolicy", "1", ()),
        ("carepolicy", "1", switches_a),
    ]
    for engine, version, switches in cases * 2:
        decision = Decision(
            "d", engine, version, "p", "f", "b", "2026-01", switches, (), (), (), shared_totals, None, context=context
        )
        assert to_json_bytes(decision, trace="none") == canonical_bytes(to_json_obj(decision, trace="none"))
    assert shared_totals.written is not None  # kept on the Totals, outside its equality
    assert shared_totals == Totals(Decimal("0.00"), Decimal("0.00"), None, None, None, "a note")
    assert "written" not in repr(shared_totals)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([f"mask-test-{i}" for i in range(70)]), max_size=40))
def test_a_mask_gives_back_its_tags_in_the_order_of_their_bits(tags: list[str]) -> None:
    # 70 tags of their own (besides the library's): masks of many bytes, bytes read more than once
    mask = tag_mask(tags)
    found = mask_tags(mask)
    assert sorted(found) == sorted(set(tags))
    bits = [tag_mask([tag]) for tag in found]
    assert bits == sorted(bits)
    assert sum(bits) == mask
