"""`setandsetting serve` as a real process: `make demo`'s command (`demo`, serving the demo)
plays the demo session for real (heard through a PulseAudio pipe sink) and serves the live
page; one daemon per room
(a second one refused, the CLI finding the first through the room lock, whatever its port);
SIGINT/SIGTERM stop the daemon and not the session, which the next `serve` resumes; and
killed at random moments, again and again, it loses no acknowledged control."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from setandsetting.backends.pulse import GONE
from setandsetting.cli import main
from setandsetting.cli.serve import say_preflight, sound_sayer
from setandsetting.room.lock import DAEMON_FILE, LOCK_FILE
from tests.support import journal_rows as on_disk
from tests.support.audio_analysis import rms_db
from tests.support.daemon import free_port, make_api_room
from tests.support.processes import command, spawned, status, wait_served
from tests.support.pulse import PulseCapture, pulse, pulse_never_started

__all__ = ["pulse", "pulse_never_started"]

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
    argv = [sys.executable, "-m", "setandsetting", "demo", str(room), "--port", str(port)]
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
    kinds = [e["type"] for e in on_disk.events(on_disk.rows(room / "sessions.db"))]
    assert (kinds.count("daemon_stopped"), kinds.count("session_ended")) == (1, 0)


# ---------------------------------------------------------------- one daemon per room


def _serve_short(room: Path, *more: str) -> list[str]:
    """`serve` on a port of the system's choosing, starting (or resuming) `short`."""
    return command(room, "serve", "--port", "0", "--start", "short", "--patient", "P-0042", *more)


