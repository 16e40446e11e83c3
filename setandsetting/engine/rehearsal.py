"""Rehearsal: a whole session on a simulated clock, with recording backends.

It drives the same Conductor as the live engine, so what a rehearsal shows is what the
room would do. `speed` 0 runs instantly; N > 0 runs at N x real time with a status line.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from setandsetting.backends.recording import RecordingChimes, RecordingCues, RecordingMusic
from setandsetting.core import session
from setandsetting.core.controls import Control
from setandsetting.core.events import Event
from setandsetting.core.plan import OPEN_HORIZON_S, open_until
from setandsetting.core.status import snapshot
from setandsetting.core.timeline import Timeline
from setandsetting.engine.conductor import END_FADE_S, Conductor, Devices

STATUS_HZ = 10.0


@dataclass
class Rehearsal:
    events: list[Event] = field(default_factory=list)
    music: RecordingMusic | None = None
    chimes: RecordingChimes | None = None
    cues: RecordingCues | None = None


def rehearse(
    timeline: Timeline,
    controls: list[tuple[float, Control]] | None = None,
    *,
    speed: float = 0.0,
    open_for: float = OPEN_HORIZON_S,
    on_event: Callable[[Event], None] | None = None,
    on_status: Callable[[dict], None] | None = None,
) -> Rehearsal:
    """Run the session to its end; controls are applied at their session times. An open
    phase is stopped when `plan` stops it (`open_until`, at least `open_for` long)."""
    now = [0.0]
    result = Rehearsal()
    result.music = RecordingMusic(lambda: now[0])
    result.chimes = RecordingChimes(lambda: now[0])
    result.cues = RecordingCues(lambda: now[0])

    def emit(event: Event) -> None:
        result.events.append(event)
        if on_event is not None:
            on_event(event)

    conductor = Conductor(timeline, Devices(result.music, result.chimes, result.cues), emit)
    queue = sorted(controls or [], key=lambda c: c[0])
    wall0 = time.monotonic()

    def wait_until(t: float) -> None:
        """At speed N, let real time catch up with session time t, showing status."""
        while speed > 0:
            lag = t - (time.monotonic() - wall0) * speed
            if lag <= 0:
                return
            step = min(lag, speed / STATUS_HZ)
            time.sleep(step / speed)
            now[0] = min(t, (time.monotonic() - wall0) * speed)
            conductor.sync(now[0])
            if on_status is not None and conductor.state is not None:
                on_status(snapshot(conductor.state, now[0]))

    conductor.start(0.0)
    while conductor.state is not None and not conductor.state.ended:
        state = conductor.state
        candidates = [m for m in (session.next_moment(state),) if m is not None]
        stop_at = None if queue else open_until(state, open_for)
        if queue:
            candidates.append(queue[0][0])
        elif stop_at is not None:
            candidates.append(stop_at)
        if not candidates:
            break
        t = max(min(candidates), state.t)
        wait_until(t)
        now[0] = t
        if queue and queue[0][0] <= t:
            conductor.control(queue.pop(0)[1], t)
        elif stop_at is not None and t >= stop_at:
            conductor.control(Control("stop"), t)
        else:
            conductor.tick(t)
    if speed > 0 and conductor.state is not None:
        wait_until(conductor.state.t + END_FADE_S)
    return result
