"""Server-Sent Events on a real uvicorn: session events and status reach a client; a slow
client is dropped instead of holding up the engine; a closed client is forgotten."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx2

from setandsetting.server.events import EventHub
from tests.support.daemon import daemon, served

CSRF = {"X-CSRF-Token": "c", "Cookie": "sas_csrf=c"}


def _messages(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    kind = None
    for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield kind or "message", json.loads(line.removeprefix("data: "))


def test_a_client_receives_session_events_and_status(tmp_path: Path) -> None:
    with (
        daemon(tmp_path) as d,
        served(d.app) as url,
        httpx2.Client(base_url=url, timeout=10) as http,
    ):
        with http.stream("GET", "/api/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            messages = _messages(stream.iter_lines())
            assert next(messages) == ("status", {"running": False})
            r = http.post(
                "/api/session", json={"patient": "P-0042", "profile": "short"}, headers=CSRF
            )
            assert r.status_code == 201
            http.post("/api/control", json={"action": "note", "value": "hello"}, headers=CSRF)
            seen: list[tuple[str, Any]] = []
            deadline = time.monotonic() + 5
            for kind, data in messages:
                seen.append((kind, data))
                if (kind == "session" and data["type"] == "note") or time.monotonic() > deadline:
                    break
            types = [data["type"] for kind, data in seen if kind == "session"]
            assert types[:2] == ["session_started", "phase_started"]
            assert types[-2:] == ["control", "note"] and seen[-1][1]["text"] == "hello"
            statuses = [data for kind, data in seen if kind == "status"]
            assert statuses and statuses[-1]["running"] is True
            assert statuses[-1]["session_id"] == d.runner.session_id
            # and a status at least once a second, happening or not: the page's heartbeat,
            # in the daemon's clock (`wall`, the clock of the page's `pressed_at`)
            beats: list[float] = []
            while len(beats) < 3:
                kind, data = next(messages)
                if kind == "status":
                    beats.append(time.monotonic())
                    assert data["phase"] == "settle"
                    assert datetime.fromisoformat(data["wall"]).tzinfo is not None
            assert max(b - a for a, b in itertools.pairwise(beats)) < 1.3
        hub: EventHub = d.app.state.hub
        deadline = time.monotonic() + 5
        while hub.clients and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hub.clients == 0  # the disconnect was noticed and the client forgotten


def test_a_slow_client_is_dropped_and_the_publisher_never_waits() -> None:
    hub = EventHub(lambda: {}, queue_size=3)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    clients: list[Any] = []

    async def subscribe() -> None:
        clients.append(hub.subscribe())
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(subscribe(), loop).result(5)
        ready.wait(5)
        started = time.perf_counter()
        for i in range(50):  # nobody reads: the queue fills after 3
            hub.publish({"type": "note", "t": float(i)})  # encoded once, queued as text
        publish_s = time.perf_counter() - started
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), loop).result(5)
        client = clients[0]
        assert client.dropped is True
        assert hub.clients == 0
        assert client.queue.qsize() == 1  # only the end-of-stream marker is left
        assert publish_s < 0.05
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_publishing_to_a_closed_loop_is_harmless() -> None:
    hub = EventHub(lambda: {})
    loop = asyncio.new_event_loop()
    loop.run_until_complete(_subscribe(hub))
    loop.close()
    hub.publish({"type": "note", "t": 0.0})  # must not raise
    assert hub.clients == 1


async def _subscribe(hub: EventHub) -> None:
    hub.subscribe()
