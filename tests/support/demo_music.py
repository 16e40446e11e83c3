"""The repository's generated demo music in a test's own room, at no cost: linked file by
file (making it takes a minute), and its loudness as the room's cache would hold it once
measured (measuring it takes 10 s of CPU; the values are stand-ins, the same for each)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from setandsetting.audio.demo_music import ALL_NAMES
from setandsetting.room.folder import CACHE_NAME

REPO = Path(__file__).resolve().parents[2]
GENERATED = REPO / "music" / "demo"


def link_demo_music(room: Path) -> Path:
    """room/music/demo with a link to each demo file, measured; the folder."""
    if not (GENERATED / ".generated").exists():
        pytest.fail("the demo music is missing: `make test` generates it first")
    music = room / "music" / "demo"
    music.mkdir(parents=True)
    cache = {}
    for name in ALL_NAMES:
        link = music / f"{name}.flac"
        link.symlink_to(GENERATED / link.name)
        st = link.stat()
        cache[str(link.resolve())] = {
            "mtime_ns": st.st_mtime_ns,
            "size": st.st_size,
            **{"lufs": -23.0, "peak_db": -6.0, "duration_s": 60.0},
        }
    (room / CACHE_NAME).mkdir(exist_ok=True)
    (room / CACHE_NAME / "loudness.json").write_text(json.dumps(cache))
    return music
