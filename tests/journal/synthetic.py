"""A synthetic but complete session record, shared by the journal and `log` CLI tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from setandsetting.core.events import Event
from setandsetting.journal.store import Journal

STARTED = datetime(2026, 11, 26, 16, 5, 1, tzinfo=UTC)
PATIENT = "P0042"
PROFILE_PATH = "profiles/im-60.yaml"
PROFILE_NAME = "IM ketamine, 60-minute journey"
PLAN: dict[str, Any] = {
    "phases": [
        {"id": "arrival", "start_s": 0.0, "end_s": 600.0},
        {"id": "peak", "start_s": 600.0, "end_s": 1800.0},
        {"id": "return", "start_s": 1800.0, "end_s": 3000.0},
        {"id": "integration", "start_s": 3000.0, "end_s": None},
    ],
    "tracks": [],
    "checkins": [],
    "cues": [],
    "warnings": [],
}

_RAW: list[tuple[float, str, dict[str, Any]]] = [
    (0, "session_started", {"profile": PROFILE_NAME, "patient": PATIENT}),
    (0, "phase_started", {"phase": "arrival", "planned_t": 0.0}),
    (
        0,
        "track_started",
        {
            "path": "music/arrive.flac",
            "title": "Arrive",
            "offset": 0.0,
            "phase": "arrival",
            "voice": "a",
            "level": 0.35,
        },
    ),
    (300, "note", {"text": "intention: rest and let go"}),
    (600, "track_ended", {"path": "music/arrive.flac", "reason": "phase_end", "phase": "arrival"}),
    (600, "phase_started", {"phase": "peak", "planned_t": 600.0}),
    (
        600,
        "track_started",
        {
            "path": "music/drift.flac",
            "title": "Drift",
            "offset": 0.0,
            "phase": "peak",
            "voice": "b",
            "level": 0.65,
        },
    ),
    (600, "cue_sent", {"phase": "peak", "kind": "midi", "target": "lights"}),
    (
        900,
        "checkin_due",
        {
            "id": "peak-vitals-1",
            "kind": "vitals",
            "audience": "staff",
            "phase": "peak",
            "message": "BP and pulse",
        },
    ),
    (942.5, "checkin_acknowledged", {"id": "peak-vitals-1", "latency_s": 42.5}),
    (1200, "phase_extended", {"phase": "peak", "by_s": 600.0, "new_end_t": 2400.0}),
    (
        1500,
        "checkin_due",
        {
            "id": "peak-vitals-2",
            "kind": "vitals",
            "audience": "staff",
            "phase": "peak",
            "message": "BP and pulse",
        },
    ),
    (1620, "checkin_escalated", {"id": "peak-vitals-2", "count": 1}),
    (1740, "checkin_escalated", {"id": "peak-vitals-2", "count": 2}),
    (1800, "checkin_missed", {"id": "peak-vitals-2"}),
    (1900, "quiet", {}),
    (1900, "track_ended", {"path": "music/drift.flac", "reason": "quiet", "phase": "peak"}),
    (1990, "music_resumed", {}),
    (
        1990,
        "track_started",
        {
            "path": "music/drift.flac",
            "title": "Drift",
            "offset": 1300.0,
            "phase": "peak",
            "voice": "a",
            "level": 0.6,
        },
    ),
    (2100, "level_changed", {"nudge_pct": -5, "level": 0.55}),
    (2400, "track_ended", {"path": "music/drift.flac", "reason": "phase_end", "phase": "peak"}),
    (2400, "phase_started", {"phase": "return", "planned_t": 2400.0}),
    (
        2400,
        "track_started",
        {
            "path": "music/shore.flac",
            "title": "Shore",
            "offset": 0.0,
            "phase": "return",
            "voice": "b",
            "level": 0.5,
        },
    ),
    (2700, "error", {"source": "music", "message": "cannot decode music/reed.flac"}),
    (2800, "phase_advanced", {"phase": "return", "planned_end_t": 3600.0}),
    (2800, "track_ended", {"path": "music/shore.flac", "reason": "skipped", "phase": "return"}),
    (2800, "phase_started", {"phase": "integration", "planned_t": 2800.0}),
    (
        2800,
        "track_started",
        {
            "path": "music/after.flac",
            "title": "After",
            "offset": 0.0,
            "phase": "integration",
            "voice": "a",
            "level": 0.25,
        },
    ),
    (3000, "note", {"text": 'talking, calm, "felt held"'}),
    (
        3300.25,
        "track_ended",
        {"path": "music/after.flac", "reason": "phase_end", "phase": "integration"},
    ),
    (3300.25, "session_ended", {"reason": "completed"}),
]


# `log show` of this session, exactly.
EXPECTED_REVIEW = """\
Session   20261126-160501-P0042
Patient   P0042
Profile   IM ketamine, 60-minute journey (profiles/im-60.yaml)
Started   2026-11-26 16:05:01 UTC
Ended     2026-11-26 17:00:01 UTC (completed) at 0:55:00

Phases
  phase        planned          actual           changes
  arrival      0:00:00-0:10:00  0:00:00-0:10:00
  peak         0:10:00-0:30:00  0:10:00-0:40:00  extended +10m (1x)
  return       0:30:00-0:50:00  0:40:00-0:46:40  moved on 13m20s early
  integration  0:50:00-open     0:46:40-0:55:00

Tracks
  start    end      phase        ended      title   path
  0:00:00  0:10:00  arrival      phase_end  Arrive  music/arrive.flac
  0:10:00  0:31:40  peak         quiet      Drift   music/drift.flac
  0:33:10  0:40:00  peak         phase_end  Drift   music/drift.flac
  0:40:00  0:46:40  return       skipped    Shore   music/shore.flac
  0:46:40  0:55:00  integration  phase_end  After   music/after.flac

Check-ins
  due      phase  kind    audience  outcome
  0:15:00  peak   vitals  staff     acknowledged after 42s
  0:25:00  peak   vitals  staff     missed, escalated 2x

Check-ins missed or dismissed
  due      phase  kind    outcome
  0:25:00  peak   vitals  missed, escalated 2x

Quiet periods
  from     to       length
  0:31:40  0:33:10  1m30s

Notes
  time     note
  0:05:00  intention: rest and let go
  0:50:00  talking, calm, "felt held"

Errors
  time     source  message
  0:45:00  music   cannot decode music/reed.flac

Resumed after interruptions
  (none)
"""


def session_events(started: datetime = STARTED) -> list[dict[str, Any]]:
    """The session's events as the engine journals them (`Event.to_dict`)."""
    return [Event(kind, float(t), data).to_dict(started) for t, kind, data in _RAW]


def journal_session(journal: Journal, started: datetime = STARTED) -> str:
    """Begin the synthetic session in `journal`, append all its events; its id."""
    session_id = journal.begin_session(PATIENT, PROFILE_PATH, PROFILE_NAME, started, PLAN)
    for event in session_events(started):
        journal.append(session_id, event)
    return session_id


def make_room(tmp_path: Path) -> tuple[Path, str]:
    """A room folder whose journal holds the synthetic session; (room, session id)."""
    with Journal.open(tmp_path / "sessions.db") as journal:
        return tmp_path, journal_session(journal)
