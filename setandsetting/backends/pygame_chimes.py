"""Chimes through pygame.mixer, the patient's and the staff's on different devices.

pygame.mixer opens one device per process, and pygame's other door to SDL audio,
`pygame._sdl2.audio.AudioDevice`, needs a Python callback on SDL's audio thread: every
buffer then waits for the GIL, and pygame's own maintainers report it skipping in larger
programs (pygame-community/pygame-ce#3617). So the staff device gets a small child process
(`python -m setandsetting.backends.pygame_chimes --device NAME`) running the very same
mixer code; the engine thread writes one JSON line per chime to its stdin, which costs
microseconds and cannot be slowed by the GIL of this process. Without a named staff device
staff chimes are left to the web UI.

Levels: SDL_mixer's volume has 128 steps, too coarse for quiet chimes (level 15 % would
round to silence), so each Sound is built with its samples already scaled to
amplitude = level**3; scaled Sounds are cached so a repeated chime starts at once.
Mixer-only init (never pygame.init()) with 44100 Hz, s16, stereo and a 512-frame buffer:
a chime starts on the next mixer period, within 11.6 ms of the call.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

# Set before the import, or pygame prints its greeting into the CLI's output.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame
import pygame.sndarray

from setandsetting.audio.synth import BUILTIN_SOUNDS, RATE, synthesize
from setandsetting.backends.base import BackendReport, ChimeBackend, Report
from setandsetting.backends.native import quiet_native_libraries

BUFFER_FRAMES = 512
MIXER_CHANNELS = 16  # overlapping chimes (an escalation over a ringing bowl) never cut off
_SCALED_CACHE = 32
AUDIENCES = ("patient", "staff", "both")


class ChimeError(RuntimeError):
    """A sound could not be loaded or the device could not be opened."""


class MixerOutput:
    """pygame.mixer of this process, opened on one device; plays scaled Sounds."""

    def __init__(self, device: str | None) -> None:
        self._device = device
        self._open()
        self._samples: dict[str, np.ndarray] = {}
        self._scaled: OrderedDict[tuple[str, int], pygame.mixer.Sound] = OrderedDict()
        for name in BUILTIN_SOUNDS:  # synthesized now, so the first chime starts at once
            self.samples(name)

    def _open(self) -> None:
        device = self._device
        quiet_native_libraries()  # a missing card is reported below, once
        pygame.mixer.pre_init(RATE, -16, 2, BUFFER_FRAMES)
        try:
            # allowedchanges=0: SDL converts for us, so our int16 stereo buffers are exact.
            pygame.mixer.init(
                frequency=RATE,
                size=-16,
                channels=2,
                buffer=BUFFER_FRAMES,
                devicename=device,
                allowedchanges=0,
            )
        except pygame.error as exc:
            where = f"device {device!r}" if device else "the default audio device"
            raise ChimeError(f"cannot open {where}: {exc}") from None
        pygame.mixer.set_num_channels(MIXER_CHANNELS)

    def reopen(self) -> None:
        """Open the device again (after the sound server restarted, SDL plays into nothing).

        Sounds belong to the old mixer, so the scaled cache goes; the samples stay.
        """
        pygame.mixer.quit()
        self._scaled.clear()
        self._open()

    def samples(self, sound: str) -> np.ndarray:
        """(frames, 2) float32 of a built-in name or an absolute file path, loaded once."""
        if sound not in self._samples:
            if sound in BUILTIN_SOUNDS:
                self._samples[sound] = synthesize(sound)
            else:
                try:
                    loaded = pygame.mixer.Sound(sound)
                except (pygame.error, FileNotFoundError, OSError) as exc:
                    raise ChimeError(f"cannot load chime sound {sound}: {exc}") from None
                pcm = pygame.sndarray.array(loaded).reshape(-1, 2)
                self._samples[sound] = pcm.astype(np.float32) / 32768.0
        return self._samples[sound]

    def play(self, sound: str, level: float) -> None:
        steps = round(max(0.0, min(1.0, level)) ** 3 * 32768)
        if steps == 0:
            return
        key = (sound, steps)
        scaled = self._scaled.get(key)
        if scaled is None:
            pcm = np.clip(np.rint(self.samples(sound) * steps), -32768, 32767).astype(np.int16)
            scaled = pygame.mixer.Sound(buffer=pcm.tobytes())
            self._scaled[key] = scaled
            if len(self._scaled) > _SCALED_CACHE:
                self._scaled.popitem(last=False)
        else:
            self._scaled.move_to_end(key)
        pygame.mixer.find_channel(True).play(scaled)

    def close(self) -> None:
        pygame.mixer.quit()


class _StaffProcess:
    """The staff device's mixer in a child process; errors come back as JSON lines."""

    def __init__(self, device: str, report: Report) -> None:
        self._report = report
        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, "--device", device],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._closing = False
        self._reader = threading.Thread(target=self._read, name="staff-chimes", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        lost = False
        for line in self._proc.stdout:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                msg = json.loads(line)
                lost = lost or msg["kind"] == "device_lost"
                self._report(BackendReport("chimes", msg["kind"], message=msg["message"]))
        code = self._proc.wait()
        if not self._closing and not lost:
            message = f"staff chimes stopped (exit status {code}); staff chimes are silent"
            self._report(BackendReport("chimes", "device_lost", message=message))

    def play(self, sound: str, level: float) -> None:
        try:
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps({"sound": sound, "level": level}) + "\n")
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
    """Chimes for the patient (this process's mixer) and the staff (a child's mixer).

    Devices are SDL output device names; None or "default" is the default device. With no
    audio device at all it reports ("chimes", "device_lost") once and stays silent.
    """

    def __init__(
        self,
        report: Report,
        patient_device: str | None = None,
        staff_device: str | None = None,
        sounds_dir: Path | None = None,
    ) -> None:
        self._report = report
        self._sounds_dir = sounds_dir
        patient_device = None if patient_device in (None, "default") else patient_device
        self._patient_device = patient_device
        self._patient: MixerOutput | None = None
        try:
            self._patient = MixerOutput(patient_device)
        except ChimeError as exc:
            report(BackendReport("chimes", "device_lost", message=f"{exc}; chimes are silent"))
        self._staff: _StaffProcess | MixerOutput | None = None
        if staff_device is not None:
            same = staff_device == (patient_device or "default")
            self._staff = self._patient if same else _StaffProcess(staff_device, report)

    def _resolve(self, sound: str | Path) -> str:
        if isinstance(sound, str) and sound in BUILTIN_SOUNDS:
            return sound
        path = Path(sound)
        if not path.is_absolute() and self._sounds_dir is not None:
            path = self._sounds_dir / path
        return str(path.resolve())

    def play(self, sound: str | Path, level: float, audience: str) -> None:
        if audience not in AUDIENCES:
            raise ValueError(f"audience {audience!r}: expected patient, staff or both")
        name = self._resolve(sound)
        targets = []
        if audience in ("patient", "both") and self._patient is not None:
            targets.append(self._patient)
        staff = self._staff
        if audience in ("staff", "both") and staff is not None and staff not in targets:
            targets.append(staff)
        for target in targets:
            try:
                target.play(name, level)
            except ChimeError as exc:
                self._report(BackendReport("chimes", "error", message=str(exc)))

    def reopen(self) -> None:
        """Reconnect the patient's output (the staff child opens its own device per run)."""
        try:
            if self._patient is None:
                self._patient = MixerOutput(self._patient_device)
            else:
                self._patient.reopen()
        except ChimeError as exc:
            self._patient = None
            self._report(
                BackendReport("chimes", "device_lost", message=f"{exc}; chimes are silent")
            )

    def duration(self, sound: str | Path) -> float:
        name = self._resolve(sound)
        if self._patient is not None:
            with contextlib.suppress(ChimeError):
                return len(self._patient.samples(name)) / RATE
        if name in BUILTIN_SOUNDS:
            return len(synthesize(name)) / RATE
        import soundfile  # only for files while no mixer is open

        try:
            return float(soundfile.info(name).duration)
        except (soundfile.LibsndfileError, RuntimeError, OSError):
            return 0.0

    def close(self) -> None:
        if isinstance(self._staff, _StaffProcess):
            self._staff.close()
        if self._patient is not None:
            self._patient.close()
        self._staff = self._patient = None


def _serve(device: str) -> int:
    """The staff child: one mixer on `device`, one chime per JSON line on stdin."""

    def say(kind: str, message: str) -> None:
        print(json.dumps({"kind": kind, "message": message}), flush=True)

    try:
        output = MixerOutput(None if device == "default" else device)
    except ChimeError as exc:
        say("device_lost", f"staff {exc}; staff chimes are silent")
        return 1
    for line in sys.stdin:
        try:
            msg = json.loads(line)
            output.play(str(msg["sound"]), float(msg["level"]))
        except ChimeError as exc:
            say("error", str(exc))
        except (ValueError, KeyError, TypeError):
            say("error", f"staff chimes: bad request {line.strip()[:80]!r}")
    output.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--device":
        print("usage: python -m setandsetting.backends.pygame_chimes --device NAME")
        sys.exit(2)
    sys.exit(_serve(sys.argv[2]))
