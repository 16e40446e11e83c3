"""The conductor: keeps the devices in step with the session state.

It applies controls and device reports to the pure session, performs the resulting events
on the devices (play, stop, chime, cue) and sets each voice's level for a moment t. It owns
no clock and no thread: the real-time engine calls it from its one device thread, and
rehearsal calls it on a simulated clock — so both run the same code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from setandsetting.backends.base import (
    SDL_CAUSE,
    BackendReport,
    ChimeBackend,
    CueBackend,
    CueError,
    MusicBackend,
)
from setandsetting.core import audio_faults, session
from setandsetting.core.audio_faults import AudioFaults
from setandsetting.core.controls import Control
from setandsetting.core.events import Event
from setandsetting.core.session import State
from setandsetting.core.timeline import Timeline

if TYPE_CHECKING:
    from setandsetting.backends.pulse import SoundServerWatch

LEVEL_EPSILON = 0.0005  # smaller level changes are not worth a device call
END_FADE_S = 3.0  # what still sounds when the session ends fades out over this long
_SOURCE = {
    "track_started": "music",
    "track_ended": "music",
    "checkin_due": "chimes",
    "checkin_escalated": "chimes",
    "vitals_alert": "chimes",
    "cue_sent": "cues",
    "quiet": "cues",
    "session_ended": "cues",
}
Pair = tuple[float, float]  # a device voice's level now, and `lead_s` ahead (MusicBackend)
LATE_END_S = 1.5  # a device "ended" this close to the planned turn is the planned turn
ADVANCE_S = 0.2  # a tick with nothing due still advances the session this often
CHIME_AHEAD_S = 1.0  # a chime device is asked to be ready this long before a chime
# Fade steps a second while a level moves (the issue asks for >= 20), on a fixed grid of
# the session clock, so the time a step takes never lowers the rate.
FADE_HZ = 25.0


@dataclass
class Devices:
    music: MusicBackend
    chimes: ChimeBackend
    cues: CueBackend | None = None
    sound_server: SoundServerWatch | None = None  # reports on its own; closed with the rest

    def close(self) -> None:
        for device in (self.sound_server, self.music, self.chimes, self.cues):
            if device is not None:
                device.close()


@dataclass
class _Fade:
    """A device voice fading out after the session has let go of it."""

    start_level: float
    t0: float


class Conductor:
    """Session state + devices. Every method takes the session time t."""

    def __init__(
        self,
        timeline: Timeline,
        devices: Devices,
        emit: Callable[[Event], None],
        slots: int = 3,
    ) -> None:
        self.timeline = timeline
        self.devices = devices
        self.emit = emit
        self.state: State | None = None
        self._slot_of: dict[int, int] = {}  # core voice id -> device voice (player)
        self._free = list(range(slots))
        self._levels: dict[int, Pair] = {}  # device voice -> last level set
        self._orphans: dict[int, _Fade] = {}  # device voices fading out after the end
        self._cc: dict[str, int] = {}  # CC ramp -> last value sent
        self._held: list[Event] | None = None  # device errors waiting for their event
        self._ready: tuple[State | None, float] = (None, 0.0)  # state, when to look again
        self._readied: set[tuple[float, str]] = set()  # (time, audience) of chimes readied
        self._due: tuple[State | None, float | None] = (None, None)  # state, its next moment
        self._now = 0.0
        self._warned_no_cues = False
        self._level_faults: set[int] = set()  # device voices whose set_level is failing
        self._ramp_faults: set[str] = set()  # CC ramps whose values are failing
        self.halted = False  # the daemon is stopping: only fades out, the session stays open
        self.faults = AudioFaults()  # outputs no sound reaches (immutable: any thread reads)

    # -------------------------------------------------------------- driving

    def start(self, t: float) -> None:
        self.state, events = session.start(self.timeline, t)
        self._perform(events, t, None)
        self.sync(t)

    def tick(self, t: float) -> None:
        """Whatever was planned up to t happens now; levels are brought up to date.

        A fade step between planned moments only sets levels: the session is advanced
        when a moment is due, and at least every ADVANCE_S (so its clock stays near)."""
        assert self.state is not None
        self._now = t
        if self.halted:
            self.sync(t)
            return
        due = self.next_moment()
        if (due is None or t < due) and 0.0 <= t - self.state.t < ADVANCE_S:
            self.sync(t)
            return
        before = self.state
        self.state, events = session.advance(before, t)
        self._perform(events, t, before)
        self.sync(t)

    def control(self, control: Control, t: float) -> list[Event]:
        assert self.state is not None
        before = self.state
        self.state, events = session.apply(before, control, t)
        self._perform(events, t, before)
        self.sync(t)
        return events

    def halt(self, t: float) -> None:
        """The daemon stops, the session does not: what sounds fades out over END_FADE_S,
        held notes are released, and nothing more happens (no moment, chime or cue), so the
        next start resumes the session where its clock will be. `ended` once silent."""
        self.halted = True
        for voice_id in list(self._slot_of):
            self._end_voice(voice_id, t, fade=True)
        self._all_notes_off(t)

    def decide(self, report: BackendReport) -> Control | None:
        """The control a music report means for the session, or None.

        An "ended" close to the planned turn is the planned turn itself (devices report the
        end a little early); one well before it means the file was shorter than its tags.
        """
        if report.source != "music" or report.kind not in ("ended", "error"):
            return None
        voice_id = next((v for v, s in self._slot_of.items() if s == report.voice), None)
        if voice_id is None:
            return None
        if report.kind == "error":
            return Control("track_failed", voice=voice_id, message=report.message)
        current = self.state.voice if self.state else None
        if current is None or current.id != voice_id:
            return None
        if self._now < session.turn_time(self.state, current) - LATE_END_S:  # type: ignore[arg-type]
            return Control("track_finished", voice=voice_id)
        return None

    def report(self, report: BackendReport, t: float) -> None:
        """A device report that is not a control: a lost or recovered device, an output that
        falls silent or sounds again, a fade done."""
        if report.source == "music" and report.kind in ("ended", "error"):
            if report.voice in self._orphans:
                self._release_orphan(report.voice)
            return
        if report.kind in ("audio_fault", "audio_restored"):
            self._audio(report, t)
        elif report.kind in ("device_lost", "device_back"):
            kind = "error" if report.kind == "device_lost" else "device_back"
            self._emit(Event(kind, t, {"source": report.source, "message": report.message}))

    def _audio(self, report: BackendReport, t: float) -> None:
        """Fold a detector's word into the faults; journal an output falling silent or
        sounding again once. A sound server or music output back leaves the chime mixer
        pointing at the old server: it is opened again (unless the mixer itself spoke)."""
        data = report.data or {}
        step = audio_faults.fault if report.kind == "audio_fault" else audio_faults.restore
        self.faults, events = step(self.faults, data["output"], data["cause"], report.message, t)
        for event in events:
            self._emit(event)
        if report.kind == "audio_restored" and data["cause"] != SDL_CAUSE:
            try:
                self.devices.chimes.reopen()
            except Exception as err:
                self._emit(Event("error", t, {"source": "chimes", "message": str(err)}))

    def sync(self, t: float) -> None:
        """Set every sounding voice to its level at t, and CC ramps to their values; ready
        the chime device for a chime within CHIME_AHEAD_S."""
        state = self.state
        if state is None:
            return
        if not self.halted:
            self._ready_chimes(state, t)
        for slot, level in self._levels_at(state, t):
            if level is None:
                self._release_orphan(slot)
            else:
                self._set_level(slot, level)
        if self.devices.cues is not None and not self.halted:
            for cue_id, payload in session.cc_values(state, t):
                value = payload["midi"]["value"]
                if self._cc.get(cue_id) != value:
                    self._cc[cue_id] = value
                    self._send_cue(payload, t, ramp=cue_id)

    def next_wake(self, t: float, until: float) -> float:
        """When a fade next sends a device something new, at the latest `until` (finite).

        Only what moves: the planned moments (`next_moment`, `chimes_ready_at`) are the
        engine's scheduler's. Fade steps lie on a FADE_HZ grid of the session clock and are
        computed here ahead of time: a loop waking at every step would send the devices
        exactly these values at exactly these steps, and nothing at the steps between
        (a device plays levels in steps of its own, `level_key`: a slow ramp crosses
        libVLC's 0.1 dB trim steps a few times a second).
        The engine sleeps through those steps instead of waking for them; each wake costs
        ~0.3 ms of CPU here."""
        state = self.state
        if state is None:
            return until
        steady = self.steady_until(t)
        if steady > t:
            # Levels that rest until the next planned moment (the state changes there)
            # rest until the scheduler wakes the engine for it.
            return until if steady == self.next_moment() else min(until, steady)
        k = math.floor(t * FADE_HZ) + 1
        while (step := k / FADE_HZ) < until:
            if self._news_at(state, step):
                return step
            k += 1
        return until

    def next_moment(self) -> float | None:
        """The session's next planned moment, computed once per state (states are
        immutable): the engine's scheduler and its fade steps both ask for it."""
        if self.halted:
            return None
        if self._due[0] is not self.state:
            self._due = (self.state, session.next_moment(self.state) if self.state else None)
        return self._due[1]

    def chimes_ready_at(self) -> float | None:
        """When the chime device is next to be readied, CHIME_AHEAD_S before a chime (or
        looked at, that long before a phase ends, whether the next one opens with a chime):
        a planned moment of its own, which the session does not know of."""
        at = self._ready[1] if self.state is not None else math.inf
        return None if math.isinf(at) else at

    def _ready_chimes(self, state: State, t: float) -> None:
        """Ask the chime device to be ready for the chimes within CHIME_AHEAD_S: looked at
        when the state changes and when the next chime (or phase end) comes within reach
        (a device keeps itself ready for longer than that, see ChimeBackend.prepare)."""
        if state is self._ready[0] and t < self._ready[1]:
            return
        reach = t + CHIME_AHEAD_S
        moments = session.chime_moments(state)
        near = {(at, a) for at, a in moments if t - session.EPS <= at <= reach}
        later = [at for at, _ in moments if at > reach]
        end = session.phase_end(state)
        if end is not None and end <= reach:  # does the next phase open with a chime?
            near |= {(end, a) for a in session.opening_chimes(state)}
        elif end is not None:
            later.append(end)
        self._ready = (state, min(later, default=math.inf) - CHIME_AHEAD_S)
        for audience in sorted({audience for _, audience in near - self._readied}):
            try:
                self.devices.chimes.prepare(audience)
            except Exception as err:  # the chime itself reports again; the session goes on
                self._emit(Event("error", t, {"source": "chimes", "message": str(err)}))
        self._readied = near  # each chime readied once, however often the state moves

    def _levels_at(self, state: State, t: float) -> list[tuple[int, Pair | None]]:
        """(device voice, its level at t and `lead_s` later) for every sounding voice;
        None: faded out. The later level comes from the session advanced to then (a duck,
        a phase's glide or a fade due meanwhile included); a voice gone by then is silent."""
        now = self._device_levels(state, t)
        lead = self.devices.music.lead_s
        if not lead:
            return [(slot, None if level is None else (level, level)) for slot, level in now]
        later = dict(self._device_levels(self._future(state, t + lead), t + lead))
        return [
            (slot, None if level is None else (level, later.get(slot) or 0.0))
            for slot, level in now
        ]

    def _future(self, state: State, t: float) -> State:
        """The session as it will stand at t, as planned now (nothing happens for real)."""
        due = self.next_moment() if state is self.state else session.next_moment(state)
        if due is None or due > t or self.halted:
            return state
        return session.advance(state, t)[0]

    def _device_levels(self, state: State, t: float) -> list[tuple[int, float | None]]:
        out: list[tuple[int, float | None]] = []
        for voice, level in session.voice_levels(state, t):
            slot = self._slot_of.get(voice.id)
            if slot is not None:
                out.append((slot, level))
        for slot, fade in self._orphans.items():
            remaining = 1.0 - (t - fade.t0) / END_FADE_S
            out.append((slot, fade.start_level * remaining if remaining > 0 else None))
        return out

    def _news_at(self, state: State, t: float) -> bool:
        """Whether sync(t) would send a device anything (the state staying as it is)."""
        if any(
            level is None or self._changes(slot, level) for slot, level in self._levels_at(state, t)
        ):
            return True
        return self.devices.cues is not None and any(
            self._cc.get(cue_id) != value for cue_id, value in session.cc_numbers(state, t)
        )

    def steady_until(self, t: float) -> float:
        """Until when no level moves: the engine's fade loop may rest until then."""
        if self._orphans or self.state is None:
            return t
        steady = session.steady_until(self.state, t)
        lead = self.devices.music.lead_s
        if lead:  # the level a lead ahead moves first
            later = t + lead
            future = self._future(self.state, later)
            steady = min(steady, session.steady_until(future, later) - lead)
        return steady

    @property
    def open(self) -> bool:
        """The session is on: started, and neither ended nor halted."""
        return self.state is not None and not self.state.ended and not self.halted

    @property
    def ended(self) -> bool:
        return bool(self.state and (self.state.ended or self.halted)) and not self._orphans

    # -------------------------------------------------------------- events -> devices

    def _perform(self, events: list[Event], t: float, before: State | None) -> None:
        """Each event's device action, each on its own: one device failing (even with a bug)
        is journaled and never keeps the next action — a track, a chime — from happening.

        Devices first, then the record: an event's journal write (an fsync, milliseconds)
        and its subscribers (the web clients) would otherwise delay every device action
        after it — a chime due with a phase change would be late by the phase change's
        write. The journal keeps the order: each event, then the errors its action raised."""
        done: list[tuple[Event, list[Event]]] = []
        for event in events:
            self._held = []
            try:
                self._act(event, t, before)
            except Exception as err:
                source = _SOURCE.get(event.type, "engine")
                self._emit(Event("error", event.t, {"source": source, "message": repr(err)}))
            done.append((event, self._held))
        self._held = None
        for event, errors in done:
            self.emit(event)
            for error in errors:
                self.emit(error)

    def _act(self, event: Event, t: float, before: State | None) -> None:
        d = event.data
        if event.type == "track_started":
            self._play(d["voice"], d["path"], d["offset"], d["end"])
        elif event.type == "track_ended":
            # A voice that faded out as planned is silent at its end; one cut short
            # (stop, the session's end) still sounds, and fades out here.
            self._end_voice(d["voice"], t, fade=_level_at_end(before, d["voice"], event.t) > 0)
        elif event.type in ("checkin_due", "checkin_escalated"):
            self._chime(d["sound"], d["level"], d["audience"], event.t)
        elif event.type == "vitals_alert":  # for the staff, never in the patient's ears
            self._chime(d["sound"], d["level"], "staff", event.t)
        elif event.type == "cue_sent":
            ramps = self.state.ramps  # type: ignore[union-attr]
            ramp = d["id"] if any(r.cue_id == d["id"] for r in ramps) else None
            self._send_cue(d["payload"], event.t, ramp=ramp)
            if ramp is not None:
                self._cc[ramp] = d["payload"]["midi"]["value"]  # sync must not repeat it
        elif event.type in ("quiet", "session_ended"):
            self._all_notes_off(event.t)

    def _emit(self, event: Event) -> None:
        if self._held is not None:  # inside _perform: after the event that caused it
            self._held.append(event)
        else:
            self.emit(event)

    def _play(self, voice_id: int, path: str, offset: float, end: float | None) -> None:
        if not self._free:
            # More voices than players: the oldest fading voice gives way.
            oldest = min(self._slot_of)
            self._release(oldest)
        slot = self._free.pop(0)
        self._slot_of[voice_id] = slot
        self._levels[slot] = (0.0, 0.0)
        self.devices.music.play(slot, Path(path), offset, end)

    def _end_voice(self, voice_id: int, t: float, fade: bool) -> None:
        """A voice the session let go of stops; if it still sounds, it fades out first."""
        slot = self._slot_of.pop(voice_id, None)
        if slot is None:
            return
        if fade and self._levels.get(slot, (0.0, 0.0))[0] > 0.0:
            self._orphans[slot] = _Fade(self._levels[slot][0], t)
            return
        self._stop(slot)

    def _release(self, voice_id: int) -> None:
        slot = self._slot_of.pop(voice_id)
        self._stop(slot)

    def _release_orphan(self, slot: int | None) -> None:
        if slot is not None and self._orphans.pop(slot, None) is not None:
            self._stop(slot)

    def _stop(self, slot: int) -> None:
        self.devices.music.stop(slot)
        self._levels.pop(slot, None)
        if slot not in self._free:
            self._free.append(slot)
            self._free.sort()

    def _changes(self, slot: int, level: Pair) -> bool:
        """Whether `level` is news to a device voice: in the device's own level steps
        where it has them, else by LEVEL_EPSILON or more (or as exact silence)."""
        last = self._levels.get(slot)
        if last is None:
            return True
        key = self.devices.music.level_key(*level)
        if key is not None:
            return key != self.devices.music.level_key(*last)
        return any(
            abs(b - a) >= LEVEL_EPSILON or (a == 0.0 and b != 0.0)
            for a, b in zip(level, last, strict=True)
        )

    def _set_level(self, slot: int, level: Pair) -> None:
        if self._changes(slot, level):
            try:
                self.devices.music.set_level(slot, *level)
            except Exception as err:  # said once, not 25 times a second
                if slot not in self._level_faults:
                    self._level_faults.add(slot)
                    self._emit(Event("error", self._now, {"source": "music", "message": repr(err)}))
                return
            self._level_faults.discard(slot)
            self._levels[slot] = level

    def _chime(self, sound: str, level: float, audience: str, t: float) -> None:
        try:
            self.devices.chimes.play(sound, level, audience)
        except Exception as err:  # a chime must never take the session down
            self._emit(Event("error", t, {"source": "chimes", "message": str(err)}))

    def _send_cue(self, payload: dict, t: float, ramp: str | None = None) -> None:
        """Send one cue; a failure is an error event. A CC ramp (`ramp`: its cue id) sends
        a value several times a second: its failures are said once, until one gets through
        (the device's loss is journaled by the backend's report as well)."""
        if self.devices.cues is None:
            if not self._warned_no_cues:
                self._warned_no_cues = True
                message = "room.yaml names no MIDI or OSC outputs; cues are not sent"
                self._emit(Event("error", t, {"source": "cues", "message": message}))
            return
        try:
            self.devices.cues.send(payload)
        except CueError as err:
            if ramp not in self._ramp_faults:
                if ramp is not None:
                    self._ramp_faults.add(ramp)
                self._emit(Event("error", t, {"source": "cues", "message": str(err)}))
            return
        if ramp is not None:
            self._ramp_faults.discard(ramp)

    def _all_notes_off(self, t: float) -> None:
        if self.devices.cues is None:
            return
        try:
            self.devices.cues.all_notes_off()
        except CueError as err:
            self._emit(Event("error", t, {"source": "cues", "message": str(err)}))


def _level_at_end(before: State | None, voice_id: int, t: float) -> float:
    """How loud a voice still was when the session let go of it (0 after a planned fade)."""
    if before is None:
        return 0.0
    voice = next((v for v in session.voices(before) if v.id == voice_id), None)
    return 0.0 if voice is None else session.voice_level(before, voice, t)
