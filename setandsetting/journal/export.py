"""A session out of the journal: CSV and JSON for other tools, HTML for the chart.

CSV has one row per event (seq, type, t, wall, data as JSON) and `from_csv` reads it
back to exactly the journal's events. The HTML is one self-contained, printable (A4) page
with an inline SVG timeline: phases planned vs actual, the level applied, check-ins, notes.
"""

from __future__ import annotations

import csv
import io
import json
from html import escape
from typing import Any

from setandsetting.core.units import format_clock
from setandsetting.journal.review import SessionReview, build_review, review_header, review_tables
from setandsetting.journal.store import BASE_FIELDS, SessionSummary
from setandsetting.journal.vitals_chart import vitals_svg

CSV_COLUMNS = ("seq", "type", "t", "wall", "data")


def to_csv(events: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for seq, ev in enumerate(events, start=1):
        data = {k: v for k, v in ev.items() if k not in BASE_FIELDS}
        writer.writerow(
            [
                seq,
                ev["type"],
                json.dumps(ev["t"]),
                ev.get("wall", ""),
                json.dumps(data, ensure_ascii=False, separators=(",", ":")),
            ]
        )
    return out.getvalue()


def from_csv(text: str) -> list[dict[str, Any]]:
    """Events back from `to_csv` output, in seq order."""
    rows = list(csv.DictReader(io.StringIO(text)))
    events = []
    for row in sorted(rows, key=lambda r: int(r["seq"])):
        event: dict[str, Any] = {"type": row["type"], "t": json.loads(row["t"])}
        if row["wall"]:
            event["wall"] = row["wall"]
        event.update(json.loads(row["data"]))
        events.append(event)
    return events


def session_dict(session: SessionSummary) -> dict[str, Any]:
    return {
        "id": session.id,
        "patient": session.patient,
        "profile_path": session.profile_path,
        "profile_name": session.profile_name,
        "started_wall": session.started_wall.isoformat(),
        "ended_wall": None if session.ended_wall is None else session.ended_wall.isoformat(),
        "end_reason": session.end_reason,
        "plan": session.plan,
    }


def to_json(session: SessionSummary, events: list[dict[str, Any]]) -> str:
    return (
        json.dumps(
            {"session": session_dict(session), "events": events}, indent=2, ensure_ascii=False
        )
        + "\n"
    )


# SVG geometry (user units; the SVG scales to the page width).
WIDTH, LEFT, RIGHT = 700.0, 70.0, 10.0
PLOT = WIDTH - LEFT - RIGHT
LANES = {"planned": 24.0, "actual": 48.0, "level": 76.0, "checkins": 176.0, "notes": 200.0}
BAR, LEVEL_H, HEIGHT = 18.0, 90.0, 232.0
PALETTE = ("#8fb3d9", "#a5d1a0", "#e6c17a", "#d9a0c4", "#9fd4d4", "#c9b38f", "#b5a8e0")


def _tick_step(total: float) -> float:
    return next((s for s in (60, 300, 600, 900, 1800, 3600) if total / s <= 12), 7200.0)


def timeline_svg(review: SessionReview, events: list[dict[str, Any]]) -> str:
    last_t = max((ev["t"] for ev in events), default=0.0)
    ends = [p.planned_end_s or 0.0 for p in review.phases] + [review.ended_s or 0.0, last_t]
    total = max([*ends, 60.0])

    def x(t: float) -> float:
        return round(LEFT + PLOT * max(0.0, min(t, total)) / total, 2)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {HEIGHT:g}" '
        f'width="100%" role="img" aria-label="Session timeline">'
    ]
    for label, y in LANES.items():
        mid = y + (LEVEL_H if label == "level" else BAR) / 2
        parts.append(f'<text x="4" y="{mid + 4:g}" class="lane">{label}</text>')
    step = _tick_step(total)
    tick = 0.0
    while tick <= total:
        parts.append(
            f'<line x1="{x(tick)}" y1="18" x2="{x(tick)}" y2="{HEIGHT - 14:g}" class="grid"/>'
            f'<text x="{x(tick)}" y="{HEIGHT - 2:g}" class="tick">{format_clock(tick)}</text>'
        )
        tick += step
    for i, p in enumerate(review.phases):
        color = PALETTE[i % len(PALETTE)]
        for lane, start, end in (
            ("planned", p.planned_start_s, p.planned_end_s),
            ("actual", p.started_s, p.ended_s),
        ):
            if start is None:
                continue
            stop = total if end is None else end
            parts.append(
                f'<rect class="phase-{lane}" data-phase="{escape(p.id)}" x="{x(start)}" '
                f'y="{LANES[lane]:g}" width="{max(0.5, x(stop) - x(start)):g}" '
                f'height="{BAR:g}" fill="{color}"><title>{escape(p.id)} {lane}: '
                f"{format_clock(start)}-{'open' if end is None else format_clock(end)}"
                f"</title></rect>"
                f'<text x="{x(start) + 3:g}" y="{LANES[lane] + 13:g}" class="label">'
                f"{escape(p.id)}</text>"
            )
    base = LANES["level"] + LEVEL_H
    points: list[str] = []
    level: float | None = None
    for ev in events:
        value = ev.get("level")
        if isinstance(value, int | float) and not isinstance(value, bool):
            if level is not None:
                points.append(f"{x(ev['t'])},{base - LEVEL_H * level:g}")
            level = min(1.0, max(0.0, float(value)))
            points.append(f"{x(ev['t'])},{base - LEVEL_H * level:g}")
    if level is not None:
        end_t = review.ended_s if review.ended_s is not None else last_t
        points.append(f"{x(end_t)},{base - LEVEL_H * level:g}")
        parts.append(f'<polyline class="level" points="{" ".join(points)}"/>')
    cy = LANES["checkins"] + BAR / 2
    for c in review.checkins:
        state = "ack" if c.latency_s is not None else "missed" if c.missed else "pending"
        tip = f"{c.kind or 'check-in'} due {format_clock(c.due_s)}: {state}"
        if state == "missed":
            cx = x(c.due_s)
            parts.append(
                f'<path class="checkin missed" d="M{cx - 5:g},{cy - 5:g}l10,10m0,-10l-10,10">'
                f"<title>{escape(tip)}</title></path>"
            )
        else:
            parts.append(
                f'<circle class="checkin {state}" cx="{x(c.due_s)}" cy="{cy:g}" r="5">'
                f"<title>{escape(tip)}</title></circle>"
            )
    ny = LANES["notes"]
    for n in review.notes:
        nx = x(n.t)
        parts.append(
            f'<path class="note" d="M{nx - 5:g},{ny:g}h10l-5,{BAR:g}z">'
            f"<title>{format_clock(n.t)} {escape(n.text)}</title></path>"
        )
    parts.append("</svg>")
    return "".join(parts)


