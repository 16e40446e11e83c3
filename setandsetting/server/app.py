"""The room daemon's HTTP surface, assembled: the API routers, the pages, errors, the guard.

Thin on purpose: every route (server/routes/*) calls the SessionRunner/Engine, the journal
or the room.* modules; none decides anything about a session. What routes share lives on
`app.state` and reaches them as dependencies (server/deps.py); errors.py maps each layer's
own exception types to a status, and everything else to a plain 500. Around them: the
guard (security.py), the body limit (body_limit.py) and, outermost, the headers (headers.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from setandsetting.engine.runner import SessionRunner
from setandsetting.room.folder import RoomFolder
from setandsetting.server import errors, pages
from setandsetting.server.body_limit import BodyLimit
from setandsetting.server.deps import ServerSettings
from setandsetting.server.events import EventHub
from setandsetting.server.headers import SecurityHeaders
from setandsetting.server.login_limit import LoginLimit
from setandsetting.server.login_sessions import LoginSessions, boot_clock
from setandsetting.server.routes import journal, login, playlists, session
from setandsetting.server.security import Guard, SecurityMiddleware


class RoomApp(FastAPI):
    """FastAPI with the security headers outside everything, Starlette's 500 handler included
    (middleware added the usual way sits inside it, and never sees the 500 it sends)."""

    def build_middleware_stack(self) -> Any:
        return SecurityHeaders(super().build_middleware_stack())


def create_app(
    folder: RoomFolder,
    runner: SessionRunner,
    settings: ServerSettings,
    clock: Callable[[], float] = boot_clock,
) -> FastAPI:
    """The app; `clock` times logins and login attempts (tests step it)."""
    # FastAPI's own /docs and /redoc load Swagger from a CDN (blank in an offline room, and
    # white): pages.py renders /docs from the same OpenAPI document, dark and local, and
    # serves /openapi.json itself (JSON, or a dark viewer to a browser).
    app = RoomApp(
        title="setandsetting room daemon",
        version="1",
        debug=False,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    hub = EventHub(lambda: session.status_of(runner))
    runner.subscribe(hub.publish)
    app.state.hub = hub
    app.state.runner = runner
    app.state.folder = folder
    app.state.settings = settings
    logins = LoginSessions(settings.login_idle_s, settings.login_max_s, clock)
    guard = Guard(settings.token, logins, LoginLimit(clock=clock), settings.open_loopback)
    app.state.guard = guard
    errors.install(app)
    for area in (login, session, playlists, journal):
        app.include_router(area.router)
    pages.register_pages(app, folder, runner)
    app.add_middleware(BodyLimit)  # inside the guard: a stranger's body is never read
    app.add_middleware(SecurityMiddleware, guard=guard)
    return app
