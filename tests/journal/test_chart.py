"""The review chart's geometry, exactly: a 10-minute session's axes, phases and level."""

from datetime import UTC, datetime
from typing import Any

from setandsetting.journal.chart import chart, chart_svg, music_levels, time_step
from setandsetting.journal.review import build_review
from setandsetting.journal.store import SessionSummary

PLAN: dict[str, Any] = {
    "phases": [
        {"id": "arrival", "start_s": 0.0, "end_s": 120.0},
        {"id": "peak", "start_s": 120.0, "end_s": 480.0},
        {"id": "return", "start_s": 480.0, "end_s": None},
    ],
    "max_level": 0.8,
}
EVENTS: list[dict[str, Any]] = [
    {"type": "phase_started", "t": 0.0, "phase": "arrival", "planned_t": 0.0},
    {"type": "track_started", "t": 0.0, "path": "a.flac", "level": 0.25},
    {"type": "checkin_due", "t": 60.0, "id": "c1", "kind": "vitals", "level": 0.4},
    {"type": "phase_started", "t": 150.0, "phase": "peak", "planned_t": 120.0},
    {"type": "track_started", "t": 150.0, "path": "b.flac", "level": 0.5},
    {"type": "checkin_escalated", "t": 180.0, "id": "c1", "count": 1, "level": 0.45},
    {"type": "quiet", "t": 300.0},
    {"type": "music_resumed", "t": 330.0, "after": "quiet"},
    {"type": "level_changed", "t": 450.0, "nudge_pct": 20.0, "level": 0.6},
    {"type": "phase_started", "t": 480.0, "phase": "return", "planned_t": 480.0},
    {"type": "session_ended", "t": 600.0, "reason": "stopped"},
]
SUMMARY = SessionSummary(
    "s1", "P-0042", "profiles/x.yaml", "X", datetime(2026, 12, 3, 14, tzinfo=UTC), PLAN, None, None
)


def x(t: float) -> float:
    """84 + 566 t / 600: the plot spans 84..650 user units for 0..10 min."""
    return round(84 + 566 * t / 600, 2)


def test_the_level_is_the_musics_alone_and_off_while_quiet() -> None:
    # Chime levels (0.4, 0.45) are the chimes', not the music's: a different scale, left out.
    assert music_levels(EVENTS) == [
        (0.0, 0.25),
        (150.0, 0.5),
        (300.0, 0.0),
        (330.0, 0.5),
        (450.0, 0.6),
        (600.0, 0.0),
    ]


def test_the_axes_are_session_time_and_level_in_percent_and_db() -> None:
    c = chart(build_review(SUMMARY, EVENTS), EVENTS)
    assert c.total_s == 600.0 and time_step(600.0) == 60.0
    assert [(t.value, t.pos, t.label) for t in c.time_ticks[:3]] == [
        (0.0, 84.0, "0:00:00"),
        (60.0, 140.6, "0:01:00"),
        (120.0, 197.2, "0:02:00"),
    ]
    assert len(c.time_ticks) == 11 and c.time_ticks[-1].pos == 650.0
    # 0..100 % is linear from y 186 (bottom) to 76 (top); dB = 60 log10(level).
    assert [(t.pos, t.label) for t in c.pct_ticks] == [
        (186.0, "0%"),
        (158.5, "25%"),
        (131.0, "50%"),
        (103.5, "75%"),
        (76.0, "100%"),
    ]
    assert [(t.pos, t.label) for t in c.db_ticks] == [
        (76.0, "0 dB"),
        (98.62, "-6 dB"),  # level 10^(-6/60) = 79.4 %
        (116.59, "-12 dB"),
        (142.21, "-24 dB"),
        (168.57, "-48 dB"),  # 15.8 %
    ]
    assert c.cap_y == 98.0  # max_level 80 %


def test_phases_are_drawn_planned_actual_and_behind_the_level() -> None:
    c = chart(build_review(SUMMARY, EVENTS), EVENTS)
    assert [(b.phase, b.lane, b.x, b.width) for b in c.bars] == [
        ("arrival", "planned", 84.0, round(x(120) - 84, 2)),
        ("arrival", "actual", 84.0, round(x(150) - 84, 2)),
        ("arrival", "band", 84.0, round(x(150) - 84, 2)),
        ("peak", "planned", x(120), round(x(480) - x(120), 2)),
        ("peak", "actual", x(150), round(x(480) - x(150), 2)),
        ("peak", "band", x(150), round(x(480) - x(150), 2)),
        ("return", "planned", x(480), round(650 - x(480), 2)),  # open: to the chart's end
        ("return", "actual", x(480), round(650 - x(480), 2)),
        ("return", "band", x(480), round(650 - x(480), 2)),
    ]
    # Steps: 25 % from the start, 50 % from 2:30, nothing while quiet, 60 % from 7:30.
    assert c.level == (
        (84.0, 158.5),
        (x(150), 158.5),
        (x(150), 131.0),
        (x(300), 131.0),
        (x(300), 186.0),
        (x(330), 186.0),
        (x(330), 131.0),
        (x(450), 131.0),
        (x(450), 120.0),
        (650.0, 120.0),
        (650.0, 186.0),
    )
    assert [(m.kind, m.x) for m in c.marks] == [("pending", x(60))]


def test_the_svg_draws_the_bands_first_and_clips_each_label_to_its_bar() -> None:
    svg = chart_svg(build_review(SUMMARY, EVENTS), EVENTS)
    assert svg.index('class="phase-band"') < svg.index('class="grid"')
    assert svg.index('class="grid"') < svg.index('class="level"')
    label = f'<svg x="{x(150):g}" y="44" width="{round(x(480) - x(150), 2):g}" height="20" '
    assert label + 'aria-hidden="true"><text x="3" y="14.5" class="label">peak</text></svg>' in svg
    assert '<text x="655" y="102.12" class="db">-6 dB</text>' in svg  # the right axis
