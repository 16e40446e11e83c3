"""A session out of the journal: CSV and JSON for other tools, HTML for the chart.

CSV has one row per event (seq, session, patient, type, t, wall as ISO 8601 with its
offset, data as JSON) and `from_csv` reads it back to exactly the journal's events. The
HTML is one self-contained, printable (A4) page with the review's chart (journal/chart.py)
inline, legible on paper: its smallest type prints at 7.3 pt, dark on white, while on a
screen the page is dark.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from html import escape
from typing import Any

from setandsetting.core.events import wall_at
from setandsetting.journal.chart import chart_svg
from setandsetting.journal.review import SessionReview, build_review, review_header, review_tables
from setandsetting.journal.store import BASE_FIELDS, SessionSummary
from setandsetting.journal.vitals_chart import vitals_svg

# Each row says whose session it is, so rows from several exports can be pooled.
CSV_COLUMNS = ("seq", "session", "patient", "type", "t", "wall", "data")


def iso_wall(wall: str | None, started: datetime, t: float) -> str:
    """An event's wall time as ISO 8601 with its offset (the journal's are UTC): as
    journaled, or from the session's start and t where an event has none."""
    if not wall:
        return wall_at(started, t)
    when = datetime.fromisoformat(wall)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).isoformat(timespec="milliseconds")


def to_csv(session: SessionSummary, events: list[dict[str, Any]]) -> str:
    """One row per event: seq, the session and its patient, type, t, the wall time with
    its offset, and the rest of the event as JSON."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for seq, ev in enumerate(events, start=1):
        data = {k: v for k, v in ev.items() if k not in BASE_FIELDS}
        writer.writerow(
            [
                seq,
                session.id,
                session.patient,
                ev["type"],
                json.dumps(ev["t"]),
                iso_wall(ev.get("wall"), session.started_wall, float(ev["t"])),
                json.dumps(data, ensure_ascii=False, separators=(",", ":")),
            ]
        )
    return out.getvalue()


def from_csv(text: str) -> list[dict[str, Any]]:
    """Events back from `to_csv` output, in seq order (the session's columns dropped)."""
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


# The chart's type in user units: the SVG is 180 mm wide on A4 (210 mm less the margins)
# for 700 units, so 11 units print at 8 pt and 10 at 7.3 pt.
FONT_UNITS = {"lane": 11, "label": 11, "tick": 10, "pct": 10, "db": 10}
STYLE = (
    """
@page { size: A4; margin: 15mm; }
body { font: 10.5pt/1.35 system-ui, sans-serif; color: #111; max-width: 180mm; margin: 1em auto; }
h1 { font-size: 14pt; margin: 0 0 .4em; }
h2 { font-size: 11.5pt; margin: 1.1em 0 .3em; border-bottom: 1px solid #999; }
dl { display: grid; grid-template-columns: max-content auto; gap: .1em 1em; margin: 0; }
dt { font-weight: 600; } dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; }
th, td { text-align: left; padding: .15em .5em .15em 0; border-bottom: 1px solid #ddd;
  vertical-align: top; overflow-wrap: anywhere; }
td.none { color: #666; font-style: italic; }
svg { margin-top: .5em; }
"""
    + "".join(f"svg .{name} {{ font-size: {size}px; }}\n" for name, size in FONT_UNITS.items())
    + """svg text { fill: #222; } svg .label { fill: #111; font-weight: 600; }
svg .tick { text-anchor: middle; } svg .pct { text-anchor: end; }
svg .grid { stroke: #ddd; stroke-width: .5; } svg .axis { stroke: #777; stroke-width: .7; }
svg .phase-band { opacity: .22; } svg .cap { stroke: #b34; stroke-width: .8;
  stroke-dasharray: 4 3; }
svg .level { fill: none; stroke: #1f4e8c; stroke-width: 1.6; }
svg .checkin.ack { fill: #2e7d32; } svg .checkin.pending { fill: none; stroke: #555; }
svg .checkin.missed { stroke: #c62828; stroke-width: 2; fill: none; }
svg .note { fill: #f0a500; }
svg.vitals .scale, svg.vitals .phase-name { font-size: 9px; }
svg.vitals .grid { stroke: #ddd; stroke-width: .5; }
svg.vitals .bp { stroke: #8c3b1f; stroke-width: 4; stroke-linecap: round; }
svg.vitals polyline { fill: none; stroke-width: 1.5; }
svg.vitals .hr { stroke: #1f4e8c; fill: #1f4e8c; } svg.vitals polyline.hr { fill: none; }
svg.vitals .spo2 { stroke: #2e7d32; fill: #2e7d32; } svg.vitals polyline.spo2 { fill: none; }
svg.vitals .dose { stroke: #a86d00; stroke-dasharray: 3 3; }
@media screen {  /* opened in the dark treatment room: no white page; printed: as above */
  html { background: #101216; color-scheme: dark; }
  body { color: #c4c1b8; padding: 0 .75rem; }
  h2 { border-bottom-color: #4a4d54; }
  th, td { border-bottom-color: #2b2e35; }
  td.none { color: #8b887f; }
  svg text { fill: #a8a59d; } svg .label { fill: #c4c1b8; }
  svg .phase-planned, svg .phase-actual { opacity: .3; } svg .phase-band { opacity: .1; }
  svg .grid { stroke: #2b2e35; } svg .axis { stroke: #5a5d64; }
  svg .level { stroke: #7196c6; } svg .cap { stroke: #9a5b4f; }
  svg .checkin.pending { stroke: #9a978f; }
}
@media print {
  body { margin: 0; max-width: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2, table, tr, svg { break-inside: avoid; }
}
"""
)


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
        chart_svg(review, events),
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
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
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
        return to_csv(session, events)
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
