"""One pygame.mixer on one device, and the small process that runs it for a chime output.

`python -m setandsetting.backends.pygame_mixer --device NAME --output patient_chimes`
is what `PygameChimes` starts for each output (backends/pygame_chimes.py): it reads one
JSON request a line on stdin and answers on stdout. The mixer lives in a process of its
own for two reasons, both measured through PulseAudio capture (benchmarks/bench_engine.py):

- SDL asks PulseAudio for a stream buffer of one mixer period (tlength = 5.8 ms at 256
  frames). That underruns again and again, each underrun delays every later sample, and
  chimes 0.5 s apart drifted 16 ms late in 20 s. libpulse takes a larger buffer from
  PULSE_LATENCY_MSEC, read when a stream connects; set for this process only (by
  PygameChimes: STREAM_LATENCY_MS), it cannot reach libVLC's stream, which must keep
  its own buffer and manual start. At 20 ms the drift is gone and a chime still starts
  on the next 5.8 ms period: onset p99 4-6 ms.
- pygame's end-of-sound callback takes the GIL on SDL's audio thread; here no engine,
  server or fade holds it.

Levels: SDL_mixer's volume has 128 steps, too coarse for quiet chimes (level 15 % would
round to silence), so each Sound is built with its samples already scaled to
amplitude = level**3; scaled Sounds are cached so a repeated chime starts at once.
Mixer-only init (never pygame.init()): 44100 Hz, s16, stereo, 256-frame periods.

The mixer is open only around chimes: an open SDL device mixes and writes silence all
the time, ~1 % of a core, more than libVLC decoding the music. Chimes are planned, so the
engine asks for the device a second ahead ("prepare"), and the process closes it once it
has been quiet for a while. Opening takes ~5 ms, so a chime nobody planned ahead (a
control that opens a phase with a check-in) is that much later.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import sys
import time
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from setandsetting.audio.synth import BUILTIN_SOUNDS, RATE, synthesize
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

BUFFER_FRAMES = 256  # a chime starts on the next period: within 5.8 ms of the request
MIXER_CHANNELS = 16  # overlapping chimes (an escalation over a ringing bowl) never cut off
_SCALED_CACHE = 32
KEEP_OPEN_S = 2.0  # after a prepare or a play, the device stays open at least this long
QUIET_CLOSE_S = 0.5  # ...and closes once nothing has sounded for this long (the tail is out)
RETRY_OPEN_S = 5.0  # a device that would not open is tried again after this long
POLL_S = 0.1  # while the device is open, how often the process looks whether to close it


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


Say = Callable[[str, str], None]  # (kind, message): one line to the parent


class OnDemandMixer:
    """A MixerOutput opened for chimes and closed when quiet; a device that will not open
    is said once (device_lost), tried again at most every RETRY_OPEN_S when a chime is
    near, and its return said once (device_back)."""

    def __init__(self, output: MixerOutput, who: str, say: Say, clock: Callable[[], float]) -> None:
        self._output = output
        self._who = who  # "patient" or "staff", for the words said
        self._say = say
        self._clock = clock
        self._lost = False
        self._next_try = 0.0
        self._keep_until = self._quiet_since = 0.0

    @property
    def is_open(self) -> bool:
        return self._output.is_open

    def ready(self) -> bool:
        """Open the device (if closed) and keep it open a while; False if it is lost."""
        now = self._clock()
        self._keep_until = max(self._keep_until, now + KEEP_OPEN_S)
        if self._output.is_open:
            return True
        if self._lost and now < self._next_try:
            return False
        try:
            self._output.open()
        except ChimeError as exc:
            self._next_try = now + RETRY_OPEN_S
            if not self._lost:
                self._lost = True
                staff = "staff " if self._who == "staff" else ""
                self._say("device_lost", f"{staff}{exc}; {staff}chimes are silent")
            return False
        if self._lost:
            self._lost = False
            self._say("device_back", f"the {self._who} chimes' device opens again")
        return True

    def play(self, sound: str, level: float) -> None:
        if self.ready():
            self._output.play(sound, level)
            self._quiet_since = self._clock()

    def reopen(self) -> None:
        """The sound server came back: connect to the new one (a lost device: try now)."""
        self._next_try = 0.0
        if self._output.is_open:
            self._output.close()
            self.ready()

    def poll(self) -> None:
        """Close the device once it has been quiet and no chime is near."""
        if not self._output.is_open:
            return
        now = self._clock()
        if self._output.busy():
            self._quiet_since = now
        elif now >= self._keep_until and now - self._quiet_since >= QUIET_CLOSE_S:
            self._output.close()

    def close(self) -> None:
        self._output.close()


def serve(device: str, output: str) -> int:
    """The mixer process: one chime output, one JSON request a line on stdin
    ({"sound", "level"}, {"prepare"}, {"reopen"}); says "ready" once it has tried the
    device, then device_lost / device_back / error as they come."""

    def say(kind: str, message: str) -> None:
        print(json.dumps({"kind": kind, "message": message}), flush=True)

    mixer = OnDemandMixer(
        MixerOutput(None if device == "default" else device, APP_NAMES[output]),
        output.removesuffix("_chimes"),
        say,
        time.monotonic,
    )
    mixer.ready()  # opened at the start: a missing card is said at once
    say("ready", "")
    stdin = sys.stdin.fileno()
    pending = b""
    while True:
        wait = POLL_S if mixer.is_open else None  # closed: nothing to do until asked
        if select.select([stdin], [], [], wait)[0]:
            data = os.read(stdin, 65536)
            if not data:
                break
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                _handle(mixer, line, say)
        mixer.poll()
    mixer.close()
    return 0


def _handle(mixer: OnDemandMixer, line: bytes, say: Say) -> None:
    try:
        msg = json.loads(line)
        if msg.get("reopen"):
            mixer.reopen()
        elif msg.get("prepare"):
            mixer.ready()
        else:
            mixer.play(str(msg["sound"]), float(msg["level"]))
    except ChimeError as exc:
        say("error", str(exc))
    except (ValueError, KeyError, TypeError, AttributeError):
        say("error", f"chimes: bad request {line.strip()[:80]!r}")


if __name__ == "__main__":
    args = sys.argv[1:]
    outputs = ("patient_chimes", "staff_chimes")
    if len(args) != 4 or args[0] != "--device" or args[2] != "--output" or args[3] not in outputs:
        print(
            "usage: python -m setandsetting.backends.pygame_mixer"
            " --device NAME --output patient_chimes|staff_chimes"
        )
        sys.exit(2)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches the whole process group
        sys.exit(serve(args[1], args[3]))
