"""What each control does to the session: `apply` and one handler per action.

A handler returns None when it did what was asked, or the reason it refused (journaled
as `control_refused`, the state unchanged by it); the session clock has already been
advanced to the control's time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from setandsetting.core.controls import Control
from setandsetting.core.events import Event
from setandsetting.core.session import clinical
from setandsetting.core.session.levels import curve_level, curve_time, nudge_factor, voices
from setandsetting.core.session.moments import earliest_next, phase_end
from setandsetting.core.session.state import (
    EPS,
    ERROR_FADE_S,
    HOLD_FADE_S,
    MAX_NUDGE_PCT,
    NUDGE_GLIDE_S,
    RESUME_FADE_S,
    Glide,
    MusicMode,
    Pending,
    State,
)
from setandsetting.core.session.transitions import (
    Run,
    checkin_phase,
    cue_target,
    end_phase,
    finish,
    has_room_for_next,
    leave,
    run_until,
    start_from,
    start_voice,
    track_ended,
)
from setandsetting.core.units import db_to_factor, format_duration, format_level

Handler = Callable[[Run, Control, float], str | None]


def apply(state: State, control: Control, t: float) -> tuple[State, list[Event]]:
    """Advance to t, then apply a control. A refused control yields `control_refused`."""
    run = Run(state)
    run_until(run, t)
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


def _extend(run: Run, c: Control, t: float) -> str | None:
    """Lengthen the phase; asked for more than it may still take, it takes what remains
    (journaled with the amount applied and the amount asked), refused only when none does."""
    s = run.state
    plan = s.plan
    asked = float(c.value or 0.0)
    if plan.duration is None:
        return f"{plan.id} is open-ended; it runs until you move on"
    if asked <= 0:
        return "extend by a positive duration, e.g. extend 5m"
    room = plan.extendable - s.extended
    if plan.extendable <= 0:
        return f"{plan.id} is not extendable"
    if room <= EPS:
        return (
            f"{plan.id} is already extended by the most it may be "
            f"({format_duration(plan.extendable)})"
        )
    by = min(asked, room)
    warp = (t, curve_time(s, t))
    run.set(extended=s.extended + by, warp=warp)
    clamped = {"asked_s": asked} if by < asked - EPS else {}
    run.emit("phase_extended", t, phase=plan.id, by_s=by, new_end_t=phase_end(run.state), **clamped)
    return None


def _next(run: Run, c: Control, t: float) -> str | None:
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
    waiting = {"pending": [p.id for p in s.pending]} if s.pending else {}
    run.emit("phase_advanced", t, phase=plan.id, planned_end_t=phase_end(s), **waiting)
    end_phase(run, t, advanced=True)
    return None


def _hold(run: Run, c: Control, t: float, mode: MusicMode = "held") -> str | None:
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
        leave(run, v, t, HOLD_FADE_S, "held" if mode == "held" else "quiet")
    if mode == "held":
        run.emit("music_held", t)
    return None


def _quiet(run: Run, c: Control, t: float) -> str | None:
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
            target=cue_target(payload),
            payload=payload,
        )
    return None


def _resume(run: Run, c: Control, t: float) -> str | None:
    s = run.state
    if s.music == "playing":
        return "the music is already playing"
    was = s.music
    run.set(music="playing")
    run.emit("music_resumed", t, after=was)
    if s.resume_point is not None:
        start_from(run, s.resume_point, t, RESUME_FADE_S)
    run.set(resume_point=None)
    return None


def _skip(run: Run, c: Control, t: float) -> str | None:
    s = run.state
    if s.music != "playing":
        return "the music is held; resume it first"
    v = s.voice
    if v is None:
        return "no track is playing"
    run.set(voice=None)
    leave(run, v, t, s.timeline.crossfade, "skipped")
    start_voice(run, v.pos + 1, t, 0.0, s.timeline.crossfade)
    return None


def _level(run: Run, c: Control, t: float) -> str | None:
    s = run.state
    current = nudge_factor(s, t)
    curve = curve_level(s, t)
    if c.absolute:
        target_pct = (float(c.value) / max(curve, EPS) - 1.0) * 100.0  # type: ignore[arg-type]
    elif c.unit == "dB":  # a step in dB is the same step heard at any level: it multiplies
        factor = (1.0 + s.nudge_pct / 100.0) * db_to_factor(float(c.value))  # type: ignore[arg-type]
        target_pct = (factor - 1.0) * 100.0
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


def _waiting(s: State, cid: object) -> list[Pending] | str:
    """The waiting check-ins a control names (all of them without an id), or why none."""
    if not s.pending:
        return "no check-in is waiting"
    chosen = [p for p in s.pending if cid in (None, "", p.id)]
    return chosen or f"no waiting check-in is called {cid!r}"


def _dismiss(run: Run, c: Control, t: float) -> str | None:
    """Take a waiting check-in off every screen without it being done: the reason is
    journaled, and the review lists it as dismissed."""
    s = run.state
    reason = str(c.message or "").strip()
    if not reason:
        return "dismissing a check-in needs a reason"
    chosen = _waiting(s, c.value)
    if isinstance(chosen, str):
        return chosen
    for p in chosen:
        run.emit(
            "checkin_dismissed",
            t,
            id=p.id,
            kind=p.rule.kind,
            phase=checkin_phase(s, p),
            reason=reason,
            overdue_s=round(t - p.due_t, 3),
        )
    run.set(pending=tuple(p for p in s.pending if p not in chosen))
    return None


def _note(run: Run, c: Control, t: float) -> str | None:
    text = str(c.value or "").strip()
    if not text:
        return "a note needs some text"
    run.emit("note", t, text=text)
    return None


def _stop(run: Run, c: Control, t: float) -> str | None:
    reason = clinical.stop_floor(run, c, t)
    if reason:
        return reason
    finish(run, t, str(c.value or "stopped"))
    return None


def _track_failed(run: Run, c: Control, t: float) -> str | None:
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
    leave(run, v, t, 0.0, "error")
    if failures >= len(s.plan.tracks):
        run.emit(
            "error",
            t,
            source="music",
            message=f"no playable track left in {s.plan.id}; the music stays silent",
        )
    elif has_room_for_next(run.state, t):
        start_voice(run, v.pos + 1, t, 0.0, ERROR_FADE_S)
    return None


def _track_finished(run: Run, c: Control, t: float) -> str | None:
    """The device says the track ended before its planned end: move on now."""
    s = run.state
    v = s.voice
    if v is None or v.id != c.voice:
        run.set(leaving=tuple(x for x in s.leaving if x.id != c.voice))
        return None
    run.set(voice=None)
    leave(run, v, t, 0.0, "finished")
    if has_room_for_next(run.state, t):
        start_voice(run, v.pos + 1, t, 0.0, s.timeline.crossfade)
    return None


def _rejoin(run: Run, c: Control, t: float) -> str | None:
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
        track_ended(run, v, t, "interrupted")
    run.set(voice=None, leaving=())
    if s.music != "playing":
        return None
    v = s.voice
    if v is not None:
        offset = v.offset_at(t)
        if offset < v.track.duration - 1.0:
            start_voice(run, v.pos, t, offset, RESUME_FADE_S)
        elif has_room_for_next(run.state, t):
            start_voice(run, v.pos + 1, t, 0.0, RESUME_FADE_S)
    elif tail is not None:
        start_voice(run, tail.pos, t, tail.offset_at(t), RESUME_FADE_S)
        back = run.state.voice
        assert back is not None
        gone = replace(back, leaving_at=tail.leaving_at, fade_out=tail.fade_out, reason="finished")
        run.set(voice=None, leaving=(*run.state.leaving, gone))
    return None


_HANDLERS: dict[str, Handler] = {
    "extend": _extend,
    "next": _next,
    "pause": _hold,
    "resume": _resume,
    "quiet": _quiet,
    "skip": _skip,
    "level": _level,
    "ack": clinical.ack,
    "dismiss": _dismiss,
    "dose": clinical.dose,
    "ready": clinical.ready,
    "facts": clinical.facts,
    "note": _note,
    "stop": _stop,
    "track_failed": _track_failed,
    "track_finished": _track_finished,
    "rejoin": _rejoin,
}
