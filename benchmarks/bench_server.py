"""The room daemon's figures: control round trip, and chime timing under web load.

    .venv/bin/python benchmarks/bench_server.py [--requests N] [--chimes N]

Everything runs against the real app on a real uvicorn on 127.0.0.1 (ephemeral port), with
a real SessionRunner and Engine in a temporary room folder with its own journal; the music
is a recording backend (silent), the chimes are the real pygame backend playing into a
private PulseAudio server whose output is captured.

(a) Control round trip: N (default 300) POST /api/control (notes and ±1 % level nudges,
    alternating) over one keep-alive connection; each returns only once the engine has
    applied the control and journaled it (synchronous=FULL). p50 / p99 / max.
    Goal p99 <= 10 ms.
(b) Chime timing: a session of N (default 80) patient check-ins 0.5 s apart (a wood block
    each), first with no web clients, then while a separate load process (started here,
    stopped by PID) holds 100 SSE clients open and sends 20 controls a second. Measured
    twice per chime: as heard (the onset in the capture against its plan, from the
    median latency, as bench_engine measures) and at the engine's play call (from the
    planned moment on the engine's monotonic clock). Goal: the heard p99 under load no
    worse than 1.2x idle. The play-call figures show what the load costs the engine
    itself (well under a millisecond idle, so their ratio is a ratio of small numbers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from setandsetting.backends.base import Report
from setandsetting.backends.pygame_chimes import PygameChimes
from setandsetting.backends.recording import RecordingMusic
from setandsetting.cli.serve import GIL_SWITCH_S
from setandsetting.core.room import Room
from setandsetting.engine.conductor import Devices
from setandsetting.engine.runner import SessionRunner
from setandsetting.room.folder import RoomFolder
from setandsetting.server.app import ServerSettings, create_app
from tests.backends.test_pygame_chimes import onset_errors_ms, onsets
from tests.support.audio_analysis import match_onsets
from tests.support.daemon import make_api_room, served
from tests.support.pulse import PulseCapture

CSRF = {"X-CSRF-Token": "bench", "Cookie": "sas_csrf=bench"}
SSE_CLIENTS = 100
CONTROLS_PER_S = 20.0
SPACING_S = 0.5
FIRST_S = 1.0
LOAD_NICE = 10


def chime_profile(count: int) -> str:
    offsets = ", ".join(f"{FIRST_S + SPACING_S * i:g}s" for i in range(count))
    return (
        "name: Chimes\nphases:\n  - id: only\n    duration: 10m\n"
        "    music: {slot: calm, order: sequential, loop: true}\n    level: 40%\n"
        f"    checkins:\n      - {{at: [{offsets}], kind: breath, message: Breathe, "
        "audience: patient, sound: wood, level: 80%}\n"
    )


def stats(values_ms: list[float]) -> str:
    a = np.asarray(values_ms)
    p50, p99 = np.percentile(a, [50, 99])
    return f"p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   max {a.max():6.2f} ms   (n={len(a)})"


def _control(i: int) -> dict[str, str]:
    if i % 2 == 0:
        return {"action": "note", "value": f"bench {i}"}
    return {"action": "level", "value": "+1%" if i % 4 == 1 else "-1%"}


def round_trip(url: str, requests: int) -> list[float]:
    out = []
    with httpx2.Client(base_url=url, headers=CSRF, timeout=10) as http:
        http.post("/api/session", json={"patient": "P-0042", "profile": "short"})
        for i in range(requests):
            started = time.perf_counter()
            r = http.post("/api/control", json=_control(i))
            out.append((time.perf_counter() - started) * 1000)
            if r.status_code != 200:
                raise SystemExit(f"control refused: {r.text}")
        http.post("/api/control", json={"action": "stop"})
    return out


def submit_only(runner: SessionRunner, requests: int) -> list[float]:
    """The same controls straight into Engine.submit: what HTTP adds is the difference."""
    from setandsetting.core.controls import parse_control

    engine = runner.start(runner.folder.profile_path("short"), "P-0042")
    out = []
    for i in range(requests):
        body = _control(i)
        control = parse_control(f"{body['action']} {body['value']}")
        started = time.perf_counter()
        engine.submit(control)
        out.append((time.perf_counter() - started) * 1000)
    engine.stop()
    return out


class Heard:
    """Devices for the chime sessions: silent music, real pygame chimes into the bench's
    PulseAudio capture, each play call's monotonic time written down."""

    def __init__(self) -> None:
        self.plays: list[float] = []

    def factory(self, room: Room, report: Report, sounds_dir: Path) -> Devices:
        plays = self.plays

        class Timed(PygameChimes):
            def play(self, sound: str | Path, level: float, audience: str) -> None:
                plays.append(time.monotonic())
                super().play(sound, level, audience)

        return Devices(RecordingMusic(time.monotonic), Timed(report, sounds_dir=sounds_dir))


