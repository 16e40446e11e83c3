"""The session state machine: (state, control, t) -> (new state, events). Pure.

The session clock is the patient's clock and never stops: controls reshape the future
(extend, move on, hold the music, quiet), never the past. Everything the engine needs at a
moment t — which track plays at which offset and level, what is due next — is derived
from the state, so the engine holds no session logic of its own and a six-hour session
runs here in milliseconds.

Music is modelled as voices: the current track, plus tracks leaving (fading out) after a
crossfade, a skip, a phase change, hold or quiet. A voice's level is a pure function of
time, so fades are computed from the clock, never by counting ticks.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal

from setandsetting.core.controls import Control
from setandsetting.core.curves import glide, ramp
from setandsetting.core.events import Event
from setandsetting.core.timeline import CheckinPlan, CuePlan, PhasePlan, PlannedTrack, Timeline
from setandsetting.core.units import db_to_factor, format_duration, format_level

EPS = 1e-9
HOLD_FADE_S = 3.0  # hold and quiet fade the music out over this long
RESUME_FADE_S = 4.0  # music comes back gently after hold, quiet or an error
ERROR_FADE_S = 1.0  # the next track after a failed one comes in quickly
NUDGE_GLIDE_S = 2.0  # a manual level change glides, never jumps
PHASE_GLIDE_MIN_S = 3.0  # the level glides into a new phase's curve at least this long
DUCK_ATTACK_S = 0.3
DUCK_RELEASE_S = 1.5
ESCALATION_STEP_DB = 3.0  # each escalation chimes this much louder (still under the cap)
MAX_ESCALATIONS = 3  # then the check-in waits quietly on screen until acknowledged or missed
MAX_NUDGE_PCT = 100.0

MusicMode = Literal["playing", "held", "quiet"]


@dataclass(frozen=True, slots=True)
class Voice:
    """One track sounding (or fading out) from `started_t`, `offset` seconds into it."""

    id: int
    phase: int
    pos: int  # position in the phase's track order, counting loops
    track: PlannedTrack
    started_t: float
    offset: float
    fade_in: float
    leaving_at: float | None = None
    fade_out: float = 0.0
    reason: str = ""

    @property
    def natural_end(self) -> float:
        return self.started_t + self.track.duration - self.offset

    def offset_at(self, t: float) -> float:
        """Seconds into the playable (trimmed) track at time t."""
        return self.offset + (t - self.started_t)


@dataclass(frozen=True, slots=True)
class Pending:
    """A check-in waiting for staff to acknowledge it."""

    id: str
    rule: CheckinPlan
    due_t: float
    escalations: int = 0


@dataclass(frozen=True, slots=True)
class Duck:
    t0: float
    length: float
    factor: float

    def at(self, t: float) -> float:
        if t < self.t0 or t >= self.t0 + self.length + DUCK_RELEASE_S:
            return 1.0
        if t < self.t0 + DUCK_ATTACK_S:
            return ramp("s-curve", 1.0, self.factor, (t - self.t0) / DUCK_ATTACK_S)
        if t < self.t0 + self.length:
            return self.factor
        return ramp("s-curve", self.factor, 1.0, (t - self.t0 - self.length) / DUCK_RELEASE_S)

    def over(self, t: float) -> bool:
        return t >= self.t0 + self.length + DUCK_RELEASE_S


@dataclass(frozen=True, slots=True)
class CcRamp:
    """A MIDI control_change gliding along a curve, like the volume does."""

    cue_id: str
    t0: float
    plan: CuePlan

    def value_at(self, t: float) -> int:
        r = self.plan.ramp
        assert r is not None
        u = 1.0 if r.over <= 0 else (t - self.t0) / r.over
        return round(ramp(r.shape, float(r.from_), float(r.to), u))

    @property
    def end_t(self) -> float:
        assert self.plan.ramp is not None
        return self.t0 + self.plan.ramp.over

    @property
    def key(self) -> tuple[Any, ...]:
        midi = self.plan.payload["midi"]
        return (midi.get("port"), midi["channel"], midi["control"])


@dataclass(frozen=True, slots=True)
class Glide:
    start: float
    t0: float
    seconds: float


@dataclass(frozen=True, slots=True)
class State:
    timeline: Timeline
    t: float = 0.0
    phase: int = 0
    phase_starts: tuple[float, ...] = ()
    extended: float = 0.0
    warp: tuple[float, float] = (0.0, 0.0)  # (t, tau): where the phase's curve clock stands
    voice: Voice | None = None
    leaving: tuple[Voice, ...] = ()
    next_voice: int = 0
    music: MusicMode = "playing"
    resume_point: tuple[int, float] | None = None
    nudge_pct: float = 0.0
    nudge_glide: Glide = Glide(1.0, 0.0, 0.0)
    master_glide: Glide | None = None
    ducks: tuple[Duck, ...] = ()
    checkin_next: tuple[int, ...] = ()
    pending: tuple[Pending, ...] = ()
    cues_done: frozenset[str] = frozenset()
    ramps: tuple[CcRamp, ...] = ()
    failures_in_row: int = 0  # tracks that failed one after another (stop after a round)
    ended: str | None = None

    @property
    def plan(self) -> PhasePlan:
        return self.timeline.phases[self.phase]

    @property
    def phase_start(self) -> float:
        return self.phase_starts[self.phase]


# ---------------------------------------------------------------- derived quantities


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


def earliest_next(state: State) -> float | None:
    """The earliest moment `next` is allowed (the phase's floor), or None if no floor."""
    plan = state.plan
    if plan.not_before is None or plan.not_before[0] >= len(state.phase_starts):
        return None
    anchor, at_least = plan.not_before
    return state.phase_starts[anchor] + at_least


def curve_time(state: State, t: float) -> float:
    """Phase-local curve time: an extension stretches what is left of the curve."""
    ta, tau_a = state.warp
    end = phase_end(state)
    duration = state.plan.duration
    if end is None or duration is None:
        return tau_a + (t - ta)
    if end - ta <= EPS:
        return duration
    return tau_a + (t - ta) * (duration - tau_a) / (end - ta)


def curve_level(state: State, t: float) -> float:
    """The profile's level for the current phase at t, gliding in after a phase change."""
    level = state.plan.envelope.at(curve_time(state, t))
    g = state.master_glide
    if g is not None:
        level = glide(g.start, level, g.t0, g.seconds, t) if t < g.t0 + g.seconds else level
    return min(level, state.timeline.max_level)


def nudge_factor(state: State, t: float) -> float:
    g = state.nudge_glide
    return glide(g.start, 1.0 + state.nudge_pct / 100.0, g.t0, g.seconds, t)


def duck_factor(state: State, t: float) -> float:
    return math.prod(d.at(t) for d in state.ducks)


def master_level(state: State, t: float) -> float:
    """Curve x manual nudge x duck, capped: the level a track at 0 dB gain plays at."""
    if state.ended:
        return 0.0
    level = curve_level(state, t) * nudge_factor(state, t) * duck_factor(state, t)
    return max(0.0, min(level, state.timeline.max_level))


def _fade_out_before_end(state: State, voice: Voice) -> tuple[float, float] | None:
    """(end, seconds) when the current phase's end fades this voice to silence."""
    if voice.phase != state.phase:
        return None
    end = phase_end(state)
    if end is None:
        return None
    plan = state.plan
    last = plan.index == len(state.timeline.phases) - 1
    if plan.fade_out is not None:
        return end, plan.fade_out
    if last:
        return end, state.timeline.crossfade
    return None


def _out_envelope(state: State, voice: Voice, t: float) -> float:
    """The fading-out part of a voice's envelope (1 while it is not fading out)."""
    if voice.leaving_at is not None:
        return _fraction(voice.leaving_at - t, voice.fade_out)
    cut = _fade_out_before_end(state, voice)
    return _fraction(cut[0] - t, cut[1]) if cut is not None else 1.0


def voice_level(state: State, voice: Voice, t: float) -> float:
    """Curve x nudge x duck x track gain x fades, clamped to the cap (never above it)."""
    return _voice_level(state, voice, t, master_level(state, t))


def voice_levels(state: State, t: float) -> list[tuple[Voice, float]]:
    """Every sounding voice with its level at t (the factors they share computed once)."""
    master = master_level(state, t)
    return [(v, _voice_level(state, v, t, master)) for v in voices(state)]


def _voice_level(state: State, voice: Voice, t: float, master: float) -> float:
    env = _out_envelope(state, voice, t)
    if voice.fade_in > 0:
        env = min(env, max(0.0, (t - voice.started_t) / voice.fade_in))
    return max(0.0, min(master * env * voice.track.gain_factor, state.timeline.max_level))


def _fraction(remaining: float, seconds: float) -> float:
    if seconds <= 0:
        return 1.0 if remaining > 0 else 0.0
    return max(0.0, min(1.0, remaining / seconds))


def voices(state: State) -> tuple[Voice, ...]:
    """Every voice sounding now: leaving ones first, then the current one."""
    return (*state.leaving, state.voice) if state.voice is not None else state.leaving


def now_playing(state: State, t: float) -> list[dict[str, Any]]:
    """What plays at t: each voice's track, offset in the file and level."""
    return [
        {
            "voice": v.id,
            "path": str(v.track.path),
            "title": v.track.title,
            "offset": round(v.track.start + v.offset_at(t), 3),
            "level": voice_level(state, v, t),
            "leaving": v.leaving_at is not None,
        }
        for v in voices(state)
    ]


def steady_until(state: State, t: float) -> float:
    """Until when every voice's level stays constant (t itself when something is moving).

    The engine's fade loop runs while levels move and rests otherwise.
    """
    if state.ended:
        return math.inf
    moving = [
        any(v.fade_in > 0 and t < v.started_t + v.fade_in for v in voices(state)),
        any(v.leaving_at is not None for v in state.leaving),
        state.master_glide is not None and t < state.master_glide.t0 + state.master_glide.seconds,
        t < state.nudge_glide.t0 + state.nudge_glide.seconds,
        any(d.t0 <= t and not d.over(t) for d in state.ducks),
        any(r.t0 <= t < r.end_t for r in state.ramps),
    ]
    if any(moving):
        return t
    if state.voice is not None and not state.plan.envelope.steady_after(curve_time(state, t)):
        return t
    horizon = math.inf
    if state.voice is not None and (cut := _fade_out_before_end(state, state.voice)):
        horizon = cut[0] - cut[1]
    upcoming = [d.t0 for d in state.ducks if d.t0 > t]
    nxt = next_moment(state)
    return min([horizon, *upcoming, nxt if nxt is not None else math.inf])


def cc_values(state: State, t: float) -> list[tuple[str, dict[str, Any]]]:
    """The value each CC ramp should have at t, as ready-to-send cue payloads."""
    out = []
    for r, value in _ramp_values(state, t):
        midi = {k: v for k, v in r.plan.payload["midi"].items() if k != "ramp"}
        midi["value"] = value
        out.append((r.cue_id, {"midi": midi}))
    return out


def cc_numbers(state: State, t: float) -> list[tuple[str, int]]:
    """(cue id, value) of each CC ramp at t: cc_values without building the payloads."""
    return [(r.cue_id, value) for r, value in _ramp_values(state, t)]


def _ramp_values(state: State, t: float) -> Iterator[tuple[CcRamp, int]]:
    for r in state.ramps:
        if t >= r.t0:
            yield r, r.value_at(min(t, r.end_t))


def pending_checkins(state: State) -> list[dict[str, Any]]:
    return [
        {
            "id": p.id,
            "kind": p.rule.kind,
            "message": p.rule.message,
            "due_t": p.due_t,
            "audience": p.rule.audience,
            "escalations": p.escalations,
        }
        for p in state.pending
    ]


# ---------------------------------------------------------------- the moments ahead

# Priority at equal times: a voice leaves before a phase ends, a phase ends before the
# next phase's cues and check-ins (a moment at the end belongs to the next phase).
_P_VOICE_GONE, _P_PHASE_END, _P_CUE, _P_CHECKIN, _P_ESCALATE, _P_TRACK = range(6)


def _moments(state: State) -> list[tuple[float, int, Any]]:
    if state.ended:
        return []
    out: list[tuple[float, int, Any]] = [
        (v.leaving_at, _P_VOICE_GONE, v.id) for v in state.leaving if v.leaving_at is not None
    ]
    end = phase_end(state)
    if end is not None:
        out.append((end, _P_PHASE_END, None))
    limit = end if end is not None else math.inf
    start = state.phase_start
    for cue in state.plan.cues:
        if isinstance(cue.at, float) and cue.cue_id not in state.cues_done:
            at = start + cue.at
            if at < limit - EPS:
                out.append((at, _P_CUE, cue))
    for k, rule in enumerate(state.plan.checkins):
        if rule.anchor >= len(state.phase_starts):
            continue
        off = rule.offset(state.checkin_next[k])
        if off is not None:
            at = state.phase_starts[rule.anchor] + off
            if at < limit - EPS:
                out.append((at, _P_CHECKIN, k))
    for p in state.pending:
        if p.rule.escalate_after and p.escalations < MAX_ESCALATIONS:
            out.append((p.due_t + (p.escalations + 1) * p.rule.escalate_after, _P_ESCALATE, p.id))
    v = state.voice
    if v is not None:
        out.append((turn_time(state, v), _P_TRACK, v.id))
    return out


def turn_time(state: State, v: Voice) -> float:
    """When the next track comes in: one crossfade before the end, and never at the start.

    A crossfade is at most half of what is left of the track, so time always moves on.
    """
    remaining = v.natural_end - v.started_t
    return v.natural_end - min(state.timeline.crossfade, remaining / 2)


def next_moment(state: State) -> float | None:
    """When something is next planned to happen (for the engine's scheduler)."""
    moments = _moments(state)
    return min(m[0] for m in moments) if moments else None


def chime_moments(state: State) -> list[tuple[float, str]]:
    """(time, audience) of each check-in and escalation among the moments ahead, so a
    chime device can sleep between chimes and be ready, a second ahead, for the next.
    What the next phase sounds as it opens is `opening_chimes`'."""
    pending = {p.id: p for p in state.pending}
    out: list[tuple[float, str]] = []
    for at, priority, what in _moments(state):
        if priority == _P_CHECKIN:
            out.append((at, state.plan.checkins[what].audience))
        elif priority == _P_ESCALATE:
            out.append((at, pending[what].rule.audience))
    return out


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


# ---------------------------------------------------------------- transitions


class _Run:
    """Accumulates events while the state moves; keeps the pure functions short."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.events: list[Event] = []

    def emit(self, type_: str, t: float, **data: Any) -> None:
        self.events.append(Event(type_, t, data))

    def set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)


def start(timeline: Timeline, t: float = 0.0) -> tuple[State, list[Event]]:
    """Begin the session at t (normally 0): the first phase starts now."""
    run = _Run(State(timeline=timeline, t=t))
    run.emit("session_started", t, profile=timeline.profile_name, patient=timeline.patient)
    _enter_phase(run, 0, t)
    return run.state, run.events


def advance(state: State, t: float) -> tuple[State, list[Event]]:
    """Everything planned up to and including t, in time order."""
    run = _Run(state)
    _advance(run, t)
    return run.state, run.events


def _advance(run: _Run, t: float) -> None:
    while not run.state.ended:
        moments = _moments(run.state)
        if not moments:
            break
        at, kind, what = min(moments, key=lambda m: (m[0], m[1]))
        if at > t + EPS:
            break
        at = max(at, run.state.t)
        run.set(t=at)
        if kind == _P_VOICE_GONE:
            _voice_gone(run, what, at)
        elif kind == _P_PHASE_END:
            _end_phase(run, at)
        elif kind == _P_CUE:
            _fire_cue(run, what, at)
        elif kind == _P_CHECKIN:
            _fire_checkin(run, what, at)
        elif kind == _P_ESCALATE:
            _escalate(run, what, at)
        else:
            _track_turn(run, at)
    if not run.state.ended:
        run.set(t=max(run.state.t, t), ducks=tuple(d for d in run.state.ducks if not d.over(t)))


def _voice_gone(run: _Run, voice_id: int, t: float) -> None:
    s = run.state
    gone = next(v for v in s.leaving if v.id == voice_id)
    run.set(leaving=tuple(v for v in s.leaving if v.id != voice_id))
    _track_ended(run, gone, t, gone.reason)


def _track_ended(run: _Run, voice: Voice, t: float, reason: str) -> None:
    run.emit(
        "track_ended",
        t,
        path=str(voice.track.path),
        title=voice.track.title,
        reason=reason,
        phase=run.state.timeline.phases[voice.phase].id,
        voice=voice.id,
    )


def _leave(run: _Run, voice: Voice, t: float, fade: float, reason: str) -> None:
    """Move a voice to the leaving list: it fades out over `fade` from t."""
    env_now = _out_envelope(run.state, voice, t)
    if fade <= 0 or env_now <= 0 or voice_level(run.state, voice, t) <= 0:
        _track_ended(run, voice, t, reason)
        return
    # Continue from where the fade-out already stands, so the level never jumps upwards.
    gone = replace(voice, leaving_at=t + fade * env_now, fade_out=fade, reason=reason)
    run.set(leaving=(*run.state.leaving, gone))


def _start_voice(run: _Run, pos: int, t: float, offset: float, fade_in: float) -> None:
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


def _has_room_for_next(state: State, t: float) -> bool:
    """Start another track only if the phase leaves time for a crossfade in and out."""
    end = phase_end(state)
    return end is None or end - t >= 2 * state.timeline.crossfade + 1.0


def _track_turn(run: _Run, t: float) -> None:
    """The current track reaches its last crossfade: the next one comes in."""
    s = run.state
    v = s.voice
    assert v is not None
    run.set(voice=None, failures_in_row=0)
    _leave(run, v, t, max(0.0, v.natural_end - t), "finished")
    if _has_room_for_next(run.state, t):
        _start_voice(run, v.pos + 1, t, 0.0, s.timeline.crossfade)


def _enter_phase(run: _Run, index: int, t: float) -> None:
    s = run.state
    previous = curve_level(s, t) if s.phase_starts else None
    plan = s.timeline.phases[index]
    run.set(
        phase=index,
        phase_starts=(*s.phase_starts, t),
        extended=0.0,
        warp=(t, 0.0),
        checkin_next=(),
        pending=(),
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
    if run.state.music == "playing":
        _start_voice(run, 0, t, 0.0, s.timeline.crossfade)
    else:
        run.set(resume_point=(0, 0.0) if plan.tracks else None)


def _end_phase(run: _Run, t: float, advanced: bool = False) -> None:
    s = run.state
    plan = s.plan
    for cue in plan.cues:
        if cue.at == "end":
            _fire_cue(run, cue, t)
    for p in s.pending:
        run.emit("checkin_missed", t, id=p.id, kind=p.rule.kind, phase=plan.id)
    run.set(pending=())
    last = plan.index == len(s.timeline.phases) - 1
    if s.voice is not None:
        v = s.voice
        run.set(voice=None)
        faded = not advanced and (plan.fade_out is not None or last)
        _leave(run, v, t, 0.0 if faded else s.timeline.crossfade, "phase_end")
    if last:
        _finish(run, t, "completed")
    else:
        _enter_phase(run, plan.index + 1, t)


def _finish(run: _Run, t: float, reason: str) -> None:
    s = run.state
    for v in voices(s):
        _track_ended(run, v, t, "phase_end" if reason == "completed" else "stopped")
    run.set(voice=None, leaving=(), ended=reason, t=t)
    run.emit("session_ended", t, reason=reason)


def _fire_cue(run: _Run, cue: CuePlan, t: float) -> None:
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
        target=_target(payload),
        payload=payload,
    )


def _target(payload: dict[str, Any]) -> str | None:
    body = payload.get("midi") or payload.get("osc") or {}
    return body.get("port") or body.get("target")


def _fire_checkin(run: _Run, k: int, t: float) -> None:
    s = run.state
    rule = s.plan.checkins[k]
    n = s.checkin_next[k]
    cid = f"{rule.rule_id}.{n}"
    nxt = list(s.checkin_next)
    nxt[k] = n + 1
    run.set(checkin_next=tuple(nxt))
    for p in s.pending:
        if p.rule.rule_id == rule.rule_id:  # superseded by the next one of the same rule
            run.emit("checkin_missed", t, id=p.id, kind=rule.kind, phase=s.plan.id)
    pending = tuple(p for p in s.pending if p.rule.rule_id != rule.rule_id)
    if rule.ack_required:
        pending = (*pending, Pending(cid, rule, t))
    run.set(pending=pending)
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
    )


def _duck(run: _Run, rule: CheckinPlan, t: float) -> None:
    if rule.audience in ("patient", "both") and rule.duck_factor < 1.0:
        run.set(ducks=(*run.state.ducks, Duck(t, rule.chime_s, rule.duck_factor)))


def _escalate(run: _Run, cid: str, t: float) -> None:
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
        phase=s.plan.id,
    )


# ---------------------------------------------------------------- controls


def apply(state: State, control: Control, t: float) -> tuple[State, list[Event]]:
    """Advance to t, then apply a control. A refused control yields `control_refused`."""
    run = _Run(state)
    _advance(run, t)
    t = max(t, run.state.t)
    if run.state.ended:
        run.emit("control_refused", t, action=control.action, reason="the session has ended")
        return run.state, run.events
    handler = _HANDLERS[control.action]
    reason = handler(run, control, t)
    if reason:
        run.emit("control_refused", t, action=control.action, reason=reason)
    run.set(t=t)
    return run.state, run.events


def _extend(run: _Run, c: Control, t: float) -> str | None:
    s = run.state
    plan = s.plan
    by = float(c.value or 0.0)
    if plan.duration is None:
        return f"{plan.id} is open-ended; it runs until you move on"
    if by <= 0:
        return "extend by a positive duration, e.g. extend 5m"
    room = plan.extendable - s.extended
    if by > room + EPS:
        if plan.extendable <= 0:
            return f"{plan.id} is not extendable"
        return (
            f"{plan.id} can be extended by at most {format_duration(room)} more "
            f"(limit {format_duration(plan.extendable)})"
        )
    warp = (t, curve_time(s, t))
    run.set(extended=s.extended + by, warp=warp)
    run.emit("phase_extended", t, phase=plan.id, by_s=by, new_end_t=phase_end(run.state))
    return None


def _next(run: _Run, c: Control, t: float) -> str | None:
    s = run.state
    plan = s.plan
    if plan.index == len(s.timeline.phases) - 1:
        return f"{plan.id} is the last phase; use stop to end the session"
    floor = earliest_next(s)
    if floor is not None and t < floor - EPS:
        after = s.timeline.phases[plan.not_before[0]].id  # type: ignore[index]
        return (
            f"{plan.id} may not end before {format_duration(floor)} "
            f"({format_duration(plan.not_before[1])} after {after} began); "  # type: ignore[index]
            f"{format_duration(floor - t)} to go"
        )
    run.emit("phase_advanced", t, phase=plan.id, planned_end_t=phase_end(s))
    _end_phase(run, t, advanced=True)
    return None


def _hold(run: _Run, c: Control, t: float, mode: MusicMode = "held") -> str | None:
    s = run.state
    if s.music != "playing":
        return "the music is already held" if mode == "held" else None
    v = s.voice
    run.set(
        music=mode,
        voice=None,
        resume_point=(v.pos, v.offset_at(t + HOLD_FADE_S)) if v else (0, 0.0),
    )
    if v is not None:
        _leave(run, v, t, HOLD_FADE_S, "held" if mode == "held" else "quiet")
    if mode == "held":
        run.emit("music_held", t)
    return None


def _quiet(run: _Run, c: Control, t: float) -> str | None:
    if run.state.music == "quiet":
        return "already quiet"
    _hold(run, c, t, "quiet")
    run.set(music="quiet")
    run.emit("quiet", t)
    for k, payload in enumerate(run.state.timeline.on_quiet):
        run.emit(
            "cue_sent",
            t,
            id=f"on_quiet.{k}",
            phase=run.state.plan.id,
            kind=next(iter(payload)),
            target=_target(payload),
            payload=payload,
        )
    return None


def _resume(run: _Run, c: Control, t: float) -> str | None:
    s = run.state
    if s.music == "playing":
        return "the music is already playing"
    was = s.music
    run.set(music="playing")
    run.emit("music_resumed", t, after=was)
    if s.resume_point is not None:
        pos, offset = s.resume_point
        tracks = s.plan.tracks
        if tracks and offset >= tracks[pos % len(tracks)].duration - 1.0:
            pos, offset = pos + 1, 0.0
        _start_voice(run, pos, t, max(0.0, offset), RESUME_FADE_S)
    run.set(resume_point=None)
    return None


def _skip(run: _Run, c: Control, t: float) -> str | None:
    s = run.state
    if s.music != "playing":
        return "the music is held; resume it first"
    v = s.voice
    if v is None:
        return "no track is playing"
    run.set(voice=None)
    _leave(run, v, t, s.timeline.crossfade, "skipped")
    _start_voice(run, v.pos + 1, t, 0.0, s.timeline.crossfade)
    return None


def _level(run: _Run, c: Control, t: float) -> str | None:
    s = run.state
    current = nudge_factor(s, t)
    curve = curve_level(s, t)
    if c.absolute:
        target_pct = (float(c.value) / max(curve, EPS) - 1.0) * 100.0  # type: ignore[arg-type]
    else:
        target_pct = s.nudge_pct + float(c.value)  # type: ignore[arg-type]
    cap_pct = (s.timeline.max_level / max(curve, EPS) - 1.0) * 100.0
    target_pct = max(-100.0, min(target_pct, MAX_NUDGE_PCT, max(cap_pct, 0.0)))
    run.set(nudge_pct=target_pct, nudge_glide=Glide(current, t, NUDGE_GLIDE_S))
    level = min(curve * (1 + target_pct / 100.0), s.timeline.max_level)
    run.emit(
        "level_changed",
        t,
        nudge_pct=round(target_pct, 2),
        level=round(level, 4),
        shown=format_level(level),
    )
    return None


def _ack(run: _Run, c: Control, t: float) -> str | None:
    s = run.state
    if not s.pending:
        return "no check-in is waiting"
    chosen = [p for p in s.pending if c.value in (None, "", p.id)]
    if not chosen:
        return f"no waiting check-in is called {c.value!r}"
    for p in chosen:
        run.emit(
            "checkin_acknowledged", t, id=p.id, kind=p.rule.kind, latency_s=round(t - p.due_t, 3)
        )
    run.set(pending=tuple(p for p in s.pending if p not in chosen))
    return None


def _note(run: _Run, c: Control, t: float) -> str | None:
    text = str(c.value or "").strip()
    if not text:
        return "a note needs some text"
    run.emit("note", t, text=text)
    return None


def _stop(run: _Run, c: Control, t: float) -> str | None:
    _finish(run, t, str(c.value or "stopped"))
    return None


def _track_failed(run: _Run, c: Control, t: float) -> str | None:
    """The engine could not play a voice: journal it and bring in the next track."""
    s = run.state
    v = s.voice
    run.emit(
        "error",
        t,
        source="music",
        message=str(c.message or "track failed"),
        path=str(v.track.path) if v and v.id == c.voice else None,
    )
    if v is None or v.id != c.voice:
        run.set(leaving=tuple(x for x in s.leaving if x.id != c.voice))
        return None
    failures = s.failures_in_row + 1
    run.set(voice=None, failures_in_row=failures)
    _leave(run, v, t, 0.0, "error")
    if failures >= len(s.plan.tracks):
        run.emit(
            "error",
            t,
            source="music",
            message=f"no playable track left in {s.plan.id}; the music stays silent",
        )
    elif _has_room_for_next(run.state, t):
        _start_voice(run, v.pos + 1, t, 0.0, ERROR_FADE_S)
    return None


def _track_finished(run: _Run, c: Control, t: float) -> str | None:
    """The device says the track ended before its planned end: move on now."""
    s = run.state
    v = s.voice
    if v is None or v.id != c.voice:
        run.set(leaving=tuple(x for x in s.leaving if x.id != c.voice))
        return None
    run.set(voice=None)
    _leave(run, v, t, 0.0, "finished")
    if _has_room_for_next(run.state, t):
        _start_voice(run, v.pos + 1, t, 0.0, s.timeline.crossfade)
    return None


def _rejoin(run: _Run, c: Control, t: float) -> str | None:
    """After a crash: the music comes back at the right place, fading in gently.

    The voices the dead process was playing end as "interrupted"; the current track starts
    again at the offset the session clock says it should be at now. If the crash came while
    a phase's last track was playing out its tail, that tail comes back and fades out as
    planned, so the room is not silent until the next phase.
    """
    s = run.state
    tail = None
    if s.voice is None:
        tail = next(
            (
                v
                for v in s.leaving
                if v.phase == s.phase
                and v.reason == "finished"
                and v.leaving_at is not None
                and v.leaving_at - t > 1.0
            ),
            None,
        )
    for v in voices(s):
        _track_ended(run, v, t, "interrupted")
    run.set(voice=None, leaving=())
    if s.music != "playing":
        return None
    v = s.voice
    if v is not None:
        offset = v.offset_at(t)
        if offset < v.track.duration - 1.0:
            _start_voice(run, v.pos, t, offset, RESUME_FADE_S)
        elif _has_room_for_next(run.state, t):
            _start_voice(run, v.pos + 1, t, 0.0, RESUME_FADE_S)
    elif tail is not None:
        _start_voice(run, tail.pos, t, tail.offset_at(t), RESUME_FADE_S)
        back = run.state.voice
        assert back is not None
        gone = replace(back, leaving_at=tail.leaving_at, fade_out=tail.fade_out, reason="finished")
        run.set(voice=None, leaving=(*run.state.leaving, gone))
    return None


_HANDLERS = {
    "extend": _extend,
    "next": _next,
    "pause": _hold,
    "resume": _resume,
    "quiet": _quiet,
    "skip": _skip,
    "level": _level,
    "ack": _ack,
    "note": _note,
    "stop": _stop,
    "track_failed": _track_failed,
    "track_finished": _track_finished,
    "rejoin": _rejoin,
}
