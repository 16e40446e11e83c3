"""The library's path guard: nothing outside the roots, no '..', only audio files."""

from __future__ import annotations

from pathlib import Path

import pytest

from setandsetting.room.errors import EditError
from setandsetting.room.folder import RoomFolder
from setandsetting.room.library import library, library_file


def test_library_paths_stay_inside_the_roots(folder: RoomFolder, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.flac"
    outside.write_bytes(b"x")
    (folder.root / "music" / "link.flac").symlink_to(outside)
    (folder.root / "music" / "notes.txt").write_text("x")
    assert library_file(folder, "music/t0.flac") == folder.root / "music" / "t0.flac"
    assert library_file(folder, "t1.flac") == folder.root / "music" / "t1.flac"
    for bad, message in [
        ("music/link.flac", "outside the room's library"),
        (str(outside), "outside the room's library"),
        ("/etc/passwd", "outside the room's library"),
        ("../room/music/t0.flac", "'..' is not allowed"),
        ("music/notes.txt", "is not an audio file"),
        ("", "a library path is required"),
    ]:
        with pytest.raises(EditError, match=message):
            library_file(folder, bad)
    assert "music/link.flac" not in [e["path"] for e in library(folder)]
