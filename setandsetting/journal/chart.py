"""The review's chart of a session: phases planned and actual, the music's level with its
axes in % and dB against session time (the phases drawn behind it), check-ins and notes.

`chart` is pure geometry (every position in SVG user units, exact, testable); `chart_svg`
only writes it out. The level drawn is the music's as the journal knows it: the level each
track started at and each manual change, held until the next, and nothing (0 %) while the
music is held, quiet or over. Chime levels are not the music's and are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Any

from setandsetting.core.units import format_clock
from setandsetting.journal.review import CheckinReview, SessionReview

# The drawing, in user units: the SVG scales to its width (180 mm on A4, the screen's width).
WIDTH = 700.0
LEFT, RIGHT = 84.0, 50.0  # lane names and % on the left, dB on the right
PLOT = WIDTH - LEFT - RIGHT
BAR = 20.0
LANES = {"planned": 20.0, "actual": 44.0, "checkins": 200.0, "notes": 224.0}
LEVEL_TOP, LEVEL_H = 76.0, 110.0
AXIS_Y = 262.0  # the time labels' baseline
HEIGHT = 270.0
PCT_TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)
DB_TICKS = (0.0, -6.0, -12.0, -24.0, -48.0)
TIME_STEPS = (30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0)
PALETTE = ("#8fb3d9", "#a5d1a0", "#c9b07a", "#c7a0b8", "#9fc4c4", "#b5a88f", "#a9a0d0")
MUSIC_OFF = frozenset({"quiet", "music_held", "session_ended"})


@dataclass(frozen=True, slots=True)
class Tick:
    value: float  # seconds, a level (0..1) or dB
    pos: float  # x for time, y for level and dB
    label: str


@dataclass(frozen=True, slots=True)
class Bar:
    phase: str
    lane: str  # planned | actual | band (behind the level)
    x: float
    width: float
    color: str
    tip: str


@dataclass(frozen=True, slots=True)
class Mark:
    kind: str  # ack | pending | missed | note
    x: float
    tip: str


@dataclass(frozen=True, slots=True)
class Chart:
    total_s: float
    time_ticks: tuple[Tick, ...]
    pct_ticks: tuple[Tick, ...]
    db_ticks: tuple[Tick, ...]
    bars: tuple[Bar, ...]
    level: tuple[tuple[float, float], ...]  # (x, y) of the level's steps
    cap_y: float | None  # the profile's max_level, when the plan says it
    marks: tuple[Mark, ...]


def time_step(total: float) -> float:
    """The smallest round step that puts at most 12 ticks on the axis."""
    return next((s for s in TIME_STEPS if total / s <= 12), TIME_STEPS[-1])


def level_y(level: float) -> float:
    """Level 0..1 (perceptual, linear in %) to y: 100 % at the top of the plot."""
    return round(LEVEL_TOP + LEVEL_H * (1.0 - max(0.0, min(level, 1.0))), 2)


def db_label(db: float) -> str:
    return f"{db:g} dB" if db else "0 dB"


def music_levels(events: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(t, level) each time the music's level changes: a track's start, a manual change,
    0 while held or quiet and after the end, back on resume."""
    steps: list[tuple[float, float]] = []
    last: float | None = None
    for ev in events:
        kind = ev["type"]
        if kind in ("track_started", "level_changed") and isinstance(ev.get("level"), int | float):
            last = float(ev["level"])
            steps.append((float(ev["t"]), last))
        elif kind in MUSIC_OFF and last is not None:
            steps.append((float(ev["t"]), 0.0))
        elif kind == "music_resumed" and last is not None:
            steps.append((float(ev["t"]), last))
    return steps


def chart(review: SessionReview, events: list[dict[str, Any]]) -> Chart:
    """Where everything of the session's chart goes."""
    last_t = max((float(ev["t"]) for ev in events), default=0.0)
    ends = [p.planned_end_s or 0.0 for p in review.phases] + [review.ended_s or 0.0, last_t]
    total = max([*ends, 60.0])

    def x(t: float) -> float:
        return round(LEFT + PLOT * max(0.0, min(t, total)) / total, 2)

    step = time_step(total)
    time_ticks = tuple(
        Tick(k * step, x(k * step), format_clock(k * step))
        for k in range(math.floor(total / step + 1e-9) + 1)
    )
    bars: list[Bar] = []
    for i, p in enumerate(review.phases):
        color = PALETTE[i % len(PALETTE)]
        for lane, start, end in (
            ("planned", p.planned_start_s, p.planned_end_s),
            ("actual", p.started_s, p.ended_s),
        ):
            if start is None:
                continue
            stop = total if end is None else end
            tip = f"{p.id} {lane}: {format_clock(start)}-"
            tip += "open" if end is None else format_clock(end)
            width = max(0.5, round(x(stop) - x(start), 2))
            bars.append(Bar(p.id, lane, x(start), width, color, tip))
            if lane == "actual":
                bars.append(Bar(p.id, "band", x(start), width, color, tip))
    points: list[tuple[float, float]] = []
    steps = music_levels(events)
    for t, level in steps:
        for point in ((x(t), points[-1][1]) if points else None, (x(t), level_y(level))):
            if point is not None and (not points or points[-1] != point):
                points.append(point)
    if steps and steps[-1][1] > 0:
        end_t = review.ended_s if review.ended_s is not None else last_t
        points.append((x(end_t), points[-1][1]))
    marks = [
        Mark(_checkin_state(c.latency_s, c.missed), x(c.due_s), _checkin_tip(c))
        for c in review.checkins
    ]
    marks += [Mark("note", x(n.t), f"{format_clock(n.t)} {n.text}") for n in review.notes]
    return Chart(
        total_s=total,
        time_ticks=time_ticks,
        pct_ticks=tuple(Tick(v, level_y(v), f"{v * 100:.0f}%") for v in PCT_TICKS),
        db_ticks=tuple(Tick(d, level_y(10.0 ** (d / 60.0)), db_label(d)) for d in DB_TICKS),
        bars=tuple(bars),
        level=tuple(points),
        cap_y=None if review.max_level is None else level_y(review.max_level),
        marks=tuple(marks),
    )


