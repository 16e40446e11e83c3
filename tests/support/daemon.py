"""A room daemon for API tests: a real room folder, a real SessionRunner and engine, recording
music and chimes (no sound), and the FastAPI app — in process (TestClient) or on a real
uvicorn with an ephemeral port (for SSE, which TestClient cannot stream), reached at
127.0.0.1 whatever it is bound to."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from setandsetting.backends.base import Report
from setandsetting.backends.recording import RecordingChimes, RecordingMusic
from setandsetting.core.room import Room
from setandsetting.engine.conductor import Devices
from setandsetting.engine.runner import SessionRunner
from setandsetting.room.folder import RoomFolder
from setandsetting.server.app import ServerSettings, create_app
from setandsetting.server.login_sessions import boot_clock
from setandsetting.server.security import proxy_options
from tests.support.session_room import make_room

TOKEN = "test-room-token"
BASE = "http://127.0.0.1:8700"
PATIENT_PLAYLIST = """\
# The patient's own calm list: keep this comment.
name: Calm (P-0042)
tracks:
  - path: ../../music/t1.flac  # the second tone first
    title: T1
  - path: ../../music/t0.flac
    title: T0
"""
MOVED_PLAYLIST = """\
# The patient's own calm list: keep this comment.
name: Calm (P-0042)
tracks:
  - path: ../../music/t0.flac
    title: T0
  - path: ../../music/t1.flac  # the second tone first
    title: T1
"""  # PATIENT_PLAYLIST after moving the second track to the top
BROKEN_PROFILE = "name: Broken\nphases:\n  - id: one\n    duration: soon\n"
# Nothing planned, nothing playing: the engine journals nothing of its own accord, so any
# row a test sees appear was written because of a request.
STILL_PROFILE = """\
name: Still
route: other
phases:
  - id: still
    duration: open
    music: silence
    level: 30%
"""


def make_api_room(root: Path) -> Path:
    """session_room's room plus a library root, a patient with comments, a broken profile."""
    make_room(root)
    with (root / "room.yaml").open("a") as handle:
        handle.write("library: [music]\n")
    patient = root / "playlists" / "P-0042"
    patient.mkdir(parents=True)
    (patient / "calm.yaml").write_text(PATIENT_PLAYLIST)
    (patient / "patient.yaml").write_text("# standing preferences\navoid: []  # none yet\n")
    (root / "profiles" / "broken.yaml").write_text(BROKEN_PROFILE)
    return root


@dataclass
class Recorded:
    """The recording devices of every session the runner started."""

    chimes: list[RecordingChimes] = field(default_factory=list)
    music: list[RecordingMusic] = field(default_factory=list)
    plays: list[float] = field(default_factory=list)  # monotonic time of each chime play

    def factory(self, room: Room, report: Report, sounds_dir: Path) -> Devices:
        music = RecordingMusic(time.monotonic)
        chimes = _TimedChimes(time.monotonic, self.plays)
        self.music.append(music)
        self.chimes.append(chimes)
        return Devices(music, chimes)


class _TimedChimes(RecordingChimes):
    def __init__(self, clock, plays: list[float]) -> None:  # type: ignore[no-untyped-def]
        super().__init__(clock)
        self.plays = plays

    def play(self, sound, level: float, audience: str) -> None:  # type: ignore[no-untyped-def]
        self.plays.append(time.monotonic())
        super().play(sound, level, audience)


@dataclass
class Daemon:
    folder: RoomFolder
    runner: SessionRunner
    app: FastAPI
    recorded: Recorded


@contextmanager
def daemon(
    root: Path,
    token: str | None = TOKEN,
    clock: Callable[[], float] = boot_clock,
    **settings: Any,
) -> Iterator[Daemon]:
    """The app over a fresh API room; the session (if any) is stopped and the journal closed.

    `settings`: more ServerSettings fields (host — the bind the guard judges by —,
    trusted_proxies, login_idle_s, login_max_s); `clock` times logins.
    """
    make_api_room(root)
    folder = RoomFolder(root)
    recorded = Recorded()
    runner = SessionRunner(folder, devices=recorded.factory, midi_input=False)
    app = create_app(folder, runner, ServerSettings(token=token, **settings), clock)
    try:
        yield Daemon(folder, runner, app, recorded)
    finally:
        runner.close()


def client(app: FastAPI, host: str = "127.0.0.1") -> TestClient:
    """A TestClient that looks like a browser on `host`, with a CSRF cookie and header."""
    c = TestClient(app, base_url=BASE, client=(host, 50000), raise_server_exceptions=False)
    c.cookies.set("sas_csrf", "csrf-1")
    c.headers["X-CSRF-Token"] = "csrf-1"
    return c


def start_session(api: TestClient) -> dict[str, Any]:
    """Start the `short` profile for P-0042 through the API; its status."""
    r = api.post("/api/session", json={"patient": "P-0042", "profile": "short"})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def start_still_session(api: TestClient, folder: RoomFolder) -> str:
    """Write and start the still profile for P-0042; its session ID."""
    (folder.root / "profiles" / "still.yaml").write_text(STILL_PROFILE)
    r = api.post("/api/session", json={"patient": "P-0042", "profile": "still"})
    assert r.status_code == 201, r.text
    return str(r.json()["session_id"])


def send_control(api: TestClient, action: str, value: str | None = None) -> Any:
    return api.post("/api/control", json={"action": action, "value": value})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: FastAPI, host: str = "127.0.0.1") -> Iterator[str]:
    """The app on a real uvicorn (in a thread) bound to `host`, its proxy handling as `serve`
    sets it; yields the base URL on 127.0.0.1 (tests talk to loopback only)."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        **proxy_options(app.state.settings.trusted_proxies),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
