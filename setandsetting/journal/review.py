"""What happened in a session, against its plan: the clinician's review (`log show`).

Pure: built from the stored plan (`plan --json`) and the journaled events, no I/O.
`phase_advanced` names the phase that was left early and when it had been planned to end.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from setandsetting.core.units import format_clock, format_duration
from setandsetting.journal.clinical import (
    ClinicalRecord,
    clinical_header,
    clinical_record,
    clinical_tables,
)
from setandsetting.journal.store import SessionSummary


@dataclass(frozen=True, slots=True)
class PhaseReview:
    id: str
    planned_start_s: float | None
    planned_end_s: float | None  # None: open-ended (or not in the plan)
    started_s: float | None  # None: never reached
    ended_s: float | None  # None: still running when the record stops
    extended_s: float
    extensions: int
    advanced_early_s: float | None  # how long before its planned end it was left


@dataclass(frozen=True, slots=True)
class TrackReview:
    phase: str | None
    path: str
    title: str | None
    started_s: float
    ended_s: float | None
    reason: str | None
    in_gap: bool = False  # "played" while the program was down: never heard


@dataclass(frozen=True, slots=True)
class CheckinReview:
    id: str
    phase: str | None
    kind: str | None
    audience: str | None
    message: str | None
    due_s: float
    acknowledged_s: float | None
    latency_s: float | None
    escalations: int
    missed: bool
    in_gap: bool = False  # fell due while the program was down: no chime sounded
    dismissed_s: float | None = None  # taken off the screens undone, with `dismiss_reason`
    dismiss_reason: str | None = None


@dataclass(frozen=True, slots=True)
class QuietPeriod:
    started_s: float
    ended_s: float | None


@dataclass(frozen=True, slots=True)
class Note:
    t: float
    text: str


@dataclass(frozen=True, slots=True)
class ErrorReview:
    t: float
    source: str
    message: str


@dataclass(frozen=True, slots=True)
class Resume:
    t: float
    gap_s: float


@dataclass(frozen=True, slots=True)
class SessionReview:
    session_id: str
    patient: str
    profile_name: str
    profile_path: str
    started_wall: datetime
    ended_wall: datetime | None
    end_reason: str | None
    ended_s: float | None
    phases: tuple[PhaseReview, ...]
    tracks: tuple[TrackReview, ...]
    checkins: tuple[CheckinReview, ...]
    quiet_periods: tuple[QuietPeriod, ...]
    notes: tuple[Note, ...]
    errors: tuple[ErrorReview, ...]
    resumes: tuple[Resume, ...]
    clinical: ClinicalRecord
    max_level: float | None = None  # the profile's cap, when the stored plan says it


def _phases(
    plan: dict[str, Any], events: list[dict[str, Any]], end: float | None
) -> list[PhaseReview]:
    planned: dict[str, tuple[float | None, float | None]] = {}
    for phase in plan.get("phases", []):
        planned[str(phase["id"])] = (phase.get("start_s"), phase.get("end_s"))
    order = list(planned)
    started: dict[str, float] = {}
    ended: dict[str, float] = {}
    extended: dict[str, list[float]] = {}
    early: dict[str, float] = {}
    current: str | None = None
    for ev in events:
        kind, t = ev["type"], ev["t"]
        if kind == "phase_started":
            phase = str(ev["phase"])
            if current is not None and current not in ended:
                ended[current] = t
            if phase not in order:
                order.append(phase)
                planned[phase] = (ev.get("planned_t"), None)
            started.setdefault(phase, t)
            current = phase
        elif kind == "phase_extended":
            extended.setdefault(str(ev["phase"]), []).append(float(ev.get("by_s", 0.0)))
        elif kind == "phase_advanced" and ev.get("planned_end_t") is not None:
            early[str(ev["phase"])] = float(ev["planned_end_t"]) - t
    if current is not None and current not in ended and end is not None:
        ended[current] = end
    return [
        PhaseReview(
            id=phase,
            planned_start_s=planned[phase][0],
            planned_end_s=planned[phase][1],
            started_s=started.get(phase),
            ended_s=ended.get(phase),
            extended_s=sum(extended.get(phase, [])),
            extensions=len(extended.get(phase, [])),
            advanced_early_s=early.get(phase),
        )
        for phase in order
    ]


def _tracks(events: list[dict[str, Any]]) -> list[TrackReview]:
    """Pair each track_ended with the earliest still-playing start of the same path."""
    played: list[dict[str, Any]] = []
    for ev in events:
        if ev["type"] == "track_started":
            played.append(
                {
                    "phase": ev.get("phase"),
                    "path": str(ev["path"]),
                    "title": ev.get("title"),
                    "started_s": ev["t"],
                    "ended_s": None,
                    "reason": None,
                    "in_gap": bool(ev.get("in_gap")),
                }
            )
        elif ev["type"] == "track_ended":
            for track in played:
                if track["path"] == str(ev["path"]) and track["ended_s"] is None:
                    track["ended_s"], track["reason"] = ev["t"], ev.get("reason")
                    break
    return [TrackReview(**track) for track in played]


def _checkins(events: list[dict[str, Any]]) -> list[CheckinReview]:
    due: dict[str, dict[str, Any]] = {}
    for ev in events:
        kind = ev["type"]
        if kind == "checkin_due":
            due[str(ev["id"])] = {
                "id": str(ev["id"]),
                "phase": ev.get("phase"),
                "kind": ev.get("kind"),
                "audience": ev.get("audience"),
                "message": ev.get("message"),
                "due_s": ev["t"],
                "acknowledged_s": None,
                "latency_s": None,
                "escalations": 0,
                "missed": False,
                "in_gap": bool(ev.get("in_gap")),
            }
        elif kind.startswith("checkin_") and str(ev.get("id")) in due:
            item = due[str(ev["id"])]
            if kind == "checkin_acknowledged":
                item["acknowledged_s"] = ev["t"]
                item["latency_s"] = ev.get("latency_s", ev["t"] - item["due_s"])
            elif kind == "checkin_escalated":
                item["escalations"] = max(item["escalations"] + 1, int(ev.get("count", 0)))
            elif kind == "checkin_missed":
                item["missed"] = True
            elif kind == "checkin_dismissed":
                item["dismissed_s"], item["dismiss_reason"] = ev["t"], ev.get("reason")
    return [CheckinReview(**item) for item in due.values()]


def _quiet(events: list[dict[str, Any]], end: float | None) -> list[QuietPeriod]:
    periods: list[QuietPeriod] = []
    since: float | None = None
    for ev in events:
        if ev["type"] == "quiet" and since is None:
            since = ev["t"]
        elif ev["type"] == "music_resumed" and since is not None:
            periods.append(QuietPeriod(since, ev["t"]))
            since = None
    if since is not None:
        periods.append(QuietPeriod(since, end))
    return periods


def _errors(events: list[dict[str, Any]]) -> list[ErrorReview]:
    """Device errors and the sound lost and back: a session whose music never reached the
    room must not review as tracks that merely played."""
    errors = []
    for ev in events:
        kind = ev["type"]
        if kind == "error":
            errors.append(
                ErrorReview(ev["t"], str(ev.get("source", "")), str(ev.get("message", "")))
            )
        elif kind == "device_back":
            errors.append(
                ErrorReview(ev["t"], str(ev.get("source", "")), f"back: {ev.get('message', '')}")
            )
        elif kind in ("audio_fault", "audio_restored"):
            said = "no sound" if kind == "audio_fault" else "sound back"
            errors.append(
                ErrorReview(ev["t"], str(ev.get("output", "")), f"{said}: {ev.get('why', '')}")
            )
    return errors


def build_review(session: SessionSummary, events: list[dict[str, Any]]) -> SessionReview:
    """Plan vs what happened, from the journal's record of one session."""
    end = next((ev["t"] for ev in events if ev["type"] == "session_ended"), None)
    return SessionReview(
        session_id=session.id,
        patient=session.patient,
        profile_name=session.profile_name,
        profile_path=session.profile_path,
        started_wall=session.started_wall,
        ended_wall=session.ended_wall,
        end_reason=session.end_reason,
        ended_s=end,
        phases=tuple(_phases(session.plan, events, end)),
        tracks=tuple(_tracks(events)),
        checkins=tuple(_checkins(events)),
        quiet_periods=tuple(_quiet(events, end)),
        notes=tuple(
            Note(ev["t"], str(ev.get("text", ""))) for ev in events if ev["type"] == "note"
        ),
        errors=tuple(_errors(events)),
        resumes=tuple(
            Resume(ev["t"], float(ev.get("gap_s", 0.0)))
            for ev in events
            if ev["type"] == "session_resumed"
        ),
        clinical=clinical_record(events),
        max_level=_cap(session.plan.get("max_level")),
    )


