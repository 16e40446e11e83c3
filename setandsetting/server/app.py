"""The room daemon's HTTP surface, assembled: the API routers, the pages, errors, the guard.

Thin on purpose: every route (server/routes/*) calls the SessionRunner/Engine, the journal
or the room.* modules; none decides anything about a session. What routes share lives on
`app.state` and reaches them as dependencies (server/deps.py); errors.py maps each layer's
own exception types to a status, and everything else to a plain 500.
"""

from __future__ import annotations

from fastapi import FastAPI

from setandsetting.engine.runner import SessionRunner
from setandsetting.room.folder import RoomFolder
from setandsetting.server import errors, pages
from setandsetting.server.deps import ServerSettings
from setandsetting.server.events import EventHub
from setandsetting.server.routes import journal, login, playlists, session
from setandsetting.server.security import Guard, SecurityMiddleware


def create_app(folder: RoomFolder, runner: SessionRunner, settings: ServerSettings) -> FastAPI:
    # FastAPI's own /docs and /redoc load Swagger from a CDN (blank in an offline room, and
    # white): pages.py renders /docs from the same OpenAPI document, dark and local.
    app = FastAPI(
        title="setandsetting room daemon", version="1", debug=False, docs_url=None, redoc_url=None
    )
    hub = EventHub(lambda: session.status_of(runner))
    runner.subscribe(hub.publish)
    app.state.hub = hub
    app.state.runner = runner
    app.state.folder = folder
    app.state.settings = settings
    errors.install(app)
    for area in (login, session, playlists, journal):
        app.include_router(area.router)
    pages.register_pages(app, folder, runner)
    app.add_middleware(SecurityMiddleware, guard=Guard(settings.token))
    return app
