"""A room as the staff see it from the hub, worked out from the events the hub holds.

Pure: the session's events (and the time now, an argument) in, a plain dict out, so the
dashboard, `clinic status` and their tests share one reading of a room.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

LINK_UP_S = 15.0  # a room heard from within this long is connected (it calls every 5 s)


def checkins_waiting(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Check-ins that need staff and have had no answer (in the order they fell due);
    `overdue` once their reminder (escalation) has gone out."""
    waiting: dict[str, dict[str, Any]] = {}
    for ev in events:
        kind, key = ev["type"], str(ev.get("id"))
        if kind == "checkin_due" and ev.get("ack", "required") != "none":
            waiting[key] = {
                "id": key,
                "kind": ev.get("kind"),
                "message": ev.get("message"),
                "audience": ev.get("audience"),
                "phase": ev.get("phase"),
                "due_t": ev["t"],
                "due_wall": ev.get("wall"),
                "overdue": False,
            }
        elif kind == "checkin_escalated" and key in waiting:
            waiting[key]["overdue"] = True
        elif kind in ("checkin_acknowledged", "checkin_missed", "checkin_dismissed"):
            waiting.pop(key, None)
        elif kind == "session_ended":
            waiting.clear()
    return list(waiting.values())


def next_planned_checkin(
    session: dict[str, Any], events: list[dict[str, Any]], now: datetime
) -> dict[str, Any] | None:
    """The plan's next check-in after now (its session time and kind), if the plan has one:
    what the dashboard counts down to (the room's own status is exact; this is the plan)."""
    started, plan = session.get("started"), session.get("plan") or {}
    if started is None:
        return None
    elapsed = (now - started).total_seconds()
    fired = {ev.get("id") for ev in events if ev["type"] == "checkin_due"}
    for item in plan.get("checkins", []):
        if item.get("at_s", 0) > elapsed and item.get("id") not in fired:
            return {
                "at_s": item["at_s"],
                "kind": item.get("kind"),
                "audience": item.get("audience"),
                "wall": (started + timedelta(seconds=item["at_s"])).isoformat(),
            }
    return None


def room_view(
    room: str,
    last_seen: datetime | None,
    session: dict[str, Any] | None,
    events: list[dict[str, Any]],
    now: datetime,
) -> dict[str, Any]:
    """One room: link, last event, session, patient, profile, phase and since, waiting."""
    up = last_seen is not None and now - last_seen <= timedelta(seconds=LINK_UP_S)
    phase = phase_since = None
    ended = False
    for ev in events:
        if ev["type"] == "phase_started":
            phase, phase_since = ev.get("phase"), ev.get("wall")
        elif ev["type"] == "session_ended":
            ended = True
    last = events[-1] if events else None
    alerts = [ev for ev in events if ev["type"] == "vitals_alert"]
    return {
        "room": room,
        "link": "up" if up else "down",
        "last_seen": last_seen,
        "last_event": None if last is None else {"type": last["type"], "wall": last.get("wall")},
        "session": None if session is None else session["session"],
        "hub_session": None if session is None else session["id"],
        "patient": None if session is None else session["patient"],
        "profile": None if session is None else session["profile"],
        "running": session is not None and not ended,
        "phase": None if ended else phase,
        "phase_since": None if ended else phase_since,
        "pending_checkins": [] if ended else checkins_waiting(events),
        "alerts": [] if ended else alerts,
        "next_checkin": None
        if ended or session is None
        else next_planned_checkin(session, events, now),
    }