def chime_session(
    url: str, runner: SessionRunner, heard: Heard, pulse: PulseCapture, count: int
) -> tuple[list[float], list[float]]:
    """One session of `count` chimes: (delay of each play call after its planned moment,
    error of each heard onset against plan from the median latency), in ms."""
    pulse.start_recording()
    try:
        delays, due = chime_delays(url, runner, heard, count)
    finally:
        audio = pulse.stop_recording()
    found = onsets(audio, pulse.rate)
    matched = match_onsets(due, found)
    pairs = [(d, f) for d, f in zip(due, matched, strict=True) if f is not None]
    if len(pairs) < len(due):
        print(f"    ({len(due) - len(pairs)} of {len(due)} chimes not heard apart)")
    errors = onset_errors_ms([d for d, _ in pairs], [f for _, f in pairs])
    median = float(np.median(errors))
    return delays, [abs(e - median) for e in errors]


def chime_delays(
    url: str, runner: SessionRunner, recorded: Heard, count: int
) -> tuple[list[float], list[float]]:
    """Delay (ms) of each chime's play call after its planned moment, and the planned
    moments (session s), for one session of `count`."""
    before = len(recorded.plays)
    with httpx2.Client(base_url=url, headers=CSRF, timeout=10) as http:
        r = http.post("/api/session", json={"patient": "P-0042", "profile": "chimes"})
        if r.status_code != 201:
            raise SystemExit(f"session not started: {r.text}")
        engine = runner.engine
        assert engine is not None
        mono0 = time.monotonic() - engine.now()
        deadline = time.monotonic() + FIRST_S + SPACING_S * count + 5
        while len(recorded.plays) - before < count and time.monotonic() < deadline:
            time.sleep(0.1)
        http.post("/api/control", json={"action": "stop"})
    engine.join(10)
    assert runner.session_id is not None
    due = [e["t"] for e in runner.journal.events(runner.session_id) if e["type"] == "checkin_due"]
    plays = recorded.plays[before : before + count]
    return [(p - (mono0 + t)) * 1000 for p, t in zip(plays, due, strict=False)], due


def start_load(url: str, seconds: float) -> subprocess.Popen[bytes]:
    """The web clients, in their own process at nice 10: in the room they are tablets and
    laptops, not this machine's CPU; niced, they compete less with what is measured."""
    cmd = [sys.executable, __file__, "--load", url, "--seconds", str(seconds)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, preexec_fn=lambda: os.nice(LOAD_NICE))


def finish(proc: subprocess.Popen[bytes], seconds: float) -> str:
    """Wait for the load process to end by itself (it is bounded); else stop it by PID."""
    try:
        out, _ = proc.communicate(timeout=seconds + 10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=5)
    return out.decode().strip()


# ---------------------------------------------------------------- the load process


