"""How loud everything is at t: pure functions of the state and the clock.

A voice's level is the phase's curve x the manual nudge x any duck x the track's gain x
its own fades, capped at the profile's maximum; CC ramps follow their curves the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from setandsetting.core.curves import glide
from setandsetting.core.session.moments import next_moment, phase_end
from setandsetting.core.session.state import EPS, CcRamp, State, Voice


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


def out_envelope(state: State, voice: Voice, t: float) -> float:
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
    env = out_envelope(state, voice, t)
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
