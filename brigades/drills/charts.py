"""Inline SVG charts for the after-action report: no plotting library, prints sharply.

Each function returns an SVG element as a string (``Markup`` for the templates); text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH = 640
HEIGHT = 240
PAD_LEFT = 48
PAD_BOTTOM = 32
PAD_TOP = 12
PAD_RIGHT = 16
COLOURS = ("#1f5fa8", "#c8102e", "#2e8540", "#8a5a00")


def _frame(title: str, body: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'class="grafiek" aria-label="{escape(title)}"><title>{escape(title)}</title>{body}</svg>'
    )


def _axes(x_max: float, y_max: float, x_label: str, y_label: str, y_percent: bool) -> str:
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = [
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - PAD_RIGHT}" '
        f'y2="{PAD_TOP + plot_h}" stroke="#333"/>',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{PAD_TOP + plot_h}" '
        'stroke="#333"/>',
    ]
    for i in range(5):
        value = y_max * i / 4
        y = PAD_TOP + plot_h - plot_h * i / 4
        label = f"{100 * value:.0f}%" if y_percent else f"{value:.0f}"
        parts.append(
            f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{y:.1f}" '
            f'stroke="#ddd"/><text x="{PAD_LEFT - 4}" y="{y + 4:.1f}" font-size="10" '
            f'text-anchor="end">{label}</text>'
        )
    for i in range(5):
        value = x_max * i / 4
        x = PAD_LEFT + plot_w * i / 4
        parts.append(
            f'<text x="{x:.1f}" y="{HEIGHT - PAD_BOTTOM + 14}" font-size="10" '
            f'text-anchor="middle">{value / 60:.1f}</text>'
        )
    parts.append(
        f'<text x="{PAD_LEFT + plot_w / 2}" y="{HEIGHT - 4}" font-size="11" '
        f'text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="12" y="{PAD_TOP + plot_h / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 12 {PAD_TOP + plot_h / 2})">{escape(y_label)}</text>'
    )
    return "".join(parts)


def lines(
    title: str,
    series: Sequence[tuple[str, Sequence[tuple[float, float]]]],
    *,
    y_label: str,
    y_percent: bool = False,
    x_label: str = "uren sinds de start",
) -> Markup:
    """A line chart of several (label, [(minutes, value)]) series over a shared time axis."""
    points = [p for _, s in series for p in s]
    if not points:
        return _frame(title, '<text x="20" y="40">Geen gegevens.</text>')
    x_max = max(max(x for x, _ in points), 1.0)
    y_max = 1.0 if y_percent else max(max(y for _, y in points), 1.0)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    body = [_axes(x_max, y_max, x_label, y_label, y_percent)]
    for i, (label, values) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(
            f"{PAD_LEFT + plot_w * x / x_max:.1f},"
            f"{PAD_TOP + plot_h - plot_h * min(y / y_max, 1):.1f}"
            for x, y in values
        )
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        body.append(
            f'<text x="{PAD_LEFT + 8}" y="{PAD_TOP + 14 + 14 * i}" font-size="11" '
            f'fill="{colour}">{escape(label)}</text>'
        )
    return _frame(title, "".join(body))


def bars(title: str, rows: Sequence[tuple[str, float]], *, percent: bool = True) -> Markup:
    """Horizontal bars (label, value), e.g. the fill rate of the worst-covered areas."""
    if not rows:
        return _frame(title, '<text x="20" y="40">Geen gegevens.</text>')
    height = PAD_TOP + 18 * len(rows) + 8
    top = 1.0 if percent else max(max(v for _, v in rows), 1.0)
    label_w = 200
    bar_w = WIDTH - label_w - 60
    parts = []
    for i, (label, value) in enumerate(rows):
        y = PAD_TOP + 18 * i
        width = bar_w * min(value / top, 1)
        shown = f"{100 * value:.0f}%" if percent else f"{value:g}"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 12}" font-size="11" text-anchor="end">'
            f"{escape(label[:32])}</text>"
            f'<rect x="{label_w}" y="{y + 2}" width="{width:.1f}" height="13" fill="{COLOURS[0]}"/>'
            f'<text x="{label_w + width + 4:.1f}" y="{y + 12}" font-size="11">{shown}</text>'
        )
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'class="grafiek" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        f"{''.join(parts)}</svg>"
    )
