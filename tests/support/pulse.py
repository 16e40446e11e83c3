"""A private PulseAudio server whose output the test can record (the real audio path).

The server runs with `-n` (no default.pa), a private runtime dir and socket, a null sink
and a `module-pipe-sink` (the default: a sink the sound-server watch takes for a real
output, where a null sink would be "no loudspeaker") that writes 44.1 kHz into a FIFO,
clocked by the system clock. A thread drains the FIFO and throws it away: that path loses
samples whenever the reader is late (1.2-1.5 ms a second in this test process, measured),
so a recording is not taken from it. `parec`, a process of its own, records the pipe
sink's monitor instead, which holds every frame the sink rendered (within 0.15 ms a
second of the system clock, measured); `start_recording()`/`stop_recording()` keep only
what arrived in between.

The pipe sink renders one PIPE_BUF (4096 bytes) at a time and cannot rewind, so its frame
size sets how coarsely it takes the clients' streams: s16 stereo would be 1024 frames
(23.2 ms), a quantum the capture would add to every onset it measures. It is float32 with
two silent aux channels beside the stereo pair instead (16 bytes a frame: 256 frames,
5.8 ms), and `stop_recording()` keeps only the stereo pair.
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
CHANNELS = 2  # what stop_recording() returns
PIPE_SINK = "capture"
_SINK_CHANNELS = 4  # the stereo pair, then two aux channels nobody plays into
_FRAME_BYTES = 4 * _SINK_CHANNELS  # float32le


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
        self._recorder: threading.Thread | None = None
        self._parec: subprocess.Popen[bytes] | None = None
        self._hearing = threading.Event()  # parec's first bytes of this server have come

    def start(self) -> None:
        """Start the server, wait until `pactl info` answers, start draining the FIFO and
        recording the monitor; return once the recorder hears the server."""
        self._spawn()
        self._reader = threading.Thread(target=self._drain, name="pulse-fifo", daemon=True)
        self._reader.start()
        self._recorder = threading.Thread(target=self._record, name="pulse-parec", daemon=True)
        self._recorder.start()
        self._wait_hearing()

    def _wait_hearing(self) -> None:
        if not self._hearing.wait(10.0):
            raise RuntimeError("parec heard nothing from the capture sink's monitor in 10 s")

    def _spawn(self) -> None:
        pipe_args = (
            f"sink_name={PIPE_SINK} file={self.fifo} format=float32le rate={RATE} "
            f"channels={_SINK_CHANNELS} channel_map=front-left,front-right,aux0,aux1 "
            "use_system_clock_for_timing=yes"
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
            self._hearing.clear()
            self._proc.kill()
            self._proc.wait(timeout=3)
            self._proc = None

    def restart(self) -> None:
        """Kill the server (as a crash would) and start a new one on the same socket."""
        self.stop()
        self._spawn()
        self._wait_hearing()

    def _drain(self) -> None:
        """Empty the FIFO until closed (so the sink never blocks); reopen after a server
        restart recreates the writer."""
        while not self._closing.is_set():
            if not self.fifo.exists():
                time.sleep(0.01)
                continue
            fd = os.open(self.fifo, os.O_RDONLY)
            try:
                while os.read(fd, 65536):
                    pass
            finally:
                os.close(fd)

    def _record(self) -> None:
        """Run parec on the capture sink's monitor, again after each server restart."""
        env = {**os.environ, **self.env}
        cmd = [
            shutil.which("parec") or "parec",
            f"--device={PIPE_SINK}.monitor",
            "--raw",
            "--format=float32le",
            f"--rate={RATE}",
            f"--channels={_SINK_CHANNELS}",
            "--channel-map=front-left,front-right,aux0,aux1",
            "--latency-msec=5",
        ]
        while not self._closing.is_set():
            if self._proc is None or self._proc.poll() is not None:
                time.sleep(0.01)
                continue
            self._parec = subprocess.Popen(
                cmd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            assert self._parec.stdout is not None
            while chunk := self._parec.stdout.read1(65536):
                self._hearing.set()
                with self._lock:
                    if self._recording is not None:
                        self._recording.extend(chunk)
            self._parec.wait()
            time.sleep(0.01)

    def start_recording(self) -> None:
        with self._lock:
            self._recording = bytearray()

    def stop_recording(self) -> np.ndarray:
        """What arrived since start_recording(), as float32 (n, 2) in [-1, 1]."""
        with self._lock:
            data = bytes(self._recording or b"")
            self._recording = None
        usable = len(data) - len(data) % _FRAME_BYTES
        samples = np.frombuffer(data[:usable], dtype="<f4").reshape(-1, _SINK_CHANNELS)
        return np.clip(samples[:, :CHANNELS], -1.0, 1.0)

    def close(self) -> None:
        self._closing.set()
        self._kill()
        if self._parec is not None and self._parec.poll() is None:
            self._parec.kill()
        if self._recorder is not None:
            self._recorder.join(timeout=2)
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
