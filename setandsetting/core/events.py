"""The one event vocabulary shared by the journal, `rehearse --json` and the API.

Every event has `type` and `t` (session seconds). `wall` (UTC ISO 8601) is added by the
shell that knows the wall clock at t=0, so the core stays free of clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

EVENT_TYPES = frozenset(
    {
        "session_started",
        "phase_started",
        "phase_extended",
        "phase_advanced",
        "track_started",
        "track_ended",
        "level_changed",
        "checkin_due",
        "checkin_acknowledged",
        "checkin_escalated",
        "checkin_missed",
        "cue_sent",
        "music_held",
        "music_resumed",
        "quiet",
        "note",
        "error",
        "session_resumed",
        "session_ended",
        "control_refused",
    }
)

TRACK_END_REASONS = frozenset({"finished", "skipped", "phase_end", "error", "quiet", "held"})


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened at session time `t`; `data` holds the type's own fields."""

    type: str
    t: float
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, started_wall: datetime | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "t": round(self.t, 3)}
        if started_wall is not None:
            out["wall"] = wall_at(started_wall, self.t)
        out.update(self.data)
        return out


def wall_at(started_wall: datetime, t: float) -> str:
    """UTC ISO 8601 wall time of session time t."""
    return (started_wall + timedelta(seconds=t)).astimezone(UTC).isoformat(timespec="milliseconds")
