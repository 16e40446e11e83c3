"""A track's length and title from its headers and tags (mutagen), without decoding it.

The one place a file's length is read: the timeline compiler (through the room folder),
the playlist views, the library, the chime lengths and the silent music clock all ask here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Probe:
    length: float | None
    title: str | None = None
    problem: str | None = None


def probe(path: Path) -> Probe:
    """Length and title of an audio file; `problem` says why there is no length."""
    import mutagen  # only when a file is really probed: `validate` of a profile needs none

    try:
        audio = mutagen.File(path, easy=True)
    except FileNotFoundError:
        return Probe(None, problem="file not found")
    except (mutagen.MutagenError, OSError, ValueError) as err:
        return Probe(None, problem=f"unreadable: {err}")
    if audio is None or getattr(audio, "info", None) is None:
        return Probe(None, problem="not an audio file")
    length = float(getattr(audio.info, "length", 0.0) or 0.0)
    titles = (audio.tags or {}).get("title") if audio.tags is not None else None
    title = str(titles[0]) if titles else None
    if not length > 0 or not math.isfinite(length):
        return Probe(None, problem="has no audio")
    return Probe(length, title)
