"""The web UI's pages: server-rendered shells; the live state and edits go through /api.

The pages hold no logic of their own. Start, Live and Playlists are filled in by a little
plain JavaScript from the JSON API (static/*.js); Review is rendered here straight from the
journal with the same review tables and SVG timeline as the HTML export. The security
middleware (security.py) sets the `sas_csrf` cookie the scripts echo in X-CSRF-Token.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from setandsetting.core.controls import LEVEL_STEP_DB
from setandsetting.core.types import check_patient_id
from setandsetting.engine.runner import SessionRunner
from setandsetting.journal.chart import chart_svg
from setandsetting.journal.review import (
    SessionReview,
    build_review,
    review_header,
    review_tables,
    wall_text,
)
from setandsetting.journal.store import JournalError, UnknownSession
from setandsetting.journal.vitals_chart import vitals_svg
from setandsetting.room.folder import RoomFolder

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")


def _page(
    request: Request, template: str, page: str, title: str, status: int = 200, **context: Any
) -> Response:
    """Render a page; never cached, so Back never shows a stale session."""
    response = TEMPLATES.TemplateResponse(
        request, template, {"page": page, "page_title": title, **context}, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _not_found(request: Request, page: str, message: str) -> Response:
    return _page(request, "message.html", page, "Not found", status=404, message=message)


def wants_page(request: Request) -> bool:
    """A browser navigating here (it asks for HTML, not JSON), not a script or the CLI."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "application/json" not in accept


def error_page(request: Request, status: int, message: str) -> Response:
    """An error as a page in the night theme, with its status."""
    title = {404: "Not found", 500: "Something went wrong"}.get(status, f"Error {status}")
    return _page(request, "message.html", "error", title, status=status, message=message)


def _session_rows(runner: SessionRunner) -> list[dict[str, str]]:
    return [
        {
            "id": s.id,
            "started": wall_text(s.started_wall),
            "started_iso": _iso(s.started_wall),
            "patient": s.patient,
            "profile": s.profile_name,
            "ended": s.end_reason or ("running" if s.id == runner.session_id else "-"),
        }
        for s in runner.journal.sessions()
    ]


def _iso(when: datetime) -> str:
    """UTC ISO 8601 with its offset: what a page's <time datetime> carries to the browser."""
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _header_rows(report: SessionReview) -> list[tuple[str, str | None, str, str]]:
    """The review's header as (label, ISO time or None, its UTC text, the rest): the page
    shows the time in the browser's zone, the rest as it is."""
    walls = {"Started": report.started_wall, "Ended": report.ended_wall}
    rows: list[tuple[str, str | None, str, str]] = []
    for label, value in review_header(report):
        when = walls.get(label)
        stamp = "" if when is None else wall_text(when)
        if when is not None and value.startswith(stamp):
            rows.append((label, _iso(when), stamp, value[len(stamp) :]))
        else:
            rows.append((label, None, "", value))
    return rows


def _api_routes(app: FastAPI) -> list[dict[str, Any]]:
    """Each operation of the app's OpenAPI document, for the /docs page."""
    routes = []
    for path, operations in app.openapi().get("paths", {}).items():
        for method, op in operations.items():
            routes.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [p["name"] for p in op.get("parameters", [])],
                }
            )
    return routes


def register_pages(app: FastAPI, folder: RoomFolder, runner: SessionRunner) -> None:
    """Add the page routes and /static to the API engineer's app."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    html: dict[str, Any] = {"response_class": HTMLResponse, "include_in_schema": False}

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/live" if runner.running else "/start", status_code=303)

    @app.get("/start", **html)
    def start(request: Request) -> Response:
        return _page(request, "start.html", "start", "Start", running=runner.running)

    @app.get("/live", **html)
    def live(request: Request) -> Response:
        return _page(request, "live.html", "live", "Live", level_step_db=LEVEL_STEP_DB)

    @app.get("/playlists", **html)
    def patients(request: Request) -> Response:
        return _page(request, "patients.html", "playlists", "Playlists", patients=folder.patients())

    @app.get("/playlists/{patient}", **html)
    def playlists(request: Request, patient: str) -> Response:
        try:
            check_patient_id(patient)
        except ValueError as err:
            return _not_found(request, "playlists", str(err))
        if not folder.patient_dir(patient).is_dir():
            return _not_found(request, "playlists", f"No patient folder {patient}.")
        return _page(
            request, "playlists.html", "playlists", f"Playlists {patient}", patient=patient
        )

    @app.get("/review", **html)
    def sessions(request: Request) -> Response:
        try:
            rows, error = _session_rows(runner), None
        except JournalError as err:
            rows, error = [], str(err)
        return _page(request, "review_list.html", "review", "Review", sessions=rows, error=error)

    @app.get("/review/{session_id}", **html)
    def review(request: Request, session_id: str) -> Response:
        try:
            summary = runner.journal.session(session_id)
            events = runner.journal.events(session_id)
        except UnknownSession:
            return _not_found(request, "review", f"No session {session_id} in the journal.")
        except JournalError as err:
            return _page(request, "message.html", "review", "Journal", status=500, message=str(err))
        report = build_review(summary, events)
        return _page(
            request,
            "review.html",
            "review",
            f"Session {session_id}",
            session_id=session_id,
            header=_header_rows(report),
            tables=review_tables(report),
            timeline=chart_svg(report, events),
            vitals=vitals_svg(report),
            patient=summary.patient,
        )

    @app.get("/patients/{patient}/course", **html)
    def patient_course(request: Request, patient: str) -> Response:
        from setandsetting.journal.course import HEADERS, course

        try:
            check_patient_id(patient)
        except ValueError as err:
            return _not_found(request, "review", str(err))
        try:
            rows = course(runner.journal, patient)
        except JournalError as err:
            return _page(request, "message.html", "review", "Journal", status=500, message=str(err))
        return _page(
            request,
            "course.html",
            "review",
            f"Course of {patient}",
            patient=patient,
            headers=HEADERS,
            rows=[row.cells() for row in rows],
        )

    @app.get("/docs", **html)
    def api_docs(request: Request) -> Response:
        return _page(request, "api_docs.html", "docs", "HTTP API", routes=_api_routes(app))

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(request: Request) -> Response:
        """JSON to a program; to a browser navigating here the same document in a dark
        viewer (a JSON body cannot be themed: browsers draw it white)."""
        document = app.openapi()
        if wants_page(request) and request.query_params.get("format") != "json":
            text = json.dumps(document, indent=2, ensure_ascii=False)
            return _page(request, "openapi.html", "docs", "OpenAPI document", document=text)
        return JSONResponse(document)

    @app.get("/login", **html)
    def login(request: Request) -> Response:
        failed = request.query_params.get("failed") is not None
        wait = request.query_params.get("wait", "")
        return _page(
            request,
            "login.html",
            "login",
            "Room token",
            failed=failed,
            wait=int(wait) if wait.isdigit() and len(wait) < 6 else None,
        )