def cli(capsys: pytest.CaptureFixture[str], room: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--room", str(room), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_second_daemon_in_the_room_is_refused_while_the_first_plays(tmp_path: Path) -> None:
    """`serve` on another port and `run` are refused, exit 2, naming the first daemon, and
    touch neither the journal nor the first one's files."""
    room = make_api_room(tmp_path / "room")
    db = room / "sessions.db"
    with spawned(tmp_path / "logs") as started:
        first = started.spawn(_serve_short(room))
        url = wait_served(room, first)
        assert url.startswith("http://127.0.0.1:") and url != "http://127.0.0.1:8700"
        holder = (room / DAEMON_FILE).read_text()
        for argv in (
            command(room, "serve", "--port", str(free_port())),
            command(room, "run", str(room / "profiles" / "short.yaml"), "--patient", "P-0042"),
        ):
            second = started.spawn(argv)
            assert second.wait() == 2
            assert (second.stdout(), second.stderr()) == (
                "",
                f"this room is already run by PID {first.pid} at {url}\n",
            )
        assert status(url)["running"] and first.popen.poll() is None
        assert (room / DAEMON_FILE).read_text() == holder
        assert (room / DAEMON_FILE).stat().st_mode & 0o777 == 0o600
    kinds = [e["type"] for e in on_disk.events(on_disk.rows(db))]
    assert kinds.count("session_started") == 1 and "session_resumed" not in kinds


def test_status_and_controls_find_the_daemon_on_any_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No --url: the CLI reads the daemon's address beside the room lock; once the daemon
    is gone it says so."""
    room = make_api_room(tmp_path / "room")
    with spawned(tmp_path / "logs") as started:
        serve = started.spawn(_serve_short(room))
        wait_served(room, serve)
        deadline = time.monotonic() + 10  # the vitals check-in at 0:02 waits for an ack
        while "WAITING" not in (out := cli(capsys, room, "status"))[1]:
            assert out[0] == 0 and time.monotonic() < deadline, out
            time.sleep(0.2)
        assert "vitals: BP (ack settle.0.0" in out[1]
        code, out, err = cli(capsys, room, "ack")
        assert (code, err) == (0, "") and "check-in vitals acknowledged after" in out
        code, out, err = cli(capsys, room, "level", "-6dB")  # no `--` needed
        assert (code, err) == (0, "") and "level set to" in out, out
        serve.popen.send_signal(signal.SIGTERM)
        assert serve.wait() == 0
    assert cli(capsys, room, "status") == (
        2,
        "",
        f"the room daemon is not running in {room}; start it with `setandsetting serve`\n",
    )


def test_sigterm_then_serve_again_resumes_the_same_session(tmp_path: Path) -> None:
    """SIGTERM (systemd, a reboot) stops the daemon with `daemon_stopped` and leaves the
    session open; the next `serve` resumes it (one `session_resumed`, no `session_ended`)
    and only `stop` ends it."""
    room = make_api_room(tmp_path / "room")
    db = room / "sessions.db"
    with spawned(tmp_path / "logs") as started:
        first = started.spawn(_serve_short(room))
        session_id = status(wait_served(room, first))["session_id"]
        time.sleep(1.0)
        first.popen.send_signal(signal.SIGTERM)
        assert first.wait() == 0
        assert not (room / LOCK_FILE).exists() and not (room / DAEMON_FILE).exists()
        stopped = on_disk.events(on_disk.rows(db))
        second = started.spawn(command(room, "serve", "--port", "0"))  # no --start
        url = wait_served(room, second)
        assert status(url)["session_id"] == session_id and status(url)["running"]
        assert main(["--room", str(room), "stop"]) == 0
        second.popen.send_signal(signal.SIGTERM)
        assert second.wait() == 0
    kinds = [e["type"] for e in stopped]
    assert (kinds.count("daemon_stopped"), kinds.count("session_ended")) == (1, 0)
    assert [k for k in kinds if k != "error"][-1] == "daemon_stopped"
    events = on_disk.events(on_disk.rows(db))
    assert events[: len(stopped)] == stopped
    kinds = [e["type"] for e in events]
    counted = ("session_started", "session_resumed", "daemon_stopped", "session_ended")
    assert [kinds.count(k) for k in counted] == [1, 1, 1, 1]
    last = [e for e in events if e["type"] != "error"][-1]  # but the absent sound server's
    assert last["type"] == "session_ended" and last["reason"] == "stopped"
    assert "the session resumes with the next `setandsetting serve`" in first.stdout()
    assert f"resumed session {session_id} after " in second.stdout()


STEADY = """\
name: Steady
route: other
defaults:
  crossfade: 2s
phases:
  - id: settle
    duration: 15s
    music: {slot: calm, order: sequential, loop: true}
    level: 40%
    checkins:
      - {every: 10s, kind: vitals, message: "BP", audience: staff, ack: required,
         escalate_after: 5s}
  - id: deep
    duration: 30s
    music: {slot: calm, order: sequential, loop: true}
    level: {from: 40%, to: 60%, shape: linear}
    checkins:
      - {every: 10s, kind: breath, message: "Breathe", audience: patient}
  - id: rest
    duration: open
    music: {slot: calm, order: sequential, loop: true}
    level: 30%
"""
KILLS = 30


@pytest.mark.slow
def test_killed_30_times_while_served_no_acknowledged_control_is_lost(tmp_path: Path) -> None:
    """30 SIGKILLs, each followed by a restart on a new port: a third during the start
    (resuming, not yet listening), the rest while it serves, with notes and level changes
    sent through the CLI all along. Every control the CLI saw acknowledged is journaled
    exactly once (one that failed at most once), and after `stop` the session ends once."""
    room = make_api_room(tmp_path / "room")
    (room / "profiles" / "steady.yaml").write_text(STEADY)
    db = room / "sessions.db"
    rng = random.Random(20261203)
    argv = command(room, "serve", "--port", "0", "--start", "steady", "--patient", "P-0042")
    sent: list[tuple[list[str], int]] = []
    done = threading.Event()

    def press() -> None:
        """A nurse at the CLI: a note, a level change, another note…"""
        k = 0
        while not done.is_set():
            words = ["level", "-1dB" if k % 2 else "+1dB"] if k % 3 == 0 else ["note", f"n{k}"]
            sent.append((words, main(["--room", str(room), *words])))
            k += 1
            time.sleep(0.05)

    started_at = time.monotonic()
    served = 0
    with spawned(tmp_path / "logs") as started:
        proc = started.spawn(argv)
        wait_served(room, proc)
        presser = threading.Thread(target=press, name="test-presser")
        presser.start()
        try:
            for kill in range(KILLS):
                if kill % 3 == 0:
                    time.sleep(rng.uniform(0.05, 1.5))
                else:
                    wait_served(room, proc)
                    served += 1
                    time.sleep(rng.uniform(0.0, 1.5))
                proc.popen.kill()
                proc.popen.wait()
                proc = started.spawn(argv)
            wait_served(room, proc)
            time.sleep(0.5)
        finally:
            done.set()
            presser.join()
        assert main(["--room", str(room), "stop"]) == 0
        proc.popen.send_signal(signal.SIGTERM)
        assert proc.wait() == 0
    events = on_disk.events(on_disk.rows(db))
    kinds = Counter(e["type"] for e in events)
    acked = [words for words, code in sent if code == 0]
    print(
        f"{KILLS} kills in {time.monotonic() - started_at:.0f} s: {len(sent)} controls sent, "
        f"{len(acked)} acknowledged; {kinds['session_resumed']} resumes, {len(events)} events"
    )
    assert len(acked) >= 100
    assert [kinds[k] for k in ("session_started", "session_ended")] == [1, 1]
    last = [e for e in events if e["type"] != "error"][-1]  # but the absent sound server's
    assert last["type"] == "session_ended" and last["reason"] == "stopped"
    assert served <= kinds["session_resumed"] <= KILLS
    assert "daemon_stopped" not in kinds  # SIGKILL gives no chance to say so
    controls = Counter((e["action"], str(e.get("value"))) for e in events if e["type"] == "control")
    notes = Counter(e["text"] for e in events if e["type"] == "note")
    for words, code in sent:
        if words[0] == "note":
            held = (controls[("note", words[1])], notes[words[1]])
            allowed = [(1, 1)] if code == 0 else [(0, 0), (1, 1)]  # failed: lost or kept
            assert held in allowed, (words, code)
    levels = [code for words, code in sent if words[0] == "level"]
    journaled = sum(n for (action, _), n in controls.items() if action == "level")
    assert levels.count(0) <= journaled <= len(levels)
    assert controls[("stop", "None")] == 1
    on_disk.assert_no_event_twice(events)


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


@pytest.mark.postgres
@pytest.mark.slow
def test_a_room_with_a_clinic_serves_while_the_hub_is_away_then_reports_to_it(
    tmp_path: Path, clinic_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hub not there: the session plays and status says the link is down since when;
    the hub comes: the link is up and the hub holds what the room journaled."""
    from setandsetting.clinic.store import ClinicStore
    from tests.support.clinic import HubThread

    store = ClinicStore.open(clinic_db)
    hub = HubThread(store, port=free_port())
    room = make_room_with_clinic(tmp_path / "room", hub.url, store.add_room("Room 2"))
    try:
        with spawned(tmp_path / "logs") as started:
            serve = started.spawn(_serve_short(room))
            url = wait_served(room, serve)
            link = _status(url)["clinic"]
            assert (link["up"], link["room"], link["url"]) == (False, "Room 2", hub.url)
            code, out, _ = cli(capsys, room, "status")
            assert code == 0
            [line] = [line for line in out.splitlines() if line.startswith("CLINIC ")]
            assert line.split(None, 1)[1].startswith(
                f"clinic link down since {link['since']} (the clinic hub at {hub.url} "
                "cannot be reached ("
            )
            hub.start()
            deadline = time.monotonic() + 15
            while not _status(url)["clinic"]["up"]:
                assert time.monotonic() < deadline, _status(url)["clinic"]
                time.sleep(0.1)
            session_id = _status(url)["session_id"]
            deadline = time.monotonic() + 5
            while not store.room_events("Room 2").get(session_id):
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert store.room_events("Room 2")[session_id][0]["type"] == "session_started"
            serve.popen.send_signal(signal.SIGTERM)
            assert serve.wait() == 0
    finally:
        if hub._thread is not None:
            hub.stop()
        store.close()


def make_room_with_clinic(root: Path, url: str, token: str) -> Path:
    from tests.support.clinic import clinic_room

    make_api_room(root)
    settings = (root / "room.yaml").read_text()
    clinic_room(root, url, "Room 2", token)
    with (root / "room.yaml").open("a") as handle:
        handle.write(settings)
    return root


@pytest.mark.usefixtures("pulse_never_started")
def test_the_console_says_no_sound_at_the_start_and_each_change_the_watch_reports(
    capsys: pytest.CaptureFixture[str],
) -> None:
    say = sound_sayer({"music": "default"})
    say_preflight(say, {"music": "default"})
    say({"type": "audio_fault", "output": "music", "why": GONE})  # the watch agrees: once
    say({"type": "phase_started", "phase": "peak"})
    say({"type": "audio_restored", "output": "music", "why": "the server answers again"})
    assert capsys.readouterr().out.splitlines() == [
        f"NO SOUND on music: {GONE}",
        "sound back on music: the server answers again",
    ]
