"""The clinic hub's HTTP surface: the rooms' link (ingest, what is held, commands) and the
staff's dashboard.

The hub never connects to a room: a room comes to it with its token (`Authorization: Bearer`)
to push events, to learn how far the hub holds its sessions, and to fetch what the
dashboard asked of it (an ack), which the room's engine decides and journals — the
dashboard shows it only when the room's push brings the journaled event back. PostgreSQL
down is a 503 that says so: the room keeps everything in its outbox and tries again.

The staff's side (/, /api/rooms, /api/stream, /api/rooms/NAME/ack) is guarded as the room
daemon is (server/security.py): the clinic token, a login cookie (HttpOnly, SameSite=Strict),
CSRF on every change, loopback trusted only on a loopback bind. The rooms' /api/room/ paths
carry their own token and no cookie, so they pass beside that guard. Every failure is
{"error": "..."}; no response carries a trace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from setandsetting.clinic import pages
from setandsetting.clinic.feed import Feed
from setandsetting.clinic.patients import check_files
from setandsetting.clinic.staff import StaffAccess
from setandsetting.clinic.store import (
    ClinicDown,
    ClinicStore,
    Room,
    StaleEdit,
    Stored,
    UnknownRoom,
)
from setandsetting.clinic.wire import Batch, ack_readings
from setandsetting.core.types import check_patient_id
from setandsetting.core.vitals import GRAMMAR
from setandsetting.server.body_limit import BodyLimit
from setandsetting.server.headers import SecurityHeaders

log = logging.getLogger(__name__)

MAX_BATCH_BODY = 4 * 1024 * 1024  # a full batch of long events fits with room to spare
SNAPSHOT_S = 2.0
JsonBody = Annotated[dict[str, Any], Body()]


class HubError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _reply(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class HubApp(FastAPI):
    """The security headers outside everything, Starlette's own 500 included; the staff's
    guard around all but the rooms' own paths."""

    def build_middleware_stack(self) -> Any:
        inner = super().build_middleware_stack()
        return SecurityHeaders(self.state.staff.guarded(inner))


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


def create_hub(store: ClinicStore, staff: StaffAccess | None = None) -> FastAPI:
    """The hub's app; `staff` says who may see the dashboard (default: loopback only)."""
    staff = staff or StaffAccess()
    app = HubApp(title="setandsetting clinic hub", version="1", docs_url=None, redoc_url=None)
    app.state.staff = staff
    app.state.settings = staff.settings  # what the room's login routes read
    app.state.guard = staff.guard
    app.state.store = store
    feed = Feed(store)
    feed.load()
    app.state.feed = feed

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
        feed.seen(room)
        return {"room": room.name, "held": store.held(room)}

    @app.post("/api/room/events")
    def events(batch: Batch, room: RoomOf, store: Store) -> dict[str, Any]:
        """Store a batch (idempotent, in order per session); how far each is now held."""
        stored: Stored = []
        held = store.ingest(room, batch, stored)
        feed.seen(room)
        feed.ingested(room, stored)
        return {"room": room.name, "held": held}

    @app.get("/api/room/commands")
    def commands(room: RoomOf, store: Store) -> dict[str, Any]:
        """What the dashboard asked of this room, oldest first (also the room's keep-alive)."""
        feed.seen(room)
        return {"room": room.name, "commands": store.pending_commands(room)}

    @app.post("/api/room/commands/{command_id}")
    def command_done(command_id: int, body: JsonBody, room: RoomOf, store: Store) -> dict:
        outcome = body.get("outcome")
        if not isinstance(outcome, str) or not outcome:
            raise HubError(400, "outcome: say what became of the command")
        if not store.command_done(room, command_id, outcome):
            raise HubError(404, f"no command {command_id} waits for {room.name}")
        return {"ok": True}

    @app.get("/api/room/patients/{patient}")
    def room_patient(patient: str, room: RoomOf, store: Store) -> dict[str, Any]:
        return _patient(store, patient)

    @app.put("/api/room/patients/{patient}")
    def room_save_patient(patient: str, body: JsonBody, room: RoomOf, store: Store) -> dict:
        return _save_patient(store, patient, body, room.name)

    # ------------------------------------------------------------------ the staff

    @app.get("/api/patients/{patient}")
    def staff_patient(patient: str, store: Store) -> dict[str, Any]:
        return _patient(store, patient)

    @app.put("/api/patients/{patient}")
    def staff_save_patient(patient: str, body: JsonBody, store: Store) -> dict[str, Any]:
        return _save_patient(store, patient, body, "the clinic dashboard")

    @app.get("/api/rooms")
    def rooms() -> dict[str, Any]:
        return {"now": feed.now(), "rooms": feed.views()}

    @app.post("/api/rooms/{name}/ack", status_code=202)
    def ack(name: str, body: JsonBody, store: Store) -> dict[str, Any]:
        """Ask a room to acknowledge a check-in; the room's engine decides and journals."""
        checkin, session = body.get("checkin"), body.get("session")
        if not isinstance(checkin, str) or not checkin or len(checkin) > 200:
            raise HubError(400, "checkin: the id of the check-in to acknowledge")
        if not isinstance(session, str) or not session:
            raise HubError(400, "session: the room's session the check-in belongs to")
        readings = body.get("readings") or ""
        if not isinstance(readings, str) or len(readings) > 2000:
            raise HubError(400, f"readings: words as staff write them ({GRAMMAR})")
        try:
            readings = ack_readings(readings)
        except ValueError as err:
            raise HubError(400, f"readings: {err}") from None
        try:
            command = store.queue_command(
                name, session, "ack", {"checkin": checkin, "readings": readings}
            )
        except UnknownRoom as err:
            raise HubError(404, str(err)) from None
        return {"queued": command}

    @app.get("/api/stream")
    async def stream() -> StreamingResponse:
        return StreamingResponse(
            _stream(feed), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    pages.register(app)
    app.add_middleware(BodyLimit, limit=MAX_BATCH_BODY)
    return app


def _checked_patient(patient: str) -> str:
    try:
        return check_patient_id(patient)
    except ValueError as err:
        raise HubError(400, str(err)) from None


def _patient(store: ClinicStore, patient: str) -> dict[str, Any]:
    held = store.patient_folder(_checked_patient(patient))
    if held is None:
        raise HubError(404, f"the hub holds no folder for {patient}")
    return held


def _save_patient(store: ClinicStore, patient: str, body: dict[str, Any], by: str) -> dict:
    """An edit of a patient's folder, made on `base_version`; a stale one is a 409."""
    patient = _checked_patient(patient)
    base = body.get("base_version")
    if isinstance(base, bool) or not isinstance(base, int) or base < 0:
        raise HubError(400, "base_version: the version this edit was made on (0: the first)")
    try:
        files = check_files(body.get("files"))
        version = store.save_patient_folder(patient, base, files, by)
    except ValueError as err:
        raise HubError(400, str(err)) from None
    except StaleEdit as err:
        raise HubError(409, str(err)) from None
    return {"patient": patient, "version": version}


async def _stream(feed: Feed) -> AsyncIterator[bytes]:
    """The whole clinic first, then each room as it changes; the whole again every
    SNAPSHOT_S (link states age; and it keeps proxies from closing an idle stream)."""
    watcher = feed.subscribe()
    try:
        yield feed.snapshot_text()
        while True:
            try:
                await asyncio.wait_for(watcher.ready.wait(), SNAPSHOT_S)
            except TimeoutError:
                yield feed.snapshot_text()
                continue
            watcher.ready.clear()
            text = feed.take(watcher)
            if text:
                yield text
    finally:
        feed.unsubscribe(watcher)
