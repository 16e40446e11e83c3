"""The compiled plan (`plan --json`): the session run by the state machine with no controls.

Deriving the plan from the same machine that runs the session means the two cannot
disagree. An open phase is followed until `open_until`, then stopped as a clinician
would; a rehearsal stops it at the same moment, so `plan` and `rehearse` end together.
"""

from __future__ import annotations

from typing import Any

from setandsetting.core import session
from setandsetting.core.controls import Control
from setandsetting.core.events import Event
from setandsetting.core.session import State
from setandsetting.core.timeline import Timeline

OPEN_HORIZON_S = 3600.0  # an open phase is followed at least this long


def open_until(state: State, at_least: float = OPEN_HORIZON_S) -> float | None:
    """When a simulated session stops its open phase: `at_least` after the phase began,
    or later to reach the phase's floor, each check-in rule's `until` (or last `at`) and
    each timed cue, so nothing the phase has a time for is hidden; never before now.
    None while the current phase has an end of its own."""
    if session.phase_end(state) is not None:
        return None
    starts = state.phase_starts
    reach = [state.t, state.phase_start + at_least]
    floor = session.earliest_next(state)
    if floor is not None:
        reach.append(floor)
    for rule in state.plan.checkins:
        last = rule.until if rule.at is None else max(rule.at, default=None)
        if last is not None and rule.anchor < len(starts):
            reach.append(starts[rule.anchor] + last)
    reach += [state.phase_start + c.at for c in state.plan.cues if isinstance(c.at, float)]
    return max(reach)


def simulate(
    timeline: Timeline,
    controls: list[tuple[float, Control]] = (),  # type: ignore[assignment]
    open_for: float = OPEN_HORIZON_S,
) -> list[Event]:
    """Run the whole session in simulated time; an open phase is stopped at `open_until`."""
    state, events = session.start(timeline, 0.0)
    for t, control in sorted(controls, key=lambda c: c[0]):
        state, more = session.apply(state, control, t)
        events += more
        if state.ended:
            return events
    while not state.ended:
        nxt = session.next_moment(state)
        limit = open_until(state, open_for)
        if limit is not None and (nxt is None or nxt > limit):
            state, more = session.apply(state, Control("stop"), limit)
            events += more
            break
        if nxt is None:
            break
        state, more = session.advance(state, nxt)
        events += more
    return events


def build_plan(timeline: Timeline, open_for: float = OPEN_HORIZON_S) -> dict[str, Any]:
    """The plan object of DESIGN.md: phases, tracks, check-ins, cues, warnings."""
    events = simulate(timeline, open_for=open_for)
    phases: dict[str, dict[str, Any]] = {
        p.id: {
            "id": p.id,
            "name": p.title,
            "start_s": None,
            "end_s": None,
            "duration_s": p.duration,
            "extendable_s": p.extendable,
            "open": p.is_open,
        }
        for p in timeline.phases
    }
    tracks: list[dict[str, Any]] = []
    playing: dict[int, dict[str, Any]] = {}
    checkins: list[dict[str, Any]] = []
    cues: list[dict[str, Any]] = []
    current: str | None = None
    for e in events:
        d = e.data
        if e.type == "phase_started":
            if current is not None:
                phases[current]["end_s"] = e.t
            current = d["phase"]
            phases[current]["start_s"] = e.t
        elif e.type == "session_ended" and current is not None:
            if not phases[current]["open"]:
                phases[current]["end_s"] = e.t
        elif e.type == "track_started":
            entry = {
                "phase": d["phase"],
                "phases": [d["phase"]],  # every phase it plays in: a continued slot's track
                # sounds on into the next phase
                "path": d["path"],
                "title": d["title"],
                "start_s": e.t,
                "offset_s": d["offset"],
                "duration_s": None,
            }
            playing[d["voice"]] = entry
            tracks.append(entry)
        elif e.type == "track_ended" and d["voice"] in playing:
            entry = playing.pop(d["voice"])
            entry["phases"] = _phases_between(timeline, entry["phase"], d["phase"])
            entry["duration_s"] = round(e.t - entry["start_s"], 3)
            entry["end_reason"] = d["reason"]
        elif e.type == "checkin_due":
            checkins.append(
                {
                    "at_s": e.t,
                    "phase": d["phase"],
                    "kind": d["kind"],
                    "audience": d["audience"],
                    "id": d["id"],
                    "ack": d["ack"],
                    "message": d["message"],
                }
            )
        elif e.type == "cue_sent":
            cues.append(
                {
                    "at_s": e.t,
                    "phase": d["phase"],
                    "kind": d["kind"],
                    "id": d["id"],
                    "target": d["target"],
                    "payload": d["payload"],
                }
            )
    return {
        "profile": timeline.profile_name,
        "patient": timeline.patient,
        "max_level": timeline.max_level,
        "phases": list(phases.values()),
        "tracks": tracks,
        "checkins": checkins,
        "cues": cues,
        "warnings": list(timeline.warnings),
    }


def _phases_between(timeline: Timeline, first: str, last: str) -> list[str]:
    """The ids of the phases from `first` to `last`: those a carried-on track plays in."""
    ids = [p.id for p in timeline.phases]
    return ids[ids.index(first) : ids.index(last) + 1]
