"""Who may see the clinic dashboard: the room daemon's guard (server/security.py), with the
clinic token in place of the room token.

The token is the hub's own, created 0600 on the first `clinic serve` and printed once
(`--token-file`, default `.clinic-token`). As in the room: bound to loopback, a browser on
that machine needs no login; bound to anything else, every staff request needs it. The
rooms' paths (/api/room/…) carry a room's token and no cookie, so no browser can be
tricked into them: they pass beside the guard and are checked by the hub itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from setandsetting.server.deps import ServerSettings
from setandsetting.server.login_limit import LoginLimit
from setandsetting.server.login_sessions import LoginSessions
from setandsetting.server.security import Guard, SecurityMiddleware

ROOM_PATHS = "/api/room/"


@dataclass
class StaffAccess:
    host: str = "127.0.0.1"
    token: str | None = None
    settings: ServerSettings = field(init=False)
    guard: Guard = field(init=False)

    def __post_init__(self) -> None:
        self.settings = ServerSettings(host=self.host, token=self.token)
        logins = LoginSessions(self.settings.login_idle_s, self.settings.login_max_s)
        self.guard = Guard(self.token, logins, LoginLimit(), self.settings.open_loopback)

    def guarded(self, app: Any) -> Any:
        """`app` behind the staff guard, but for the rooms' own paths."""
        secured = SecurityMiddleware(app, self.guard)

        async def route(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"].startswith(ROOM_PATHS):
                await app(scope, receive, send)
            else:
                await secured(scope, receive, send)

        return route
