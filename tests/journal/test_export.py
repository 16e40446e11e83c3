import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

from setandsetting.journal.export import from_csv, iso_wall, to_csv, to_html, to_json
from setandsetting.journal.review import build_review
from setandsetting.journal.store import Journal
from tests.journal.synthetic import PLAN, make_room

SVG = "{http://www.w3.org/2000/svg}"


def _load(tmp_path: Path):
    room, session_id = make_room(tmp_path)
    with Journal.open(room / "sessions.db", create=False) as journal:
        return journal.session(session_id), journal.events(session_id)


def test_csv_parses_back_to_exactly_the_journal(tmp_path: Path) -> None:
    session, events = _load(tmp_path)
    text = to_csv(session, events)
    assert text.splitlines()[0] == "seq,session,patient,type,t,wall,data"
    assert text.splitlines()[4] == (
        "4,20261126-160501-P0042,P0042,note,300.0,2026-11-26T16:10:01.000+00:00,"
        '"{""text"":""intention: rest and let go""}"'
    )
    assert from_csv(text) == events
    # Exactly: same keys and same value types, not just equal numbers.
    assert [json.dumps(e, sort_keys=True) for e in from_csv(text)] == [
        json.dumps(e, sort_keys=True) for e in events
    ]


def test_every_csv_row_names_the_patient_and_an_iso_time_with_its_offset(tmp_path: Path) -> None:
    session, events = _load(tmp_path)
    rows = list(csv.DictReader(io.StringIO(to_csv(session, events))))
    assert len(rows) == len(events) == 31
    assert {(r["session"], r["patient"]) for r in rows} == {(session.id, "P0042")}
    for row, event in zip(rows, events, strict=True):
        when = datetime.fromisoformat(row["wall"])
        assert when.utcoffset() == timedelta(0) and row["wall"].endswith("+00:00")
        assert when == session.started_wall + timedelta(seconds=event["t"])


def test_a_wall_time_is_given_its_offset_or_made_from_the_start() -> None:
    started = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
    assert iso_wall("2026-12-03T15:00:00+01:00", started, 0) == "2026-12-03T15:00:00.000+01:00"
    assert iso_wall("2026-12-03T14:00:05", started, 5) == "2026-12-03T14:00:05.000+00:00"
    assert iso_wall(None, started, 90.25) == "2026-12-03T14:01:30.250+00:00"


def test_json_export_carries_session_plan_and_events(tmp_path: Path) -> None:
    session, events = _load(tmp_path)
    out = json.loads(to_json(session, events))
    assert out["session"]["id"] == "20261126-160501-P0042"
    assert out["session"]["end_reason"] == "completed"
    assert out["session"]["plan"] == PLAN
    assert out["events"] == events


def test_html_is_self_contained_and_printable_with_a_timeline(tmp_path: Path) -> None:
    session, events = _load(tmp_path)
    html = to_html(build_review(session, events), events)
    assert html.startswith("<!DOCTYPE html>")
    assert "@page { size: A4" in html and "@media print" in html
    assert not re.search(r"<script|<link|src=|https?://(?!www\.w3\.org/2000/svg)", html)
    [svg_text] = re.findall(r"<svg xmlns.*?</svg>(?=<h2>)", html, flags=re.S)
    svg = ET.fromstring(svg_text)  # well-formed XML
    phases = ["arrival", "peak", "return", "integration"]
    for lane in ("planned", "actual", "band"):
        assert [
            r.get("data-phase") for r in svg.iter(f"{SVG}rect") if r.get("class") == f"phase-{lane}"
        ] == phases
    # Each bar's label sits in a nested svg of the bar's size, which clips it.
    labels = [s for s in svg.iter(f"{SVG}svg") if s.find(f"{SVG}text[@class='label']") is not None]
    assert [s.find(f"{SVG}text").text for s in labels] == [p for p in phases for _ in "pa"]
    [level] = svg.findall(f"{SVG}polyline[@class='level']")
    # The music: 35% at 0, 65% at 10m, 0 while quiet, 60% at 33m10s, 55%, 50%, 25%, 0 at the end.
    ys = [float(p.split(",")[1]) for p in level.get("points").split()]
    assert ys[0] == 76 + 110 * 0.65 and min(ys) == round(76 + 110 * 0.35, 2)
    assert ys[-1] == 186.0
    assert len(svg.findall(f"{SVG}circle[@class='checkin ack']")) == 1
    assert len(svg.findall(f"{SVG}path[@class='checkin missed']")) == 1
    assert len(svg.findall(f"{SVG}path[@class='note']")) == 2
    assert "talking, calm, &quot;felt held&quot;" in html


def test_html_on_screen_is_dark_and_prints_light() -> None:
    """Opened on the room's tablet the export must not flash white; on paper it stays
    dark text on white (the screen colours live only in @media screen)."""
    from setandsetting.journal.export import STYLE

    screen = STYLE.split("@media screen {", 1)[1].split("\n}\n", 1)[0]
    background = re.search(r"html \{ background: #([0-9a-f]{6})", screen)
    assert background is not None
    assert max(bytes.fromhex(background.group(1))) <= 0x20
    for colour in re.findall(r"#([0-9a-fA-F]{6})\b", screen):
        assert max(bytes.fromhex(colour)) <= 0xD0, colour
    printed = STYLE.split("@media screen {", 1)[0]
    assert "color: #111" in printed and "background" not in printed


def test_the_printed_chart_type_is_at_least_7pt() -> None:
    """The chart is as wide as A4 less its margins (180 mm) for 700 user units."""
    from setandsetting.journal.chart import WIDTH
    from setandsetting.journal.export import FONT_UNITS, STYLE

    page = re.search(r"@page \{ size: A4; margin: (\d+)mm; \}", STYLE)
    assert page is not None
    printed_mm = 210 - 2 * int(page.group(1))
    assert printed_mm == 180 and "max-width: none" in STYLE.split("@media print", 1)[1]
    for name, units in FONT_UNITS.items():
        assert f"svg .{name} {{ font-size: {units}px; }}" in STYLE
        assert units * printed_mm / WIDTH / 25.4 * 72 >= 7.0, name
