"""The Python API for pipelines: load a policy set once, then decide bundles given as mappings or text.

    import carepolicy

    evaluator = carepolicy.load()                       # shipped policies; raises PolicyError if broken
    result = evaluator.evaluate({"month": "2025-03", ...})
    if result.decision is not None:                     # (`result.ok`, which mypy cannot narrow on)
        print(result.decision.billable)
    else:
        print(result.diagnostics)                       # a bad bundle is a value, never an exception
    sys.stdout.buffer.write(result.jsonl)               # the bytes `evaluate --format jsonl` writes

Every result is made by the same steps as the command line (validation by the fact reader, the
decision by `record_outcomes.decide`, the line by `record_outcomes.record_json_line`), so the bytes
are the CLI's bytes by construction, not by imitation; the tests compare them anyway.

Threads: an `Evaluator` may be shared by any number of threads. What they share is the compiled
policy set, which is read-only except for its caches: the plan of a month (built on the first
bundle of that month, here under a lock, so that two threads never build the same plan) and small
memo tables that only ever gain entries equal to what any thread would compute. Results, decisions
and their lazily built traces belong to the thread that asked for them.
"""

from __future__ import annotations

import io
import operator
import os
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, SupportsIndex

from carepolicy.engine import (
    Bundle,
    BundleError,
    Decision,
    Diagnostic,
    FactError,
    PolicyError,
    PolicySet,
    engine_version,
    iter_records,
    load_fee_schedule,
    load_policies,
    resolve_switches,
)
from carepolicy.engine.compile.policy_set import PLANS_KEPT
from carepolicy.engine.facts.record_errors import checked
from carepolicy.engine.facts.records import INPUT_FORMATS
from carepolicy.record_outcomes import ErrorRecord, Record, Setup, decide, record_json_line, record_json_obj
from carepolicy.text_surrogates import named, named_error, surrogates

if TYPE_CHECKING:
    from carepolicy.engine.evaluation.pricing import FeeSchedule

__all__ = ["Evaluator", "Result", "load"]

API_SOURCE = "<api>"  # the `source` of a bundle handed in as a mapping, shown in its diagnostics
Source = str | os.PathLike[str]  # a name shown in diagnostics: text, or a path (shown as its text)
# the text of a document: what `iter_text` takes and checks (a `str | bytes` hint refused the bytearray
# and memoryview the docs name, under mypy's strict bytes, the default since mypy 2.0)
Text = str | bytes | bytearray | memoryview


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one input record: a decision, or the diagnostics that explain why there is none."""

    record: Record

    @property
    def ok(self) -> bool:
        """True when the bundle was decided (a decision that denies every code is still ok)."""
        return not isinstance(self.record, ErrorRecord)

    @property
    def decision(self) -> Decision | None:
        return None if isinstance(self.record, ErrorRecord) else self.record

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """Every problem with the bundle, sorted; empty for a decision."""
        return self.record.diagnostics if isinstance(self.record, ErrorRecord) else ()

    @property
    def bundle_id(self) -> str | None:
        """The bundle's `id` (or `#n`, its position); None only for input that was not readable at all."""
        return self.record.bundle_id

    @property
    def jsonl(self) -> bytes:
        """One line of UTF-8 JSON and its newline: exactly what `evaluate --format jsonl` writes for it."""
        return (record_json_line(self.record) + "\n").encode("utf-8")

    def to_json_obj(self) -> dict[str, Any]:
        """The same content as `jsonl`, as Python values (money as strings such as "60.49")."""
        return record_json_obj(self.record)


