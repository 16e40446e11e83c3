"""The session: status, profiles, patients, the preflight, start, controls and the SSE stream.

Starting a session and applying a control block (compiling, the engine's answer), so those
routes are plain `def` and run in FastAPI's thread pool; the SSE stream is async.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from setandsetting.core.controls import NEEDS_VALUE, USER_ACTIONS, parse_control
from setandsetting.core.dose import FACTS_ROUTES, MED_CLASSES, facts_from_fields
from setandsetting.core.loader import load_profile
from setandsetting.core.problems import FormatError
from setandsetting.engine.engine import EngineClosed
from setandsetting.engine.runner import SessionRunner
from setandsetting.room.preflight import preflight, sound_check
from setandsetting.server import events as sse_events
from setandsetting.server.deps import Folder, Hub, JsonBody, Runner, checked_patient
from setandsetting.server.errors import ApiError

router = APIRouter(prefix="/api")
NOTE_MAX_BYTES = 4096  # a note is a few lines; longer is refused (413), nothing journaled


def status_of(
    runner: SessionRunner, clinic_link: Callable[[], dict[str, Any]] | None = None
) -> dict[str, Any]:
    """/api/status: the engine's snapshot plus who and what; {"running": false} otherwise;
    with the clinic link's state when the room reports to a clinic hub.

    `wall` is the daemon's clock as it answers (every status on the event stream carries
    it: the page's heartbeat, and the clock its controls' `pressed_at` is written in)."""
    link = {} if clinic_link is None else {"clinic": clinic_link()}
    engine, compiled = runner.engine, runner.compiled
    if engine is None or not engine.running or compiled is None:
        return {"running": False, **link}
    wall = datetime.now(UTC).isoformat(timespec="milliseconds")
    snap = engine.snapshot()
    return {
        **link,
        "running": not snap.get("ended"),  # a stopped session is fading out: not steerable
        "session_id": runner.session_id,
        "profile": compiled.profile_path.stem,
        "wall": wall,
        "started_wall": engine.started_wall.isoformat(timespec="milliseconds"),
        **snap,
    }


def _profile_summary(path: Path) -> dict[str, Any]:
    try:
        profile = load_profile(path)
    except FormatError as err:
        return {"name": path.stem, "error": str(err.problems[0])}
    return {
        "name": path.stem,
        "title": profile.name,
        "route": profile.route,
        **({"asks_facts": list(MED_CLASSES)} if profile.route in FACTS_ROUTES else {}),
        "phases": [
            {
                "id": p.id,
                "name": p.name or p.id,
                "duration_s": None if p.duration == "open" else p.duration,
                "slot": p.music.slot if p.music is not None else None,
            }
            for p in profile.phases
        ],
    }


@router.get("/status")
def get_status(runner: Runner, request: Request) -> dict[str, Any]:
    return status_of(runner, request.app.state.clinic_link)


@router.get("/profiles")
def get_profiles(folder: Folder) -> list[dict[str, Any]]:
    return [_profile_summary(path) for path in folder.profiles()]


@router.get("/patients")
def get_patients(folder: Folder) -> list[str]:
    return folder.patients()


@router.get("/preflight")
def get_preflight(folder: Folder, patient: str, profile: str) -> dict[str, Any]:
    return preflight(folder, checked_patient(patient), profile)


@router.post("/test-sound")
def post_test_sound(folder: Folder, runner: Runner) -> dict[str, Any]:
    """A tone through each output, and what was heard: refused during a session, where
    the tone would sound in the patient's room."""
    if runner.running:
        raise ApiError(409, "a session is running: a test tone would sound in the room")
    return {"outputs": sound_check(folder)}


@router.post("/session", status_code=201)
def post_session(folder: Folder, runner: Runner, body: JsonBody) -> dict[str, Any]:
    patient, profile = body.get("patient"), body.get("profile")
    if not isinstance(patient, str) or not isinstance(profile, str):
        raise ApiError(400, "give a patient and a profile")
    try:
        facts = facts_from_fields(body.get("facts") or {})
    except (ValueError, TypeError, AttributeError) as err:
        raise ApiError(400, f"facts: {err}") from None
    path = folder.profile_path(profile)
    runner.start(path, checked_patient(patient), facts)
    return status_of(runner)


def _pressed_at(body: dict[str, Any]) -> float | None:
    """`pressed_at`: when a person pressed the control, ISO 8601 with its offset (the Live
    page sends it in the daemon's clock); None when the caller sent none (the CLI)."""
    value = body.get("pressed_at")
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ApiError(400, "pressed_at must be an ISO 8601 time with its offset")
    return moment.timestamp()


@router.post("/control")
def post_control(runner: Runner, body: JsonBody) -> dict[str, Any]:
    """Apply a control. The answer carries its events and the check-ins still waiting
    (`pending`), so moving on with some unanswered says which stay on the screens."""
    action, value = body.get("action"), body.get("value")
    pressed_at = _pressed_at(body)
    if action not in USER_ACTIONS:
        raise ApiError(400, f"unknown action {action!r}; one of {', '.join(sorted(USER_ACTIONS))}")
    if value is not None and not isinstance(value, str | int | float):
        raise ApiError(400, "value must be text")
    size = len(value.encode("utf-8", "surrogatepass")) if isinstance(value, str) else 0
    if action == "note" and size > NOTE_MAX_BYTES:
        limit = NOTE_MAX_BYTES // 1024
        raise ApiError(413, f"a note is at most {limit} KB; this one is {size} bytes")
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
        result = engine.submit(control, pressed_at=pressed_at)
    except EngineClosed:
        raise ApiError(409, "no session is running") from None
    except TimeoutError:
        raise ApiError(503, "the engine did not answer in time; the control may apply") from None
    refused = [e for e in result if e.get("type") == "control_refused"]
    if refused:
        raise ApiError(409, str(refused[0].get("reason", "refused")), events=result)
    return {"events": result, "pending": engine.snapshot().get("pending", [])}


@router.get("/events")
async def get_events(hub: Hub) -> StreamingResponse:
    return StreamingResponse(
        sse_events.stream(hub),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
