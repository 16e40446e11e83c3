"""A small chart of the readings: BP (systolic-diastolic bars), HR and SpO2 against session
time, with the phases shaded behind them and the dose marked. An SVG string, pure; the
Review page and the HTML export colour it with their own CSS (classes, no colours here
but the phases', which the timeline uses too).

Two scales, each labelled on its own side: mm[Hg] and /min on the left (40-200), SpO2 %
on the right (80-100), so a fall in saturation is not flattened by the BP's range.
"""

from __future__ import annotations

from html import escape

from setandsetting.core.units import format_clock
from setandsetting.journal.review import SessionReview

WIDTH, HEIGHT = 760.0, 220.0
LEFT, RIGHT, TOP, BOTTOM = 46.0, 40.0, 10.0, 24.0
LOW, HIGH = 40.0, 200.0  # mm[Hg] and /min
SPO2_LOW, SPO2_HIGH = 80.0, 100.0
PALETTE = ("#5a6e84", "#5f7a5c", "#8a7452", "#7d5f72", "#5b7d7d", "#7a6c55", "#6b6388")


def vitals_svg(review: SessionReview) -> str:
    """The chart, or "" when no reading was journaled."""
    c = review.clinical
    if not c.readings:
        return ""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    total = max(
        [60.0, review.ended_s or 0.0, *(r.t for r in c.readings)]
        + [p.ended_s or 0.0 for p in review.phases]
    )

    def x(t: float) -> float:
        return round(LEFT + plot_w * max(0.0, min(t, total)) / total, 2)

    def y(v: float, low: float = LOW, high: float = HIGH) -> float:
        v = max(low, min(high, v))
        return round(TOP + plot_h * (high - v) / (high - low), 2)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" '
        'width="100%" role="img" aria-label="Vitals against session time" class="vitals">'
    ]
    for i, p in enumerate(review.phases):
        if p.started_s is None:
            continue
        end = total if p.ended_s is None else p.ended_s
        parts.append(
            f'<rect class="phase" x="{x(p.started_s)}" y="{TOP:g}" '
            f'width="{max(0.5, x(end) - x(p.started_s)):g}" height="{plot_h:g}" '
            f'fill="{PALETTE[i % len(PALETTE)]}" opacity=".18"><title>{escape(p.id)}</title>'
            f'</rect><text class="phase-name" x="{x(p.started_s) + 3:g}" y="{TOP + 10:g}">'
            f"{escape(p.id)}</text>"
        )
    for v in (60, 90, 120, 140, 180):
        parts.append(
            f'<line class="grid" x1="{LEFT:g}" x2="{WIDTH - RIGHT:g}" y1="{y(v)}" y2="{y(v)}"/>'
            f'<text class="scale" x="{LEFT - 4:g}" y="{y(v) + 3:g}" text-anchor="end">{v}</text>'
        )
    for v in (90, 100):
        parts.append(
            f'<text class="scale spo2" x="{WIDTH - RIGHT + 4:g}" '
            f'y="{y(v, SPO2_LOW, SPO2_HIGH) + 3:g}">{v}%</text>'
        )
    parts.append(
        f'<text class="scale" x="4" y="{TOP + 8:g}">mm[Hg], /min</text>'
        f'<text class="scale spo2" x="{WIDTH - 4:g}" y="{TOP + 8:g}" text-anchor="end">SpO2</text>'
    )
    step = next((s for s in (300, 600, 900, 1800, 3600) if total / s <= 10), 7200)
    tick = 0.0
    while tick <= total:
        parts.append(
            f'<text class="scale" x="{x(tick)}" y="{HEIGHT - 6:g}" text-anchor="middle">'
            f"{format_clock(tick)}</text>"
        )
        tick += step
    for d in c.doses:
        parts.append(
            f'<line class="dose" x1="{x(d.t)}" x2="{x(d.t)}" y1="{TOP:g}" '
            f'y2="{HEIGHT - BOTTOM:g}"><title>{escape(d.text)} at {format_clock(d.t)}</title>'
            "</line>"
        )
    hr: list[str] = []
    spo2: list[str] = []
    for r in c.readings:
        at = x(r.t)
        if "bp" in r.values:
            s, dia = r.values["bp"]
            parts.append(
                f'<line class="bp" x1="{at}" x2="{at}" y1="{y(s)}" y2="{y(dia)}">'
                f"<title>BP {s}/{dia} at {format_clock(r.t)}</title></line>"
            )
        if "hr" in r.values:
            hr.append(f"{at},{y(r.values['hr'])}")
        if "spo2" in r.values:
            spo2.append(f"{at},{y(r.values['spo2'], SPO2_LOW, SPO2_HIGH)}")
    for name, points in (("hr", hr), ("spo2", spo2)):
        if points:
            parts.append(f'<polyline class="{name}" points="{" ".join(points)}"/>')
            parts += [
                f'<circle class="{name}" cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="3"/>'
                for p in points
            ]
    parts.append("</svg>")
    return "".join(parts)
