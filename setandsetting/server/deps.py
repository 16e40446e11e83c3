"""What a route takes from its request: the room folder, the runner, the settings, the guard,
the body.

create_app puts them on `app.state`; routes receive them as FastAPI dependencies (async,
so resolving them costs no trip through the thread pool), never as closures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Body, Depends, Request

from setandsetting.core.room import ServerSettings as RoomServer
from setandsetting.core.types import check_patient_id
from setandsetting.engine.runner import SessionRunner
from setandsetting.room.folder import RoomFolder
from setandsetting.server.errors import ApiError
from setandsetting.server.events import EventHub
from setandsetting.server.security import Guard, is_loopback_bind

_ROOM = RoomServer()  # room.yaml's defaults


@dataclass
class ServerSettings:
    host: str = _ROOM.host  # the bind: it decides whether loopback clients need the login
    port: int = _ROOM.port
    token: str | None = None  # the room token; None: only open-loopback clients get in
    trusted_proxies: tuple[str, ...] = ()
    login_idle_s: float = _ROOM.login_idle
    login_max_s: float = _ROOM.login_max

    @property
    def open_loopback(self) -> bool:
        """Loopback clients come in without the login: bound to loopback, no proxy named."""
        return is_loopback_bind(self.host) and not self.trusted_proxies


async def _folder(request: Request) -> RoomFolder:
    return request.app.state.folder


async def _runner(request: Request) -> SessionRunner:
    return request.app.state.runner


async def _hub(request: Request) -> EventHub:
    return request.app.state.hub


async def _settings(request: Request) -> ServerSettings:
    return request.app.state.settings


async def _guard(request: Request) -> Guard:
    return request.app.state.guard


Folder = Annotated[RoomFolder, Depends(_folder)]
Runner = Annotated[SessionRunner, Depends(_runner)]
Hub = Annotated[EventHub, Depends(_hub)]
Settings = Annotated[ServerSettings, Depends(_settings)]
Access = Annotated[Guard, Depends(_guard)]  # the logins, the login limit, the room token
JsonBody = Annotated[dict[str, Any], Body()]  # a JSON object; anything else is a 400


def checked_patient(value: str) -> str:
    """A patient ID from a request, or a 400 that says what an ID looks like."""
    try:
        return check_patient_id(value)
    except ValueError as err:
        raise ApiError(400, str(err)) from None
