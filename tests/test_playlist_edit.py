"""Playlist edits on disk: exact file contents, comments kept, atomic writes, library bounds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from setandsetting import playlist_edit as pe
from setandsetting.roomfolder import RoomFolder
from tests.support.daemon import MOVED_PLAYLIST, PATIENT_PLAYLIST, make_api_room

M3U = "#EXTM3U\n#PLAYLIST:Waves\n#EXTINF:8,Wave A\n../../music/t2.flac\n../../music/t3.flac\n"


@pytest.fixture
def folder(tmp_path: Path) -> RoomFolder:
    root = tmp_path / "room"
    make_api_room(root)
    (root / "playlists/default/waves.m3u8").write_text(M3U)
    return RoomFolder(root)


def _own(folder: RoomFolder, slot: str = "calm") -> Path:
    return folder.root / "playlists" / "P-0042" / f"{slot}.yaml"


def _leftovers(folder: RoomFolder) -> list[str]:
    return [p.name for p in folder.root.rglob("*.tmp")]


def test_move_keeps_comments_and_order_of_keys(folder: RoomFolder) -> None:
    view = pe.move_track(folder, "P-0042", "calm", 0, 1)
    assert [t["title"] for t in view["tracks"]] == ["T0", "T1"]
    assert _own(folder).read_text() == MOVED_PLAYLIST
    assert _leftovers(folder) == []


def test_an_edit_without_change_writes_the_same_bytes(folder: RoomFolder) -> None:
    pe.move_track(folder, "P-0042", "calm", 1, 1)
    assert _own(folder).read_text() == PATIENT_PLAYLIST


def test_the_first_edit_of_a_default_slot_copies_it(folder: RoomFolder) -> None:
    view = pe.add_track(folder, "P-0043", "calm", "music/t3.flac", "Tone 3")
    assert view["note"] == "copied from playlists/default/calm.yaml"
    text = (folder.root / "playlists/P-0043/calm.yaml").read_text()
    assert text == (folder.root / "playlists/default/calm.yaml").read_text() + (
        "  - path: ../../music/t3.flac\n    title: Tone 3\n"
    )


def test_an_m3u_default_becomes_yaml_with_rebased_paths(folder: RoomFolder) -> None:
    view = pe.copy_default(folder, "P-0042", "waves")
    assert view["note"] == "waves.m3u8 (M3U) was converted to YAML"
    assert _own(folder, "waves").read_text() == (
        "# Converted from waves.m3u8 on first edit.\n"
        "name: Waves\n"
        "tracks:\n"
        "  - path: ../../music/t2.flac\n"
        "    title: Wave A\n"
        "  - path: ../../music/t3.flac\n"
    )
    assert [t["duration_s"] for t in view["tracks"]] == [8.0, 8.0]


def test_a_copy_to_a_deeper_folder_rewrites_relative_paths(folder: RoomFolder) -> None:
    assert pe._rebase("../../music/t0.flac", Path("/r/playlists/default"), Path("/r/x/y/z")) == (
        "../../../music/t0.flac"
    )
    assert pe._rebase("/abs/t.flac", Path("/a"), Path("/b")) == "/abs/t.flac"


def test_a_failed_replace_leaves_the_old_file_and_no_temp(folder: RoomFolder, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def refuse(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        pe.move_track(folder, "P-0042", "calm", 0, 1)
    assert _own(folder).read_text() == PATIENT_PLAYLIST
    assert _leftovers(folder) == [] and sorted(p.name for p in _own(folder).parent.iterdir()) == [
        "calm.yaml",
        "patient.yaml",
    ]


def test_a_write_the_loader_would_reject_is_never_put_in_place(folder: RoomFolder) -> None:
    target = folder.root / "playlists/P-0042/calm.yaml"
    with pytest.raises(Exception, match="tracks"):
        pe.write_atomic(target, "tracks: 3\n", pe._load_as_yaml_playlist)
    assert target.read_text() == PATIENT_PLAYLIST
    assert _leftovers(folder) == []


def test_remove_and_bad_indexes(folder: RoomFolder) -> None:
    with pytest.raises(pe.NotFound, match="the playlist has 2 tracks"):
        pe.remove_track(folder, "P-0042", "calm", 2)
    with pytest.raises(pe.NotFound):
        pe.move_track(folder, "P-0042", "calm", -1, 0)
    view = pe.remove_track(folder, "P-0042", "calm", 0)
    assert [t["title"] for t in view["tracks"]] == ["T0"]
    assert _own(folder).read_text().startswith("# The patient's own calm list")


@pytest.mark.parametrize("slot", ["../x", "Calm", "", "a/b"])
def test_slot_names_are_slugs(folder: RoomFolder, slot: str) -> None:
    with pytest.raises(pe.EditError, match="is not a playlist slot name"):
        pe.move_track(folder, "P-0042", slot, 0, 1)


def test_library_paths_stay_inside_the_roots(folder: RoomFolder, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.flac"
    outside.write_bytes(b"x")
    (folder.root / "music" / "link.flac").symlink_to(outside)
    (folder.root / "music" / "notes.txt").write_text("x")
    assert pe.library_file(folder, "music/t0.flac") == folder.root / "music" / "t0.flac"
    assert pe.library_file(folder, "t1.flac") == folder.root / "music" / "t1.flac"
    for bad, message in [
        ("music/link.flac", "outside the room's library"),
        (str(outside), "outside the room's library"),
        ("/etc/passwd", "outside the room's library"),
        ("../room/music/t0.flac", "'..' is not allowed"),
        ("music/notes.txt", "is not an audio file"),
        ("", "a library path is required"),
    ]:
        with pytest.raises(pe.EditError, match=message):
            pe.library_file(folder, bad)
    assert "music/link.flac" not in [e["path"] for e in pe.library(folder)]


def test_avoid_keeps_the_rest_of_patient_yaml(folder: RoomFolder) -> None:
    path = folder.root / "playlists/P-0042/patient.yaml"
    path.write_text("# prefs\ndisplay_name: X  # shown\navoid:\n  - '*Storm*'\nnotes: calm\n")
    assert pe.set_avoid(folder, "P-0042", ["*Rain*", "music/t1.flac"]) == [
        "*Rain*",
        "music/t1.flac",
    ]
    assert path.read_text() == (
        "# prefs\ndisplay_name: X  # shown\navoid:\n  - '*Rain*'\n  - music/t1.flac\nnotes: calm\n"
    )
    with pytest.raises(pe.EditError):
        pe.set_avoid(folder, "P-0042", ["", "x"])
