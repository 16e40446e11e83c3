"""Rebuilding a session from its journal, for resume after a crash.

The journal holds every control as a `control` event with its session time. The session
is deterministic, so starting it again and applying the same controls at the same times
gives the very state the dead process had; advancing it to now gives what the session
clock says has happened since. Events already journaled are recognised and not written
again, so nothing fires twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from setandsetting.core import session
from setandsetting.core.controls import Control
from setandsetting.core.events import Event
from setandsetting.core.session import State
from setandsetting.core.timeline import Timeline


def control_from_event(event: dict[str, Any]) -> Control:
    """The inverse of the journal's `control` event."""
    return Control(
        event["action"],
        event.get("value"),
        absolute=bool(event.get("absolute")),
        unit="dB" if event.get("unit") == "dB" else "%",
        voice=event.get("voice"),
        message=event.get("message"),
        data=event.get("data"),
    )


def control_fields(control: Control) -> dict[str, Any]:
    """A control as the fields of a journal `control` event."""
    fields: dict[str, Any] = {"action": control.action}
    if control.value is not None:
        fields["value"] = control.value
    if control.absolute:
        fields["absolute"] = True
    if control.unit != "%":
        fields["unit"] = control.unit
    if control.voice is not None:
        fields["voice"] = control.voice
    if control.message:
        fields["message"] = control.message
    if control.data is not None:
        fields["data"] = control.data
    return fields


# What tells two events of one type apart, besides their time (tests read the journal by it).
IDENTITY = ("id", "phase", "voice", "path", "reason", "count", "action", "output")
# Controls are journaled at millisecond precision, so replayed times may differ from the
# dead process's by that rounding (and whatever it carried into later moments).
SAME_T_S = 0.002


def _identity(event: dict[str, Any] | Event) -> tuple[Any, ...]:
    if isinstance(event, Event):
        kind, d = event.type, event.data
    else:
        kind, d = event["type"], event
    return (kind, *(d.get(k) for k in IDENTITY))


def replay(
    timeline: Timeline, journaled: list[dict[str, Any]], now: float
) -> tuple[State, list[Event]]:
    """The state at `now`, and the events since the crash that the journal does not hold."""
    started = next(e for e in journaled if e["type"] == "session_started")
    state, produced = session.start(timeline, float(started["t"]))
    for event in journaled:
        if event["type"] == "control":
            state, more = session.apply(state, control_from_event(event), float(event["t"]))
            produced += more
    state, more = session.advance(state, max(now, state.t))
    produced += more
    return state, unseen(produced, journaled)


def unseen(produced: Iterable[Event], journaled: list[dict[str, Any]]) -> list[Event]:
    """The produced events the journal does not already hold.

    An event is held when the journal has one of the same type and identity (id, phase,
    voice, path, ...) within SAME_T_S of its time; each journaled event matches once.
    """
    have: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for event in journaled:
        have[_identity(event)].append(float(event["t"]))
    out = []
    for event in produced:
        times = have[_identity(event)]
        match = next((i for i, t in enumerate(times) if abs(t - event.t) <= SAME_T_S), None)
        if match is None:
            out.append(event)
        else:
            del times[match]
    return out
