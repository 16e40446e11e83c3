"""A private, real JACK server for MIDI tests, and virtual ports to talk to the backends.

`jackd --no-realtime --sync -d dummy` with a 128-frame period at 48 kHz (2.7 ms: JACK delivers
MIDI once per period, so the period bounds latency). The server gets a name of its own through
JACK_DEFAULT_SERVER, so a test never touches another JACK server on the machine.

Why `--sync`: in JACK2's default asynchronous mode a cycle reads each client's output from
the cycle before, so a client not yet run (here, without realtime scheduling on 2 busy
cores) loses or repeats its events for that cycle. Measured here with 2,000 CC messages:
0 or 1 lost per run on an idle machine, up to 22 under load; 0 in sync mode. A test must
see what our code sent.

Why receivers poll: rtmidi runs an input callback in JACK's process thread, and a Python
callback there waits for the GIL. A synchronous server waits for that client, and under
load dropped it from the graph ("zombified"): its port vanished mid-test. Polling
rtmidi's own queue keeps Python out of JACK's thread.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
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
    args = ["jackd", "--no-realtime", "--sync", "-d", "dummy"]
    args += ["-r", str(RATE), "-p", str(PERIOD_FRAMES)]
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
            favour(proc.pid)
            yield Jack(server, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def favour(pid: int, tid: int | None = None) -> None:
    """Run a JACK server (every thread of `pid`) or one receiving thread ahead of other
    work, as a realtime MIDI server and a lighting controller run: on 2 shared cores a busy
    neighbour otherwise delays a cycle by a whole timeslice (~20 ms), and the test would
    measure the neighbour, not our code. Without the right to renice, nothing changes."""
    with contextlib.suppress(OSError):
        tasks = [tid] if tid is not None else [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        for task in tasks:
            os.setpriority(os.PRIO_PROCESS, task, -10)


class VirtualInput:
    """A virtual JACK MIDI input port (what a lighting controller offers) recording arrivals.

    A thread polls rtmidi's queue every POLL_S, so an arrival's stamp is at most that late;
    `on_arrival(stamp, data)`, if given, hears each arrival from that thread.
    """

    POLL_S = 0.0005

    def __init__(
        self,
        port: str,
        client: str = "test",
        on_arrival: Callable[[float, list[int]], None] | None = None,
    ) -> None:
        self.received: list[tuple[float, list[int]]] = []
        self._on_arrival = on_arrival
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._midi: rtmidi.MidiIn | None = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name=client)
        self._midi.ignore_types(sysex=False, timing=True, active_sense=True)
        self._midi.open_virtual_port(port)
        self.name = f"{client}:{port}"
        self._poller = threading.Thread(target=self._poll, args=(self._midi,), daemon=True)
        self._poller.start()

    def _poll(self, midi: rtmidi.MidiIn) -> None:
        favour(os.getpid(), threading.get_native_id())
        while not self._stop.is_set():
            event = midi.get_message()
            if event is None:
                time.sleep(self.POLL_S)
                continue
            stamp, data = time.monotonic(), list(event[0])
            with self._cond:
                self.received.append((stamp, data))
                self._cond.notify_all()
            if self._on_arrival is not None:
                self._on_arrival(stamp, data)

    def wait_for(self, count: int, timeout: float = 2.0) -> list[tuple[float, list[int]]]:
        """The first `count` arrivals, waiting up to `timeout` s for them."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received[:count])

    def close(self) -> None:
        """Remove the port (as unplugging the device would); safe to call twice."""
        if self._midi is not None:
            self._stop.set()
            self._poller.join(timeout=2)
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
