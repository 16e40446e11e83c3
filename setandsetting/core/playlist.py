"""Playlists (a slot file: YAML, or M3U/M3U8) and patient.yaml."""

from __future__ import annotations

from pydantic import Field, model_validator

from setandsetting.core.types import Frozen, GainDb, bounded_duration
from setandsetting.core.units import MAX_DURATION_S

PLAYLIST_SUFFIXES = (".yaml", ".yml", ".m3u8", ".m3u")
# The audio files the room knows: the library offers them, `library scan` measures them,
# an avoid entry with one of these suffixes is a path. (What libVLC cannot decode is
# skipped at play time and journaled.)
AUDIO_SUFFIXES = frozenset(
    {".flac", ".wav", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aiff"}
)


# A trim is file time, not session time; still, no session plays more of a file than it
# lasts (48 h), so a trim beyond that is a typo, not a wish.
Trim = bounded_duration(MAX_DURATION_S, "a trim lies at most 48h into a file (the longest session)")


class Track(Frozen):
    path: str = Field(min_length=1)
    title: str | None = None
    gain: GainDb = 0.0
    start: Trim = 0.0
    end: Trim | None = None

    @model_validator(mode="after")
    def _trim_order(self) -> Track:
        if self.end is not None and self.end <= self.start:
            raise ValueError("`end` must come after `start`")
        return self


class Playlist(Frozen):
    name: str | None = None
    tracks: list[Track] = []


class Patient(Frozen):
    """A patient's standing preferences; `avoid` carries across sessions."""

    display_name: str | None = None
    avoid: list[str] = []
    notes: str = ""
