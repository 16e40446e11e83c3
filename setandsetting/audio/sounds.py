"""How long a chime sound lasts, whether built in or a file, without decoding it.

The timeline needs each chime's length (the music ducks under it for that long), and so
does the chime backend; both ask here. A built-in sound's length is a constant of its
recipe; a file's comes from its header (audio.tags). A sound that cannot be read lasts
0 s: the chime itself then fails, and says so, when it is due.
"""

from __future__ import annotations

import functools
from pathlib import Path

from setandsetting.audio.synth import BUILTIN_SOUNDS, length_s
from setandsetting.audio.tags import probe


@functools.lru_cache(maxsize=32)  # a timeline asks once per check-in rule
def sound_length(sound: str | Path, base: Path | None = None) -> float:
    """Seconds of `sound`: a built-in name, or a file (relative paths from `base`)."""
    if isinstance(sound, str) and sound in BUILTIN_SOUNDS:
        return length_s(sound)
    path = Path(sound) if base is None else base / sound
    return probe(path).length or 0.0
