"""Fan-out of engine events to SSE clients, without ever blocking the engine.

The engine calls `EventHub.publish` on its device thread. The hub only hands the event to
each client's event loop with `call_soon_threadsafe` (one call per loop, not per client);
there it goes into each client's bounded queue. A client whose queue is full is too slow:
it is dropped (its stream ends, the browser's EventSource reconnects) — the engine never
waits for a browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

QUEUE_SIZE = 256  # events a client may lag behind before it is dropped
STATUS_EVERY_S = 1.0
_CLOSE = object()  # ends a dropped client's stream


class Client:
    def __init__(self, loop: asyncio.AbstractEventLoop, size: int) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Any] = asyncio.Queue(size)
        self.dropped = False

    def offer(self, event: dict[str, Any]) -> bool:
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
    def __init__(self, queue_size: int = QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._clients: set[Client] = set()
        self._lock = threading.Lock()

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
        for client in clients:
            if not client.offer(event):
                self.unsubscribe(client)


def sse(kind: str, data: Any) -> str:
    """One SSE message; JSON has no raw newlines, so one data line is enough."""
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def stream(
    hub: EventHub, status: Callable[[], dict[str, Any]], every: float = STATUS_EVERY_S
) -> AsyncIterator[str]:
    """`session` events as they come, `status` after each and at least every `every` s.

    Ends when the client is dropped; cancelled by Starlette when the client disconnects.
    """
    client = hub.subscribe()
    try:
        yield "retry: 2000\n\n" + sse("status", status())
        while True:
            try:
                event = await asyncio.wait_for(client.queue.get(), every)
            except TimeoutError:
                yield sse("status", status())
                continue
            if event is _CLOSE:
                return
            yield sse("session", event)
            if client.queue.empty():  # a burst of events: one status after it
                yield sse("status", status())
    finally:
        hub.unsubscribe(client)