async def _sse_client(host: str, port: int, counts: list[int], stop_at: float) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET /api/events HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    await writer.drain()
    try:
        while time.monotonic() < stop_at:
            try:
                chunk = await asyncio.wait_for(reader.read(65536), stop_at - time.monotonic())
            except TimeoutError:
                break
            if not chunk:
                break
            counts[0] += chunk.count(b"event: ")
    finally:
        writer.close()


async def _controls(host: str, port: int, counts: list[int], stop_at: float) -> None:
    async with httpx2.AsyncClient(base_url=f"http://{host}:{port}", headers=CSRF) as http:
        i = 0
        while time.monotonic() < stop_at:
            i += 1
            await http.post("/api/control", json={"action": "note", "value": f"load {i}"})
            counts[1] += 1
            await asyncio.sleep(1 / CONTROLS_PER_S)


async def load(url: str, seconds: float) -> None:
    parts = httpx2.URL(url)
    host, port = parts.host, parts.port or 80
    stop_at = time.monotonic() + seconds
    counts = [0, 0]
    tasks = [_sse_client(host, port, counts, stop_at) for _ in range(SSE_CLIENTS)]
    tasks.append(_controls(host, port, counts, stop_at))
    await asyncio.gather(*tasks, return_exceptions=True)
    cpu = time.process_time()
    summary = {"sse_messages": counts[0], "controls": counts[1], "cpu_s": round(cpu, 1)}
    print(json.dumps(summary), flush=True)


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--chimes", type=int, default=80)
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=30.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        asyncio.run(load(args.load, min(args.seconds, 120.0)))
        return 0
    requests, chimes = max(200, args.requests), max(10, min(args.chimes, 200))
    sys.setswitchinterval(GIL_SWITCH_S)  # as `serve` runs
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        root = make_api_room(Path(tmp) / "room")
        (root / "profiles" / "chimes.yaml").write_text(chime_profile(chimes))
        (Path(tmp) / "pulse").mkdir()
        pulse = PulseCapture(Path(tmp) / "pulse")
        pulse.start()
        os.environ.update(pulse.env)
        folder = RoomFolder(root)
        heard = Heard()
        runner = SessionRunner(folder, devices=heard.factory, midi_input=False)
        app = create_app(folder, runner, ServerSettings())
        try:
            with served(app) as url:
                print(f"(a) control round trip, {requests} requests, one keep-alive connection")
                print(f"    HTTP:    {stats(round_trip(url, requests))}   goal p99 <= 10 ms")
                if runner.engine is not None:
                    runner.engine.join(10)
                print(f"    submit:  {stats(submit_only(runner, requests))}   (no HTTP)")
                print(f"(b) {chimes} chimes 0.5 s apart: idle, then under web load")
                idle, idle_heard = chime_session(url, runner, heard, pulse, chimes)
                seconds = 2.0 + FIRST_S + SPACING_S * chimes + 2.0
                proc = start_load(url, seconds)
                try:
                    time.sleep(2.0)  # let the 100 clients connect
                    busy, busy_heard = chime_session(url, runner, heard, pulse, chimes)
                finally:
                    done = finish(proc, seconds)
                print(
                    f"    load: {SSE_CLIENTS} SSE clients, {CONTROLS_PER_S:g} controls/s "
                    f"(own process, nice {LOAD_NICE}): {done}"
                )
                print("    the chime as heard (PulseAudio capture, error from the median):")
                print(f"      idle:    {stats(idle_heard)}")
                print(f"      loaded:  {stats(busy_heard)}")
                ratio = np.percentile(busy_heard, 99) / max(np.percentile(idle_heard, 99), 1e-3)
                print(f"      p99 loaded / idle = {ratio:.2f}x   goal <= 1.2x")
                print("    the engine's play call, after the planned moment:")
                print(f"      idle:    {stats(idle)}")
                print(f"      loaded:  {stats(busy)}")
                ratio = np.percentile(busy, 99) / max(np.percentile(idle, 99), 1e-3)
                print(f"      p99 loaded / idle = {ratio:.2f}x")
        finally:
            runner.close()
            pulse.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
