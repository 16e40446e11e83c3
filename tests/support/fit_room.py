"""A small room for fitting playlists: five tagged tones in the library, a profile whose
`peak` phase lasts 11 s with 1 s crossfades, a patient with comments in their files, and a
journal of what the patient heard."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import mutagen
import numpy as np
import soundfile

from setandsetting.journal.store import Journal

PROFILE = """\
name: Fit test
route: other
defaults:
  crossfade: 1s
phases:
  - id: settle
    duration: 5s
    music: calm
    level: 30%
  - id: peak
    duration: 11s
    music: peak
    level: 40%
"""
PEAK = """\
# The patient's own peak: keep this comment.
name: Peak (P-0042)
tracks:
  - path: ../../music/b.flac
"""
PATIENT = "# standing preferences\navoid: []  # none yet\n"
# name: (seconds, tags). Instrumental by language zxx, genre, the INSTRUMENTAL tag; b is
# sung (language eng); e says nothing (the tests set it by hand).
TRACKS: dict[str, tuple[float, dict[str, str]]] = {
    "a": (4.0, {"title": "Alba", "language": "zxx"}),
    "b": (5.0, {"title": "Brume", "language": "eng"}),
    "c": (6.0, {"title": "Cirrus", "genre": "Ambient Instrumental"}),
    "d": (3.0, {"title": "Dune", "instrumental": "1"}),
    "e": (7.0, {"title": "Eau"}),
}
RATE = 8000


def make_fit_room(root: Path) -> Path:
    for sub in ("profiles", "music", "playlists/P-0042"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "room.yaml").write_text("library: [music]\n")
    (root / "profiles" / "fit.yaml").write_text(PROFILE)
    (root / "playlists/P-0042/peak.yaml").write_text(PEAK)
    (root / "playlists/P-0042/patient.yaml").write_text(PATIENT)
    for name, (seconds, tags) in TRACKS.items():
        path = root / "music" / f"{name}.flac"
        t = np.arange(round(seconds * RATE)) / RATE
        soundfile.write(path, (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), RATE)
        tagged = mutagen.File(path)
        for key, value in tags.items():
            tagged[key] = value
        tagged.save()
    return root


def journal_heard(root: Path, heard: list[str], in_gap: list[str] = ()) -> None:  # type: ignore[assignment]
    """One session of P-0042 in the journal that started these tracks (by name)."""
    with Journal.open(root / "sessions.db") as journal:
        sid = journal.begin_session(
            "P-0042", "profiles/fit.yaml", "Fit test", datetime.now(UTC), {}
        )
        for t, name in enumerate([*heard, *in_gap]):
            path = str((root / "music" / f"{name}.flac").resolve())
            event = {"type": "track_started", "t": float(t), "path": path, "title": name}
            journal.append(sid, event | ({"in_gap": True} if name in in_gap else {}))
