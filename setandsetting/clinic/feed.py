"""What every dashboard sees, kept in the hub's memory and pushed to each one over SSE.

The hub learns everything from the rooms' pushes, so the feed is updated where they are
stored (`ingested`, on the request's thread): the room's newest session and its events,
and when the room was last heard from. Each change is encoded once, for all dashboards; a
dashboard is woken (`call_soon_threadsafe`, once until it has sent) and sends the newest
update of each room that changed meanwhile, so a slow dashboard skips updates it would
only have overwritten, never falls behind, and never slows a room's push. Started from
PostgreSQL (`load`), so a restarted hub shows what it holds.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from setandsetting.clinic.store import ClinicStore, Room, Stored
from setandsetting.clinic.view import room_view


def encode(value: Any) -> str:
    def default(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.astimezone(UTC).isoformat(timespec="milliseconds")
        raise TypeError(f"not JSON: {v!r}")

    return json.dumps(value, ensure_ascii=False, default=default, separators=(",", ":"))


@dataclass
class RoomState:
    last_seen: datetime | None = None
    session: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)


class Feed:
    def __init__(
        self, store: ClinicStore, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.store = store
        self.now = now
        self._lock = threading.Lock()
        self._rooms: dict[str, RoomState] = {}
        self._watchers: set[Watcher] = set()
        self._latest: dict[str, str] = {}  # each room's newest update, encoded once

    def load(self) -> None:
        """Every room's newest session from the record (at start)."""
        latest = self.store.latest_sessions()
        rooms = {}
        for room in self.store.rooms():
            session = latest.get(room.name)
            events = [] if session is None else [e for _s, e in self.store.events(session["id"])]
            rooms[room.name] = RoomState(room.last_seen, session, events)
        with self._lock:
            self._rooms = rooms

    # ------------------------------------------------------------------ updates

    def seen(self, room: Room) -> None:
        """The room called: its link is up (said at once when it had been down)."""
        with self._lock:
            state = self._rooms.setdefault(room.name, RoomState())
            was_down = not self._up(state)
            state.last_seen = self.now()
            text = self._room_text(room.name, state) if was_down else None
        if text is not None:
            self._send(room.name, text)

    def ingested(self, room: Room, stored: Stored) -> None:
        """New events of the room's sessions were stored: show them."""
        if not stored:
            return
        with self._lock:
            state = self._rooms.setdefault(room.name, RoomState())
            for hub_id, item, events in stored:
                current = state.session
                if item.described and (
                    current is None
                    or (item.started_wall, hub_id) > (current["started"], current["id"])
                ):
                    state.session = {
                        "id": hub_id,
                        "session": item.session,
                        "patient": item.patient,
                        "profile": item.profile_name,
                        "started": item.started_wall,
                        "plan": item.plan,
                    }
                    state.events = []
                if state.session is not None and state.session["id"] == hub_id:
                    state.events.extend(events)
            text = self._room_text(room.name, state)
        self._send(room.name, text)

    # ------------------------------------------------------------------ views

    def _up(self, state: RoomState) -> bool:
        return room_view("", state.last_seen, None, [], self.now())["link"] == "up"

    def _view(self, name: str, state: RoomState) -> dict[str, Any]:
        return room_view(name, state.last_seen, state.session, state.events, self.now())

    def _room_text(self, name: str, state: RoomState) -> str:
        return f"event: room\ndata: {encode(self._view(name, state))}\n\n"

    def views(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._view(name, self._rooms[name]) for name in sorted(self._rooms)]

    def snapshot_text(self) -> str:
        return f"event: rooms\ndata: {encode({'now': self.now(), 'rooms': self.views()})}\n\n"

    # ------------------------------------------------------------------ clients

    def subscribe(self) -> Watcher:
        """On a dashboard stream's loop: what it is to send next."""
        watcher = Watcher(asyncio.get_running_loop())
        with self._lock:
            self._watchers.add(watcher)
        return watcher

    def unsubscribe(self, watcher: Watcher) -> None:
        with self._lock:
            self._watchers.discard(watcher)

    def take(self, watcher: Watcher) -> str:
        """The newest update of each room that changed since the watcher last took."""
        with self._lock:
            rooms, watcher.dirty, watcher.signalled = watcher.dirty, set(), False
            return "".join(self._latest[name] for name in sorted(rooms))

    def _send(self, name: str, text: str) -> None:
        """A room's new update: each watcher is woken once, however many come meanwhile
        (a dashboard only ever needs a room's newest update, so none can fall behind)."""
        with self._lock:
            self._latest[name] = text
            wake = []
            for watcher in self._watchers:
                watcher.dirty.add(name)
                if not watcher.signalled:
                    watcher.signalled = True
                    wake.append(watcher)
        for watcher in wake:
            watcher.loop.call_soon_threadsafe(watcher.ready.set)


class Watcher:
    """One dashboard stream: its loop, the rooms changed since it last sent, its wake-up."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.ready = asyncio.Event()
        self.dirty: set[str] = set()
        self.signalled = False
