"""Chimes through pygame.mixer, the patient's and the staff's on different devices.

Each output's mixer runs in a small process of its own (backends/pygame_mixer.py says why:
a PulseAudio buffer that does not underrun, and no GIL on SDL's audio thread). The engine
thread writes one JSON line per request to its stdin, which costs microseconds and cannot
be slowed by anything in this process; what the process says (a device lost or back, a
sound that would not load) comes back as reports. The staff chimes share the patient's
process when they name the same device; without a named staff device they are left to
the web UI.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from setandsetting.audio.sounds import sound_length
from setandsetting.audio.synth import BUILTIN_SOUNDS
from setandsetting.backends.base import SDL_CAUSE, BackendReport, ChimeBackend, Report, audio_report

MIXER_MODULE = "setandsetting.backends.pygame_mixer"  # not imported here: pygame stays out
# PulseAudio's buffer for a mixer's stream (libpulse reads PULSE_LATENCY_MSEC as a stream
# connects); backends/pygame_mixer.py says why 20 ms.
STREAM_LATENCY_MS = 20
AUDIENCES = ("patient", "staff", "both")
READY_S = 10.0  # how long a new mixer process may take to import pygame and open


class _MixerProcess:
    """One output's mixer process; what it says comes back as reports."""

    def __init__(self, device: str, output: str, report: Report) -> None:
        self._output = output
        self._report = report
        env = {**os.environ, "PULSE_LATENCY_MSEC": str(STREAM_LATENCY_MS)}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", MIXER_MODULE, "--device", device, "--output", output],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            env=env,
        )
        self._closing = False
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, name=output, daemon=True)
        self._reader.start()

    def wait_ready(self) -> None:
        """Until the process has tried its device (and said so if it would not open)."""
        self._ready.wait(READY_S)

    def _read(self) -> None:
        assert self._proc.stdout is not None
        lost = False
        for line in self._proc.stdout:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                msg = json.loads(line)
                kind, message = msg["kind"], msg["message"]
                if kind == "ready":
                    self._ready.set()
                elif kind in ("device_lost", "device_back"):
                    lost = kind == "device_lost"
                    self._say(message, restored=not lost)
                else:
                    self._report(BackendReport("chimes", kind, message=message))
        code = self._proc.wait()
        self._ready.set()
        if not self._closing and not lost:
            who = self._output.replace("_", " ")
            self._say(f"the {who}' mixer stopped (exit status {code})", restored=False)

    def _say(self, why: str, *, restored: bool) -> None:
        self._report(audio_report("chimes", self._output, SDL_CAUSE, why, restored=restored))

    def play(self, sound: str, level: float) -> None:
        self._send({"sound": sound, "level": level})

    def prepare(self) -> None:
        self._send({"prepare": True})

    def reopen(self) -> None:
        self._send({"reopen": True})

    def _send(self, msg: dict[str, object]) -> None:
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps(msg) + "\n")
        except (BrokenPipeError, OSError, ValueError):
            pass  # the reader has reported the loss already

    def close(self) -> None:
        self._closing = True
        with contextlib.suppress(OSError, ValueError):
            assert self._proc.stdin is not None
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=1)


class PygameChimes(ChimeBackend):
    """Chimes for the patient and the staff, each output's mixer in its own process.

    Devices are SDL output device names; None or "default" is the default device. With no
    audio device at all the patient's process reports an audio_fault of patient_chimes
    once, at the start, and stays silent; it tries the device again, at most every
    RETRY_OPEN_S, when a chime is near, and reports audio_restored once it opens. The
    staff process says its own faults.
    """

    def __init__(
        self,
        report: Report,
        patient_device: str | None = None,
        staff_device: str | None = None,
        sounds_dir: Path | None = None,
    ) -> None:
        self._sounds_dir = sounds_dir
        patient = patient_device or "default"
        self._patient: _MixerProcess | None = _MixerProcess(patient, "patient_chimes", report)
        self._staff: _MixerProcess | None = None
        if staff_device is not None:
            same = staff_device == patient
            self._staff = (
                self._patient if same else _MixerProcess(staff_device, "staff_chimes", report)
            )
        for process in {self._patient, self._staff} - {None}:
            process.wait_ready()  # both start at once; a missing card is said by now

    def _resolve(self, sound: str | Path) -> str:
        if isinstance(sound, str) and sound in BUILTIN_SOUNDS:
            return sound
        path = Path(sound)
        if not path.is_absolute() and self._sounds_dir is not None:
            path = self._sounds_dir / path
        return str(path.resolve())

    def _targets(self, audience: str) -> list[_MixerProcess]:
        if audience not in AUDIENCES:
            raise ValueError(f"audience {audience!r}: expected patient, staff or both")
        targets = [self._patient] if audience in ("patient", "both") else []
        if audience in ("staff", "both"):
            targets.append(self._staff)
        return list(dict.fromkeys(t for t in targets if t is not None))

    def prepare(self, audience: str) -> None:
        for target in self._targets(audience):
            target.prepare()

    def play(self, sound: str | Path, level: float, audience: str) -> None:
        name = self._resolve(sound)
        for target in self._targets(audience):
            target.play(name, level)

    def reopen(self) -> None:
        """Reconnect each output's mixer to the sound server."""
        for target in self._targets("both"):
            target.reopen()

    def duration(self, sound: str | Path) -> float:
        return sound_length(self._resolve(sound))

    def close(self) -> None:
        for target in self._targets("both"):
            target.close()
        self._staff = self._patient = None