STYLE = """
@page { size: A4; margin: 15mm; }
body { font: 10.5pt/1.35 system-ui, sans-serif; color: #111; max-width: 180mm; margin: 1em auto; }
h1 { font-size: 14pt; margin: 0 0 .4em; }
h2 { font-size: 11.5pt; margin: 1.1em 0 .3em; border-bottom: 1px solid #999; }
dl { display: grid; grid-template-columns: max-content auto; gap: .1em 1em; margin: 0; }
dt { font-weight: 600; } dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; }
th, td { text-align: left; padding: .15em .5em .15em 0; border-bottom: 1px solid #ddd;
  vertical-align: top; }
td.none { color: #666; font-style: italic; }
svg { margin-top: .5em; }
svg .lane, svg .tick, svg .label { font-size: 9px; fill: #333; }
svg .tick { text-anchor: middle; }
svg .grid { stroke: #ddd; stroke-width: .5; }
svg .level { fill: none; stroke: #1f4e8c; stroke-width: 1.5; }
svg .checkin.ack { fill: #2e7d32; } svg .checkin.pending { fill: none; stroke: #555; }
svg .checkin.missed { stroke: #c62828; stroke-width: 2; fill: none; }
svg .note { fill: #f0a500; }
svg.vitals .axis, svg.vitals .phase-name { font-size: 9px; fill: #333; }
svg.vitals .grid { stroke: #ddd; stroke-width: .5; }
svg.vitals .bp { stroke: #8c3b1f; stroke-width: 4; stroke-linecap: round; }
svg.vitals polyline { fill: none; stroke-width: 1.5; }
svg.vitals .hr { stroke: #1f4e8c; fill: #1f4e8c; } svg.vitals polyline.hr { fill: none; }
svg.vitals .spo2 { stroke: #2e7d32; fill: #2e7d32; } svg.vitals polyline.spo2 { fill: none; }
svg.vitals .dose { stroke: #a86d00; stroke-dasharray: 3 3; }
@media screen {  /* opened in the dark treatment room: no white page; printed: as above */
  html { background: #101216; color-scheme: dark; }
  body { color: #c4c1b8; }
  h2 { border-bottom-color: #4a4d54; }
  th, td { border-bottom-color: #2b2e35; }
  td.none { color: #8b887f; }
  svg .lane, svg .tick, svg .label { fill: #a8a59d; }
  svg .grid { stroke: #2b2e35; }
  svg .level { stroke: #7196c6; }
  svg .checkin.pending { stroke: #9a978f; }
}
@media print {
  body { margin: 0; max-width: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2, table, tr, svg { break-inside: avoid; }
}
"""


def to_html(review: SessionReview, events: list[dict[str, Any]]) -> str:
    """One printable, self-contained page (no scripts, no external resources)."""
    head = "".join(
        f"<dt>{escape(label)}</dt><dd>{escape(value)}</dd>"
        for label, value in review_header(review)
    )
    body = [
        f"<h1>Session {escape(review.session_id)}</h1>",
        f"<dl>{head}</dl>",
        "<h2>Timeline</h2>",
        timeline_svg(review, events),
    ]
    vitals = vitals_svg(review)
    if vitals:
        body += ["<h2>Vitals</h2>", vitals]
    for title, headers, rows in review_tables(review):
        body.append(f"<h2>{escape(title)}</h2><table><thead><tr>")
        body.append("".join(f"<th>{escape(h)}</th>" for h in headers) + "</tr></thead><tbody>")
        if not rows:
            body.append(f'<tr><td class="none" colspan="{len(headers)}">none</td></tr>')
        for row in rows:
            body.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
        body.append("</tbody></table>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Session {escape(review.session_id)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


# Every export format: its media type and file suffix (`log export`, the API, the Review page).
FORMATS: dict[str, tuple[str, str]] = {
    "csv": ("text/csv", "csv"),
    "json": ("application/json", "json"),
    "html": ("text/html", "html"),
    "rems": ("text/html", "rems.html"),
    "fhir": ("application/fhir+json", "fhir.json"),
}


def export(fmt: str, session: SessionSummary, events: list[dict[str, Any]]) -> str:
    """One session in one of FORMATS; the REMS and FHIR modules load only for theirs."""
    if fmt == "csv":
        return to_csv(events)
    if fmt == "json":
        return to_json(session, events)
    review = build_review(session, events)
    if fmt == "rems":
        from setandsetting.journal.rems import to_rems

        return to_rems(review)
    if fmt == "fhir":
        from setandsetting.journal.fhir import to_fhir

        return to_fhir(review)
    return to_html(review, events)
