"""Play a short tone through each configured output and say what was heard there.

Music goes through VlcMusic (libVLC, as a session plays it), chimes through MixerOutput
(SDL, as a chime sounds): the very paths a session uses, not only the device names. Where
PulseAudio is the sound server, every sink's monitor source is recorded (`parec`) while the
tone plays and the tone's level is read on the sink our stream really went to: *heard*
(with the figure), *silent* (the figure, or why: a null sink, a muted sink or stream), or
*missing* (the output would not open). Where nothing can be measured it says *played, not
measured*.

From the daemon it runs in a child process (`python -m setandsetting.backends.soundcheck`):
SDL's audio is one per process, and a sound server that hangs must not hang the daemon.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from setandsetting.backends.base import BackendReport
from setandsetting.backends.pulse import (
    APP_NAMES,
    Server,
    expected_sink,
    is_ours,
    pulse_expected,
    read_server,
    sink_trouble,
    stop_child,
)
from setandsetting.core.room import AudioSettings

RATE = 44100
TONE_HZ = 523.25  # C5: clear on any loudspeaker, far from mains hum
TONE_S = 0.8
TONE_AMPLITUDE = 0.5
LEVEL = 0.5  # -18 dB on the level scale: the tone reaches the sink at about -27 dBFS
HEARD_DB = -50.0  # a tone weaker than this at the sink is not heard in the room
TAIL_S = 0.3  # recorded after the tone, for the output's latency
WINDOW_S = 0.1
CHECK_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class Finding:
    output: str
    device: str
    verdict: str  # heard | silent | missing | played, not measured
    level_db: float | None  # the tone's level on the sink, dBFS
    why: str

    def line(self) -> str:
        return f"{self.output}: {self.verdict} — {self.why}"


def write_tone(path: Path) -> Path:
    """TONE_S of a stereo sine with 20 ms raised-cosine edges, 16-bit WAV."""
    t = np.arange(round(TONE_S * RATE)) / RATE
    tone = TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)
    edge = round(0.02 * RATE)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, edge))
    tone[:edge] *= ramp
    tone[-edge:] *= ramp[::-1]
    pcm = np.round(np.column_stack([tone, tone]) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())
    return path


def tone_level_db(samples: np.ndarray) -> float:
    """The tone's RMS level (dBFS) in its loudest WINDOW_S, read at its own frequency
    (a Hann-windowed DFT bin), so other sound on the sink is not taken for it."""
    x = samples.astype(np.float64).mean(axis=1) if samples.ndim == 2 else samples
    hop = round(WINDOW_S * RATE)
    n = len(x) // hop
    if n == 0:
        return -math.inf
    frames = x[: n * hop].reshape(n, hop) * np.hanning(hop)
    basis = np.exp(-2j * np.pi * TONE_HZ * np.arange(hop) / RATE)
    amplitude = 2 * np.abs(frames @ basis) / np.hanning(hop).sum()
    loudest = float(amplitude.max()) / math.sqrt(2)
    return 20 * math.log10(loudest) if loudest > 0 else -math.inf


class _Monitors:
    """parec on every sink's monitor source, from its creation until stop()."""

    def __init__(self, server: Server) -> None:
        self._recordings: dict[int, bytearray] = {}
        self._procs: list[subprocess.Popen[bytes]] = []
        self._readers: list[threading.Thread] = []
        for sink in server.sinks:
            cmd = ["parec", f"--device={sink.monitor}", "--raw", "--format=s16le"]
            cmd += [f"--rate={RATE}", "--channels=2", "--latency-msec=20"]
            try:
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            except OSError:
                continue
            data = self._recordings[sink.index] = bytearray()
            reader = threading.Thread(target=self._read, args=(proc, data), daemon=True)
            reader.start()
            self._procs.append(proc)
            self._readers.append(reader)

    @staticmethod
    def _read(proc: subprocess.Popen[bytes], data: bytearray) -> None:
        assert proc.stdout is not None
        while chunk := proc.stdout.read1(8192):
            data.extend(chunk)

    def wait_started(self, sink: int | None, timeout: float = 1.0) -> None:
        """Until the recorder of `sink` is streaming (its first bytes are in). An idle
        sink's monitor may give nothing until something plays into it: not waited for."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._recordings.get(sink, b"x"):
            time.sleep(0.01)

    def stop(self) -> dict[int, np.ndarray]:
        """Stop every recorder (by its PID); each sink's recording as (n, 2) float."""
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for reader in self._readers:  # each ends at its recorder's end of file
            reader.join(timeout=2)
        for proc in self._procs:
            stop_child(proc)
        out = {}
        for index, data in self._recordings.items():
            usable = len(data) - len(data) % 4
            pcm = np.frombuffer(bytes(data[:usable]), dtype="<i2").reshape(-1, 2)
            out[index] = pcm.astype(np.float32) / 32768.0
        return out


