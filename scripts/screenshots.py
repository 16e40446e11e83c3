"""`make screenshots`: the README's pictures of the web UI, taken from a real room daemon.

In a scratch room (the repository's profiles and playlists, the demo music, no MIDI or OSC
devices named) it journals a rehearsal of the demo session for Review, then starts
`setandsetting serve` on the demo session with a private PulseAudio as its sound server
(the music really plays, so no "No sound" banner), moves it on to the dosing phase (its
dose check-in waits), and has Debian's chromium, through Playwright, photograph Start,
Live on a tablet (landscape and portrait) and a phone, Playlists, Review and a 404. Every
picture is checked dark (nothing near white). The daemon and PulseAudio are stopped by
their PIDs in a finally, the browser by Playwright, and the scratch room is removed.

    python scripts/screenshots.py OUT_DIR [--control T:ACTION]...   (the rehearsal's controls)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PATIENT = "P-0042"
ROOM_YAML = "# A scratch room for the screenshots: the demo music, no MIDI or OSC devices.\n"
ROOM_YAML += "library: [music]\n"
# (file, path, viewport, what must show first, full page)
SHOTS: tuple[tuple[str, str, tuple[int, int], str, bool], ...] = (
    ("start", "/start", (1280, 800), "#preflight-slots", False),
    ("live", "/live", (1280, 800), "#checkin-banner", False),
    ("live-tablet", "/live", (768, 1024), "#checkin-banner", False),
    ("live-phone", "/live", (360, 740), "#checkin-banner", False),
    ("playlists", f"/playlists/{PATIENT}", (1280, 800), "section.slot", False),
    ("review", "/review/{review}", (1280, 800), "#timeline > svg", False),
    ("not-found", "/no/such/page", (1280, 800), "h1", False),
)
BRIGHTEST = 0xD8  # no pixel channel above this: nothing near white in a dark room


def scratch_room(root: Path) -> Path:
    """The repository's profiles and playlists, its demo music linked, no devices named."""
    music = REPO / "music" / "demo"
    if not music.is_dir():
        raise SystemExit("the demo music is missing: `make screenshots` generates it first")
    for folder in ("profiles", "playlists"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "music").mkdir()
    (root / "music" / "demo").symlink_to(music)
    (root / "room.yaml").write_text(ROOM_YAML)
    return root


def cli(room: Path, *argv: str, env: dict[str, str] | None = None) -> str:
    """Run the setandsetting command in the room; its output (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-m", "setandsetting", "--room", str(room), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"setandsetting {' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def journal_rehearsal(room: Path, controls: list[str]) -> str:
    """The demo session rehearsed with `controls`, journaled as if it ended a minute ago."""
    started = datetime.now(UTC) - timedelta(minutes=8)
    argv = ["rehearse", "demo", "--patient", PATIENT, "--journal", "--start", started.isoformat()]
    for control in controls:
        argv += ["--control", control]
    out = cli(room, *argv)
    return out.strip().splitlines()[-1].removeprefix("journaled as session ").strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/api/status", timeout=2) as response:
        return json.load(response)  # type: ignore[no-any-return]


def wait_for(url: str, daemon: subprocess.Popen[bytes], ready: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        if daemon.poll() is not None:
            raise SystemExit(f"the daemon exited ({daemon.returncode}) before {what}")
        try:
            if ready(status(url)):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the daemon did not reach {what} within 30 s")
        time.sleep(0.2)


def check_dark(path: Path) -> None:
    import numpy as np
    import pygame

    pixels = pygame.surfarray.array3d(pygame.image.load(str(path)))
    if int(pixels.max()) > BRIGHTEST:
        raise SystemExit(f"{path.name}: a pixel reaches {int(pixels.max())} (near white)")
    luma = pixels.astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])
    if luma.mean() >= 40:
        raise SystemExit(f"{path.name}: mean luminance {luma.mean():.1f}, not a dark page")


def photograph(url: str, out: Path, review: str) -> None:
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(color_scheme="dark", locale="en-GB", timezone_id="UTC")
            page = context.new_page()
            for name, path, (width, height), ready, full in SHOTS:
                page.set_viewport_size({"width": width, "height": height})
                page.goto(url + path.format(review=review))
                page.locator(ready).first.wait_for(state="visible", timeout=15000)
                page.mouse.move(0, height - 1)  # no hover highlight in the picture
                page.wait_for_timeout(600)  # the live figures settle (one status tick)
                target = out / f"{name}.png"
                page.screenshot(path=str(target), full_page=full)
                check_dark(target)
                print(f"wrote {target}")
        finally:
            browser.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where the PNG files go")
    parser.add_argument("--control", action="append", default=[], help="T:ACTION for Review")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))
    from tests.support.pulse import PulseCapture

    with tempfile.TemporaryDirectory(prefix="sas-screenshots-") as tmp:
        room = scratch_room(Path(tmp) / "room")
        review = journal_rehearsal(room, args.control)
        (Path(tmp) / "pulse").mkdir()
        pulse = PulseCapture(Path(tmp) / "pulse")
        pulse.start()
        daemon: subprocess.Popen[bytes] | None = None
        try:
            env = {**os.environ, **pulse.env, "PYTHONPATH": str(REPO)}
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            with (Path(tmp) / "serve.log").open("w") as log:
                daemon = subprocess.Popen(
                    [
                        *(sys.executable, "-m", "setandsetting", "--room", str(room), "serve"),
                        *("--port", str(port), "--start", "demo", "--patient", PATIENT),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    env=env,
                )
            wait_for(url, daemon, lambda s: s.get("running") and s.get("now_playing"), "playing")
            cli(room, "next", env=env)  # on to the dosing phase: its dose check-in waits
            wait_for(url, daemon, lambda s: s.get("pending"), "a pending check-in")
            photograph(url, args.out, review)
        finally:
            if daemon is not None and daemon.poll() is None:
                os.kill(daemon.pid, signal.SIGTERM)  # stops the daemon, the music fades out
                try:
                    daemon.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.kill(daemon.pid, signal.SIGKILL)
                    daemon.wait(timeout=5)
            pulse.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
