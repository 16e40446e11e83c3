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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from setandsetting.clinic.store import ClinicStore, Room, Stored
from setandsetting.clinic.view import room_view

SNAPSHOT_REUSE_S = 0.5  # the link states and clocks in a snapshot age no more than this


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
    version: int = 0  # bumped on each change, so a late-built older view never wins

    def copy(self) -> RoomState:
        """What a view is built from, taken under the lock and built outside it."""
        return RoomState(self.last_seen, self.session, list(self.events), self.version)


class Feed:
    def __init__(
        self, store: ClinicStore, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.store = store
        self.now = now
        self._lock = threading.Lock()
        self._rooms: dict[str, RoomState] = {}
        self._watchers: set[Watcher] = set()
        self._latest: dict[str, bytes] = {}  # each room's newest update, encoded once
        self._sent: dict[str, int] = {}  # each room's version in _latest
        self._generation = 0  # how many room updates so far: a snapshot is of one of them
        self._snapshot: tuple[int, float, bytes] | None = None

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
            state.version += 1
            taken = state.copy() if was_down else None
        if taken is not None:
            self._send(room.name, taken)

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
            state.version += 1
            taken = state.copy()
        self._send(room.name, taken)

    # ------------------------------------------------------------------ views

    def _up(self, state: RoomState) -> bool:
        return room_view("", state.last_seen, None, [], self.now())["link"] == "up"

    def _view(self, name: str, state: RoomState) -> dict[str, Any]:
        return room_view(name, state.last_seen, state.session, state.events, self.now())

    def _room_text(self, name: str, state: RoomState) -> str:
        return f"event: room\ndata: {encode(self._view(name, state))}\n\n"

    def views(self) -> list[dict[str, Any]]:
        with self._lock:
            taken = [(name, self._rooms[name].copy()) for name in sorted(self._rooms)]
        return [self._view(name, state) for name, state in taken]

    def snapshot_text(self) -> bytes:
        """The whole clinic, encoded once for every dashboard that asks within SNAPSHOT_REUSE_S
        while no room changed: fifty dashboards on one timer would otherwise each build every
        room's view on the hub's one loop, and the rooms' updates would wait behind them."""
        with self._lock:
            cached = self._snapshot
            fresh = cached and time.monotonic() - cached[1] < SNAPSHOT_REUSE_S
            if cached and fresh and cached[0] == self._generation:
                return cached[2]
            generation = self._generation
        views = {"now": self.now(), "rooms": self.views()}
        text = f"event: rooms\ndata: {encode(views)}\n\n".encode()
        with self._lock:
            self._snapshot = (generation, time.monotonic(), text)
        return text

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

    def take(self, watcher: Watcher) -> bytes:
        """The newest update of each room that changed since the watcher last took (the
        bytes shared by every dashboard, encoded once)."""
        with self._lock:
            rooms, watcher.dirty, watcher.signalled = watcher.dirty, set(), False
            return b"".join(self._latest[name] for name in sorted(rooms))

    def _send(self, name: str, state: RoomState) -> None:
        """A room's new update: each watcher is woken once, however many come meanwhile
        (a dashboard only ever needs a room's newest update, so none can fall behind). The
        view is built and encoded outside the lock, which the loop's dashboards also take."""
        data = self._room_text(name, state).encode()
        with self._lock:
            if state.version <= self._sent.get(name, -1):
                return  # a newer update of this room was sent meanwhile
            self._sent[name] = state.version
            self._latest[name] = data
            self._generation += 1
            wake = []
            for watcher in self._watchers:
                watcher.dirty.add(name)
                if not watcher.signalled:
                    watcher.signalled = True
                    wake.append(watcher)
        loops: dict[asyncio.AbstractEventLoop, list[Watcher]] = {}
        for watcher in wake:
            loops.setdefault(watcher.loop, []).append(watcher)
        for loop, watchers in loops.items():  # one wake-up of the loop for all its streams
            loop.call_soon_threadsafe(_wake, watchers)


def _wake(watchers: list[Watcher]) -> None:
    for watcher in watchers:
        watcher.ready.set()


class Watcher:
    """One dashboard stream: its loop, the rooms changed since it last sent, its wake-up."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.ready = asyncio.Event()
        self.dirty: set[str] = set()
        self.signalled = False
