"""The session's state: immutable values, replaced (never changed) as the session moves.

A voice, a duck, a glide or a CC ramp records when it began and how it goes on, so what it
sounds like at any t is computed from the clock, never by counting ticks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from setandsetting.core.curves import ramp
from setandsetting.core.events import TrackEndReason
from setandsetting.core.timeline import CheckinPlan, CuePlan, PhasePlan, PlannedTrack, Timeline

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
    reason: TrackEndReason | None = None  # why it is leaving, once it is

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
class Recheck:
    """A follow-up reading an alert asked for, falling due at `due_t`."""

    id: str
    due_t: float
    measures: tuple[str, ...]
    why: str


@dataclass(frozen=True, slots=True)
class Clinical:
    """The clinical record's part of the state: what controls and moments depend on.

    The readings themselves are only journaled; the session needs to know when the first
    dose was given (pre-dose alerts, the dose clock), whether the patient was judged ready
    to leave, and which rechecks are still to come. Rechecks are anchored to the reading
    that raised them, so they outlive a phase change, as the drug's clock does."""

    first_dose_t: float | None = None
    doses: int = 0
    ready_t: float | None = None
    facts: bool = False
    rechecks: tuple[Recheck, ...] = ()
    rechecks_made: int = 0
    alerts: tuple[tuple[float, str, str], ...] = ()  # (t, what, message), for the screens
    intention: str = ""


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
    # Where each slot's order stands when a phase of it ends (slot, position, offset into
    # that track): a later phase that continues the slot goes on from there.
    slot_marks: tuple[tuple[str, int, float], ...] = ()
    nudge_pct: float = 0.0
    nudge_glide: Glide = Glide(1.0, 0.0, 0.0)
    master_glide: Glide | None = None
    ducks: tuple[Duck, ...] = ()
    checkin_next: tuple[int, ...] = ()
    pending: tuple[Pending, ...] = ()
    cues_done: frozenset[str] = frozenset()
    ramps: tuple[CcRamp, ...] = ()
    failures_in_row: int = 0  # tracks that failed one after another (stop after a round)
    clinical: Clinical = Clinical()
    ended: str | None = None

    @property
    def plan(self) -> PhasePlan:
        return self.timeline.phases[self.phase]

    @property
    def phase_start(self) -> float:
        return self.phase_starts[self.phase]

    def slot_mark(self, slot: str) -> tuple[int, float]:
        """Where the slot's order stands: (position, offset), (0, 0.0) if never played."""
        return next(((p, o) for s, p, o in self.slot_marks if s == slot), (0, 0.0))

    @property
    def carries_on(self) -> bool:
        """The next phase carries on with this phase's slot, the track playing through."""
        index = self.phase + 1
        phases = self.timeline.phases
        return index < len(phases) and phases[index].continues == self.phase
