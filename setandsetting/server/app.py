"""The room daemon's HTTP surface: the JSON API under /api, login, SSE, errors without traces.

Thin on purpose: every route calls the SessionRunner/Engine, the journal, the room folder
or room.playlists; none decides anything about a session. Routes that block (starting a
session, applying a control, reading the journal) are plain `def`, so FastAPI runs them in
its thread pool and the event loop (and with it every SSE stream) never waits for them.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from setandsetting.core.controls import parse_control
from setandsetting.core.problems import FormatError
from setandsetting.core.types import check_patient_id
from setandsetting.engine.engine import EngineClosed
from setandsetting.engine.runner import SessionBusy, SessionRunner
from setandsetting.journal.store import JournalError, UnknownSession
from setandsetting.room import avoid, library, playlists
from setandsetting.room.errors import EditError, NotFound
from setandsetting.room.folder import RoomFolder
from setandsetting.room.preflight import preflight
from setandsetting.server import events as sse_events
from setandsetting.server.security import Guard, SecurityMiddleware, login_cookie, token_matches

log = logging.getLogger(__name__)

ACTIONS = frozenset(
    {"pause", "resume", "extend", "next", "skip", "level", "quiet", "ack", "note", "stop"}
)
NEEDS_VALUE = frozenset({"extend", "level", "note"})


@dataclass
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8700
    token: str | None = None  # the room token; None: only loopback clients get in


class ApiError(Exception):
    """A request the API refuses: status and one clear sentence (plus extra JSON fields)."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def _patient(patient_id: str) -> str:
    try:
        return check_patient_id(patient_id)
    except ValueError as err:
        raise ApiError(400, str(err)) from None


def _format_error(err: FormatError) -> ApiError:
    problems = [str(p) for p in err.problems]
    return ApiError(400, "\n".join(problems), problems=problems)


def status_of(runner: SessionRunner) -> dict[str, Any]:
    """/api/status: the engine's snapshot plus who and what; {"running": false} otherwise."""
    engine, compiled = runner.engine, runner.compiled
    if engine is None or not engine.running or compiled is None:
        return {"running": False}
    snap = engine.snapshot()
    return {
        "running": not snap.get("ended"),  # a stopped session is fading out: not steerable
        "session_id": runner.session_id,
        "patient": compiled.timeline.patient,
        "profile": compiled.profile_path.stem,
        **snap,
    }


def _profile_summary(folder: RoomFolder, path: Path) -> dict[str, Any]:
    from setandsetting.core.loader import load_profile

    try:
        profile = load_profile(path)
    except FormatError as err:
        return {"name": path.stem, "error": str(err.problems[0])}
    return {
        "name": path.stem,
        "title": profile.name,
        "route": profile.route,
        "phases": [
            {
                "id": p.id,
                "name": p.name or p.id,
                "duration_s": None if p.duration == "open" else p.duration,
            }
            for p in profile.phases
        ],
    }


