"""Fan-out of engine events to SSE clients, without ever blocking the engine.

The engine calls `EventHub.publish` on its device thread. The hub only hands the event to
each client's event loop with `call_soon_threadsafe` (one call per loop, not per client);
there it goes into each client's bounded queue. A client whose queue is full is too slow:
it is dropped (its stream ends, the browser's EventSource reconnects) — the engine never
waits for a browser.

The engine and the web side share one process (and one GIL): each event is encoded once for
all clients, and the status once per burst (at most every STATUS_FRESH_S otherwise), so a
hundred open pages cost the engine thread little.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

QUEUE_SIZE = 256  # events a client may lag behind before it is dropped
STATUS_EVERY_S = 1.0
STATUS_FRESH_S = 0.25  # one encoded status serves every client for this long
_CLOSE = object()  # ends a dropped client's stream


class Client:
    def __init__(self, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Any] = asyncio.Queue(size)
        self.dropped = False

    def offer(self, event: str) -> bool:
        """On the client's loop: queue the event, or report the client as too slow."""
        if self.dropped:  # deliveries scheduled before it was dropped
            return False
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(_CLOSE)
            return False
        return True


class EventHub:
    def __init__(self, status: Callable[[], dict[str, Any]], queue_size: int = QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._status = status
        self._clients: set[Client] = set()
        self._lock = threading.Lock()
        self._seq = 0  # events delivered so far
        self._status_text: str | None = None
        self._status_key: tuple[int, float] = (-1, 0.0)

    def status_text(self) -> str:
        """The encoded status, shared by all clients until an event or STATUS_FRESH_S."""
        now = time.monotonic()
        seq, at = self._status_key
        if self._status_text is None or seq != self._seq or now - at >= STATUS_FRESH_S:
            self._status_text = sse("status", self._status())
            self._status_key = (self._seq, now)
        return self._status_text

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    def subscribe(self) -> Client:
        """Call on the event loop that will read the client's queue."""
        client = Client(asyncio.get_running_loop(), self.queue_size)
        with self._lock:
            self._clients.add(client)
        return client

    def unsubscribe(self, client: Client) -> None:
        with self._lock:
            self._clients.discard(client)

    def publish(self, event: dict[str, Any]) -> None:
        """From any thread (the engine's): never blocks, never raises."""
        with self._lock:
            by_loop: dict[asyncio.AbstractEventLoop, list[Client]] = {}
            for client in self._clients:
                by_loop.setdefault(client.loop, []).append(client)
        for loop, clients in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop has closed
                loop.call_soon_threadsafe(self._deliver, clients, event)

    def _deliver(self, clients: list[Client], event: dict[str, Any]) -> None:
        self._seq += 1
        text = sse("session", event)
        for client in clients:
            if not client.offer(text):
                self.unsubscribe(client)


def sse(kind: str, data: Any) -> str:
    """One SSE message; JSON has no raw newlines, so one data line is enough."""
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def stream(hub: EventHub, every: float = STATUS_EVERY_S) -> AsyncIterator[str]:
    """`session` events as they come, `status` after each burst and at least every `every` s:
    the heartbeat by which the Live page knows it is live (3 s without one, it says not).

    Ends when the client is dropped; cancelled by Starlette when the client disconnects.
    """
    client = hub.subscribe()
    try:
        yield "retry: 2000\n\n" + hub.status_text()
        while True:
            try:
                item = await asyncio.wait_for(client.queue.get(), every)
            except TimeoutError:
                yield hub.status_text()
                continue
            parts = []
            while item is not _CLOSE:
                parts.append(item)
                if client.queue.empty():
                    break
                item = client.queue.get_nowait()
            if item is _CLOSE:
                if parts:
                    yield "".join(parts)
                return
            parts.append(hub.status_text())
            yield "".join(parts)
    finally:
        hub.unsubscribe(client)
