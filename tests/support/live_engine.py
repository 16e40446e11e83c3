"""A real Engine with recording music/chimes and the room's real cue devices, for cue tests.

The music and chimes write down each call against the engine's own session clock; cues go
through the real CueRouter (MIDI on JACK, OSC over UDP) built from a Room model, exactly as
the session runner builds them. The engine's events are collected as journal dicts.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from setandsetting.backends.recording import RecordingChimes, RecordingMusic
from setandsetting.core.room import Room
from setandsetting.core.timeline import Timeline
from setandsetting.engine.conductor import Devices
from setandsetting.engine.devices import cue_router
from setandsetting.engine.engine import Engine
from setandsetting.engine.rehearsal import rehearse

_RECEIVER = """
import contextlib, os, sys
from tests.support.jack import VirtualInput
with contextlib.suppress(OSError):
    os.nice(-10)  # a lighting controller does not queue behind the test suite's work
def show(stamp, data):
    print(repr(stamp), *data, flush=True)
port = VirtualInput(sys.argv[1], sys.argv[2], on_arrival=show)
print("ready", flush=True)
sys.stdin.read()
port.close()
"""
REPO = Path(__file__).resolve().parents[2]  # the child imports tests.support.jack


class MidiReceiver:
    """A lighting controller's MIDI input port, in a process of its own.

    In its own process because that is what a real controller is, and so that its polling
    (see tests/support/jack.py) does not compete for the engine's GIL. Arrivals are
    stamped with time.monotonic(), which is system-wide, so they compare with the plan.
    Stopping the process removes the port, as unplugging the device would.
    """

    def __init__(self, port: str, client: str = "test") -> None:
        self.name = f"{client}:{port}"
        self.received: list[tuple[float, list[int]]] = []
        self._cond = threading.Condition()
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _RECEIVER, port, client],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        first = self._proc.stdout.readline()
        if first.strip() != "ready":
            self._proc.kill()
            self._proc.wait(timeout=5)
            raise RuntimeError(f"the MIDI receiver did not start: {first!r}")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            stamp, *data = line.split()
            with self._cond:
                self.received.append((float(stamp), [int(b) for b in data]))
                self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 2.0) -> list[tuple[float, list[int]]]:
        """The first `count` arrivals, waiting up to `timeout` s for them."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received[:count])

    def close(self) -> None:
        """Remove the port and end the process (by its PID); safe to call twice."""
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        if self._reader.is_alive():
            self._reader.join(timeout=2)


DEVICE_EVENTS = ("error", "device_back", "audio_fault", "audio_restored")  # a real device's own


@dataclass
class Live:
    engine: Engine
    music: RecordingMusic
    chimes: RecordingChimes
    events: list[dict[str, Any]] = field(default_factory=list)
    mono0: float = 0.0  # time.monotonic() at session time 0
    seen: list[float] = field(default_factory=list)  # time.monotonic() of each event
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def at(self, t: float) -> float:
        """The monotonic time of session time t."""
        return self.mono0 + t

    def sleep_until(self, t: float) -> None:
        time.sleep(max(0.0, self.at(t) - time.monotonic()))

    def submit(self, text: str) -> tuple[list[dict[str, Any]], float]:
        """Apply a control as a clinician would; returns its events and the round trip (s)."""
        from setandsetting.core.controls import parse_control

        start = time.monotonic()
        events = self.engine.submit(parse_control(text))
        return events, time.monotonic() - start

    def wait_event(self, kind: str, timeout: float = 3.0) -> dict[str, Any]:
        """The first event of a type, waiting for it."""
        with self._cond:
            self._cond.wait_for(lambda: any(e["type"] == kind for e in self.events), timeout)
            found = [e for e in self.events if e["type"] == kind]
        assert found, f"no {kind} event within {timeout} s: {[e['type'] for e in self.events]}"
        return found[0]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        with self._cond:
            return [e for e in self.events if e["type"] == kind]

    def _collect(self, event: dict[str, Any]) -> None:
        with self._cond:
            self.events.append(event)
            self.seen.append(time.monotonic())
            self._cond.notify_all()


@contextmanager
def live_engine(
    timeline: Timeline, room: Room, midi_api: str = "UNIX_JACK", connect_s: float = 3.0
) -> Iterator[Live]:
    """A started engine whose MIDI outputs are connected; stopped (and closed) on exit."""
    clock: list[Engine] = []
    music = RecordingMusic(lambda: clock[0].now() if clock else 0.0)
    chimes = RecordingChimes(lambda: clock[0].now() if clock else 0.0)
    devices = Devices(music, chimes, None)
    engine = Engine(timeline, devices)
    clock.append(engine)
    devices.cues = cue_router(room, engine.report, midi_api)
    live = Live(engine, music, chimes)
    try:
        if devices.cues is not None:
            assert devices.cues.wait_connected(connect_s), "MIDI outputs did not connect"
        engine.subscribe(live._collect)
        live.mono0 = time.monotonic() - engine.now()
        engine.start()
    except BaseException:
        devices.close()
        raise
    try:
        yield live
    finally:
        engine.stop()  # closes the devices


def comparable(events: list[dict[str, Any]]) -> list[tuple[str, float, dict[str, Any]]]:
    """Events as (type, t, data) without what only the live engine adds: device errors and
    its `control` records (a rehearsal applies the same controls without journaling them)."""
    out = []
    ends = [i for i, e in enumerate(events) if e["type"] == "session_ended"]
    for e in events[: ends[0] + 1] if ends else events:  # then only the test's teardown
        if e["type"] in (*DEVICE_EVENTS, "control"):
            continue
        data = {k: v for k, v in e.items() if k not in ("type", "t", "wall")}
        out.append((e["type"], e["t"], data))
    return out


def rehearsed_like(timeline: Timeline, live: Live) -> list[tuple[str, float, dict[str, Any]]]:
    """A rehearsal with the live engine's controls at the same moments of the session.

    The live session starts a few ms after the engine's clock does (t0); the rehearsal
    starts at 0, so its controls are moved by -t0 and its times by +t0. Only for sessions
    whose event data hold no absolute session times (phase_advanced, phase_extended do).
    """
    from setandsetting.engine.resume import control_from_event

    t0 = live.of_type("session_started")[0]["t"]
    controls = [(e["t"] - t0, control_from_event(e)) for e in live.of_type("control")]
    result = rehearse(timeline, controls)
    shifted = [e.to_dict() | {"t": round(e.t + t0, 3)} for e in result.events]
    return comparable(shifted)


def same_times(
    got: list[tuple[str, float, dict[str, Any]]], want: list[tuple[str, float, dict[str, Any]]]
) -> bool:
    """Equal but for the millisecond rounding of times shifted by t0."""
    return len(got) == len(want) and all(
        g[0] == w[0] and g[2] == w[2] and abs(g[1] - w[1]) <= 0.0015
        for g, w in zip(got, want, strict=True)
    )
