"""A short real room for engine and `run` tests: generated tones, one playlist, a profile
with acknowledged check-ins that escalate, and `resume_window: 15m`."""

from __future__ import annotations

from pathlib import Path

from tests.support.audio_analysis import write_tone

PROFILE = """\
name: Short
route: other
defaults:
  crossfade: 2s
phases:
  - id: settle
    name: Settle
    duration: 20s
    music: {slot: calm, order: sequential, loop: true}
    level: 40%
    checkins:
      - {at: [2s, 9s, 16s], kind: vitals, message: "BP", audience: staff, ack: required,
         escalate_after: 5s}
  - id: deep
    name: Deep
    duration: 2m
    extendable: 1m
    music: {slot: calm, order: sequential, loop: true}
    level: {from: 40%, to: 60%, shape: linear}
    checkins:
      - {at: [3s, 11s, 19s, 27s, 35s], kind: breath, message: "Breathe", audience: patient}
      - {every: 10s, kind: vitals, message: "BP", audience: staff, ack: required,
         escalate_after: 5s}
"""
TRACK_S = 8.0
FREQS = (300.0, 400.0, 500.0, 600.0)


def make_room(root: Path) -> Path:
    """Write the room under `root`; returns the profile's path."""
    for sub in ("profiles", "playlists/default", "music"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    entries = []
    for i, freq in enumerate(FREQS):
        write_tone(root / "music" / f"t{i}.flac", freq, TRACK_S, 0.2)
        entries.append(f"  - path: ../../music/t{i}.flac\n    title: T{i}\n")
    (root / "playlists/default/calm.yaml").write_text("name: Calm\ntracks:\n" + "".join(entries))
    (root / "room.yaml").write_text("resume_window: 15m\n")
    profile = root / "profiles" / "short.yaml"
    profile.write_text(PROFILE)
    return profile
