"""The dashboard's pages: the clinic at a glance (/) and the sign-in (/login), in the room's
night theme and page frame (its base.html, room.css, common.js and login.js, from the
room's templates and static folder), with the login routes of the room daemon itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from setandsetting.server.routes import login

HERE = Path(__file__).parent
ROOM_STATIC = HERE.parent / "server" / "static"
# The clinic's own templates first; the room's give the frame they extend (base.html).
templates = Jinja2Templates(directory=[HERE / "templates", HERE.parent / "server" / "templates"])


def register(app: FastAPI) -> None:
    html: dict[str, Any] = {"response_class": HTMLResponse, "include_in_schema": False}
    app.mount("/static/clinic", StaticFiles(directory=HERE / "static"), name="clinic-static")
    app.mount("/static", StaticFiles(directory=ROOM_STATIC), name="static")
    app.include_router(login.router)

    @app.get("/", **html)
    def dashboard(request: Request) -> Response:
        return templates.TemplateResponse(request, "dashboard.html", {"page": "dashboard"})

    @app.get("/login", **html)
    def sign_in(request: Request) -> Response:
        failed = request.query_params.get("failed") is not None
        return templates.TemplateResponse(
            request, "login.html", {"page": "login", "failed": failed}
        )
