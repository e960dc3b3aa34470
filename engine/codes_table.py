"""A markdown table of every code a policy set knows (docs/codes.md is generated from it).

Columns: code, title, effective interval, base or add-on (and to what), time threshold (the
`>= N min` requirements written on the code itself; one that is a side of an `or` as the whole
condition), unit cap, the CY2025 national amount the
shipped data gives (RVU × conversion factor for December 2025, "not priced" otherwise), sources
and assumptions (each `assumption, not a CMS rule: ...`)."""

from __future__ import annotations

from .api import PolicySet
from .compile.runtime import Env
from .evaluation.pricing import price
from .language import syntax as s
from .language.valuetypes import MINUTES


def _minute_thresholds(condition: s.Expr) -> list[str]:
    return [
        f"{node.op} {node.right.text}"
        for node in s.walk(condition)
        if isinstance(node, s.Compare)
        and node.op in (">=", ">")
        and isinstance(node.right, s.Literal)
        and node.right.type is MINUTES
    ]


def _thresholds(policies: PolicySet, code: s.Code) -> str:
    found: list[str] = []
    # A threshold that is only one side of an `or` (G0568's 70 minutes, asked for only by a switch
    # the reference leaves open) is not the code's threshold: the table quotes the whole
    # condition, so the page never states as a rule what the policies make conditional.
    conditional: list[s.Expr] = []
    for requirement in code.requirements:
        for condition in requirement.conditions:
            thresholds = _minute_thresholds(condition)
            if thresholds and not isinstance(condition, s.Compare):
                conditional.append(condition)
                continue
            for threshold in thresholds:
                if threshold not in found:  # one threshold, however many requirements restate it
                    found.append(threshold)
    for condition in conditional:
        if not set(_minute_thresholds(condition)) <= set(found):  # not a restatement of one above
            text = policies.compiled.text(condition.span)
            if text not in found:
                found.append(text)
    if code.units is not None and code.units.once is not None:
        found.append(f"billed once when {policies.compiled.text(code.units.once.span)}")
    elif code.units is not None:
        found.append(
            f"+1 unit each full {policies.compiled.text(code.units.increment.span)} "
            f"beyond {policies.compiled.text(code.units.beyond.span)}"
        )
    if code.unit_count is not None:
        found.append(f"units = {policies.compiled.text(code.unit_count.span)}")
    return "; ".join(found) or "—"


def _cap(policies: PolicySet, code: s.Code) -> str:
    """`2`, or for conditional caps `1 when A; 2 when B; none otherwise` (the `if` chain they compile to)."""
    cap = code.unit_cap
    if cap is None:
        return "1" if not code.is_addon and code.unit_count is None else "none"
    if isinstance(cap, s.Literal) and isinstance(cap.value, int):
        return str(cap.value)
    parts: list[str] = []
    while isinstance(cap, s.Conditional) and not isinstance(cap.then, s.Conditional):
        text = policies.compiled.text
        parts.append(f"{text(cap.then.span)} when {text(cap.condition.span)}")
        cap = cap.otherwise
    if not parts:
        return policies.compiled.text(cap.span)
    last = "none" if isinstance(cap, s.Literal) and cap.value is None else policies.compiled.text(cap.span)
    return "; ".join([*parts, f"{last} otherwise"])


def _amount_2025(policies: PolicySet, code: str) -> str:
    plan = policies.compiled.plan("2025-12")
    env = Env(
        {"practitioner": {"kind": "physician"}},
        plan.month,
        plan.params,
        policies.compiled.switch_defaults,
        policies.compiled.defines,
    )
    found = price(code, plan, env, None)
    return f"${found.amount:.2f}" if found.amount is not None else "not priced"


def code_table_markdown(policies: PolicySet, folder: str | None = None) -> str:
    """The table of every code of `policies`, read from `folder` (None: the shipped policies,
    whose table is docs/codes.md)."""
    rows = [
        "| Code | Title | Effective | Kind | Threshold | Unit cap | 2025 national (non-facility) | Sources |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for code_id in sorted(policies.checked.index.codes, key=lambda c: (not c[0].isdigit(), c)):
        for code in policies.checked.index.codes[code_id]:
            kind = f"add-on to {', '.join(policies.checked.index.expand(code.bases))}" if code.is_addon else "base"
            cap = _cap(policies, code)
            # A row states the code's rules as facts (a threshold, a title's minutes): what the
            # reference does not state is labelled beside the sources, as every decision labels it.
            cites = "; ".join(
                [f"{c.source} ({c.locator})" for c in code.cites]
                + [f"assumption, not a CMS rule: {a.reason}" for a in (*code.assumptions, *code.unit_assumptions)]
            ).replace("|", "\\|")
            effective = str(code.effective) if code.effective else "always"
            rows.append(
                f"| {code.id} | {code.title} | {effective} | {kind} | {_thresholds(policies, code)} | {cap} | "
                f"{_amount_2025(policies, code.id)} | {cites} |"
            )
    if folder is None:
        origin, rvus = "`policies/` by `carepolicy codes` (tests/test_codes_table.py keeps it current)", "the shipped"
    else:
        origin, rvus = f"`{folder}` by `carepolicy codes --policies {folder}`", "its"
    intro = (
        f"# Codes the policy library knows\n\nGenerated from {origin}. Amounts are CY2025 national"
        f" non-facility allowed amounts computed from {rvus} RVUs × conversion factor; real claims are"
        " locality-adjusted.\n\n"
    )
    return intro + "\n".join(row.replace("\n", " ") for row in rows) + "\n"
