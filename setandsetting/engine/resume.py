"""Rebuilding a session from its journal, for resume after a crash.

The journal holds every control as a `control` event with its session time. The session
is deterministic, so starting it again and applying the same controls at the same times
gives the very state the dead process had; advancing it to now gives what the session
clock says has happened since. Events already journaled are recognised and not written
again, so nothing fires twice.
"""

from __future__ import annotations

from collections import Counter
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
        bool(event.get("absolute")),
        event.get("voice"),
        event.get("message"),
    )


def control_fields(control: Control) -> dict[str, Any]:
    """A control as the fields of a journal `control` event."""
    fields: dict[str, Any] = {"action": control.action}
    if control.value is not None:
        fields["value"] = control.value
    if control.absolute:
        fields["absolute"] = True
    if control.voice is not None:
        fields["voice"] = control.voice
    if control.message:
        fields["message"] = control.message
    return fields


def _key(event: dict[str, Any] | Event) -> tuple[Any, ...]:
    if isinstance(event, Event):
        kind, t, d = event.type, event.t, event.data
    else:
        kind, t, d = event["type"], event["t"], event
    ident = d.get("id") or d.get("phase") or d.get("voice") or d.get("reason")
    return (kind, round(float(t), 3), ident)


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
    """The produced events the journal does not already hold (matched by type, time, id)."""
    have = Counter(_key(e) for e in journaled)
    out = []
    for event in produced:
        key = _key(event)
        if have[key] > 0:
            have[key] -= 1
        else:
            out.append(event)
    return out
