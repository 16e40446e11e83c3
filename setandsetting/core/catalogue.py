"""What the room's catalogue knows of a track, and the filters a clinician picks music by.

Pure: the room folder (room.catalogue) reads the files and keeps the rows; here are the
entry, what a file's tags say about its voice, and the filter words `library list --tag`,
`playlist fit --tag` and the Playlists page share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Literal

Vocals = Literal["instrumental", "vocals"]
VOCALS: tuple[Vocals, ...] = ("instrumental", "vocals")
TAG_FIELDS = ("title", "artist", "album", "genre", "language")
# ISO 639-2 "no linguistic content": what MusicBrainz Picard writes as an instrumental
# work's language. "und" (undetermined) and an empty language say nothing.
NO_WORDS = "zxx"
UNKNOWN_LANGUAGES = frozenset({"und", ""})
_YES = frozenset({"1", "yes", "true", "y"})
_NO = frozenset({"0", "no", "false", "n"})


@dataclass(frozen=True, slots=True)
class Entry:
    """One track of the catalogue (or of a library folder not scanned yet)."""

    path: str  # as the room shows it: relative to the room folder, else absolute
    file: PurePath  # the file itself, symlinks resolved: what the journal and compiler name
    title: str
    duration_s: float
    artist: str | None = None
    album: str | None = None
    genre: str | None = None
    language: str | None = None
    vocals: Vocals | None = None  # None: nothing says
    vocals_by: Literal["tags", "hand"] | None = None
    lufs: float | None = None  # None: not measured (not scanned yet, unreadable or silent)
    scanned: bool = True

    def view(self) -> dict[str, Any]:
        """The entry as the CLI's --json and the API show it."""
        return {
            "path": self.path,
            "title": self.title,
            "duration_s": round(self.duration_s, 3),
            "artist": self.artist,
            "album": self.album,
            "genre": self.genre,
            "language": self.language,
            "vocals": self.vocals,
            "vocals_by": self.vocals_by,
            "lufs": None if self.lufs is None else round(self.lufs, 1),
            "scanned": self.scanned,
        }


def vocals_from_tags(tags: Mapping[str, str]) -> Vocals | None:
    """What a file's tags say about its voice, the most explicit tag first.

    An `instrumental` tag (1/yes/true or 0/no/false) decides; else a language tag
    (`zxx`: no words, so instrumental; any other but `und`: sung in it); else a genre
    that names `instrumental`; else a lyrics tag means vocals. Otherwise nothing is known.
    """
    flag = tags.get("instrumental", "").strip().lower()
    if flag in _YES:
        return "instrumental"
    if flag in _NO:
        return "vocals"
    language = tags.get("language", "").strip().lower()
    if language == NO_WORDS:
        return "instrumental"
    if language not in UNKNOWN_LANGUAGES:
        return "vocals"
    if "instrumental" in tags.get("genre", "").lower():
        return "instrumental"
    return "vocals" if tags.get("lyrics", "").strip() else None


@dataclass(frozen=True, slots=True)
class Condition:
    """One filter word: `instrumental`, `vocals`, or FIELD=VALUE (case-insensitive, whole)."""

    field: str
    value: str

    def __str__(self) -> str:
        return self.value if self.field == "vocals" else f"{self.field}={self.value}"


def parse_conditions(words: Sequence[str]) -> tuple[Condition, ...]:
    """Filter words as typed; a ValueError says what a word may be."""
    out = []
    for word in words:
        text = word.strip()
        if text.lower() in VOCALS:
            out.append(Condition("vocals", text.lower()))
            continue
        key, sep, value = text.partition("=")
        key = key.strip().lower()
        if not sep or key not in TAG_FIELDS or not value.strip():
            fields = ", ".join(f"{f}=…" for f in TAG_FIELDS)
            raise ValueError(f"{word!r} is not a tag filter: use instrumental, vocals or {fields}")
        out.append(Condition(key, value.strip().lower()))
    return tuple(out)


def matches(entry: Entry, conditions: Sequence[Condition], query: str = "") -> bool:
    """Every condition holds, and the search words (if any) are in its title, artist,
    album, genre or path."""
    for condition in conditions:
        value = getattr(entry, condition.field)
        if value is None or value.lower() != condition.value:
            return False
    words = query.lower().split()
    if words:
        text = " ".join(
            v for v in (entry.title, entry.artist, entry.album, entry.genre, entry.path) if v
        ).lower()
        return all(word in text for word in words)
    return True
