"""The dashboards' feed: one snapshot shared while no room changed, and a room's newest
update winning however late an older one was built."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from setandsetting.clinic.feed import Feed, RoomState
from setandsetting.clinic.store import Room
from setandsetting.clinic.wire import WireSession

T0 = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
ROOM = Room(1, "Room 2", None)


def session(events: list[dict[str, Any]]) -> list[tuple[int, WireSession, list[dict]]]:
    item = WireSession(
        session="s1",
        patient="P-0042",
        profile_path="profiles/im.yaml",
        profile_name="IM",
        started_wall=T0,
        plan={"checkins": []},
        events=[],
    )
    return [(7, item, events)]


def feed() -> Feed:
    return Feed(store=None, now=lambda: T0 + timedelta(seconds=1))  # type: ignore[arg-type]


def test_the_snapshot_is_built_once_until_a_room_changes() -> None:
    hub = feed()
    hub.ingested(ROOM, session([{"type": "phase_started", "t": 0.0, "phase": "onset"}]))
    first = hub.snapshot_text()
    assert first is hub.snapshot_text()  # the same bytes for every dashboard
    assert b'"phase":"onset"' in first
    hub.ingested(ROOM, session([{"type": "phase_started", "t": 60.0, "phase": "peak"}]))
    again = hub.snapshot_text()
    assert again is not first and b'"phase":"peak"' in again


def test_an_older_view_built_late_never_replaces_a_newer_one() -> None:
    async def run() -> bytes:
        hub = feed()
        watcher = hub.subscribe()
        hub.ingested(ROOM, session([{"type": "phase_started", "t": 0.0, "phase": "onset"}]))
        newer = hub._rooms["Room 2"].copy()
        older = RoomState(newer.last_seen, newer.session, [], newer.version - 1)
        hub._send("Room 2", older)
        return hub.take(watcher)

    sent = asyncio.run(run())
    assert sent.startswith(b"event: room\ndata: ") and b'"phase":"onset"' in sent
