"""Request bodies are small (a control, a playlist edit): over MAX_BODY is a 413, unread.

A Content-Length above the limit is refused before a byte of the body is read; a body
without one (chunked) is counted as it arrives and refused as soon as it passes the limit.
What fits is handed on to the app as it came, so the app sees an ordinary request.
"""

from __future__ import annotations

import json
from typing import Any

MAX_BODY = 64 * 1024
TOO_LARGE = f"the request body is larger than {MAX_BODY // 1024} KB"

Scope = dict[str, Any]


class BodyLimit:
    """A pure ASGI middleware (the SSE stream passes through untouched)."""

    def __init__(self, app: Any, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lengths = [v for k, v in scope["headers"] if k.lower() == b"content-length"]
        if lengths:
            if len(set(lengths)) > 1 or not lengths[0].strip().isdigit():
                await _reply(send, 400, "the Content-Length header is not one number")
                return
            if int(lengths[0]) > self.limit:
                await _reply(send, 413, TOO_LARGE)
                return
        messages: list[dict[str, Any]] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break  # the client went away; the app will see that too
            size += len(message.get("body", b""))
            if size > self.limit:
                await _reply(send, 413, TOO_LARGE)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> dict[str, Any]:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _reply(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
