"""Recording backends: they play nothing and write down every call with its session time.

For rehearsal (see what a session would do, instantly) and for testing the engine's core
logic. They never stand in for testing the real backends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from setandsetting.backends.base import ChimeBackend, CueBackend, MusicBackend


@dataclass(frozen=True, slots=True)
class Call:
    t: float
    method: str
    args: tuple[Any, ...]


class _Recorder:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.calls: list[Call] = []

    def _record(self, method: str, *args: Any) -> None:
        self.calls.append(Call(self.clock(), method, args))

    def named(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]


class RecordingMusic(_Recorder, MusicBackend):
    """`level_steps`: record as a device with that many level steps would be driven."""

    def __init__(self, clock: Callable[[], float], level_steps: int | None = None) -> None:
        super().__init__(clock)
        self.level_steps = level_steps
        self.levels: dict[int, float] = {}
        self._started: dict[int, tuple[float, float]] = {}

    def play(self, voice: int, path: Path, offset_s: float, end_s: float | None) -> None:
        self._record("play", voice, str(path), offset_s, end_s)
        self.levels[voice] = 0.0
        self._started[voice] = (self.clock(), offset_s)

    def set_level(self, voice: int, level: float, ahead: float | None = None) -> None:
        self._record("set_level", voice, level)
        self.levels[voice] = level

    def position(self, voice: int) -> float | None:
        if voice not in self._started:
            return None
        t0, offset = self._started[voice]
        return offset + self.clock() - t0

    def stop(self, voice: int) -> None:
        self._record("stop", voice)
        self._started.pop(voice, None)
        self.levels.pop(voice, None)

    def close(self) -> None:
        self._record("close")


class RecordingChimes(_Recorder, ChimeBackend):
    def play(self, sound: str | Path, level: float, audience: str) -> None:
        self._record("play", str(sound), level, audience)

    def reopen(self) -> None:
        self._record("reopen")

    def prepare(self, audience: str) -> None:
        self._record("prepare", audience)

    def duration(self, sound: str | Path) -> float:
        return 6.0

    def close(self) -> None:
        self._record("close")


class RecordingCues(_Recorder, CueBackend):
    def send(self, cue: dict[str, Any]) -> None:
        self._record("send", cue)

    def all_notes_off(self) -> None:
        self._record("all_notes_off")

    def close(self) -> None:
        self._record("close")
