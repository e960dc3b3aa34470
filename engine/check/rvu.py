"""Stage `check_rvu_tables`: what an `rvu table`'s setting says, and that one code has one amount.

§8.2 gives two totals per code, non-facility and facility; a table says which it holds with
`setting facility` or `setting non_facility` (the default). Pricing (engine/evaluation/pricing.py)
picks the table of the bundle's `place_of_service`, so a setting that is neither word would never
be read, and two tables of one setting in effect on the same day that both list a code would leave
the amount to declaration order. Both are errors here, where the text is.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..language import syntax as s
from .index import PolicyIndex

SETTINGS = ("non_facility", "facility")


def check_rvu_tables(index: PolicyIndex) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    tables = [d for d in index.declarations() if isinstance(d, s.RvuTable)]
    for table in tables:
        if table.setting not in SETTINGS:
            out.append(
                Diagnostic(
                    "check/rvu-setting",
                    f"rvu table `{table.id}`: `setting {table.setting}` is not a setting",
                    span=table.setting_span or table.span,
                    help="write `setting facility` or `setting non_facility` (the fact `place_of_service` "
                    "chooses between them; a table without `setting` is non-facility)",
                )
            )
    for i, first in enumerate(tables):
        for second in tables[i + 1 :]:
            if first.setting != second.setting or not _overlap(first, second):
                continue
            codes = {row.code for row in first.rows}
            for row in second.rows:
                if row.code in codes:
                    out.append(
                        Diagnostic(
                            "check/rvu-overlap",
                            f"{row.code} has two {first.setting} rows in effect at once: rvu tables "
                            f"`{first.id}` and `{second.id}`",
                            span=row.span,
                            related=(("other table", first.span),),
                            help="give the tables intervals that meet without overlapping, or a different `setting`",
                        )
                    )
    return out


def _overlap(first: s.RvuTable, second: s.RvuTable) -> bool:
    if first.effective is None or second.effective is None:
        return True
    return first.effective.overlaps(second.effective)
