"""A track's length and tags from its headers (mutagen), without decoding it.

The one place a file's length is read: the timeline compiler (through the room folder),
the playlist views, the library, the catalogue, the chime lengths and the silent music
clock all ask here. The tags read are the few the catalogue keeps (TAG_KEYS): FLAC, Ogg
and Opus keep any key in their comments; for MP3 an `INSTRUMENTAL` TXXX frame is read too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

# What the catalogue keeps of a file's tags (and `lyrics`, `instrumental`: what it says of
# the voice; see core.catalogue.vocals_from_tags).
TAG_KEYS = ("title", "artist", "album", "genre", "language", "instrumental", "lyrics")


@dataclass(frozen=True)
class Probe:
    length: float | None
    title: str | None = None
    problem: str | None = None
    tags: tuple[tuple[str, str], ...] = ()  # (key, first value) for the TAG_KEYS present


def probe(path: Path) -> Probe:
    """Length, title and tags of an audio file; `problem` says why there is no length."""
    import mutagen  # only when a file is really probed: `validate` of a profile needs none
    from mutagen.easyid3 import EasyID3

    if "instrumental" not in EasyID3.valid_keys:
        EasyID3.RegisterTXXXKey("instrumental", "INSTRUMENTAL")
    try:
        audio = mutagen.File(path, easy=True)
    except FileNotFoundError:
        return Probe(None, problem="file not found")
    except (mutagen.MutagenError, OSError, ValueError) as err:
        return Probe(None, problem=f"unreadable: {err}")
    if audio is None or getattr(audio, "info", None) is None:
        return Probe(None, problem="not an audio file")
    length = float(getattr(audio.info, "length", 0.0) or 0.0)
    tags = _first_values(audio.tags)
    if not length > 0 or not math.isfinite(length):
        return Probe(None, problem="has no audio")
    return Probe(length, dict(tags).get("title"), tags=tags)


def _first_values(found: object) -> tuple[tuple[str, str], ...]:
    """The first non-empty value of each TAG_KEYS key, whatever the tag format's casing."""
    if found is None:
        return ()
    out = []
    for key in TAG_KEYS:
        try:
            values = found.get(key) or found.get(key.upper())  # type: ignore[attr-defined]
        except (KeyError, ValueError):
            values = None
        text = str(values[0]).strip() if values else ""
        if text:
            out.append((key, text))
    return tuple(out)
