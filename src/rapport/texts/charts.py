"""Small charts drawn on the server as SVG: no script, no CDN. Each says its numbers in words too
(a title for screen readers and a label under each bar), so nothing depends on colour."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup


def weekly_bars(counts: Sequence[int], label: str, width: int = 240, height: int = 64) -> Markup:
    """Bars of texts per week, oldest first; the last bar drawn solid, the others outlined."""
    n = max(len(counts), 1)
    top = max(max(counts, default=0), 1)
    slot = width / n
    plot = height - 14
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(label)}: texts per week, oldest first: {', '.join(str(c) for c in counts)}</title>",
        f'<line x1="0" y1="{plot}" x2="{width}" y2="{plot}" stroke="currentColor" stroke-width="1"/>',
    ]
    for i, count in enumerate(counts):
        h = round(plot * count / top, 1)
        x = round(i * slot + slot * 0.15, 1)
        w = round(slot * 0.7, 1)
        last = i == len(counts) - 1
        fill = "currentColor" if last else "none"
        parts.append(
            f'<rect x="{x}" y="{round(plot - h, 1)}" width="{w}" height="{h}" fill="{fill}" '
            f'stroke="currentColor" stroke-width="1"><title>{count}</title></rect>'
        )
    parts.append(f'<text x="0" y="{height - 2}" font-size="10" fill="currentColor">{n} weeks ago</text>')
    parts.append(
        f'<text x="{width}" y="{height - 2}" font-size="10" text-anchor="end" fill="currentColor">'
        f"this week: {counts[-1] if counts else 0}</text>"
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def sentiment_bar(negative: int, neutral: int, positive: int, width: int = 160, height: int = 14) -> Markup:
    """One stacked bar: negative (hatched), neutral (outlined), positive (solid), with its numbers."""
    total = max(negative + neutral + positive, 1)
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{negative} negative, {neutral} neutral, {positive} positive</title>",
        '<defs><pattern id="hatch" width="4" height="4" patternUnits="userSpaceOnUse">'
        '<path d="M0,4 L4,0" stroke="currentColor" stroke-width="1"/></pattern></defs>',
    ]
    x = 0.0
    for count, fill in ((negative, "url(#hatch)"), (neutral, "none"), (positive, "currentColor")):
        w = width * count / total
        if w:
            parts.append(
                f'<rect x="{round(x, 1)}" y="0" width="{round(w, 1)}" height="{height}" fill="{fill}" '
                'stroke="currentColor" stroke-width="1"/>'
            )
        x += w
    parts.append("</svg>")
    return Markup("".join(parts))
