"""The batch report as one self-contained HTML page: inline CSS and inline SVG charts, no script,
no font, no image and no link to anything outside the page, so it opens offline and can be mailed.

Every text that comes from the input is escaped (html.escape), including in the SVG, after its
control and bidirectional characters are shown as escapes (`\x1b`, `\u202e`), as the text form
shows them: a NUL is not allowed in HTML, and a right-to-left override would turn the rest of a
cell around (an id or a reason reading as another).
"""

from __future__ import annotations

import re
from html import escape

from ..printable import printable, shortened_id
from .batch_report import MONEY_FIELDS, BatchReport
from .report_text import PAYER_LABELS, code_allowed, headline, money, not_priced_said, unknown_said

__all__ = ["render_report_html"]

_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
svg text { font: 12px system-ui, sans-serif; fill: #222; }
"""


def _text(value: str) -> str:
    """Text from the input, as HTML: its invisible and control characters shown, then escaped."""
    return escape(printable(value))


def _words(value: str) -> str:
    """The report's own words as HTML: a `name` (a key of the decision format) in <code>, as the
    text form's backquotes mark it, rather than the backquotes themselves."""
    return re.sub(r"`([^`<>]+)`", r"<code>\1</code>", escape(value, quote=False))


def bar_chart(title: str, items: list[tuple[str, int]], *, label_width: int = 260) -> str:
    """A horizontal bar chart as inline SVG: one bar per item, the count at its end."""
    row, width = 22, 640
    height = row * max(len(items), 1) + 30
    biggest = max((n for _label, n in items), default=0) or 1
    bars = []
    for i, (label, count) in enumerate(items):
        y = 24 + i * row
        length = round((width - label_width - 60) * count / biggest)
        short = label if len(label) <= 42 else label[:41] + "…"
        bars.append(
            f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end"><title>{_text(label)}</title>'
            f"{_text(short)}</text>"
            f'<rect x="{label_width}" y="{y + 2}" width="{max(length, 1)}" height="{row - 6}" fill="#4a7ab5"/>'
            f'<text x="{label_width + length + 6}" y="{y + 14}">{count}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" aria-label="{escape(title)}">'
        f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>{"".join(bars)}</svg>'
    )


def render_report_html(report: BatchReport, *, top: int = 10, title: str = "carepolicy batch report") -> str:
    codes_billed = [(code, c.billed_lines) for code, c in sorted(report.codes.items()) if c.billed_lines]
    reasons = report.top_reasons(top)
    totals = "".join(
        f"<tr><th>{PAYER_LABELS[name]}</th><td class=n>{money(report.totals[name])}</td>"
        f"<td>{'+ ' + unknown_said(name, report.indeterminate[name]) if report.indeterminate[name] else ''}</td></tr>"
        for name in MONEY_FIELDS
    )
    by_code_rows = "".join(
        f"<tr><td>{_text(code)}</td><td class=n>{c.billed_lines}</td><td class=n>{c.units}</td>"
        f"<td class=n>{code_allowed(c)}</td><td class=n>{c.denied}</td></tr>"
        for code, c in sorted(report.codes.items())
    )
    unpriced = not_priced_said(report)
    by_code = (
        f"<table><tr><th>code</th><th>billed</th><th>units</th><th>allowed</th><th>denied</th></tr>{by_code_rows}"
        "</table>" + (f"<p>{_text(unpriced[0].upper() + unpriced[1:])}.</p>" if unpriced else "")
        if report.codes
        else "<p>none</p>"
    )
    withdraw_rows = "".join(
        f"<tr><td>{_text(code)}</td><td class=n>{n}</td></tr>" for code, n in sorted(report.withdraw.items())
    )
    withdraw = (
        "<h2>Claims on file to withdraw</h2><p>bundled into a billed code</p>"
        f"<table><tr><th>code</th><th>claims</th></tr>{withdraw_rows}</table>\n"
        if report.withdraw
        else ""
    )
    reason_rows = "".join(f"<tr><td class=n>{n}</td><td>{_text(text)}</td></tr>" for text, n in reasons)
    reason_table = (f"<table><tr><th>decisions</th><th>reason</th></tr>{reason_rows}</table>" if reasons
                    else "<p>none</p>")
    error_rows = "".join(
        f"<tr><td>{_text(shortened_id(str(e['bundle_id'])))}</td><td>{_text(str(e['source']))}</td>"
        f"<td>{_text(', '.join(e['codes']))}</td><td>{_text(e['message'])}</td></tr>"
        for e in report.errors
    )
    errors = (
        f"<h2>Error records ({report.error_records}; the first {len(report.errors)} shown)</h2>"
        f"<table><tr><th>bundle</th><th>source</th><th>codes</th><th>message</th></tr>{error_rows}</table>"
        if report.error_records
        else "<h2>Error records</h2><p>none</p>"
    )
    months = ", ".join(f"{_text(m)} ({n})" for m, n in sorted(report.months.items())) or "none"
    policy_sets = ", ".join(f"{_text(h)} ({n})" for h, n in sorted(report.policy_sets.items())) or "none"
    mixed = report.mixed_policy_sets()
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{_STYLE}</style></head>
<body>
<h1>{escape(title)}</h1>
<p>{escape(headline(report))}. Service months: {months}. Policy sets: {policy_sets}.</p>
{f"<p><strong>Note:</strong> {_words(mixed)}.</p>" if mixed else ""}
{f"<p><strong>Note:</strong> {_words(noted)}.</p>" if (noted := report.notes_said()) else ""}
{"".join(f"<p><strong>Warning:</strong> {_text(said)}.</p>" for said in report.repeats.warnings())}
<h2>Totals over the billable lines</h2>
<table>{totals}</table>
<h2>Codes billed</h2>
{bar_chart("Billed lines by code", codes_billed, label_width=80)}
{by_code}
{withdraw}<h2>Top denial reasons</h2>
{bar_chart(f"Decisions in which each reason appears (top {top})", reasons)}
{reason_table}
{errors}
</body></html>
"""
