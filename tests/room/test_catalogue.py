"""The catalogue file: what an interrupted scan keeps, and a file that is not ours refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from setandsetting.room import catalogue
from setandsetting.room.catalogue import CatalogueError, scan, stored_rows
from setandsetting.room.folder import RoomFolder
from tests.support.fit_room import make_fit_room


def test_an_interrupted_scan_keeps_every_file_committed_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = RoomFolder(make_fit_room(tmp_path))
    monkeypatch.setattr(catalogue, "COMMIT_EVERY", 2)
    files = catalogue.audio_files(folder.root / "music")

    def stop_at_the_fourth(file: Path) -> None:
        if file.name == "d.flac":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        scan(folder, files, progress=stop_at_the_fourth)
    assert sorted(stored_rows(folder)) == ["music/a.flac", "music/b.flac"]  # c was uncommitted
    again = scan(folder, files)
    assert (again.read, again.unchanged) == (3, 2)
    assert stored_rows(folder)["music/e.flac"].title == "Eau"


def test_another_programs_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    folder = RoomFolder(make_fit_room(tmp_path))
    with sqlite3.connect(folder.root / "catalogue.db") as con:
        con.execute("CREATE TABLE notes (text TEXT)")
    before = (folder.root / "catalogue.db").read_bytes()
    with pytest.raises(CatalogueError, match="is not a setandsetting catalogue"):
        scan(folder, catalogue.audio_files(folder.root / "music"))
    assert (folder.root / "catalogue.db").read_bytes() == before
