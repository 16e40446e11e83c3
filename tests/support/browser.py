"""A real room daemon and Debian's chromium for the web UI tests.

`ui_room` copies the repo's profiles and playlists into a temporary room, adds a fast test
profile and writes a short silent file for every track the playlists name. `ui_server`
runs the real FastAPI app (create_app + pages) under uvicorn on an ephemeral loopback port,
with a SessionRunner on recording backends so sessions are silent and fast. `chromium`
drives /usr/bin/chromium through Playwright with a fresh profile; nothing is downloaded.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from setandsetting.backends.recording import RecordingChimes, RecordingCues, RecordingMusic
from setandsetting.core.loader import load_playlist
from setandsetting.engine.conductor import Devices
from setandsetting.engine.runner import SessionRunner
from setandsetting.room.folder import RoomFolder

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
VIEWPORT = {"width": 1280, "height": 800}
TRACK_S = 20.0  # every generated track; the peak loops, so phases never run dry

FAST_PROFILE = """\
# A fast session for the web UI tests: a short arrival, a peak with a staff check-in that
# needs acknowledging, room to extend and a floor on moving on, and an open last phase.
name: Browser test, fast
route: other
defaults:
  crossfade: 1s
phases:
  - id: arrival
    name: Arrival
    duration: 3s
    music: arrival
    level: 30%
  - id: peak
    name: Peak
    duration: 40s
    extendable: 20m
    music: {slot: peak, loop: true}
    level: 50%
    not_before: {after: arrival, at_least: 30s}
    checkins:
      - {at: [1s], kind: vitals, message: "BP and pulse", audience: staff, ack: required,
         escalate_after: 30s}
  - id: integration
    name: Integration
    duration: open
    music: {slot: integration, loop: true}
    level: 25%
"""

ROOM_YAML = """\
# The test room: no MIDI, no OSC, the generated music as the library.
library: [music]
"""


def build_room(root: Path) -> Path:
    """A room folder with the repo's profiles and playlists and a short file per track."""
    shutil.copytree(REPO / "profiles", root / "profiles")
    shutil.copytree(REPO / "playlists", root / "playlists")
    (root / "profiles" / "fast.yaml").write_text(FAST_PROFILE)
    (root / "room.yaml").write_text(ROOM_YAML)
    rate = 8000
    t = np.arange(int(TRACK_S * rate)) / rate
    tone = (0.05 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32)
    for playlist_file in sorted((root / "playlists").glob("*/*")):
        if playlist_file.name == "patient.yaml":
            continue
        for track in load_playlist(playlist_file).tracks:
            target = (playlist_file.parent / track.path).resolve()
            if target.is_relative_to(root) and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                soundfile.write(str(target), tone, rate)
    return root


def recording_devices(room: Any, report: Any, sounds_dir: Path) -> Devices:
    """Silent devices that write down what they were asked to do."""
    return Devices(
        RecordingMusic(time.monotonic),
        RecordingChimes(time.monotonic),
        RecordingCues(time.monotonic),
    )


@dataclass
class UiServer:
    url: str
    folder: RoomFolder
    runner: SessionRunner

    def stop_session(self) -> None:
        """End whatever session a test left running, and wait for it to finish."""
        engine = self.runner.engine
        if engine is not None and engine.running:
            engine.stop()

    def wait_until_stopped(self, timeout: float = 10.0) -> None:
        """The engine fades out before it ends; wait for it to be gone."""
        deadline = time.monotonic() + timeout
        while self.runner.running:
            if time.monotonic() > deadline:
                raise AssertionError(f"the session still runs after {timeout}s")
            time.sleep(0.05)

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> Any:
        """Poll the runner until predicate(snapshot) is truthy; return the snapshot."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            engine = self.runner.engine
            snap = engine.snapshot() if engine is not None else None
            if snap is not None and predicate(snap):
                return snap
            time.sleep(0.05)
        raise AssertionError(f"condition not met within {timeout}s")


def _settings() -> Any:
    """The server settings create_app takes: loopback, no token needed."""
    from setandsetting.server import app as server_app

    settings_type = getattr(server_app, "ServerSettings", None)
    if settings_type is None:
        return None
    return settings_type(host="127.0.0.1", port=0)


@pytest.fixture(scope="module")
def ui_server() -> Iterator[UiServer]:
    """The real daemon (API + pages) on 127.0.0.1:<ephemeral>, stopped in finally."""
    import uvicorn

    from setandsetting.server.app import create_app

    with tempfile.TemporaryDirectory(prefix="sas-ui-") as tmp:
        folder = RoomFolder(build_room(Path(tmp)))
        runner = SessionRunner(folder, devices=recording_devices, midi_input=False)
        app = create_app(folder, runner, _settings())
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 10
            while not server.started:
                if time.monotonic() > deadline or not thread.is_alive():
                    raise RuntimeError("the test server did not start")
                time.sleep(0.02)
            yield UiServer(f"http://127.0.0.1:{port}", folder, runner)
        finally:
            server.should_exit = True
            thread.join(10)
            runner.close()
            sock.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, with a fresh user-data dir; closed in finally."""
    from playwright.sync_api import sync_playwright

    with (
        tempfile.TemporaryDirectory(prefix="sas-chromium-") as profile_dir,
        sync_playwright() as pw,
    ):
        context = pw.chromium.launch_persistent_context(
            profile_dir,
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=VIEWPORT,
            color_scheme="dark",
        )
        try:
            yield context
        finally:
            context.close()


def screenshot(page: Any, folder: Path, name: str) -> Path:
    """Save and check a screenshot: 1280x800, a dark page, nothing near white."""
    import pygame

    path = folder / f"{name}.png"
    page.mouse.move(0, VIEWPORT["height"] - 1)  # no hover highlight in the picture
    page.screenshot(path=str(path))
    pixels = pygame.surfarray.array3d(pygame.image.load(str(path))).astype(np.float64)
    assert pixels.shape == (VIEWPORT["width"], VIEWPORT["height"], 3)
    luma = pixels @ np.array([0.2126, 0.7152, 0.0722])
    assert luma.mean() < 40, f"{name}: mean luminance {luma.mean():.1f}"
    assert pixels.max() <= 0xD8, f"{name}: a pixel reaches {pixels.max():.0f}"
    return path


def csp_violations(page: Any) -> list[str]:
    """A list that fills with every console message of the page's CSP refusing something."""
    refused: list[str] = []

    def note(message: Any) -> None:
        if "Content Security Policy" in message.text or "X-Frame-Options" in message.text:
            refused.append(message.text)

    page.on("console", note)
    return refused


@contextmanager
def watched_tab(chromium: Any) -> Iterator[Any]:
    """A fresh tab on which no script error and no CSP refusal may happen (checked when
    the block ends without an error of its own); closed in the end."""
    from playwright.sync_api import expect

    tab = chromium.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda err: errors.append(str(err)))
    refused = csp_violations(tab)
    expect.set_options(timeout=8000)
    try:
        yield tab
        assert errors == []
        assert refused == []  # the pages' Content-Security-Policy blocked nothing they use
    finally:
        tab.close()


@contextmanager
def static_site(pages: dict[str, str]) -> Iterator[str]:
    """Pages (path -> HTML) from a plain HTTP server on 127.0.0.1:<ephemeral>, another
    origin than the daemon's; yields its URL and stops it in finally."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((body or "").encode())

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
