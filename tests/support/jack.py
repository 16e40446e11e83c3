"""A private, real JACK server for MIDI tests, and virtual ports to talk to the backends.

`jackd --no-realtime -d dummy` with a 128-frame period at 48 kHz (2.7 ms: JACK delivers MIDI
once per period, so the period bounds latency). The server gets a name of its own through
JACK_DEFAULT_SERVER, so a test never touches another JACK server on the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import rtmidi

from tests.support.unavailable import unavailable

PERIOD_FRAMES = 128
RATE = 48000


@dataclass(frozen=True)
class Jack:
    server: str
    pid: int


@pytest.fixture(scope="module")
def jack() -> Iterator[Jack]:
    """A running JACK server (its name set in this process's environment); stopped by PID."""
    if shutil.which("jackd") is None:
        unavailable("jackd (Debian jackd2) is not installed")
    server = f"sns-test-{os.getpid()}-{time.monotonic_ns()}"
    env = {
        **os.environ,
        "JACK_DEFAULT_SERVER": server,
        "JACK_NO_AUDIO_RESERVATION": "1",
        "JACK_NO_START_SERVER": "1",
    }
    args = ["jackd", "--no-realtime", "-d", "dummy", "-r", str(RATE), "-p", str(PERIOD_FRAMES)]
    proc = subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("JACK_DEFAULT_SERVER", server)
            mp.setenv("JACK_NO_START_SERVER", "1")
            waited = subprocess.run(
                ["jack_wait", "--wait", "--timeout", "10"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.poll() is not None or waited.returncode != 0:
                raise RuntimeError(f"jackd did not start: {waited.stdout} {waited.stderr}")
            yield Jack(server, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class VirtualInput:
    """A virtual JACK MIDI input port (what a lighting controller offers) recording arrivals."""

    def __init__(self, port: str, client: str = "test") -> None:
        self.received: list[tuple[float, list[int]]] = []
        self._cond = threading.Condition()
        self._midi: rtmidi.MidiIn | None = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=client)
        self._midi.ignore_types(sysex=False, timing=True, active_sense=True)
        self._midi.set_callback(self._arrived)
        self._midi.open_virtual_port(port)
        self.name = f"{client}:{port}"

    def _arrived(self, event: tuple[list[int], float], _data: object) -> None:
        now = time.monotonic()
        with self._cond:
            self.received.append((now, list(event[0])))
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 2.0) -> list[tuple[float, list[int]]]:
        """The first `count` arrivals, waiting up to `timeout` s for them."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received[:count])

    def close(self) -> None:
        """Remove the port (as unplugging the device would); safe to call twice."""
        if self._midi is not None:
            self._midi.close_port()
            self._midi.delete()
            self._midi = None


class VirtualOutput:
    """A virtual JACK MIDI output port (what a foot switch offers) to send from."""

    def __init__(self, port: str, client: str = "pedal") -> None:
        self._midi: rtmidi.MidiOut | None = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=client)
        self._midi.open_virtual_port(port)
        self.name = f"{client}:{port}"

    def send(self, data: list[int]) -> None:
        assert self._midi is not None, "port closed"
        self._midi.send_message(data)

    def close(self) -> None:
        """Remove the port (as unplugging the device would); safe to call twice."""
        if self._midi is not None:
            self._midi.close_port()
            self._midi.delete()
            self._midi = None
