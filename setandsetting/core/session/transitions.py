"""How the session moves: from one moment to the next, and into and out of phases.

Every change goes through a `Run`, which replaces the state and collects the events it
causes, so each step stays a pure function of (state, t). The control handlers use the
same steps (`handlers`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from setandsetting.core.events import Event, EventType, TrackEndReason
from setandsetting.core.session.levels import (
    curve_level,
    master_level,
    out_envelope,
    voice_level,
    voices,
)
from setandsetting.core.session.moments import MomentKind, first, phase_end, upcoming
from setandsetting.core.session.state import (
    EPS,
    ESCALATION_STEP_DB,
    PHASE_GLIDE_MIN_S,
    CcRamp,
    Duck,
    Glide,
    Pending,
    Recheck,
    State,
    Voice,
)
from setandsetting.core.timeline import CheckinPlan, CuePlan, Timeline
from setandsetting.core.units import db_to_factor


class Run:
    """Accumulates events while the state moves; keeps the pure functions short."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.events: list[Event] = []

    def emit(self, type_: EventType, t: float, **data: Any) -> None:
        self.events.append(Event(type_, t, data))

    def set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)


def start(timeline: Timeline, t: float = 0.0) -> tuple[State, list[Event]]:
    """Begin the session at t (normally 0): the first phase starts now."""
    run = Run(State(timeline=timeline, t=t))
    run.emit("session_started", t, profile=timeline.profile_name, patient=timeline.patient)
    _enter_phase(run, 0, t)
    return run.state, run.events


def advance(state: State, t: float) -> tuple[State, list[Event]]:
    """Everything planned up to and including t, in time order."""
    run = Run(state)
    run_until(run, t)
    return run.state, run.events


def run_until(run: Run, t: float) -> None:
    """Move through every moment up to and including t, first things first."""
    while not run.state.ended:
        moment = first(upcoming(run.state))
        if moment is None or moment.at > t + EPS:
            break
        at = max(moment.at, run.state.t)
        run.set(t=at)
        match moment.kind:
            case MomentKind.VOICE_GONE:
                _voice_gone(run, moment.what, at)
            case MomentKind.PHASE_END:
                end_phase(run, at)
            case MomentKind.CUE:
                _fire_cue(run, moment.what, at)
            case MomentKind.CHECKIN:
                _fire_checkin(run, moment.what, at)
            case MomentKind.ESCALATE:
                _escalate(run, moment.what, at)
            case MomentKind.TRACK_TURN:
                _track_turn(run, at)
            case MomentKind.RECHECK:
                _fire_recheck(run, moment.what, at)
    if not run.state.ended:
        run.set(t=max(run.state.t, t), ducks=tuple(d for d in run.state.ducks if not d.over(t)))


def _voice_gone(run: Run, voice_id: int, t: float) -> None:
    s = run.state
    gone = next(v for v in s.leaving if v.id == voice_id)
    run.set(leaving=tuple(v for v in s.leaving if v.id != voice_id))
    assert gone.reason is not None  # set when it began to leave
    track_ended(run, gone, t, gone.reason)


def track_ended(run: Run, voice: Voice, t: float, reason: TrackEndReason) -> None:
    run.emit(
        "track_ended",
        t,
        path=str(voice.track.path),
        title=voice.track.title,
        reason=reason,
        phase=run.state.timeline.phases[voice.phase].id,
        voice=voice.id,
    )


def leave(run: Run, voice: Voice, t: float, fade: float, reason: TrackEndReason) -> None:
    """Move a voice to the leaving list: it fades out over `fade` from t."""
    env_now = out_envelope(run.state, voice, t)
    if fade <= 0 or env_now <= 0 or voice_level(run.state, voice, t) <= 0:
        track_ended(run, voice, t, reason)
        return
    # Continue from where the fade-out already stands, so the level never jumps upwards.
    gone = replace(voice, leaving_at=t + fade * env_now, fade_out=fade, reason=reason)
    run.set(leaving=(*run.state.leaving, gone))


def start_voice(run: Run, pos: int, t: float, offset: float, fade_in: float) -> None:
    s = run.state
    tracks = s.plan.tracks
    if not tracks or (pos >= len(tracks) and not s.plan.loop):
        run.set(voice=None)
        return
    track = tracks[pos % len(tracks)]
    fade_in = min(fade_in, (track.duration - offset) / 2)
    voice = Voice(
        id=s.next_voice,
        phase=s.phase,
        pos=pos,
        track=track,
        started_t=t,
        offset=offset,
        fade_in=fade_in,
    )
    run.set(voice=voice, next_voice=s.next_voice + 1)
    if s.plan.slot is not None:
        set_mark(run, s.plan.slot, (pos + 1, 0.0))  # where the order stands once it ends
    run.emit(
        "track_started",
        t,
        path=str(track.path),
        title=track.title,
        offset=round(track.start + offset, 3),
        end=round(track.end, 3),
        phase=s.plan.id,
        voice=voice.id,
        level=round(master_level(run.state, t) * track.gain_factor, 4),
    )