@dataclass(frozen=True, slots=True)
class Evaluator:
    """A loaded policy set with the switches, fee schedule and trace choice of its evaluations."""

    setup: Setup
    _plan_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _planned: set[str] = field(default_factory=set, repr=False, compare=False)

    @property
    def policies(self) -> PolicySet:
        return self.setup.policies

    @property
    def policy_set_hash(self) -> str:
        return self.setup.policies.policy_hash

    def describe(self) -> dict[str, Any]:
        """What this evaluator decides with: hash, engine version, switch settings and options, trace."""
        policies = self.setup.policies
        return {
            "policy_set_hash": policies.policy_hash,
            "engine_version": engine_version(),
            "switches": dict(sorted(self.setup.switches.items())),
            "switch_defaults": dict(sorted(policies.compiled.switch_defaults.items())),
            "switch_options": {name: list(options) for name, options in sorted(policies.switch_options().items())},
            "fee_schedule": self.setup.fee_schedule is not None,
            "trace": self.setup.trace,
        }

    # ------------------------------------------------------------------ deciding
    def evaluate(self, bundle: Mapping[str, Any], *, source: Source = API_SOURCE, index: int = 0) -> Result:
        """Decide one bundle given as a mapping (as loaded from JSON or YAML; floats and tuples allowed).

        `source` and `index` only name the bundle in diagnostics (`#1` is the id of a bundle without one).
        A `source` that is not text or a path, or an `index` that is not a whole number from 0, raises
        TypeError: the caller's mistake, refused on every call rather than only with a bad bundle.
        """
        # raised: the bundle's error; a caller's mapping, whose Decimal("20") is a whole number of minutes
        return self.decide(checked(bundle, source_name(source), _position(index), parsed=False))

    def evaluate_many(self, bundles: Iterable[Mapping[str, Any]], *, source: Source = API_SOURCE) -> Iterator[Result]:
        """One result per bundle, in order, lazily: a bad bundle never stops the others.

        `bundles` that is one bundle (a mapping) or text raises TypeError at the call: iterated, it
        would be its keys or characters, each a result `expected a fact bundle`. What the iterable
        itself raises (a generator whose source fails) is the caller's, and is raised by `next` as
        it is, after the results of the bundles before it: no result stands for it.
        """
        name = source_name(source)  # checked now, not at the first bundle
        if isinstance(bundles, Mapping | str | bytes | bytearray | memoryview) or not isinstance(bundles, Iterable):
            what = "one bundle: use `evaluate`" if isinstance(bundles, Mapping) else f"not `{shown(bundles)}`"
            raise TypeError(f"`bundles` is an iterable of bundles (mappings), {what}")
        return (self.evaluate(bundle, source=name, index=index) for index, bundle in enumerate(bundles))

    def evaluate_text(self, data: Text, *, fmt: str | None, source: Source = API_SOURCE) -> list[Result]:
        """Every record of a document in `fmt` ("json", "jsonl" or "yaml"; None: told from its text,
        as for standard input), read as a fact file is."""
        return list(self.iter_text(data, fmt=fmt, source=source))

    def iter_text(self, data: Text, *, fmt: str | None, source: Source = API_SOURCE) -> Iterator[Result]:
        """`evaluate_text`, lazily: one result per record as it is read.

        As in `batch`, records read before a problem with the document as a whole are kept, and the
        problem follows them as one result with bundle_id None. A `data`, `fmt` or `source` of
        another kind raises at the call, not at the first record.
        """
        if not isinstance(data, str | bytes | bytearray | memoryview):  # None would read as an empty document
            raise TypeError(f"`data` is the text of a document (str or bytes), not `{shown(data)}`")
        if fmt is not None and fmt not in INPUT_FORMATS:
            message = f"`fmt` is 'json', 'jsonl', 'yaml' or None (told from the text), not `{shown(fmt)}`"
            raise TypeError(message) if not isinstance(fmt, str) else ValueError(message)
        return self._iter_text(data, fmt, source_name(source))

    def _iter_text(self, data: Text, fmt: str | None, source: str) -> Iterator[Result]:
        # str.encode, not data.encode: a subclass's own encode may give other bytes
        stream = io.BytesIO(str.encode(data, "utf-8", "surrogatepass") if isinstance(data, str) else data)
        # a lone surrogate of a str is named as the caller sees it (a character), not by the byte
        # of its "surrogatepass" encoding that the reader refuses
        found = surrogates(str.__str__(data)) if isinstance(data, str) else []
        text = str.__str__(data) if found else ""
        try:
            for item in iter_records(stream, fmt, name=source):
                yield self.decide(named_error(item, found, text) if found and isinstance(item, BundleError) else item)
        except FactError as error:
            diagnostics = named(tuple(error.diagnostics), found, text)
            yield Result(ErrorRecord(None, source, diagnostics))

    def decide(self, item: Bundle | BundleError) -> Result:
        """The result of a bundle already read by the fact reader (`load_fact_file`, `validate_bundle`)."""
        if isinstance(item, Bundle) and item.month not in self._planned:
            self._plan(item.month)
        return Result(decide(item, self.setup))

    def _plan(self, month: str) -> None:
        with self._plan_lock:
            if month not in self._planned:
                if len(self._planned) >= PLANS_KEPT:  # as the plans are: bounded (a month let go is remade)
                    self._planned.clear()
                try:
                    self.setup.policies.compiled.plan(month)
                except Exception:  # `decide` then reports it as this bundle's internal error
                    return
                self._planned.add(month)


