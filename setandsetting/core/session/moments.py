"""The moments ahead: what is next planned to happen, and when, as things stand.

The session moves from one moment to the next (`transitions`), the engine's scheduler
wakes for them, the chime device readies itself for them and the status shows the next
check-in from them: one list, so none of these can disagree about what comes next.
"""

from __future__ import annotations

import math
from enum import IntEnum
from operator import itemgetter
from typing import Any, NamedTuple

from setandsetting.core.session.state import EPS, MAX_ESCALATIONS, State, Voice
from setandsetting.core.timeline import Timeline
from setandsetting.core.units import format_duration


class MomentKind(IntEnum):
    """What a moment is. At equal times the lower kind goes first: a voice leaves before a
    phase ends, a phase ends before the next phase's cues and check-ins (a moment at the
    end belongs to the next phase)."""

    VOICE_GONE = 0
    PHASE_END = 1
    CUE = 2
    CHECKIN = 3
    ESCALATE = 4
    TRACK_TURN = 5
    RECHECK = 6


class Moment(NamedTuple):
    """One planned moment. `what` is the voice id (VOICE_GONE, TRACK_TURN), the CuePlan
    (CUE), the index of the rule in the phase's check-ins (CHECKIN), the pending check-in's
    id (ESCALATE), the Recheck (RECHECK), or None (PHASE_END)."""

    at: float
    kind: MomentKind
    what: Any


def phase_end(state: State) -> float | None:
    """The current phase's end as things stand (None while open)."""
    plan = state.plan
    if plan.duration is None:
        return None
    end = state.phase_start + plan.duration + state.extended
    if plan.not_before is not None:
        anchor, at_least = plan.not_before
        if anchor < len(state.phase_starts):
            end = max(end, state.phase_starts[anchor] + at_least)
    return end


DOSE_PHASE_IDS = ("dosing", "dose", "infusion")  # a phase so named starts with the dose


def dose_phase(timeline: Timeline) -> int | None:
    """The phase whose start is the dose: the first named dosing, dose or infusion, else the
    first holding a check-in of kind `dose`; None when the profile marks none."""
    phases = timeline.phases
    named = next((p.index for p in phases if p.id in DOSE_PHASE_IDS), None)
    if named is not None:
        return named
    return next((p.index for p in phases if any(c.kind == "dose" for c in p.checkins)), None)


def dose_time(state: State) -> float | None:
    """When the (first) dose was given, in session seconds, None before it: the `dose`
    control's time; until one is recorded, the dose phase's actual start. The one place
    that says it: the status, the Live page's dose clock and the pre-dose alerts."""
    if state.clinical.first_dose_t is not None:
        return state.clinical.first_dose_t
    index = dose_phase(state.timeline)
    if index is None or index >= len(state.phase_starts):
        return None
    return state.phase_starts[index]


def discharge_floor(state: State) -> tuple[float | None, str] | None:
    """The earliest moment the session may end, as (time, why), while it lies ahead: the
    latest `not_before` floor of this phase and those to come. The time is None when its
    anchor phase has not begun (the floor is still ahead, its moment not yet known)."""
    worst: tuple[float | None, str] | None = None
    phases = state.timeline.phases
    for plan in phases[state.phase :]:
        if plan.not_before is None:
            continue
        anchor, at_least = plan.not_before
        why = f"{plan.id} lasts until {format_duration(at_least)} after {phases[anchor].id} began"
        if anchor >= len(state.phase_starts):
            return None, why
        floor = state.phase_starts[anchor] + at_least
        if floor > state.t + EPS and (worst is None or floor > worst[0]):  # type: ignore[operator]
            worst = (floor, why)
    return worst


def earliest_next(state: State) -> float | None:
    """The earliest moment `next` is allowed (the phase's floor), or None if no floor."""
    plan = state.plan
    if plan.not_before is None or plan.not_before[0] >= len(state.phase_starts):
        return None
    anchor, at_least = plan.not_before
    return state.phase_starts[anchor] + at_least


