"""Server-rendered SVG line charts for the metrics dashboard: no JavaScript, no CDN, nothing to download."""

from __future__ import annotations

from datetime import date

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 560, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 28


def _label(value: float, percent: bool) -> str:
    return f"{value:.0%}" if percent else f"{value:,.0f}"


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def line_chart(points: list[tuple[date, float | None]], *, title: str, percent: bool) -> SafeString:
    """A line over ``points`` (one per day, oldest first); ``None`` values break the line (no data that day).

    Rates (``percent``) run on a fixed 0-100% axis so charts compare at a glance; counts on 0 to a round maximum.
    """
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [value for _day, value in points if value is not None]
    top = 1.0 if percent else _nice_max(max(values, default=0))
    count = max(len(points) - 1, 1)

    def xy(index: int, value: float) -> tuple[float, float]:
        return LEFT + plot_w * index / count, TOP + plot_h * (1 - value / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" class="metrics-chart">',
        f"<title>{escape(title)}</title>",
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#666">'
            f"{escape(_label(top * fraction, percent))}</text>"
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    for index, (day, value) in enumerate(points):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        x, y = xy(index, value)
        segment.append(f"{x:.1f},{y:.1f}")
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="#417690">'
            f"<title>{escape(day.isoformat())}: {escape(_label(value, percent) if percent else f'{value:,.1f}')}"
            "</title></circle>"
        )
    if segment:
        segments.append(segment)
    for line in segments:
        parts.append(f'<polyline fill="none" stroke="#417690" stroke-width="2" points="{" ".join(line)}"/>')
    if points:
        for index in (0, len(points) - 1):
            x = LEFT + plot_w * index / count
            anchor = "start" if index == 0 else "end"
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" font-size="11" fill="#666">'
                f"{escape(points[index][0].isoformat())}</text>"
            )
    if not values:
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="middle" font-size="12" fill="#999">{}</text>',
                WIDTH // 2,
                HEIGHT // 2,
                "—",
            )
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 -- every text in it is escaped above; the rest are numbers
