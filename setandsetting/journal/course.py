"""A patient's course across sessions (`log patient ID`, the Patient course page).

One row per session, oldest first, read from each session's journal through the same
clinical record as the review and the exports: the date, the doses, BP before the dose,
about 40 minutes after and at the end, the lowest MOAA/S, the alerts, the monitoring
minutes from the first dose, the intention and notes, the music that played and what
the patient's avoid list kept out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from setandsetting.core.vitals import format_value
from setandsetting.journal.clinical import ClinicalRecord, ReadingRecord, clinical_record
from setandsetting.journal.review import text_table
from setandsetting.journal.store import Journal

AVOIDED = " removed (on the patient's avoid list)"


@dataclass(frozen=True, slots=True)
class CourseRow:
    session_id: str
    date: str
    profile: str
    end_reason: str | None
    record: ClinicalRecord
    notes: tuple[str, ...]
    played: tuple[str, ...]
    avoided: tuple[str, ...]

    def cells(self) -> list[str]:
        c = self.record
        sedation = [r.values["sedation"] for r in c.readings if "sedation" in r.values]
        minutes = c.monitoring_minutes()
        intention = (c.facts or {}).get("intention") or ""
        return [
            self.date,
            self.session_id,
            "; ".join(d.text for d in c.doses) or "-",
            _bp(c.bp_before_dose()),
            _bp(c.bp_after_dose()),
            _bp(c.bp_at_end()),
            str(min(sedation)) if sedation else "-",
            "; ".join(a.message for a in c.alerts) or "-",
            "-" if minutes is None else f"{minutes:g}",
            "; ".join(x for x in (intention, *self.notes) if x) or "-",
            ", ".join(self.played) or "-",
            ", ".join(self.avoided) or "-",
        ]


HEADERS = [
    "date", "session", "dose", "BP at dose", "BP +40m", "BP end", "MOAA/S min", "alerts",
    "monitored min", "intention and notes", "music played", "avoided",
]  # fmt: skip


def _bp(reading: ReadingRecord | None) -> str:
    return "-" if reading is None else format_value("bp", reading.values["bp"])


def course_row(summary: Any, events: list[dict[str, Any]]) -> CourseRow:
    warnings = summary.plan.get("warnings", []) if isinstance(summary.plan, dict) else []
    return CourseRow(
        session_id=summary.id,
        date=f"{summary.started_wall:%Y-%m-%d}",
        profile=summary.profile_name,
        end_reason=summary.end_reason,
        record=clinical_record(events),
        notes=tuple(str(e.get("text", "")) for e in events if e["type"] == "note"),
        played=tuple(
            dict.fromkeys(
                str(e.get("title") or e.get("path"))
                for e in events
                if e["type"] == "track_started" and not e.get("in_gap")
            )
        ),
        avoided=tuple(
            dict.fromkeys(w.split(": ", 1)[-1][: -len(AVOIDED)] for w in warnings if AVOIDED in w)
        ),
    )


def course(journal: Journal, patient: str) -> list[CourseRow]:
    """The patient's sessions, oldest first."""
    sessions = sorted(journal.sessions(patient=patient), key=lambda s: s.started_wall)
    return [course_row(s, journal.events(s.id)) for s in sessions]


def render_course(patient: str, rows: list[CourseRow]) -> str:
    """The course as text: one block per session, label and value a line (too wide for a
    table on a terminal)."""
    lines = [f"Patient {patient}: {len(rows)} session(s)"]
    for row in rows:
        lines.append("")
        lines += text_table([[h, v] for h, v in zip(HEADERS, row.cells(), strict=True)], "  ")
    return "\n".join(lines) + "\n"
