"""The session state machine: (state, control, t) -> (new state, events). Pure.

The session clock is the patient's clock and never stops: controls reshape the future
(extend, move on, hold the music, quiet), never the past. Everything the engine needs at a
moment t — which track plays at which offset and level, what is due next — is derived
from the state, so the engine holds no session logic of its own and a six-hour session
runs here in milliseconds.

Music is modelled as voices: the current track, plus tracks leaving (fading out) after a
crossfade, a skip, a phase change, hold or quiet. A voice's level is a pure function of
time, so fades are computed from the clock, never by counting ticks.

One module per concern, each importing only those before it: `state` (the immutable
values), `moments` (what is planned next, and when), `levels` (how loud at t),
`transitions` (moving from moment to moment), `handlers` (what each control does),
`forecast` (what lies ahead, found by running the transitions forward).
"""

from setandsetting.core.session.forecast import CheckinAhead, Forecast, forecast, forecast_key
from setandsetting.core.session.handlers import apply
from setandsetting.core.session.levels import (
    cc_numbers,
    cc_values,
    curve_level,
    curve_time,
    duck_factor,
    master_level,
    now_playing,
    nudge_factor,
    steady_until,
    voice_level,
    voice_levels,
    voices,
)
from setandsetting.core.session.moments import (
    Moment,
    MomentKind,
    chime_moments,
    discharge_floor,
    dose_time,
    earliest_next,
    first,
    next_moment,
    pending_checkins,
    phase_end,
    turn_time,
    upcoming,
)
from setandsetting.core.session.state import (
    DUCK_ATTACK_S,
    DUCK_RELEASE_S,
    EPS,
    ERROR_FADE_S,
    ESCALATION_STEP_DB,
    HOLD_FADE_S,
    MAX_ESCALATIONS,
    MAX_NUDGE_PCT,
    NUDGE_GLIDE_S,
    PHASE_GLIDE_MIN_S,
    RESUME_FADE_S,
    CcRamp,
    Duck,
    Glide,
    MusicMode,
    Pending,
    State,
    Voice,
)
from setandsetting.core.session.transitions import advance, opening_chimes, start

__all__ = [
    "DUCK_ATTACK_S",
    "DUCK_RELEASE_S",
    "EPS",
    "ERROR_FADE_S",
    "ESCALATION_STEP_DB",
    "HOLD_FADE_S",
    "MAX_ESCALATIONS",
    "MAX_NUDGE_PCT",
    "NUDGE_GLIDE_S",
    "PHASE_GLIDE_MIN_S",
    "RESUME_FADE_S",
    "CcRamp",
    "CheckinAhead",
    "Duck",
    "Forecast",
    "Glide",
    "Moment",
    "MomentKind",
    "MusicMode",
    "Pending",
    "State",
    "Voice",
    "advance",
    "apply",
    "cc_numbers",
    "cc_values",
    "chime_moments",
    "curve_level",
    "curve_time",
    "discharge_floor",
    "dose_time",
    "duck_factor",
    "earliest_next",
    "first",
    "forecast",
    "forecast_key",
    "master_level",
    "next_moment",
    "now_playing",
    "nudge_factor",
    "opening_chimes",
    "pending_checkins",
    "phase_end",
    "start",
    "steady_until",
    "turn_time",
    "upcoming",
    "voice_level",
    "voice_levels",
    "voices",
]