def _play_music(device: str, tone: Path, during: Callable[[], None]) -> str | None:
    """The tone through VlcMusic; libVLC's complaint, or None. `during()` is called once
    the stream should be up."""
    from setandsetting.backends.vlc_music import VlcMusic

    heard: list[BackendReport] = []
    music = VlcMusic(heard.append, output=device, voices=1)
    try:
        music.play(0, tone, 0.0, None)
        music.set_level(0, LEVEL)
        t0 = time.monotonic()
        asked = False
        while time.monotonic() - t0 < TONE_S + TAIL_S:
            music.poll()
            if not asked and time.monotonic() - t0 > TONE_S / 2:
                asked = True
                during()
            time.sleep(0.04)
    finally:
        music.close()
    faults = [r.message for r in heard if r.kind in ("audio_fault", "error")]
    return faults[0] if faults else None


def _play_chime(output: str, device: str, tone: Path, during: Callable[[], None]) -> str | None:
    """The tone through SDL as a chime; SDL's complaint, or None."""
    from setandsetting.backends.pygame_mixer import ChimeError, MixerOutput

    mixer = MixerOutput(None if device == "default" else device, APP_NAMES[output])
    try:
        mixer.open()
        mixer.play(str(tone), LEVEL)
        time.sleep(TONE_S / 2)
        during()
        time.sleep(TONE_S / 2 + TAIL_S)
    except ChimeError as exc:
        return str(exc)
    finally:
        mixer.close()
    return None


def check_output(output: str, device: str, tone: Path, pulse: bool) -> Finding:
    """Play the tone through one output and judge what reached its sink."""
    server = read_server() if pulse else None
    seen: list[Server | None] = []

    def during() -> None:  # which sink our stream went to, while it plays
        if server is not None:
            seen.append(read_server())

    monitors = None if server is None else _Monitors(server)
    try:
        if monitors is not None and server is not None:
            expected = server.sink(expected_sink(device) or server.default_sink or "")
            monitors.wait_started(None if expected is None else expected.index)
        if output == "music":
            complaint = _play_music(device, tone, during)
        else:
            complaint = _play_chime(output, device, tone, during)
    finally:
        recordings = monitors.stop() if monitors is not None else {}
    if complaint is not None:
        return Finding(output, device, "missing", None, complaint)
    if server is None:
        why = (
            "the PulseAudio sound server is not answering, nothing could listen"
            if pulse
            else "no PulseAudio sound server here to listen on"
        )
        return Finding(output, device, "played, not measured", None, why)
    now = seen[0] if seen and seen[0] is not None else server
    streams = [s for s in now.streams if s.app == APP_NAMES[output] and is_ours(s.pid)]
    if streams:
        sink = next((s for s in now.sinks if s.index == streams[0].sink), None)
    else:
        name = expected_sink(device) or now.default_sink
        sink = None if name is None else now.sink(name)
    if sink is None or sink.index not in recordings:
        return Finding(output, device, "played, not measured", None, "its sink was not found")
    level = tone_level_db(recordings[sink.index])
    figure = f"{level:.1f} dBFS" if math.isfinite(level) else "no sound"
    trouble = "PulseAudio has its stream muted" if any(s.mute for s in streams) else None
    trouble = trouble or sink_trouble(sink)
    if trouble is not None:
        why = f"{trouble} (its monitor: {figure})"
        return Finding(output, device, "silent", _finite(level), why)
    if level < HEARD_DB:
        why = f"{figure} on {sink.description!r} (heard means above {HEARD_DB:g} dBFS)"
        return Finding(output, device, "silent", _finite(level), why)
    return Finding(output, device, "heard", level, f"{figure} on {sink.description!r}")


def _finite(level: float) -> float | None:
    return level if math.isfinite(level) else None


def check_here(outputs: dict[str, str]) -> list[Finding]:
    """Each output (name -> device) tested in this process, one after another."""
    pulse = pulse_expected()
    with tempfile.TemporaryDirectory(prefix="sas-tone-") as tmp:
        tone = write_tone(Path(tmp) / "tone.wav")
        return [check_output(o, d, tone, pulse) for o, d in outputs.items()]


def check(outputs: dict[str, str], timeout: float = CHECK_TIMEOUT_S) -> list[Finding]:
    """check_here in a child process; every output missing when the child fails or hangs."""
    cmd = [sys.executable, "-m", __name__, json.dumps(outputs)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        found = json.loads(done.stdout.strip().splitlines()[-1])
        return [Finding(**f) for f in found]
    except subprocess.TimeoutExpired:
        why = f"the sound system did not answer within {timeout:g} s"
    except (ValueError, IndexError, TypeError):
        why = "the sound check failed"
    return [Finding(o, d, "missing", None, why) for o, d in outputs.items()]


def configured(audio: AudioSettings, only: str | None = None) -> dict[str, str]:
    """The outputs room.yaml's audio settings configure (output -> device), or only the
    one named. Raises ValueError for an output that is not configured."""
    outputs = audio.outputs()
    if only is None:
        return outputs
    if only not in outputs:
        known = ", ".join(outputs)
        if only == "staff_chimes":
            raise ValueError(f"room.yaml names no staff_chimes output (configured: {known})")
        raise ValueError(f"no output {only!r}: one of {known}")
    return {only: outputs[only]}


if __name__ == "__main__":
    findings = check_here(json.loads(sys.argv[1]))
    print(json.dumps([asdict(f) for f in findings]), flush=True)
