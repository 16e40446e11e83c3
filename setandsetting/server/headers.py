"""Headers every response carries — pages, JSON, errors, refusals — so no other site can
frame the room's pages (a click in an invisible frame once changed the level) and no
script runs but the room's own files.

The pages keep all script and style in /static (no inline code, no style attributes), so
the policy needs no 'unsafe-inline'. This middleware wraps the whole app, outside even
Starlette's error handler, so a 500 carries the headers too.
"""

from __future__ import annotations

from typing import Any

CSP = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
_NAMES = frozenset(name for name, _ in HEADERS)


class SecurityHeaders:
    """A pure ASGI middleware: sets HEADERS on every HTTP response, replacing any the app set."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _NAMES]
                message = {**message, "headers": [*kept, *HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
