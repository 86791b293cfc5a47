"""Small horizontal bar charts as inline SVG, drawn on the server: no script, readable at any width.

Each chart is an image with a title and a description for screen readers, and every bar carries its
number as text, so nothing depends on telling colours apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
LABEL_WIDTH = 150
BAR_AREA = 330
BAR_HEIGHT = 26
GAP = 10
TOP = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value: float  # 0 ≤ value ≤ the chart's maximum
    text: str  # the number as people read it, drawn after the bar
    muted: bool = False  # no data: drawn as an empty track


def bar_chart(
    chart_id: str, title: str, description: str, bars: list[Bar], maximum: float, *, percent: bool = False
) -> Markup:
    """An SVG horizontal bar chart; `percent` draws guide lines at 50 % and 100 %."""
    height = TOP + len(bars) * (BAR_HEIGHT + GAP) + (18 if percent else 0)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    scale = BAR_AREA / maximum if maximum > 0 else 0.0
    bottom = TOP + len(bars) * (BAR_HEIGHT + GAP)
    if percent:
        for share, label in ((0.5, "50%"), (1.0, "100%")):
            x = LABEL_WIDTH + BAR_AREA * share
            parts.append(
                f'<line class="chart-guide" x1="{x:.1f}" y1="{TOP - 4}" '
                f'x2="{x:.1f}" y2="{bottom - GAP + 4}"/>'
            )
            parts.append(
                f'<text class="chart-axis" x="{x:.1f}" y="{bottom + 10}" text-anchor="middle">{label}</text>'
            )
    for index, bar in enumerate(bars):
        y = TOP + index * (BAR_HEIGHT + GAP)
        middle = y + BAR_HEIGHT / 2
        length = max(0.0, min(bar.value, maximum)) * scale
        parts.append(
            f'<text class="chart-label" x="{LABEL_WIDTH - 8}" y="{middle:.1f}" text-anchor="end" '
            f'dominant-baseline="middle">{escape(bar.label)}</text>'
        )
        parts.append(
            f'<rect class="chart-track" x="{LABEL_WIDTH}" y="{y}" width="{BAR_AREA}" height="{BAR_HEIGHT}"/>'
        )
        if length > 0 and not bar.muted:
            parts.append(
                f'<rect class="chart-bar" x="{LABEL_WIDTH}" y="{y}" '
                f'width="{length:.1f}" height="{BAR_HEIGHT}"/>'
            )
        value_class = "chart-value chart-muted" if bar.muted else "chart-value"
        parts.append(
            f'<text class="{value_class}" x="{LABEL_WIDTH + BAR_AREA + 8}" '
            f'y="{middle:.1f}" dominant-baseline="middle">{escape(bar.text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above went through escape())
