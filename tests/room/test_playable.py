"""What will play: tracks that are readable audio, slots that have a playlist."""

from __future__ import annotations

from pathlib import Path

import pytest

from setandsetting.room.folder import RoomFolder
from setandsetting.room.playable import slot_problems, track_problems
from tests.support.audio_analysis import write_tone

PROFILE = """\
name: t
phases:
  - id: a
    duration: 1m
    music: calm
  - id: b
    duration: 1m
    music: {slot: peek, loop: true}
  - {id: c, duration: 1m, music: silence}
  - {id: d, duration: 1m, music: calm}
"""


@pytest.fixture
def room(tmp_path: Path) -> Path:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "t.yaml").write_text(PROFILE)
    (tmp_path / "music").mkdir()
    write_tone(tmp_path / "music" / "a.flac", 440.0, 1.0)
    (tmp_path / "music" / "notes.txt").write_text("not audio")
    default = tmp_path / "playlists" / "default"
    default.mkdir(parents=True)
    (default / "calm.yaml").write_text("tracks:\n  - path: ../../music/a.flac\n")
    (default / "peak.yaml").write_text("tracks:\n  - path: ../../music/a.flac\n")
    return tmp_path


def test_a_playlist_whose_tracks_all_play_has_no_problem(room: Path) -> None:
    assert track_problems(room / "playlists" / "default" / "calm.yaml") == []


def test_each_track_that_would_not_play_is_a_problem_at_its_entry(room: Path) -> None:
    playlist = room / "playlists" / "default" / "mixed.m3u8"
    playlist.write_text(
        "#EXTM3U\n../../music/a.flac\n../../music/gone.flac\n../../music/notes.txt\n"
    )
    music = room / "music"
    assert [str(p) for p in track_problems(playlist)] == [
        f"{playlist}:3:1: no such file: {music / 'gone.flac'} (this track would not play)",
        f"{playlist}:4:1: not an audio file: {music / 'notes.txt'} (this track would not play)",
    ]
    yaml_playlist = room / "playlists" / "default" / "gone.yaml"
    yaml_playlist.write_text(f"tracks:\n  - path: a.flac\n  - path: {music / 'a.flac'}\n")
    assert [str(p) for p in track_problems(yaml_playlist)] == [
        f"{yaml_playlist}:2:11: tracks[0].path: no such file: "
        f"{yaml_playlist.parent / 'a.flac'} (this track would not play)"
    ]


def test_a_broken_playlist_reports_its_own_problems(room: Path) -> None:
    playlist = room / "playlists" / "default" / "bad.yaml"
    playlist.write_text("tracks:\n  - paht: a.flac\n")
    assert [p.message for p in track_problems(playlist)] == [
        "missing required key `path`",
        "unknown key `paht` (did you mean `path`?)",
    ]


def test_a_slot_without_a_playlist_is_a_problem_at_its_music_key(room: Path) -> None:
    profile = room / "profiles" / "t.yaml"
    missing, playing = slot_problems(RoomFolder(room), profile, None)
    assert [str(p) for p in missing] == [
        f"{profile}:8:5: phases[1].music: no playlist for slot 'peek' in playlists/default/ "
        f"of {room} (did you mean 'peak'?)"
    ]
    assert playing == [room / "playlists" / "default" / "calm.yaml"]


def test_a_patient_s_own_playlist_counts_and_is_what_plays(room: Path) -> None:
    own = room / "playlists" / "P-1"
    own.mkdir()
    (own / "peek.m3u").write_text("../../music/a.flac\n")
    (own / "calm.yaml").write_text("tracks: []\n")
    missing, playing = slot_problems(RoomFolder(room), room / "profiles" / "t.yaml", "P-1")
    assert missing == []
    assert playing == [own / "calm.yaml", own / "peek.m3u"]


def test_with_no_close_slot_the_message_lists_what_there_is(room: Path) -> None:
    profile = room / "profiles" / "t.yaml"
    profile.write_text("name: t\nphases:\n  - {id: a, duration: 1m, music: zzz}\n")
    missing, _ = slot_problems(RoomFolder(room), profile, "P-2")
    assert [p.message for p in missing] == [
        f"no playlist for slot 'zzz' in playlists/P-2/ or playlists/default/ of {room} "
        "(slots: calm, peak)"
    ]
