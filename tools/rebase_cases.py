"""Rewrite policy test cases in the base form (engine/case_bases.py), proving each conversion.

    .venv/bin/python tools/rebase_cases.py [--check] [CASE_FILE...]   (default: policies/tests/*.yaml)

For each file: every case's full bundle is read as `carepolicy test` reads it (bases expanded, so
the script can be rerun on files already converted, or after cases were added in either form); the
base is the bundle from which the others differ least (the medoid), stored under `bases:` with the
file's name; each case keeps in `facts` only its difference from it. Before a file is written, it
is read back with the engine's reader and every case must expand to exactly the bundle it had;
otherwise nothing is written and the script exits 1. The header comment of each file is kept.
With --check nothing is written: the exit status says whether the conversion would be exact.
"""

from __future__ import annotations

import json
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from carepolicy.engine.case_bases import difference
from carepolicy.engine.policy_cases import read_cases

ROOT = Path(__file__).resolve().parents[1]


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Decimal, lambda d, v: d.represent_scalar("tag:yaml.org,2002:float", str(v)))


def _size(change: Any) -> int:
    return len(json.dumps(change, default=str))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def convert(path: Path) -> tuple[str, bool]:
    """The new text of one case file, and whether every case expands to its old bundle."""
    with tempfile.TemporaryDirectory(prefix="rebase-") as temp:
        return _convert_in(path, Path(temp))


def _convert_in(path: Path, folder: Path) -> tuple[str, bool]:
    (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    before = read_cases(folder)
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    bundles = [_plain(dict(case.facts)) for case in before]
    if not bundles:
        return path.read_text(encoding="utf-8"), True
    base = min(bundles, key=lambda b: sum(_size(difference(b, other)) for other in bundles))
    name = path.stem
    cases = []
    for case, bundle in zip(raw.get("cases") or [], bundles, strict=True):
        rewritten = {"name": case["name"], "base": name}
        change = difference(base, bundle)
        if change:
            rewritten["facts"] = change
        rewritten.update({k: v for k, v in case.items() if k not in ("name", "base", "facts")})
        cases.append(rewritten)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = "".join(lines[: next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))])
    note = "# Cases name the base bundle `bases." + name + "` and give in `facts` only what differs from it\n"
    note += "# (mappings merged, lists replaced, \"<absent>\" removes a key; docs/contributing/testing.md).\n"
    body = yaml.dump({"bases": {name: base}, "cases": cases}, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=100)
    text = header + (note if note not in header else "") + body
    (folder / path.name).write_text(text, encoding="utf-8")
    after = read_cases(folder)
    exact = [(a.name, a.facts, a.expect, a.switches) for a in after] == [
        (b.name, b.facts, b.expect, b.switches) for b in before
    ]
    return text, exact


def main(argv: list[str]) -> int:
    check = "--check" in argv
    paths = [Path(a) for a in argv if a != "--check"] or sorted((ROOT / "policies" / "tests").glob("*.yaml"))
    failed = False
    for path in paths:
        text, exact = convert(path)
        print(f"{'exact' if exact else 'NOT EXACT'}  {path}  {len(path.read_text(encoding='utf-8').splitlines())}"
              f" -> {len(text.splitlines())} lines")
        failed |= not exact
        if exact and not check:
            path.write_text(text, encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
