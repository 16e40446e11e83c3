"""Playlist edits on disk: exact file contents, comments kept, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from setandsetting.room import playlists as pe
from setandsetting.room.errors import EditError, NotFound
from setandsetting.room.folder import RoomFolder
from setandsetting.room.yamlfile import write_atomic
from tests.support.daemon import MOVED_PLAYLIST, PATIENT_PLAYLIST


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
        write_atomic(target, "tracks: 3\n", pe._load_as_yaml_playlist)
    assert target.read_text() == PATIENT_PLAYLIST
    assert _leftovers(folder) == []


def test_remove_and_bad_indexes(folder: RoomFolder) -> None:
    with pytest.raises(NotFound, match="the playlist has 2 tracks"):
        pe.remove_track(folder, "P-0042", "calm", 2)
    with pytest.raises(NotFound):
        pe.move_track(folder, "P-0042", "calm", -1, 0)
    view = pe.remove_track(folder, "P-0042", "calm", 0)
    assert [t["title"] for t in view["tracks"]] == ["T0"]
    assert _own(folder).read_text().startswith("# The patient's own calm list")


@pytest.mark.parametrize("slot", ["../x", "Calm", "", "a/b"])
def test_slot_names_are_slugs(folder: RoomFolder, slot: str) -> None:
    with pytest.raises(EditError, match="is not a playlist slot name"):
        pe.move_track(folder, "P-0042", slot, 0, 1)
