"""Charts drawn on the server as SVG: nothing loaded from elsewhere, and readable without colour.

Every point and bar carries its value as text; series differ by line pattern and marker shape as
well as colour; negative bars are hatched; each chart has a title and a description for screen
readers, and a table of the same figures sits beside it on the page (the templates)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 24, 48
DASHES = ("", "6 4", "2 3", "10 3 2 3")  # solid, dashed, dotted, dash-dot: series without colour
MARKERS = ("circle", "square", "triangle", "diamond")
COLOURS = ("#1f4e79", "#8a3b12", "#2e6b30", "#5b2a86")


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[str, float | None]]  # (label on the x axis, value); None: no answers


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    if kind == "triangle":
        return (
            f'<polygon points="{x:.1f},{y - 5:.1f} {x - 5:.1f},{y + 4:.1f} {x + 5:.1f},{y + 4:.1f}" fill="{colour}"/>'
        )
    if kind == "diamond":
        corners = f"{x:.1f},{y - 5:.1f} {x - 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} {x + 5:.1f},{y:.1f}"
        return f'<polygon points="{corners}" fill="{colour}"/>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>'


def _frame(title: str, description: str, body: list[str], chart_id: str) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">'
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>'
        f'<desc id="{escape(chart_id)}-d">{escape(description)}</desc>'
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#8a3b12" stroke-width="3"/></pattern></defs>'
    )
    return Markup(head + "".join(body) + "</svg>")  # noqa: S704 - every text in it is escaped above


def line_chart(chart_id: str, title: str, series: Sequence[Series], low: float, high: float) -> Markup:
    labels = list(dict.fromkeys(label for s in series for label, _ in s.points))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(labels) - 1, 1)

    def y_of(v: float) -> float:
        return TOP + plot_h * (1 - (v - low) / ((high - low) or 1))

    body = [f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="#555"/>']
    for tick in (low, (low + high) / 2, high):
        y = y_of(tick)
        body.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#ccc"/>')
        body.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{_fmt(tick)}</text>')
    for i, label in enumerate(labels):
        x = LEFT + i * step
        body.append(f'<text x="{x:.1f}" y="{HEIGHT - 28}" text-anchor="middle" font-size="11">{escape(label)}</text>')
    described = []
    for n, s in enumerate(series):
        colour, dash, marker = COLOURS[n % 4], DASHES[n % 4], MARKERS[n % 4]
        where = {label: value for label, value in s.points}
        points = [(LEFT + i * step, where.get(label)) for i, label in enumerate(labels)]
        drawn = [(x, y_of(v), v) for x, v in points if v is not None]
        if len(drawn) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in drawn)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>'
            )
        for x, y, v in drawn:
            body.append(_marker(marker, x, y, colour))
            body.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle" font-size="11">{_fmt(v)}</text>')
        legend_x = LEFT + n * 150
        body.append(_marker(marker, legend_x, HEIGHT - 10, colour))
        body.append(f'<text x="{legend_x + 9}" y="{HEIGHT - 6}" font-size="11">{escape(s.name)}</text>')
        described.append(f"{s.name}: " + ", ".join(f"{label} {_fmt(v)}" for label, v in s.points if v is not None))
    if not any(v is not None for s in series for _, v in s.points):
        body.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">No answers yet</text>')
    return _frame(title, "; ".join(described) or "No answers yet", body, chart_id)


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, float]], low: float, high: float) -> Markup:
    """Horizontal bars from zero (or `low` when it is above zero), each labelled with its value."""
    plot_w = WIDTH - 180 - RIGHT
    row_h = 26
    height = TOP + row_h * max(len(bars), 1) + 16
    zero = max(low, 0.0) if low >= 0 else 0.0
    span = (high - min(low, zero)) or 1

    def x_of(v: float) -> float:
        return 180 + plot_w * (v - min(low, zero)) / span

    body = []
    for i, (label, value) in enumerate(bars):
        y = TOP + i * row_h
        x0, x1 = sorted((x_of(zero), x_of(value)))
        fill = "url(#hatch)" if value < 0 else COLOURS[0]
        body.append(f'<text x="172" y="{y + 16}" text-anchor="end" font-size="12">{escape(label[:28])}</text>')
        body.append(
            f'<rect x="{x0:.1f}" y="{y + 4}" width="{max(x1 - x0, 1):.1f}" height="16" fill="{fill}" stroke="#333"/>'
        )
        body.append(f'<text x="{x1 + 4:.1f}" y="{y + 16}" font-size="12">{_fmt(value)}</text>')
    if not bars:
        body.append(f'<text x="{WIDTH / 2}" y="{TOP + 14}" text-anchor="middle">No answers yet</text>')
    described = "; ".join(f"{label} {_fmt(v)}" for label, v in bars) or "No answers yet"
    svg = _frame(title, described, body, chart_id)
    return Markup(str(svg).replace(f'viewBox="0 0 {WIDTH} {HEIGHT}"', f'viewBox="0 0 {WIDTH} {height}"', 1))  # noqa: S704
