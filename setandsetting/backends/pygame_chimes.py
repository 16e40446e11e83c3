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

The patient's mixer is open only around chimes. An open SDL device mixes and writes silence
all the time, ~1 % of a core — more than libVLC decoding the music. Chimes are planned, so
the engine asks for the device a second ahead (`prepare`), and `poll` closes it once it has
been quiet for a while. Opening takes ~5 ms, so a chime nobody planned ahead (a control that
opens a phase with a check-in) is that much later. The staff child keeps its device open.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from setandsetting.audio.sounds import sound_length
from setandsetting.audio.synth import BUILTIN_SOUNDS, RATE, synthesize
from setandsetting.backends.base import (
    SDL_CAUSE,
    BackendReport,
    ChimeBackend,
    Report,
    audio_report,
)
from setandsetting.backends.native import quiet_native_libraries
from setandsetting.backends.pulse import APP_NAMES

# Set before the import, or pygame prints its greeting into the CLI's output.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
# pygame's import loads pkg_resources (a quarter second of CPU at every session start) for
# pygame.pkgdata alone, which has a fallback of its own without it; so it is kept out.
_PKG_RESOURCES_LOADED = "pkg_resources" in sys.modules
if not _PKG_RESOURCES_LOADED:
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # import -> ImportError
try:
    import pygame
    import pygame.sndarray
finally:
    if not _PKG_RESOURCES_LOADED:
        del sys.modules["pkg_resources"]

BUFFER_FRAMES = 512
MIXER_CHANNELS = 16  # overlapping chimes (an escalation over a ringing bowl) never cut off
_SCALED_CACHE = 32
KEEP_OPEN_S = 2.0  # after a prepare or a play, the device stays open at least this long
QUIET_CLOSE_S = 0.5  # ...and closes once nothing has sounded for this long (the tail is out)
RETRY_OPEN_S = 5.0  # a device that would not open is tried again after this long
AUDIENCES = ("patient", "staff", "both")


class ChimeError(RuntimeError):
    """A sound could not be loaded or the device could not be opened."""


class MixerOutput:
    """pygame.mixer of this process on one device; plays scaled Sounds, opens on demand.

    `app` names its stream to the sound server (PulseAudio's application.name), so the
    server's watch can tell which output a stream is."""

    def __init__(self, device: str | None, app: str) -> None:
        self._device = device
        self._app = app
        self.is_open = False
        self._samples: dict[str, np.ndarray] = {}
        self._pcm: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()  # scaled, int16
        self._sounds: dict[tuple[str, int], pygame.mixer.Sound] = {}  # of the open mixer
        for name in BUILTIN_SOUNDS:  # synthesized now, so the first chime starts at once
            self.samples(name)

    def open(self) -> None:
        """Open the device if it is closed; raises ChimeError when it cannot be opened."""
        if self.is_open:
            return
        device = self._device
        quiet_native_libraries()  # a missing card is reported by the caller, once
        os.environ["SDL_AUDIO_DEVICE_APP_NAME"] = self._app  # read as the device opens
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
        self.is_open = True

    def close(self) -> None:
        """Close the device; Sounds belong to it and go, the scaled samples stay."""
        if self.is_open:
            self.is_open = False
            self._sounds.clear()
            pygame.mixer.quit()

    def busy(self) -> bool:
        return self.is_open and bool(pygame.mixer.get_busy())

    def samples(self, sound: str) -> np.ndarray:
        """(frames, 2) float32 of a built-in name or an absolute file path, loaded once."""
        if sound not in self._samples:
            if sound in BUILTIN_SOUNDS:
                self._samples[sound] = synthesize(sound)
            else:
                self.open()  # pygame decodes files only with a mixer open
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
        pcm = self._pcm.get(key)
        if pcm is None:
            pcm = np.clip(np.rint(self.samples(sound) * steps), -32768, 32767).astype(np.int16)
            self._pcm[key] = pcm
            if len(self._pcm) > _SCALED_CACHE:
                self._sounds.pop(self._pcm.popitem(last=False)[0], None)
        else:
            self._pcm.move_to_end(key)
        self.open()
        scaled = self._sounds.get(key)
        if scaled is None:
            scaled = self._sounds[key] = pygame.mixer.Sound(buffer=pcm.tobytes())
        pygame.mixer.find_channel(True).play(scaled)


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
                if msg["kind"] in ("device_lost", "device_back"):
                    lost = msg["kind"] == "device_lost"
                    self._report(_staff_audio(msg["message"], restored=not lost))
                else:
                    self._report(BackendReport("chimes", msg["kind"], message=msg["message"]))
        code = self._proc.wait()
        if not self._closing and not lost:
            why = f"the staff chimes' mixer stopped (exit status {code})"
            self._report(_staff_audio(why, restored=False))

    def play(self, sound: str, level: float) -> None:
        self._send({"sound": sound, "level": level})

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


def _staff_audio(why: str, *, restored: bool) -> BackendReport:
    return audio_report("chimes", "staff_chimes", SDL_CAUSE, why, restored=restored)