def turn_time(state: State, v: Voice) -> float:
    """When the next track comes in: one crossfade before the end, and never at the start.

    A crossfade is at most half of what is left of the track, so time always moves on.
    """
    remaining = v.natural_end - v.started_t
    return v.natural_end - min(state.timeline.crossfade, remaining / 2)


def upcoming(state: State) -> list[Moment]:
    """Every moment planned from the state as it stands, in no particular order."""
    if state.ended:
        return []
    out = [
        Moment(v.leaving_at, MomentKind.VOICE_GONE, v.id)
        for v in state.leaving
        if v.leaving_at is not None
    ]
    end = phase_end(state)
    if end is not None:
        out.append(Moment(end, MomentKind.PHASE_END, None))
    limit = end if end is not None else math.inf
    start = state.phase_start
    for cue in state.plan.cues:
        if isinstance(cue.at, float) and cue.cue_id not in state.cues_done:
            at = start + cue.at
            if at < limit - EPS:
                out.append(Moment(at, MomentKind.CUE, cue))
    for k, rule in enumerate(state.plan.checkins):
        if rule.anchor >= len(state.phase_starts):
            continue
        off = rule.offset(state.checkin_next[k])
        if off is not None:
            at = state.phase_starts[rule.anchor] + off
            if at < limit - EPS:
                out.append(Moment(at, MomentKind.CHECKIN, k))
    for p in state.pending:
        if p.rule.escalate_after and p.escalations < MAX_ESCALATIONS:
            at = p.due_t + (p.escalations + 1) * p.rule.escalate_after
            out.append(Moment(at, MomentKind.ESCALATE, p.id))
    v = state.voice
    if v is not None:
        out.append(Moment(turn_time(state, v), MomentKind.TRACK_TURN, v.id))
    out += [Moment(r.due_t, MomentKind.RECHECK, r) for r in state.clinical.rechecks]
    return out


_WHEN = itemgetter(0, 1)  # (at, kind)


def first(moments: list[Moment]) -> Moment | None:
    """The moment that comes first (by time, then kind; the list's order breaks ties)."""
    return min(moments, key=_WHEN) if moments else None


def next_moment(state: State) -> float | None:
    """When something is next planned to happen (for the engine's scheduler)."""
    moments = upcoming(state)
    return min(m.at for m in moments) if moments else None


def chime_moments(state: State) -> list[tuple[float, str]]:
    """(time, audience) of each check-in and escalation among the moments ahead, so a
    chime device can sleep between chimes and be ready, a second ahead, for the next.
    What the next phase sounds as it opens is `opening_chimes`'."""
    pending = {p.id: p for p in state.pending}
    out: list[tuple[float, str]] = []
    for at, kind, what in upcoming(state):
        if kind == MomentKind.CHECKIN:
            out.append((at, state.plan.checkins[what].audience))
        elif kind == MomentKind.ESCALATE:
            out.append((at, pending[what].rule.audience))
        elif kind == MomentKind.RECHECK:
            out.append((at, "staff"))
    return out


def pending_checkins(state: State, t: float | None = None) -> list[dict[str, Any]]:
    """The check-ins that fell due and wait for staff, as plain dicts, oldest first: each
    waits (through later phases too) until it is acknowledged or dismissed; `overdue_s` is
    how long it has waited at t (the state's own time by default)."""
    now = state.t if t is None else t
    return [
        {
            "id": p.id,
            "kind": p.rule.kind,
            "message": p.rule.message,
            "due_t": p.due_t,
            "overdue_s": round(max(0.0, now - p.due_t), 3),
            "phase": state.timeline.phases[p.rule.phase].id,
            "audience": p.rule.audience,
            "escalations": p.escalations,
            "record": list(p.rule.record),
        }
        for p in state.pending
    ]