def has_room_for_next(state: State, t: float) -> bool:
    """Start another track only if the phase leaves time for a crossfade in and out (or
    the next phase carries on with it)."""
    end = phase_end(state)
    if end is None or (state.carries_on and state.plan.fade_out is None):
        return True
    return end - t >= 2 * state.timeline.crossfade + 1.0


def start_from(run: Run, point: tuple[int, float], t: float, fade_in: float) -> None:
    """Start the phase's order at (position, offset): a track with less than a second
    left gives way to the next."""
    pos, offset = point
    tracks = run.state.plan.tracks
    if tracks and offset >= tracks[pos % len(tracks)].duration - 1.0:
        pos, offset = pos + 1, 0.0
    start_voice(run, pos, t, max(0.0, offset), fade_in)


def _track_turn(run: Run, t: float) -> None:
    """The current track reaches its last crossfade: the next one comes in."""
    s = run.state
    v = s.voice
    assert v is not None
    run.set(voice=None, failures_in_row=0)
    leave(run, v, t, max(0.0, v.natural_end - t), "finished")
    if has_room_for_next(run.state, t):
        start_voice(run, v.pos + 1, t, 0.0, s.timeline.crossfade)


def _enter_phase(run: Run, index: int, t: float, carried: Voice | None = None) -> None:
    """Open phase `index` at t. `carried`: the voice the phase before hands on, which
    keeps playing (only the level glides to this phase's curve)."""
    s = run.state
    previous = curve_level(s, t) if s.phase_starts else None
    plan = s.timeline.phases[index]
    run.set(
        phase=index,
        phase_starts=(*s.phase_starts, t),
        extended=0.0,
        warp=(t, 0.0),
        checkin_next=(),
        master_glide=None,
        failures_in_row=0,
    )
    starts = run.state.phase_starts
    run.set(
        checkin_next=tuple(
            r.first_at_or_after(t - starts[r.anchor]) if r.anchor < len(starts) else 0
            for r in plan.checkins
        )
    )
    if previous is not None:
        seconds = max(s.timeline.crossfade, PHASE_GLIDE_MIN_S)
        run.set(master_glide=Glide(previous, t, seconds))
    run.emit("phase_started", t, phase=plan.id, planned_t=plan.planned_start)
    for cue in plan.cues:
        if cue.at == "start":
            _fire_cue(run, cue, t)
    point = (0, 0.0)
    if plan.continues is not None and plan.slot is not None:
        point = run.state.slot_mark(plan.slot)
    if carried is not None:
        run.set(voice=replace(carried, phase=index, pos=carried.pos % len(plan.tracks)))
    elif run.state.music == "playing":
        start_from(run, point, t, s.timeline.crossfade)
    else:
        run.set(resume_point=point if plan.tracks else None)


def end_phase(run: Run, t: float, advanced: bool = False) -> None:
    s = run.state
    plan = s.plan
    for cue in plan.cues:
        if cue.at == "end":
            _fire_cue(run, cue, t)
    last = plan.index == len(s.timeline.phases) - 1
    carried = None
    if plan.slot is not None:
        _mark(run, plan.slot, t)
    if s.voice is not None:
        v = s.voice
        run.set(voice=None)
        if s.carries_on and out_envelope(s, v, t) >= 1.0 - EPS:  # not fading out: goes on
            carried = v
        else:
            faded = not advanced and (plan.fade_out is not None or last)
            leave(run, v, t, 0.0 if faded else s.timeline.crossfade, "phase_end")
    if last:
        finish(run, t, "completed")
    else:
        _enter_phase(run, plan.index + 1, t, carried)


def _mark(run: Run, slot: str, t: float) -> None:
    """Remember where the slot's order stands as its phase ends: the track playing and
    how far into it, else where held music would resume, else after the last track."""
    s = run.state
    if s.voice is not None:
        set_mark(run, slot, (s.voice.pos, s.voice.offset_at(t)))
    elif s.music != "playing" and s.resume_point is not None:
        set_mark(run, slot, s.resume_point)
    # else: the order ran out, and start_voice marked the place after its last track


def set_mark(run: Run, slot: str, point: tuple[int, float]) -> None:
    """Where the slot's order stands, counted within one round of a looping playlist, so
    a phase that continues it without looping plays it to its end."""
    pos, offset = point
    plan = run.state.plan
    if plan.loop and plan.tracks:
        pos %= len(plan.tracks)
    marks = tuple(m for m in run.state.slot_marks if m[0] != slot)
    run.set(slot_marks=(*marks, (slot, pos, offset)))


def finish(run: Run, t: float, reason: str) -> None:
    """The session ends: a check-in still waiting was missed (it was never answered)."""
    s = run.state
    for p in s.pending:
        run.emit(
            "checkin_missed",
            t,
            id=p.id,
            kind=p.rule.kind,
            phase=checkin_phase(s, p),
            due_t=p.due_t,
        )
    for v in voices(s):
        track_ended(run, v, t, "phase_end" if reason == "completed" else "stopped")
    run.set(voice=None, leaving=(), pending=(), ended=reason, t=t)
    run.emit("session_ended", t, reason=reason)


