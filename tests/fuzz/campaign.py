"""A long fuzz campaign, outside the suite: prints how many examples ran, what they came to, and
every distinct unhandled exception (with the smallest text that raised it, saved under
`--save DIR`).

    .venv/bin/python -m tests.fuzz.campaign --grammar 2000 --mutated 300

An unhandled exception does not stop the run: it is counted, grouped by type and place, and the
run goes on, so one campaign finds every kind it can.
"""

from __future__ import annotations

import argparse
import collections
import time
import traceback
from pathlib import Path

from carepolicy.engine.diagnostics import PolicyError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.harness import run
from tests.fuzz.strategies import grammar_policies, mutated, shipped_policies

Outcomes = collections.Counter[str]


def _campaign(name: str, examples: int, strategy: st.SearchStrategy[dict[str, str]], save: Path | None) -> None:
    outcomes: Outcomes = collections.Counter()
    crashes: dict[str, tuple[int, dict[str, str]]] = {}

    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def one(texts: dict[str, str]) -> None:
        try:
            run(texts)
            outcomes["evaluated"] += 1
        except PolicyError as error:
            outcomes[error.diagnostics[0].code] += 1
        except Exception as error:  # what the campaign is looking for
            frame = traceback.extract_tb(error.__traceback__)[-1]
            key = f"{type(error).__name__} at {Path(frame.filename).name}:{frame.lineno}: {str(error)[:120]}"
            outcomes["UNHANDLED"] += 1
            count, smallest = crashes.get(key, (0, texts))
            size = sum(map(len, texts.values()))
            crashes[key] = (count + 1, texts if size < sum(map(len, smallest.values())) else smallest)

    started = time.perf_counter()
    one()
    elapsed = time.perf_counter() - started
    total = sum(outcomes.values())
    print(f"{name}: {total} examples in {elapsed:.0f} s, {outcomes['UNHANDLED']} unhandled exceptions")
    for outcome, count in outcomes.most_common():
        print(f"  {count:6d}  {outcome}")
    for i, (key, (count, texts)) in enumerate(sorted(crashes.items())):
        print(f"  UNHANDLED x{count}: {key}")
        if save is not None:
            folder = save / f"{name}-{i}"
            folder.mkdir(parents=True, exist_ok=True)
            for file, text in texts.items():
                (folder / Path(file).name).write_text(text, encoding="utf-8")


@st.composite
def _mutated_sets(draw: st.DrawFn) -> dict[str, str]:
    texts = dict(shipped_policies())
    name = draw(st.sampled_from(sorted(texts)))
    texts[name] = draw(mutated(texts[name]))
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grammar", type=int, default=2000, help="examples generated from the grammar")
    parser.add_argument("--mutated", type=int, default=300, help="examples of mutated shipped policies")
    parser.add_argument("--save", type=Path, default=None, help="folder for the texts that raised")
    args = parser.parse_args()
    if args.grammar:
        _campaign("grammar", args.grammar, grammar_policies().map(lambda t: {"generated.policy": t}), args.save)
    if args.mutated:
        _campaign("mutated", args.mutated, _mutated_sets(), args.save)


if __name__ == "__main__":
    main()
