"""`make demo`'s command on this repository's own room: `serve --start demo` plays the demo
session for real (heard through a PulseAudio pipe sink), serves the live page, prints its
address, and ends the session gently on SIGINT."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.audio_analysis import rms_db
from tests.support.daemon import free_port
from tests.support.pulse import PulseCapture, pulse

__all__ = ["pulse"]

REPO = Path(__file__).resolve().parents[2]


def _demo_room(root: Path) -> Path:
    """This room's settings, profiles and playlists, with its generated demo music."""
    if not (REPO / "music" / "demo" / ".generated").exists():
        pytest.fail("the demo music is missing: `make test` generates it first")
    root.mkdir()
    shutil.copy(REPO / "room.yaml", root / "room.yaml")
    for folder in ("profiles", "playlists"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "music").mkdir()
    (root / "music" / "demo").symlink_to(REPO / "music" / "demo")
    return root


def _status(url: str) -> dict:
    with urllib.request.urlopen(url + "/api/status", timeout=2) as response:
        return json.load(response)


@pytest.mark.audio
def test_the_demo_session_plays_and_is_served(tmp_path: Path, pulse: PulseCapture) -> None:
    room = _demo_room(tmp_path / "room")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "setandsetting", "--room", str(room), "serve"]
    argv += ["--port", str(port), "--start", "demo", "--patient", "P-0042"]
    pulse.start_recording()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=dict(os.environ)
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, "serve exited"
            try:
                status = _status(url)
                if status.get("running") and status.get("now_playing"):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the demo session did not start playing"
            time.sleep(0.1)
        assert status["phase"] == "arrival"
        assert status["now_playing"]["title"] == "Arrival I"
        with urllib.request.urlopen(url + "/live", timeout=2) as response:
            assert response.status == 200
            assert "text/html" in response.headers["content-type"]
        time.sleep(6.0)  # the first track fades in to 30 %
        heard = pulse.stop_recording()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    assert proc.returncode == 0
    lines = out.splitlines()
    assert any(line.startswith("started session ") and "P-0042" in line for line in lines), out
    assert f"serving {url}/  (live session: {url}/live)" in lines, out
    # Heard, fading in from silence (a new track never starts loud), never above the cap.
    half = pulse.rate // 2
    windows = [rms_db(heard[i : i + half]) for i in range(0, len(heard) - half + 1, half)]
    audible = [i for i, db in enumerate(windows) if db > -80.0]
    assert audible, windows
    assert windows[-1] > -65.0, windows
    assert windows[audible[0]] < windows[-1] - 10.0, windows
    assert float(abs(heard).max()) <= 0.70**3, "louder than the demo's max_level of 70 %"
    con = sqlite3.connect(f"file:{room / 'sessions.db'}?mode=ro", uri=True)
    try:
        last = con.execute("SELECT type, data FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        con.close()
    assert last[0] == "session_ended" and json.loads(last[1])["reason"] == "stopped"


def test_start_names_a_profile_as_every_command_does(tmp_path: Path) -> None:
    shutil.copytree(REPO / "profiles", tmp_path / "profiles")
    argv = [sys.executable, "-m", "setandsetting", "--room", str(tmp_path), "serve"]
    done = subprocess.run(
        [*argv, "--port", "0", "--start", "dmo", "--patient", "P-0042"],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, SDL_AUDIODRIVER="dummy", PULSE_SERVER="unix:/nonexistent"),
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"--start: no profile 'dmo': no such file, nor a name in {tmp_path / 'profiles'} "
        "(did you mean 'demo'?)\n"
    )
    assert "Traceback" not in done.stdout
