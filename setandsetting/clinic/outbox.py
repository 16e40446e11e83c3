"""The room's outbox: what its journal holds that the hub has not confirmed.

Nothing is copied into an outbox table: the journal is append-only and numbers each
session's events (seq), so what waits is exactly each session's events after the seq the
hub last confirmed. The outbox only remembers those confirmations, and forgets them when
the link breaks — the hub's answer to `held` says where to go on, so a room killed
mid-push, or a hub restored from an older backup, resumes from the hub's own record.
The oldest session goes first, and each session's events in order.
"""

from __future__ import annotations

from typing import Any

from setandsetting.clinic.wire import MAX_EVENTS, MAX_SESSIONS, wire_session
from setandsetting.journal.store import Journal

_LAST_SEQS = (
    "SELECT s.id, (SELECT coalesce(max(e.seq), 0) FROM events e WHERE e.session_id = s.id) "
    "FROM sessions s ORDER BY s.started_wall, s.id"
)


class Outbox:
    def __init__(self, journal: Journal, max_events: int = MAX_EVENTS) -> None:
        self.journal = journal
        self.max_events = max_events
        self.held: dict[str, int] = {}  # what the hub confirmed, per session
        self.known = False  # False: ask the hub (`reset`) before sending

    def reset(self, held: dict[str, int]) -> None:
        """The hub's whole record of this room, as it says now."""
        self.held, self.known = dict(held), True

    def confirm(self, held: dict[str, int]) -> None:
        """The hub's answer to a batch: how far it holds these sessions."""
        self.held.update(held)

    def forget(self) -> None:
        """The link broke: ask the hub again before sending (it may have lost, or gained,
        what it confirmed); until then the old answer counts what waits."""
        self.known = False

    def waiting(self) -> dict[str, tuple[int, int]]:
        """Sessions with events the hub lacks: session -> (held, last seq)."""
        held = self.held
        out = {}
        for session_id, last in self.journal.query(_LAST_SEQS):
            if last > held.get(session_id, 0):
                out[session_id] = (held.get(session_id, 0), int(last))
        return out

    def pending(self) -> int:
        """How many events the hub lacks (as far as the outbox knows)."""
        return sum(last - held for held, last in self.waiting().values())

    def next_batch(self) -> dict[str, Any] | None:
        """The next request body: the oldest waiting events, at most max_events; None
        when the hub holds everything the outbox knows of."""
        room_left, sessions = self.max_events, []
        for session_id, (held, _last) in self.waiting().items():
            if room_left <= 0 or len(sessions) >= MAX_SESSIONS:
                break
            events = self.journal.events_after(session_id, held, room_left)
            summary = self.journal.session(session_id) if held == 0 else None
            sessions.append(wire_session(session_id, summary, events))
            room_left -= len(events)
        return {"sessions": sessions} if sessions else None