def _cap(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _clock(t: float | None, missing: str = "-") -> str:
    return missing if t is None else format_clock(t)


def _span(start: float | None, end: float | None, open_end: str) -> str:
    return "-" if start is None else f"{format_clock(start)}-{_clock(end, open_end)}"


def wall_text(value: datetime) -> str:
    """A wall time in UTC, the zone named (the web UI shows each browser's own zone)."""
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def checkin_outcome(item: CheckinReview) -> str:
    if item.latency_s is not None:
        text = f"acknowledged after {format_duration(item.latency_s)}"
    elif item.dismissed_s is not None:
        late = format_duration(item.dismissed_s - item.due_s)
        text = f"dismissed after {late}: {item.dismiss_reason or 'no reason given'}"
    elif item.missed:
        text = "missed"
    else:
        text = "no response recorded"
    if item.escalations:
        text += f", escalated {item.escalations}x"
    if item.in_gap:
        text += ", due while the program was down (no chime)"
    return text


def phase_change(phase: PhaseReview) -> str:
    parts = []
    if phase.extensions:
        parts.append(f"extended +{format_duration(phase.extended_s)} ({phase.extensions}x)")
    if phase.advanced_early_s is not None:
        parts.append(f"moved on {format_duration(phase.advanced_early_s)} early")
    return ", ".join(parts)


def review_tables(review: SessionReview) -> list[tuple[str, list[str], list[list[str]]]]:
    """Each section as (title, headers, rows of cells): one source for text and HTML. The
    clinical record's sections (doses, vitals, alerts) come when it holds anything."""
    c = review.clinical
    clinical = clinical_tables(c) if c.doses or c.readings or c.skipped else []
    return [*_timing_tables(review), *clinical]


def _timing_tables(review: SessionReview) -> list[tuple[str, list[str], list[list[str]]]]:
    return [
        (
            "Phases",
            ["phase", "planned", "actual", "changes"],
            [
                [
                    p.id,
                    _span(p.planned_start_s, p.planned_end_s, "open"),
                    _span(p.started_s, p.ended_s, "?"),
                    phase_change(p),
                ]
                for p in review.phases
            ],
        ),
        (
            "Tracks",
            ["start", "end", "phase", "ended", "title", "path"],
            [
                [
                    format_clock(tr.started_s),
                    _clock(tr.ended_s),
                    tr.phase or "",
                    (tr.reason or "-") + (" (program down: not heard)" if tr.in_gap else ""),
                    tr.title or "",
                    tr.path,
                ]
                for tr in review.tracks
            ],
        ),
        (
            "Check-ins",
            ["due", "phase", "kind", "audience", "outcome"],
            [
                [
                    format_clock(c.due_s),
                    c.phase or "",
                    c.kind or "",
                    c.audience or "",
                    checkin_outcome(c),
                ]
                for c in review.checkins
            ],
        ),
        (
            "Check-ins missed or dismissed",
            ["due", "phase", "kind", "outcome"],
            [
                [format_clock(c.due_s), c.phase or "", c.kind or "", checkin_outcome(c)]
                for c in review.checkins
                if c.missed or c.dismissed_s is not None
            ],
        ),
        (
            "Quiet periods",
            ["from", "to", "length"],
            [
                [
                    format_clock(q.started_s),
                    _clock(q.ended_s, "?"),
                    "" if q.ended_s is None else format_duration(q.ended_s - q.started_s),
                ]
                for q in review.quiet_periods
            ],
        ),
        ("Notes", ["time", "note"], [[format_clock(n.t), n.text] for n in review.notes]),
        (
            "Errors",
            ["time", "source", "message"],
            [[format_clock(e.t), e.source, e.message] for e in review.errors],
        ),
        (
            "Resumed after interruptions",
            ["time", "gap"],
            [[format_clock(r.t), format_duration(r.gap_s)] for r in review.resumes],
        ),
    ]


def review_header(review: SessionReview) -> list[tuple[str, str]]:
    if review.ended_wall is None and review.ended_s is None:
        ended = "- (no session_ended: interrupted or still running)"
    else:
        when = wall_text(review.ended_wall) if review.ended_wall is not None else "?"
        ended = f"{when} ({review.end_reason or '?'})"
        if review.ended_s is not None:
            ended += f" at {format_clock(review.ended_s)}"
    return [
        ("Session", review.session_id),
        ("Patient", review.patient),
        ("Profile", f"{review.profile_name} ({review.profile_path})"),
        ("Started", wall_text(review.started_wall)),
        ("Ended", ended),
        *clinical_header(review.clinical),
    ]


def text_table(rows: list[list[str]], indent: str = "") -> list[str]:
    """Left-aligned columns two spaces apart, no trailing blanks: stable to compare."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        (indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))).rstrip()
        for row in rows
    ]


def render_text(review: SessionReview) -> str:
    """The review as a stable plain-text report (`log show`)."""
    lines = [f"{label:<9} {value}" for label, value in review_header(review)]
    for title, headers, rows in review_tables(review):
        lines += ["", title, *(text_table([headers, *rows], "  ") if rows else ["  (none)"])]
    return "\n".join(lines) + "\n"
