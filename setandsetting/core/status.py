"""What a clinician needs to see at a glance, derived from the session state at t."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from setandsetting.core import session
from setandsetting.core.clinical_view import clinical_view
from setandsetting.core.session import State
from setandsetting.core.units import format_clock, format_duration, format_level


def snapshot(
    state: State,
    t: float,
    faults: Mapping[str, str] | None = None,
    ahead: session.Forecast | None = None,
) -> dict[str, Any]:
    """A plain dict for the API, the CLI status and the status line.

    `faults`: each output no sound reaches, with why (AudioFaults.why()). Music the session
    plays into a silent output is `no_sound`, never `playing`. `ahead`: the state's
    forecast when the caller keeps it (it changes only with `session.forecast_key`)."""
    faults = dict(faults or {})
    music = "no_sound" if state.music == "playing" and "music" in faults else state.music
    end = session.phase_end(state)
    playing = [v for v in session.now_playing(state, t) if not v["leaving"]]
    ahead = ahead or session.forecast(state)
    nxt = ahead.next_checkin
    coming = ahead.phases[0] if ahead.phases else None
    floor = session.earliest_next(state)
    timeline = state.timeline
    return {
        "t": round(t, 3),
        "ended": state.ended,
        "patient": timeline.patient,
        "display_name": timeline.display_name,
        "profile_name": timeline.profile_name,
        "dose_t": session.dose_time(state),
        "session_end": ahead.ends_at,
        "phase": state.plan.id,
        "phase_name": state.plan.title,
        "phase_index": state.phase,
        "phases": [
            {
                "id": p.id,
                "name": p.title,
                "planned_start": p.planned_start,
                "planned_end": p.planned_end,
                "start": state.phase_starts[p.index] if p.index < len(state.phase_starts) else None,
            }
            for p in state.timeline.phases
        ],
        "phase_started": state.phase_start,
        "phase_end": end,
        "next_phase": None
        if coming is None
        else {
            "id": coming[0],
            "name": timeline.phases[timeline.phase_index(coming[0])].title,
            "t": coming[1],
        },
        "remaining": None if end is None else max(0.0, end - t),
        "extendable_left": max(0.0, state.plan.extendable - state.extended),
        "next_allowed_at": floor,
        "music": music,
        "audio_faults": [{"output": output, "why": why} for output, why in faults.items()],
        "now_playing": playing[0] if playing else None,
        "level": session.master_level(state, t),
        "nudge_pct": state.nudge_pct,
        "max_level": state.timeline.max_level,
        "pending": session.pending_checkins(state, t),
        "next_checkin": None
        if nxt is None
        else {
            "t": nxt.t,
            "kind": nxt.kind,
            "audience": nxt.audience,
            "phase": nxt.phase,
            "message": nxt.message,
        },
        "clinical": clinical_view(state, t),
    }


def status_line(snap: dict[str, Any]) -> str:
    """One line: `0:23:10  peak (6m50s left)  Drift  level 62%  next vitals in 1m50s`."""
    parts = [format_clock(snap["t"]), snap["phase"]]
    if snap["ended"]:
        return f"{parts[0]}  session ended ({snap['ended']})"
    if snap["remaining"] is not None:
        parts[-1] += f" ({format_duration(snap['remaining'])} left)"
    else:
        parts[-1] += " (open)"
    silent = {f["output"]: f["why"] for f in snap["audio_faults"]}
    if "music" in silent:
        parts.append(f"music NO SOUND ({silent.pop('music')})")
    elif snap["music"] != "playing":
        parts.append(f"music {snap['music']}")
    elif snap["now_playing"]:
        parts.append(snap["now_playing"]["title"])
    else:
        parts.append("silence")
    parts.append(f"level {format_level(snap['level'])}")
    parts += [f"{output.replace('_', ' ')} NO SOUND ({why})" for output, why in silent.items()]
    if snap["pending"]:
        waiting = ", ".join(
            p["kind"] + (f" {format_duration(p['overdue_s'])} overdue" if p["overdue_s"] else "")
            for p in snap["pending"]
        )
        parts.append(f"WAITING: {waiting}")
    elif snap["next_checkin"]:
        wait = snap["next_checkin"]["t"] - snap["t"]
        parts.append(f"next {snap['next_checkin']['kind']} in {format_duration(wait)}")
    return "  ".join(parts)
