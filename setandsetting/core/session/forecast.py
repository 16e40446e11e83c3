"""What lies ahead as things stand: the next check-in (in this phase or a later one), when
each coming phase starts and when the session ends.

Found by running the session forward without controls through the very transitions the
engine runs, so the Live page's "next" cannot disagree with what the session will do. The
music is left out of the run: no phase end or check-in depends on it, and a six-hour
session's tracks would cost the walk most of its steps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from setandsetting.core.session.moments import MomentKind, first, phase_end, upcoming
from setandsetting.core.session.state import State
from setandsetting.core.session.transitions import advance


@dataclass(frozen=True, slots=True)
class CheckinAhead:
    t: float
    kind: str
    audience: str
    phase: str
    message: str


@dataclass(frozen=True, slots=True)
class Forecast:
    next_checkin: CheckinAhead | None
    phases: tuple[tuple[str, float], ...]  # each coming phase and its start, up to an open one
    ends_at: float | None  # None: an open phase runs until the clinician moves on or stops


def forecast(state: State) -> Forecast:
    """The session's future with no control pressed, as it stands at `state`."""
    s = replace(state, voice=None, leaving=(), music="held", ducks=(), ramps=())
    nxt: CheckinAhead | None = None
    starts: list[tuple[str, float]] = []
    while not s.ended:
        if nxt is None:
            due = first([m for m in upcoming(s) if m.kind == MomentKind.CHECKIN])
            if due is not None:
                rule = s.plan.checkins[due.what]
                nxt = CheckinAhead(due.at, rule.kind, rule.audience, s.plan.id, rule.message)
        end = phase_end(s)
        if end is None:
            return Forecast(nxt, tuple(starts), None)
        s, events = advance(s, end)
        if nxt is None:  # one falling due as the next phase opens
            d = next((e for e in events if e.type == "checkin_due"), None)
            if d is not None:
                data = d.data
                nxt = CheckinAhead(
                    d.t, data["kind"], data["audience"], data["phase"], data["message"]
                )
        if not s.ended:
            starts.append((s.plan.id, s.phase_start))
    return Forecast(nxt, tuple(starts), s.t)
