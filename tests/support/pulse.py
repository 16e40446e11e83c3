"""A private PulseAudio server whose output the test can record (the real audio path).

The server runs with `-n` (no default.pa), a private runtime dir and socket, a null sink
and a `module-pipe-sink` that writes s16le/44.1 kHz/stereo into a FIFO, clocked by the
system clock. A thread drains the FIFO for the fixture's whole life so PulseAudio never
blocks; `start_recording()`/`stop_recording()` keep only what arrived in between.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.unavailable import unavailable

RATE = 44100
CHANNELS = 2
PIPE_SINK = "capture"
_FRAME_BYTES = 2 * CHANNELS


class PulseCapture:
    """One PulseAudio server (started and stopped by PID) plus a FIFO reader thread."""

    rate = RATE

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runtime = root / "runtime"
        self.runtime.mkdir(mode=0o700)
        self.socket = self.runtime / "native"
        self.fifo = root / "capture.fifo"
        self.env: dict[str, str] = {
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_SINK": PIPE_SINK,
            "PULSE_RUNTIME_PATH": str(self.runtime),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "PULSE_STATE_PATH": str(root / "state"),
            "PULSE_CONFIG_PATH": str(root / "config"),
            "SDL_AUDIODRIVER": "pulseaudio",
        }
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._recording: bytearray | None = None
        self._closing = threading.Event()
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        """Start the server, wait until `pactl info` answers, start draining the FIFO."""
        self._spawn()
        self._reader = threading.Thread(target=self._drain, name="pulse-fifo", daemon=True)
        self._reader.start()

    def _spawn(self) -> None:
        pipe_args = (
            f"sink_name={PIPE_SINK} file={self.fifo} format=s16le rate={RATE} "
            f"channels={CHANNELS} use_system_clock_for_timing=yes"
        )
        cmd = [
            shutil.which("pulseaudio") or "pulseaudio",
            "-n",
            "--daemonize=no",
            "--system=no",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "--use-pid-file=no",
            "--log-target=stderr",
            "--log-level=error",
            "-L",
            f"module-native-protocol-unix socket={self.socket} auth-anonymous=1",
            "-L",
            "module-null-sink sink_name=silent",
            "-L",
            f"module-pipe-sink {pipe_args}",
        ]
        env = {**os.environ, **self.env, "HOME": str(self.root)}
        with open(self.root / "pulseaudio.log", "ab") as log:
            self._proc = subprocess.Popen(
                cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log
            )
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                log = (self.root / "pulseaudio.log").read_text(errors="replace")
                raise RuntimeError(f"pulseaudio exited with {self._proc.returncode}: {log}")
            probe = subprocess.run(
                ["pactl", "info"], env=env, capture_output=True, timeout=5, check=False
            )
            if probe.returncode == 0:
                subprocess.run(
                    ["pactl", "set-default-sink", PIPE_SINK], env=env, timeout=5, check=False
                )
                return
            time.sleep(0.05)
        self._kill()
        raise RuntimeError("pulseaudio did not answer `pactl info` within 10 s")

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=3)
        self._proc = None

    def streams(self) -> int:
        """How many playback streams (sink inputs) clients have open on the server now."""
        env = {**os.environ, **self.env}
        listed = subprocess.run(
            ["pactl", "list", "short", "sink-inputs"],
            env=env,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
        return len(listed.stdout.splitlines())

    def stop(self) -> None:
        """Kill the server by its PID, as a crash would; restart() starts a new one."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=3)
            self._proc = None

    def restart(self) -> None:
        """Kill the server (as a crash would) and start a new one on the same socket."""
        self.stop()
        self._spawn()

    def _drain(self) -> None:
        """Read the FIFO until closed; reopen after a server restart recreates the writer."""
        while not self._closing.is_set():
            if not self.fifo.exists():
                time.sleep(0.01)
                continue
            fd = os.open(self.fifo, os.O_RDONLY)
            try:
                while chunk := os.read(fd, 16384):
                    with self._lock:
                        if self._recording is not None:
                            self._recording.extend(chunk)
            finally:
                os.close(fd)

    def start_recording(self) -> None:
        with self._lock:
            self._recording = bytearray()

    def stop_recording(self) -> np.ndarray:
        """What arrived since start_recording(), as float32 (n, 2) in [-1, 1]."""
        with self._lock:
            data = bytes(self._recording or b"")
            self._recording = None
        usable = len(data) - len(data) % _FRAME_BYTES
        samples = np.frombuffer(data[:usable], dtype="<i2").reshape(-1, CHANNELS)
        return (samples.astype(np.float32) / 32768.0).copy()

    def close(self) -> None:
        self._closing.set()
        self._kill()
        if self._reader is not None and self.fifo.exists():
            # Unblock a reader waiting in open(): open the write end once ourselves.
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
                os.close(fd)
            except OSError:
                pass
            self._reader.join(timeout=2)


@pytest.fixture
def pulse(monkeypatch: pytest.MonkeyPatch) -> Iterator[PulseCapture]:
    """A private PulseAudio server with a recordable pipe sink, set in os.environ."""
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None:
        unavailable("pulseaudio and pactl are needed for the real audio path")
    root = Path(tempfile.mkdtemp(prefix="sas-pulse-"))
    capture = PulseCapture(root)
    try:
        capture.start()
        for key, value in capture.env.items():
            monkeypatch.setenv(key, value)
        yield capture
    finally:
        capture.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pulse_never_started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """PulseAudio installed (the Debian package is) but no server: no socket, no autospawn."""
    assert shutil.which("pulseaudio"), "the pulseaudio package is installed here"
    for key in ("PULSE_SERVER", "PULSE_RUNTIME_PATH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # no socket there
    (tmp_path / "client.conf").write_text("autospawn = no\n")
    monkeypatch.setenv("PULSE_CLIENTCONFIG", str(tmp_path / "client.conf"))