def _checkin_state(latency_s: float | None, missed: bool) -> str:
    return "ack" if latency_s is not None else "missed" if missed else "pending"


def _checkin_tip(c: CheckinReview) -> str:
    return f"{c.kind or 'check-in'} due {format_clock(c.due_s)}: " + _checkin_state(
        c.latency_s, c.missed
    )


def chart_svg(review: SessionReview, events: list[dict[str, Any]]) -> str:
    """The chart as inline SVG, styled by the page it sits in (classes, no colours but the
    phases'); each phase's label is clipped to its bar, its full span in the tooltip."""
    c = chart(review, events)
    bottom = LEVEL_TOP + LEVEL_H
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" '
        'width="100%" role="img" aria-label="Session timeline: phases, music level, '
        'check-ins and notes against session time">'
    ]
    for bar in (b for b in c.bars if b.lane == "band"):
        out.append(
            f'<rect class="phase-band" data-phase="{escape(bar.phase)}" x="{bar.x:g}" '
            f'y="{LEVEL_TOP:g}" width="{bar.width:g}" height="{LEVEL_H:g}" fill="{bar.color}"/>'
        )
    for name, y in LANES.items():
        out.append(f'<text x="4" y="{y + 14.5:g}" class="lane">{name}</text>')
    mid = LEVEL_TOP + LEVEL_H / 2
    out.append(f'<text x="4" y="{mid - 2:g}" class="lane">music</text>')
    out.append(f'<text x="4" y="{mid + 12:g}" class="lane">level</text>')
    for t in c.pct_ticks:
        out.append(
            f'<line x1="{LEFT:g}" y1="{t.pos:g}" x2="{WIDTH - RIGHT:g}" y2="{t.pos:g}" '
            f'class="grid"/><text x="{LEFT - 4:g}" y="{t.pos + 3.5:g}" class="pct">{t.label}</text>'
        )
    for t in c.db_ticks:
        out.append(
            f'<line x1="{WIDTH - RIGHT:g}" y1="{t.pos:g}" x2="{WIDTH - RIGHT + 3:g}" '
            f'y2="{t.pos:g}" class="axis"/>'
            f'<text x="{WIDTH - RIGHT + 5:g}" y="{t.pos + 3.5:g}" class="db">{t.label}</text>'
        )
    out.append(
        f'<line x1="{WIDTH - RIGHT:g}" y1="{LEVEL_TOP:g}" x2="{WIDTH - RIGHT:g}" '
        f'y2="{bottom:g}" class="axis"/>'
    )
    for t in c.time_ticks:
        out.append(
            f'<line x1="{t.pos:g}" y1="{LANES["planned"]:g}" x2="{t.pos:g}" '
            f'y2="{AXIS_Y - 11:g}" class="grid"/>'
            f'<text x="{t.pos:g}" y="{AXIS_Y:g}" class="tick">{t.label}</text>'
        )
    out.append(f'<text x="4" y="{AXIS_Y:g}" class="lane">time</text>')
    for bar in (b for b in c.bars if b.lane != "band"):
        y = LANES[bar.lane]
        out.append(
            f'<rect class="phase-{bar.lane}" data-phase="{escape(bar.phase)}" x="{bar.x:g}" '
            f'y="{y:g}" width="{bar.width:g}" height="{BAR:g}" fill="{bar.color}">'
            f"<title>{escape(bar.tip)}</title></rect>"
            f'<svg x="{bar.x:g}" y="{y:g}" width="{bar.width:g}" height="{BAR:g}" '
            'aria-hidden="true">'
            f'<text x="3" y="14.5" class="label">{escape(bar.phase)}</text></svg>'
        )
    if c.cap_y is not None:
        out.append(
            f'<line x1="{LEFT:g}" y1="{c.cap_y:g}" x2="{WIDTH - RIGHT:g}" y2="{c.cap_y:g}" '
            'class="cap"><title>the profile\'s max_level</title></line>'
        )
    if c.level:
        points = " ".join(f"{px:g},{py:g}" for px, py in c.level)
        out.append(f'<polyline class="level" points="{points}"/>')
    cy = LANES["checkins"] + BAR / 2
    for m in c.marks:
        tip = f"<title>{escape(m.tip)}</title>"
        if m.kind == "missed":
            d = f"M{m.x - 5:g},{cy - 5:g}l10,10m0,-10l-10,10"
            out.append(f'<path class="checkin missed" d="{d}">{tip}</path>')
        elif m.kind == "note":
            d = f"M{m.x - 5:g},{LANES['notes']:g}h10l-5,{BAR:g}z"
            out.append(f'<path class="note" d="{d}">{tip}</path>')
        else:
            out.append(
                f'<circle class="checkin {m.kind}" cx="{m.x:g}" cy="{cy:g}" r="5">{tip}</circle>'
            )
    out.append("</svg>")
    return "".join(out)