async def _body(request: Request) -> dict[str, Any]:
    """JSON or a urlencoded form, as a dict; anything else is a 400."""
    raw = await request.body()
    kind = request.headers.get("content-type", "")
    try:
        if "application/x-www-form-urlencoded" in kind:
            return {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return data


def create_app(folder: RoomFolder, runner: SessionRunner, settings: ServerSettings) -> FastAPI:
    # FastAPI's own /docs and /redoc load Swagger from a CDN (blank in an offline room, and
    # white): pages.py renders /docs from the same OpenAPI document, dark and local.
    app = FastAPI(
        title="setandsetting room daemon", version="1", debug=False, docs_url=None, redoc_url=None
    )
    hub = sse_events.EventHub(lambda: status_of(runner))
    runner.subscribe(hub.publish)
    app.state.hub = hub
    app.state.runner = runner
    app.state.folder = folder
    _errors(app)

    # ------------------------------------------------------------------ login

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = "application/x-www-form-urlencoded" in request.headers.get("content-type", "")
        data = await _body(request)
        if not token_matches(data.get("token"), settings.token):
            if form:
                return RedirectResponse("/login?failed=1", status_code=303)
            raise ApiError(403, "wrong room token")
        response: Response = (
            RedirectResponse("/", status_code=303) if form else JSONResponse({"ok": True})
        )
        assert settings.token is not None
        response.headers.append("set-cookie", login_cookie(settings.token))
        return response

    # ------------------------------------------------------------------ session

    @app.get("/api/status")
    def get_status() -> dict[str, Any]:
        return status_of(runner)

    @app.get("/api/profiles")
    def get_profiles() -> list[dict[str, Any]]:
        return [_profile_summary(folder, path) for path in folder.profiles()]

    @app.get("/api/patients")
    def get_patients() -> list[str]:
        return folder.patients()

    @app.get("/api/preflight")
    def get_preflight(patient: str, profile: str) -> dict[str, Any]:
        return preflight(folder, _patient(patient), profile)

    @app.post("/api/session", status_code=201)
    def post_session(body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        patient, profile = body.get("patient"), body.get("profile")
        if not isinstance(patient, str) or not isinstance(profile, str):
            raise ApiError(400, "give a patient and a profile")
        path = folder.profile_path(profile)
        runner.start(path, _patient(patient))
        return status_of(runner)

    @app.post("/api/control")
    def post_control(body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        action, value = body.get("action"), body.get("value")
        if action not in ACTIONS:
            raise ApiError(400, f"unknown action {action!r}; one of {', '.join(sorted(ACTIONS))}")
        if value is not None and not isinstance(value, str | int | float):
            raise ApiError(400, "value must be text")
        text = action if value in (None, "") else f"{action} {value}"
        if action in NEEDS_VALUE and value in (None, ""):
            raise ApiError(400, f"{action} needs a value")
        try:
            control = parse_control(text)
        except ValueError as err:
            raise ApiError(400, str(err)) from None
        engine = runner.engine
        if engine is None or not engine.running:
            raise ApiError(409, "no session is running")
        try:
            result = engine.submit(control)
        except EngineClosed:
            raise ApiError(409, "no session is running") from None
        except TimeoutError:
            raise ApiError(
                503, "the engine did not answer in time; the control may apply"
            ) from None
        refused = [e for e in result if e.get("type") == "control_refused"]
        if refused:
            raise ApiError(409, str(refused[0].get("reason", "refused")), events=result)
        return {"events": result}

    @app.get("/api/events")
    async def get_events() -> StreamingResponse:
        return StreamingResponse(
            sse_events.stream(hub),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    # ------------------------------------------------------------------ playlists

    @app.get("/api/patients/{patient_id}/playlists")
    def get_playlists(patient_id: str) -> list[dict[str, Any]]:
        return playlists.all_slots(folder, _patient(patient_id))

    @app.get("/api/patients/{patient_id}/playlists/{slot}")
    def get_playlist(patient_id: str, slot: str) -> dict[str, Any]:
        view = playlists.slot_view(folder, _patient(patient_id), slot)
        if view["file"] is None:
            raise ApiError(404, f"no playlist for slot {slot!r}")
        return view

    @app.post("/api/patients/{patient_id}/playlists/{slot}/copy-default", status_code=201)
    def post_copy_default(patient_id: str, slot: str) -> dict[str, Any]:
        return playlists.copy_default(folder, _patient(patient_id), slot)

    @app.post("/api/patients/{patient_id}/playlists/{slot}/tracks")
    def post_track(
        patient_id: str,
        slot: str,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        title = body.get("title")
        if title is not None and not isinstance(title, str):
            raise ApiError(400, "title must be text")
        return playlists.add_track(
            folder, _patient(patient_id), slot, body.get("path"), title or None
        )

    @app.delete("/api/patients/{patient_id}/playlists/{slot}/tracks/{index}")
    def delete_track(patient_id: str, slot: str, index: int) -> dict[str, Any]:
        return playlists.remove_track(folder, _patient(patient_id), slot, index)

    @app.post("/api/patients/{patient_id}/playlists/{slot}/move")
    def post_move(
        patient_id: str,
        slot: str,
        body: dict[str, Any] = Body(...),  # noqa: B008
    ) -> dict[str, Any]:
        source, target = body.get("from"), body.get("to")
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in (source, target)):
            raise ApiError(400, "give `from` and `to` as track numbers (0-based)")
        return playlists.move_track(folder, _patient(patient_id), slot, source, target)

    @app.get("/api/patients/{patient_id}/avoid")
    def get_avoid(patient_id: str) -> dict[str, Any]:
        return {"avoid": avoid.get_avoid(folder, _patient(patient_id))}

    @app.put("/api/patients/{patient_id}/avoid")
    def put_avoid(patient_id: str, body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        return {"avoid": avoid.set_avoid(folder, _patient(patient_id), body.get("avoid"))}

    @app.get("/api/library")
    def get_library(q: str = "") -> list[dict[str, Any]]:
        return library.library(folder, q)

    # ------------------------------------------------------------------ journal

    @app.get("/api/sessions")
    def get_sessions() -> list[dict[str, Any]]:
        from setandsetting.journal.export import session_dict

        out = []
        for summary in runner.journal.sessions():
            item = session_dict(summary)
            item.pop("plan", None)
            item["running"] = summary.id == runner.session_id and runner.running
            out.append(item)
        return out

    @app.get("/api/sessions/{session_id}")
    def get_session(session_id: str) -> dict[str, Any]:
        from setandsetting.journal.export import session_dict
        from setandsetting.journal.review import build_review, review_header, review_tables

        summary = runner.journal.session(session_id)
        journaled = runner.journal.events(session_id)
        review = build_review(summary, journaled)
        return {
            "session": session_dict(summary),
            "review": {
                "header": [{"label": k, "value": v} for k, v in review_header(review)],
                "tables": [
                    {"title": title, "columns": columns, "rows": rows}
                    for title, columns, rows in review_tables(review)
                ],
            },
            "events": journaled,
        }

    @app.get("/api/sessions/{session_id}/export")
    def get_export(session_id: str, format: str = "json") -> Response:
        from setandsetting.journal.export import to_csv, to_html, to_json
        from setandsetting.journal.review import build_review

        if format not in ("csv", "json", "html"):
            raise ApiError(400, "format is csv, json or html")
        summary = runner.journal.session(session_id)
        journaled = runner.journal.events(session_id)
        name = f"session-{summary.id}.{format}"
        if format == "csv":
            body, kind = to_csv(journaled), "text/csv"
        elif format == "json":
            body, kind = to_json(summary, journaled), "application/json"
        else:
            body, kind = to_html(build_review(summary, journaled), journaled), "text/html"
        return Response(
            body,
            media_type=f"{kind}; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    if importlib.util.find_spec("setandsetting.server.pages") is not None:
        from setandsetting.server.pages import register_pages

        register_pages(app, folder, runner)
    app.add_middleware(SecurityMiddleware, guard=Guard(settings.token))
    return app


def _errors(app: FastAPI) -> None:
    """Every failure is {"error": "..."}: the known ones with their status, the rest a 500."""

    def reply(status: int, message: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"error": message, **extra}, status_code=status)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, err: ApiError) -> JSONResponse:
        return reply(err.status, err.message, **err.extra)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
        return reply(err.status_code, str(err.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return reply(400, f"{where}: {first.get('msg', 'invalid request')}".strip(": "))

    @app.exception_handler(FormatError)
    async def broken_file(_: Request, err: FormatError) -> JSONResponse:
        e = _format_error(err)
        return reply(e.status, e.message, **e.extra)

    @app.exception_handler(SessionBusy)
    async def busy(_: Request, err: SessionBusy) -> JSONResponse:
        return reply(409, str(err))

    @app.exception_handler(UnknownSession)
    async def unknown_session(_: Request, err: UnknownSession) -> JSONResponse:
        return reply(404, str(err))

    @app.exception_handler(JournalError)
    async def journal(_: Request, err: JournalError) -> JSONResponse:
        return reply(503, str(err))

    @app.exception_handler(NotFound)
    async def not_found(_: Request, err: NotFound) -> JSONResponse:
        return reply(404, str(err.args[0]) if err.args else "not found")

    @app.exception_handler(EditError)
    async def refused_edit(_: Request, err: EditError) -> JSONResponse:
        return reply(400, str(err))

    @app.exception_handler(FileNotFoundError)
    async def missing(_: Request, err: FileNotFoundError) -> JSONResponse:
        return reply(404, str(err))

    @app.exception_handler(ValueError)
    async def bad_value(_: Request, err: ValueError) -> JSONResponse:
        return reply(400, str(err))

    @app.exception_handler(Exception)
    async def internal(request: Request, err: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=err)
        return reply(500, "internal error")