def source_name(source: object) -> str:
    """`source` as the text diagnostics show: a path's text (what `evaluate_text` and the CLI show).

    Anything else would be written into the error record as it is (`"file": 123`), or fail to be
    written at all (bytes, None) when `.jsonl` is asked for, and only for a bundle that is bad."""
    if isinstance(source, str):
        return str.__str__(source)  # a subclass's text, as a plain str (its own str() may say else)
    name = os.fspath(source) if isinstance(source, os.PathLike) else None
    if not isinstance(name, str):
        raise TypeError(f"`source` names the bundles in diagnostics: text or a path, not `{shown(source)}`")
    return name


def _position(index: object) -> int:
    """`index` as the position it names (`#1` is index 0); numpy's integers too, never a bool or a
    float, nor a number past `sys.maxsize` (one of more than 4,300 digits cannot even be written)."""
    position = -1
    if isinstance(index, SupportsIndex) and not isinstance(index, bool):
        position = operator.index(index)
    if position > sys.maxsize:
        raise TypeError(f"`index` is the bundle's position, a whole number from 0 to {sys.maxsize:,}, not a larger one")
    if position < 0:
        raise TypeError(f"`index` is the bundle's position, a whole number from 0, not `{shown(index)}`")
    return position


def shown(value: object) -> str:
    try:
        text = repr(value)
    except Exception:  # a value whose repr fails is still named
        text = f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


def load(
    policies: str | Path | None = None,
    *,
    switches: Mapping[str, str] | None = None,
    fee_schedule: str | Path | None = None,
    trace: bool = True,
) -> Evaluator:
    """Load, check and compile a policy set (the shipped one by default) for evaluating bundles.

    Raises `PolicyError` (with every diagnostic) when the policies have errors, a switch or option is
    unknown, or the fee schedule is unreadable: those are configuration mistakes, found once here.
    """
    if not isinstance(trace, bool):  # `trace="none"`, the CLI's word, would be true: full traces
        message = f"`trace` is True or False, not `{trace!r}`"
        raise PolicyError([Diagnostic("usage/option", message, help="trace=False leaves the trace out (--trace none)")])
    if switches is not None and not isinstance(switches, Mapping):  # `dict()` would take pairs, or fail on text
        message = f"`switches` maps switch names to options, not `{shown(switches)}`"
        raise PolicyError([Diagnostic("usage/switch", message, help='switches={"name": "option"}')])
    policy_set = load_policies(policies)
    settings = resolve_switches(policy_set, dict(switches or {}))
    fees: FeeSchedule | None = load_fee_schedule(fee_schedule) if fee_schedule is not None else None
    return Evaluator(Setup(policy_set, settings, fees, trace))
