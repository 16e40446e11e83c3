"""The small interfaces every device backend implements.

The engine's device thread is the only caller of these methods. Backends never call back
into the engine directly: they report through the `report` callable given at creation,
which only puts a message on the engine's queue (libVLC must never be called from its own
event callbacks).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Report = Callable[["BackendReport"], None]
SDL_CAUSE = "sdl"  # the cause the chime backend names its own devices' word by


@dataclass(frozen=True, slots=True)
class BackendReport:
    """Something a device noticed: a track ended or failed, a device vanished or came back,
    an output falls silent or sounds again.

    kind: music: "ended" | "error"; cues, control: "device_lost" | "device_back"; control:
    an action; music, chimes: "audio_fault" | "audio_restored" with `message` one sentence
    and `data` {"output": music | patient_chimes | staff_chimes, "cause": the detector}.
    """

    source: Literal["music", "chimes", "cues", "control"]
    kind: str
    voice: int | None = None
    message: str = ""
    data: dict[str, Any] | None = None


def audio_report(
    source: Literal["music", "chimes"], output: str, cause: str, why: str, *, restored: bool
) -> BackendReport:
    """What a detector says about an output: `why` silences it, or (restored) it sounds."""
    kind = "audio_restored" if restored else "audio_fault"
    return BackendReport(source, kind, message=why, data={"output": output, "cause": cause})


class MusicBackend(ABC):
    """Plays tracks on numbered voices (0 and 1 crossfade into each other).

    Levels are perceptual 0..1 (libVLC volume / 100). A voice always starts silent; the
    engine raises its level afterwards, so a track can never start above its target.
    """

    #: A device that plays levels in steps of 1/level_steps says so; the engine then wakes
    #: for a fade step only when it moves the level by a step. None: the device takes any
    #: level, and a moving level is sent at every fade step.
    level_steps: int | None = None

    #: A device whose fine level is heard later than its coarse one (libVLC's equalizer
    #: preamp is applied as it decodes, an output buffer ahead) says by how much: it is
    #: then sent, beside the level now, the level planned that much later.
    lead_s: float = 0.0

    def level_key(self, level: float, ahead: float) -> Hashable | None:
        """What the device plays `level` (and `ahead`) as: two levels with one key sound
        the same, so the engine sends (and wakes for) a change of key only. None: any
        level is news."""
        return None if self.level_steps is None else level_step(level, self.level_steps)

    @abstractmethod
    def play(self, voice: int, path: Path, offset_s: float, end_s: float | None) -> None:
        """Start `path` on `voice` at `offset_s` (trim start / resume point), silent.

        `end_s` is the trim end in the file's own time, or None for the natural end.
        Reports ("music", "ended", voice) when the track ends, ("music", "error", voice)
        when it cannot be played.
        """

    @abstractmethod
    def set_level(self, voice: int, level: float, ahead: float | None = None) -> None:
        """Set a voice's level (0..1); `ahead`: its level `lead_s` from now. Cheap; called
        up to 25 times a second per voice."""

    @abstractmethod
    def position(self, voice: int) -> float | None:
        """Current position in the file in seconds, or None when the voice is idle."""

    @abstractmethod
    def stop(self, voice: int) -> None:
        """Stop a voice (the engine fades it to 0 first)."""

    def poll(self) -> None:  # noqa: B027 - optional: a backend without upkeep has none to do
        """Cheap upkeep, called from the engine thread once a second, and at every fade
        step while `settling()`."""

    def settling(self) -> bool:
        """True while a new stream may still come up at another level than was set (its
        audio output is being created): the engine then polls at every fade step."""
        return False

    @abstractmethod
    def close(self) -> None:
        """Release the device."""


class ChimeBackend(ABC):
    """Plays short sounds to an audience: the patient's output, the staff's, or both."""

    @abstractmethod
    def play(self, sound: str | Path, level: float, audience: str) -> None:
        """Play a built-in sound name (bowl, bell, wood) or a file at `level` (0..1)."""

    def reopen(self) -> None:  # noqa: B027 - optional: only a device that can go stale needs it
        """Open the output again after the sound server came back."""

    def prepare(self, audience: str) -> None:  # noqa: B027 - optional: a device always ready
        """A chime for `audience` may come within about a second: have its output ready,
        and keep it so for a while (asked once per chime, about a second ahead)."""

    def poll(self) -> None:  # noqa: B027 - optional: a backend without upkeep has none to do
        """Cheap upkeep (e.g. close an idle output), from the engine thread once a second."""

    @abstractmethod
    def duration(self, sound: str | Path) -> float:
        """Length of the sound in seconds (for ducking the music under it)."""

    @abstractmethod
    def close(self) -> None: ...


class CueBackend(ABC):
    """Sends environment cues (MIDI or OSC) to named ports/targets."""

    @abstractmethod
    def send(self, cue: dict[str, Any]) -> None:
        """Send one message; `cue` is {"midi": {...}} or {"osc": {...}} as in a profile.

        Raises CueError when the port/target is unavailable (the engine journals it).
        """

    def all_notes_off(self) -> None:  # noqa: B027 - optional: OSC has no notes to silence
        """Silence every MIDI channel used so far (quiet, session end)."""

    @abstractmethod
    def close(self) -> None: ...


class CueError(RuntimeError):
    """A cue could not be delivered (port missing, target unreachable)."""


def configured_name(
    name: str | None, names: Iterable[str], *, kind: str, named: str, key: str
) -> str:
    """The configured device a cue means: `name`, or the only one configured.

    `kind` is what room.yaml `key` lists ("MIDI output"), `named` what a cue names ("MIDI
    port"): the words of every refusal.
    """
    known = sorted(names)
    if name is not None:
        if name not in known:
            listed = ", ".join(known) or "none configured"
            raise CueError(f"{named} {name!r} is not in room.yaml {key} ({listed})")
        return name
    if len(known) == 1:
        return known[0]
    if not known:
        raise CueError(f"no {kind} configured (room.yaml {key})")
    raise CueError(f"several {kind}s ({', '.join(known)}): name one")


def level_step(level: float, steps: int) -> int:
    """The step (0..steps) at which a device with `steps` level steps plays `level` (0..1)."""
    return round(min(1.0, max(0.0, level)) * steps)
