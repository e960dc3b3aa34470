"""Fact files -> validated bundles: the fact-bundle schema and the reader.

`Bundle`, `BundleError` and `validate_bundle` (bundle.py) are named here too, for callers that
import them from the package, as `shared/peers`' carepolicy adapter does. They are looked up on
first use (PEP 562), not imported with the package: every module of the package imports it first,
and bundle.py imports some of them.
"""

from __future__ import annotations

from typing import Any

_FROM_BUNDLE = frozenset({"Bundle", "BundleError", "validate_bundle"})


def __getattr__(name: str) -> Any:
    if name in _FROM_BUNDLE:
        from . import bundle

        return getattr(bundle, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
