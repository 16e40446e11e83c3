"""What a clinician needs to see at a glance, derived from the session state at t."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from setandsetting.core import session
from setandsetting.core.clinical_view import clinical_view
from setandsetting.core.session import MomentKind, State
from setandsetting.core.units import format_clock, format_duration, format_level


def next_checkin(state: State) -> tuple[float, str, str] | None:
    """(time, kind, audience) of the next check-in in the current phase, if any: the
    session's own next CHECKIN moment, the one the engine will fire."""
    due = session.first([m for m in session.upcoming(state) if m.kind == MomentKind.CHECKIN])
    if due is None:
        return None
    rule = state.plan.checkins[due.what]
    return due.at, rule.kind, rule.audience


def snapshot(state: State, t: float, faults: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A plain dict for the API, the CLI status and the status line.

    `faults`: each output no sound reaches, with why (AudioFaults.why()). Music the session
    plays into a silent output is `no_sound`, never `playing`."""
    faults = dict(faults or {})
    music = "no_sound" if state.music == "playing" and "music" in faults else state.music
    end = session.phase_end(state)
    playing = [v for v in session.now_playing(state, t) if not v["leaving"]]
    nxt = next_checkin(state)
    floor = session.earliest_next(state)
    return {
        "t": round(t, 3),
        "ended": state.ended,
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
        "remaining": None if end is None else max(0.0, end - t),
        "extendable_left": max(0.0, state.plan.extendable - state.extended),
        "next_allowed_at": floor,
        "music": music,
        "audio_faults": [{"output": output, "why": why} for output, why in faults.items()],
        "now_playing": playing[0] if playing else None,
        "level": session.master_level(state, t),
        "nudge_pct": state.nudge_pct,
        "max_level": state.timeline.max_level,
        "pending": session.pending_checkins(state),
        "next_checkin": None if nxt is None else {"t": nxt[0], "kind": nxt[1], "audience": nxt[2]},
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
        parts.append(f"WAITING: {', '.join(p['kind'] for p in snap['pending'])}")
    elif snap["next_checkin"]:
        wait = snap["next_checkin"]["t"] - snap["t"]
        parts.append(f"next {snap['next_checkin']['kind']} in {format_duration(wait)}")
    return "  ".join(parts)
