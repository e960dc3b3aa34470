"""An index over the declarations of a policy set: by id, by kind, codes by program.

Built once by the first check stage; every later stage and the compiler read it. Duplicate ids
are reported here (unless the two declarations are of a kind that may be split by effective
interval and their intervals do not overlap).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from ..diagnostics import Diagnostic
from ..language import syntax as s
from ..language.clauses import CodeRef, Interval


def code_in_range(code: str, low: str, high: str) -> bool:
    """Codes compare as text within one shape: 90951..90970, G0556..G0558."""
    return len(code) == len(low) == len(high) and low <= code <= high and code[0].isdigit() == low[0].isdigit()


@dataclass
class PolicyIndex:
    files: tuple[s.PolicyFile, ...]
    sources: dict[str, s.Source] = field(default_factory=dict)
    by_id: dict[str, list[s.Declaration]] = field(default_factory=lambda: defaultdict(list))
    codes: dict[str, list[s.Code]] = field(default_factory=lambda: defaultdict(list))
    defines: dict[str, s.Define] = field(default_factory=dict)
    parameters: dict[str, s.Parameter] = field(default_factory=dict)
    switches: dict[str, s.Switch] = field(default_factory=dict)
    rules: dict[str, list[s.Rule]] = field(default_factory=lambda: defaultdict(list))
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # declarations whose id was already taken (reported once, by id(), then left out of every
    # later stage: a `define x` after a `rule x` must not be resolved as the definition `x`)
    rejected: set[int] = field(default_factory=set)

    def declarations(self) -> Iterator[s.Declaration]:
        for policy in self.files:
            yield from (decl for decl in policy.declarations if id(decl) not in self.rejected)

    def of_kind(self, kind: type[s.Declaration]) -> list[s.Declaration]:
        return [d for d in self.declarations() if isinstance(d, kind)]

    def programs(self) -> set[str]:
        return {c.program for versions in self.codes.values() for c in versions if c.program}

    def expand(self, refs: Iterable[CodeRef]) -> tuple[str, ...]:
        """The codes a code list stands for, in the order written, without repeats.

        A range keeps also codes the policy set does not declare (`90951..90970` matches a claim of
        90960 even though we never bill it); those are matched by `matches`, not listed here.
        """
        out: list[str] = []
        for ref in refs:
            if ref.kind == "one":
                out.append(ref.low)
            elif ref.kind == "program":
                out.extend(sorted(c for c, vs in self.codes.items() if any(v.program == ref.low for v in vs)))
            else:
                out.extend(sorted(c for c in self.codes if code_in_range(c, ref.low, ref.high)))
        return tuple(dict.fromkeys(out))

    def matcher(self, refs: Iterable[CodeRef]) -> tuple[frozenset[str], tuple[tuple[str, str], ...]]:
        """Exact codes plus ranges, for matching claims that may name undeclared codes."""
        exact: set[str] = set()
        ranges: list[tuple[str, str]] = []
        for ref in refs:
            if ref.kind == "range":
                ranges.append((ref.low, ref.high))
            else:
                exact.update(self.expand([ref]))
        return frozenset(exact), tuple(ranges)


# Kinds that may be declared more than once under one id, with non-overlapping intervals.
_SPLITTABLE = (s.Code, s.Rule)


def build_index(files: tuple[s.PolicyFile, ...]) -> PolicyIndex:
    index = PolicyIndex(files)
    for policy in files:
        for source in policy.sources:
            if source.tag in index.sources:
                first = index.sources[source.tag]
                index.diagnostics.append(
                    Diagnostic(
                        "check/duplicate-source",
                        f"source `{source.tag}` is declared twice",
                        span=source.span,
                        related=(("first declared", first.span),),
                        help="declare each source tag once (policies/sources.policy)",
                    )
                )
                continue
            index.sources[source.tag] = source
    for decl in index.declarations():
        _add(index, decl)
    return index


def _add(index: PolicyIndex, decl: s.Declaration) -> None:
    previous = index.by_id[decl.id]
    for other in previous:
        same_kind_split = isinstance(decl, _SPLITTABLE) and type(other) is type(decl)
        if same_kind_split and not _overlap(decl.effective, other.effective):
            continue
        if not same_kind_split:
            message, help = f"{decl.kind} `{decl.id}` and {other.kind} `{other.id}` have the same id", _RENAME
        elif decl.effective is None and other.effective is None:  # a copy pasted, or one id used twice
            message = f"{decl.kind} `{decl.id}` is declared twice, and neither has an `effective` interval"
            help = "remove the copy, or rename one; versions of one id need `effective` intervals that do not overlap"
        else:
            intervals = " and ".join(_shown(i) for i in (other.effective, decl.effective))
            message = f"{decl.kind} `{decl.id}` is declared twice with overlapping effective intervals ({intervals})"
            help = "give each declaration its own id, or make their effective intervals not overlap"
        code = "check/conflict" if same_kind_split else "check/duplicate-id"
        index.diagnostics.append(
            Diagnostic(code, message, span=decl.span, related=(("other declaration", other.span),), help=help)
        )
        index.rejected.add(id(decl))
        return
    previous.append(decl)
    if isinstance(decl, s.Code):
        index.codes[decl.id].append(decl)
    elif isinstance(decl, s.Define):
        index.defines[decl.id] = decl
    elif isinstance(decl, s.Parameter):
        index.parameters[decl.id] = decl
    elif isinstance(decl, s.Switch):
        index.switches[decl.id] = decl
    elif isinstance(decl, s.Rule):
        index.rules[decl.id].append(decl)


_RENAME = "ids are global to the policy set; rename one"


def _shown(interval: Interval | None) -> str:
    return "no `effective`: always" if interval is None else f"`{interval}`"


def _overlap(a: Interval | None, b: Interval | None) -> bool:
    if a is None or b is None:
        return True
    return a.overlaps(b)