def _fire_cue(run: Run, cue: CuePlan, t: float) -> None:
    s = run.state
    run.set(cues_done=s.cues_done | {cue.cue_id})
    payload = cue.payload
    if cue.ramp is not None:
        midi = {k: v for k, v in payload["midi"].items() if k != "ramp"}
        midi["value"] = cue.ramp.from_
        payload = {"midi": midi}
        new = CcRamp(cue.cue_id, t, cue)
        run.set(ramps=(*tuple(r for r in run.state.ramps if r.key != new.key), new))
    run.emit(
        "cue_sent",
        t,
        id=cue.cue_id,
        phase=s.plan.id,
        kind=cue.kind,
        target=cue_target(payload),
        payload=payload,
    )


def cue_target(payload: dict[str, Any]) -> str | None:
    body = payload.get("midi") or payload.get("osc") or {}
    return body.get("port") or body.get("target")


def _fire_checkin(run: Run, k: int, t: float) -> None:
    s = run.state
    rule = s.plan.checkins[k]
    n = s.checkin_next[k]
    cid = f"{rule.rule_id}.{n}"
    nxt = list(s.checkin_next)
    nxt[k] = n + 1
    run.set(checkin_next=tuple(nxt))
    if rule.ack_required:  # it waits, through the next one and the next phase, for an answer
        run.set(pending=(*s.pending, Pending(cid, rule, t)))
    _duck(run, rule, t)
    run.emit(
        "checkin_due",
        t,
        id=cid,
        kind=rule.kind,
        message=rule.message,
        audience=rule.audience,
        sound=rule.sound,
        level=round(rule.level, 4),
        ack="required" if rule.ack_required else "none",
        phase=s.plan.id,
        **({"record": list(rule.record)} if rule.record else {}),
    )


def _fire_recheck(run: Run, recheck: Recheck, t: float) -> None:
    """A follow-up reading an alert asked for falls due: a staff check-in of its own,
    waiting for the readings like any other."""
    s = run.state
    sound, level = s.timeline.staff_chime
    rule = CheckinPlan(
        rule_id=recheck.id,
        phase=s.phase,
        anchor=s.phase,
        at=(0.0,),
        every=None,
        start=0.0,
        until=None,
        kind="recheck",
        message=f"Recheck: {recheck.why}",
        audience="staff",
        sound=sound,
        level=level,
        ack_required=True,
        escalate_after=None,
        chime_s=0.0,
        duck_factor=1.0,
        record=recheck.measures,
    )
    clinical = replace(s.clinical, rechecks=tuple(r for r in s.clinical.rechecks if r != recheck))
    run.set(clinical=clinical, pending=(*s.pending, Pending(recheck.id, rule, t)))
    run.emit(
        "checkin_due",
        t,
        id=recheck.id,
        kind=rule.kind,
        message=rule.message,
        audience="staff",
        sound=sound,
        level=round(level, 4),
        ack="required",
        phase=s.plan.id,
        record=list(recheck.measures),
    )


def _duck(run: Run, rule: CheckinPlan, t: float) -> None:
    if rule.audience in ("patient", "both") and rule.duck_factor < 1.0:
        run.set(ducks=(*run.state.ducks, Duck(t, rule.chime_s, rule.duck_factor)))


def _escalate(run: Run, cid: str, t: float) -> None:
    s = run.state
    p = next(p for p in s.pending if p.id == cid)
    count = p.escalations + 1
    level = min(p.rule.level * db_to_factor(ESCALATION_STEP_DB * count), s.timeline.max_level)
    run.set(pending=tuple(replace(q, escalations=count) if q.id == cid else q for q in s.pending))
    _duck(run, p.rule, t)
    run.emit(
        "checkin_escalated",
        t,
        id=cid,
        kind=p.rule.kind,
        count=count,
        audience=p.rule.audience,
        sound=p.rule.sound,
        level=round(level, 4),
        phase=checkin_phase(s, p),
    )


def checkin_phase(state: State, pending: Pending) -> str:
    """The id of the phase a check-in fell due in (it may wait into later ones)."""
    return state.timeline.phases[pending.rule.phase].id


def opening_chimes(state: State) -> frozenset[str]:
    """Audiences of the chimes that sound as the next phase opens at this one's planned
    end: its check-ins due at once (or one counted from an earlier phase that falls due
    there). Found by running the session to that moment, so it says exactly what the
    session will do; none for an open-ended phase."""
    end = phase_end(state)
    if end is None or state.ended:
        return frozenset()
    _, events = advance(state, end)
    return frozenset(
        e.data["audience"]
        for e in events
        if e.type in ("checkin_due", "checkin_escalated") and e.t >= end - EPS
    )