class PygameChimes(ChimeBackend):
    """Chimes for the patient (this process's mixer) and the staff (a child's mixer).

    Devices are SDL output device names; None or "default" is the default device. With no
    audio device at all it reports an audio_fault of patient_chimes once and stays silent;
    it tries the device again, at most every RETRY_OPEN_S, when a chime is near, and
    reports audio_restored once it opens. The staff child says its own faults.
    """

    def __init__(
        self,
        report: Report,
        patient_device: str | None = None,
        staff_device: str | None = None,
        sounds_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._report = report
        self._sounds_dir = sounds_dir
        self._clock = clock
        patient_device = None if patient_device in (None, "default") else patient_device
        self._patient: MixerOutput | None = MixerOutput(patient_device, APP_NAMES["patient_chimes"])
        self._lost = False
        self._next_try = 0.0
        self._keep_until = self._quiet_since = 0.0
        self._patient_ready()  # opened now: a missing device is said at the start
        self._staff: _StaffProcess | MixerOutput | None = None
        if staff_device is not None:
            same = staff_device == (patient_device or "default")
            self._staff = self._patient if same else _StaffProcess(staff_device, report)

    def _patient_ready(self) -> bool:
        """Open the patient's mixer (if closed) and keep it open a while; False if lost."""
        output = self._patient
        if output is None:
            return False
        now = self._clock()
        self._keep_until = max(self._keep_until, now + KEEP_OPEN_S)
        if output.is_open:
            return True
        if self._lost and now < self._next_try:
            return False
        try:
            output.open()
        except ChimeError as exc:
            self._next_try = now + RETRY_OPEN_S
            if not self._lost:
                self._lost = True
                self._say(f"{exc}; chimes are silent", restored=False)
            return False
        if self._lost:
            self._lost = False
            self._say("the patient chimes' device opens again", restored=True)
        return True

    def _say(self, why: str, *, restored: bool) -> None:
        self._report(audio_report("chimes", "patient_chimes", SDL_CAUSE, why, restored=restored))

    def _resolve(self, sound: str | Path) -> str:
        if isinstance(sound, str) and sound in BUILTIN_SOUNDS:
            return sound
        path = Path(sound)
        if not path.is_absolute() and self._sounds_dir is not None:
            path = self._sounds_dir / path
        return str(path.resolve())

    def prepare(self, audience: str) -> None:
        if audience in ("patient", "both") or (
            audience == "staff" and self._staff is self._patient
        ):
            self._patient_ready()

    def play(self, sound: str | Path, level: float, audience: str) -> None:
        if audience not in AUDIENCES:
            raise ValueError(f"audience {audience!r}: expected patient, staff or both")
        name = self._resolve(sound)
        targets: list[_StaffProcess | MixerOutput] = []
        if audience in ("patient", "both") and self._patient_ready():
            assert self._patient is not None
            targets.append(self._patient)
        staff = self._staff
        if (
            audience in ("staff", "both")
            and staff is not None
            and staff not in targets
            and (staff is not self._patient or self._patient_ready())
        ):
            targets.append(staff)
        for target in targets:
            try:
                target.play(name, level)
            except ChimeError as exc:
                self._report(BackendReport("chimes", "error", message=str(exc)))

    def poll(self) -> None:
        """Close the patient's mixer once it has been quiet and no chime is near."""
        output = self._patient
        if output is None or not output.is_open:
            return
        now = self._clock()
        if output.busy():
            self._quiet_since = now
        elif now >= self._keep_until and now - self._quiet_since >= QUIET_CLOSE_S:
            output.close()

    def reopen(self) -> None:
        """Reconnect the patient's output and the staff child's to the sound server."""
        if isinstance(self._staff, _StaffProcess):
            self._staff.reopen()
        if self._patient is None:
            return
        self._next_try = 0.0  # a lost device is tried again at the next prepare or play
        if self._patient.is_open:
            self._patient.close()
            self._patient_ready()

    def duration(self, sound: str | Path) -> float:
        name = self._resolve(sound)
        if name not in BUILTIN_SOUNDS and self._patient is not None:
            with contextlib.suppress(ChimeError):
                return len(self._patient.samples(name)) / RATE
        return sound_length(name)

    def close(self) -> None:
        if isinstance(self._staff, _StaffProcess):
            self._staff.close()
        if self._patient is not None:
            self._patient.close()
        self._staff = self._patient = None


def _serve(device: str) -> int:
    """The staff child: one mixer on `device`, one chime per JSON line on stdin; a device
    lost (at a reopen) is said once, and its return."""

    def say(kind: str, message: str) -> None:
        print(json.dumps({"kind": kind, "message": message}), flush=True)

    output = MixerOutput(None if device == "default" else device, APP_NAMES["staff_chimes"])
    lost = False

    def ready() -> bool:
        nonlocal lost
        try:
            output.open()
        except ChimeError as exc:
            if not lost:
                lost = True
                say("device_lost", f"staff {exc}; staff chimes are silent")
            return False
        if lost:
            lost = False
            say("device_back", "the staff chimes' device opens again")
        return True

    if not ready():
        return 1
    for line in sys.stdin:
        try:
            msg = json.loads(line)
            if msg.get("reopen"):  # the sound server came back: connect to the new one
                output.close()
                ready()
            elif ready():
                output.play(str(msg["sound"]), float(msg["level"]))
        except ChimeError as exc:
            say("error", str(exc))
        except (ValueError, KeyError, TypeError, AttributeError):
            say("error", f"staff chimes: bad request {line.strip()[:80]!r}")
    output.close()
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--device":
        print("usage: python -m setandsetting.backends.pygame_chimes --device NAME")
        sys.exit(2)
    sys.exit(_serve(sys.argv[2]))
