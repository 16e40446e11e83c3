"""The clinic hub's HTTP surface: the rooms' link (ingest, what is held) and the staff's view.

The hub never connects to a room: a room comes to it with its token (`Authorization: Bearer`)
to push events and to learn how far the hub holds its sessions. PostgreSQL down is a 503
that says so: the room keeps everything in its outbox and tries again. Every failure is
{"error": "..."}; no response carries a trace.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from setandsetting.clinic.store import ClinicDown, ClinicStore, Room
from setandsetting.clinic.wire import Batch
from setandsetting.server.body_limit import BodyLimit
from setandsetting.server.headers import SecurityHeaders

log = logging.getLogger(__name__)

MAX_BATCH_BODY = 4 * 1024 * 1024  # a full batch of long events fits with room to spare


class HubError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _reply(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class HubApp(FastAPI):
    """The security headers outside everything, Starlette's own 500 included."""

    def build_middleware_stack(self) -> Any:
        return SecurityHeaders(super().build_middleware_stack())


async def _store(request: Request) -> ClinicStore:
    return request.app.state.store


Store = Annotated[ClinicStore, Depends(_store)]


def _room(request: Request) -> Room:
    """The room whose token the request carries; 401 otherwise."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HubError(401, "a room's requests carry its token: Authorization: Bearer TOKEN")
    room = request.app.state.store.room_by_token(token.strip())
    if room is None:
        raise HubError(401, "no room has this token (clinic add-room gives one)")
    return room


RoomOf = Annotated[Room, Depends(_room)]


def create_hub(store: ClinicStore) -> FastAPI:
    app = HubApp(title="setandsetting clinic hub", version="1", docs_url=None, redoc_url=None)
    app.state.store = store

    @app.exception_handler(HubError)
    async def _hub_error(_: Request, err: HubError) -> JSONResponse:
        return _reply(err.status, err.message)

    @app.exception_handler(ClinicDown)
    async def _down(_: Request, err: ClinicDown) -> JSONResponse:
        return _reply(503, str(err))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, err: StarletteHTTPException) -> JSONResponse:
        return _reply(err.status_code, str(err.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return _reply(400, f"{where}: {first.get('msg', 'invalid request')}".strip(": "))

    @app.exception_handler(Exception)
    async def _bug(_: Request, err: Exception) -> JSONResponse:
        log.error("internal error", exc_info=err)
        return _reply(500, "internal error")

    @app.get("/api/room/held")
    def held(room: RoomOf, store: Store) -> dict[str, Any]:
        """How far the hub holds each of this room's sessions: where its outbox goes on."""
        return {"room": room.name, "held": store.held(room)}

    @app.post("/api/room/events")
    def events(batch: Batch, room: RoomOf, store: Store) -> dict[str, Any]:
        """Store a batch (idempotent, in order per session); how far each is now held."""
        return {"room": room.name, "held": store.ingest(room, batch)}

    app.add_middleware(BodyLimit, limit=MAX_BATCH_BODY)
    return app
