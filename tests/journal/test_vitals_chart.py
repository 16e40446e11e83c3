"""The vitals chart: one BP bar per BP, HR and SpO2 lines on their own scales, the dose."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from setandsetting.journal.review import build_review
from setandsetting.journal.store import SessionSummary
from setandsetting.journal.vitals_chart import vitals_svg

PLAN = {"phases": [{"id": "dosing", "start_s": 0.0, "end_s": None}], "warnings": []}
SUMMARY = SessionSummary(
    "S", "P", "p.yaml", "p", datetime(2026, 1, 1, tzinfo=UTC), PLAN, None, None
)


def reading(t: float, **values: object) -> dict:
    return {"type": "vitals_recorded", "t": t, "readings": values, "skipped": []}


EVENTS = [
    {"type": "session_started", "t": 0.0},
    {"type": "phase_started", "t": 0.0, "phase": "dosing", "planned_t": 0.0},
    reading(60.0, bp=[150, 95], hr=88, spo2=98),
    {"type": "dose_given", "t": 120.0, "n": 1, "name": "ketamine", "amount": 35.0, "unit": "mg"},
    reading(600.0, bp=[130, 80], spo2=90),
    {"type": "session_ended", "t": 1200.0, "reason": "stopped"},
]


def test_the_chart_draws_each_reading_on_its_scale_with_the_dose_marked():
    svg = vitals_svg(build_review(SUMMARY, EVENTS))
    bars = re.findall(
        r'<line class="bp" x1="([\d.]+)" x2="[\d.]+" y1="([\d.]+)" y2="([\d.]+)"', svg
    )
    # x: 46 + 674 * t / 1200; y (mm[Hg]): 10 + 186 * (200 - v) / 160
    assert bars == [("79.7", "68.12", "132.06"), ("383.0", "91.38", "149.5")]
    assert re.findall(r'<polyline class="hr" points="([^"]*)"', svg) == ["79.7,140.2"]
    # SpO2 on its own scale, 80-100 %
    assert re.findall(r'<polyline class="spo2" points="([^"]*)"', svg) == ["79.7,28.6 383.0,103.0"]
    assert '<line class="dose" x1="113.4"' in svg
    assert "<title>ketamine 35 mg at 0:02:00</title>" in svg


def test_no_reading_no_chart():
    assert vitals_svg(build_review(SUMMARY, EVENTS[:2])) == ""


def test_the_printable_export_carries_the_chart():
    from setandsetting.journal.export import to_html

    page = to_html(build_review(SUMMARY, EVENTS), EVENTS)
    assert page.count('class="vitals"') == 1 and "<h2>Vitals</h2>" in page
