"""The loudness normalisation step: each track's gain plus what brings it to the room's target.

Tracks differ in loudness by 10 dB and more; without this a new track can start far louder
than the one before it. Loudness is measured once per file version (path, mtime, size) and
cached in the room's cache folder, so only new or changed files cost time (`library scan`
measures ahead of a session).
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from pathlib import Path

from setandsetting.core.timeline import SlotSource


def normalised(
    cache_dir: Path, slots: dict[str, SlotSource], target: float
) -> dict[str, SlotSource]:
    """The same slots, each readable track's gain raised or lowered towards `target` LUFS."""
    from setandsetting.audio.loudness import LoudnessCache, TrackLoudness, gain_to_target

    cache = LoudnessCache(cache_dir)
    out = {}
    for name, source in slots.items():
        tracks = []
        for track in source.tracks:
            found = cache.measure(Path(track.path)) if track.length is not None else None
            if isinstance(found, TrackLoudness):
                gain = gain_to_target(found.lufs, target, peak_db=found.peak_db)
                track = replace(track, gain_db=track.gain_db + gain)
            tracks.append(track)
        out[name] = replace(source, tracks=tuple(tracks))
    with contextlib.suppress(OSError):  # a read-only room still plays; it measures again
        cache.save()
    return out
