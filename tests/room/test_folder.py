"""The room folder: slot resolution, patient checks, loudness normalisation, track probing."""

from pathlib import Path

import pytest

from setandsetting.room.errors import EditError, NotFound
from setandsetting.room.folder import RoomFolder, track_file
from tests.support.audio_analysis import write_tone

PROFILE = """name: t
phases:
  - id: a
    duration: 1m
    music: calm
"""


@pytest.fixture
def room(tmp_path):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "t.yaml").write_text(PROFILE)
    default = tmp_path / "playlists" / "default"
    default.mkdir(parents=True)
    music = tmp_path / "music"
    music.mkdir()
    write_tone(music / "loud.flac", 440.0, 3.0, amplitude=0.5)
    write_tone(music / "soft.flac", 440.0, 3.0, amplitude=0.05)
    (default / "calm.yaml").write_text(
        "tracks:\n  - path: ../../music/loud.flac\n  - path: ../../music/soft.flac\n"
    )
    return tmp_path


def test_patient_playlist_overrides_the_default_slot_by_slot(room):
    folder = RoomFolder(room)
    assert folder.slot_file("P-1", "calm")[1] == "default"
    own = room / "playlists" / "P-1"
    own.mkdir()
    (own / "calm.m3u8").write_text("#EXTM3U\n../../music/soft.flac\n")
    path, owner = folder.slot_file("P-1", "calm")
    assert (path.name, owner) == ("calm.m3u8", "patient")


def test_the_slots_with_a_playlist_for_a_patient_or_the_default(room):
    folder = RoomFolder(room)
    own = room / "playlists" / "P-1"
    own.mkdir()
    (own / "peak.m3u").write_text("../../music/soft.flac\n")
    (own / "patient.yaml").write_text("avoid: []\n")
    (own / "Notes.yaml").write_text("not a slot name\n")
    (room / "playlists" / "default" / "read-me.txt").write_text("not a playlist\n")
    assert folder.slots("P-1") == ["calm", "peak"]
    assert folder.slots(None) == ["calm"]
    assert folder.slots("P-2") == ["calm"]


def test_a_track_path_is_absolute_or_from_its_playlist(room):
    playlist = room / "playlists" / "default" / "calm.yaml"
    assert track_file(playlist, "../../music/loud.flac") == room / "music" / "loud.flac"
    assert track_file(playlist, "/srv/x.flac") == Path("/srv/x.flac")


@pytest.mark.parametrize("bad", ["../etc", "a b", "", "x" * 65, "-lead"])
def test_patient_ids_outside_the_pattern_are_refused(room, bad):
    with pytest.raises(EditError, match="is not a patient ID"):
        RoomFolder(room).patient_dir(bad)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "Calm", "a/b"])
def test_slot_names_outside_the_pattern_are_refused(room, bad):
    with pytest.raises(EditError, match="is not a playlist slot name"):
        RoomFolder(room).slot_file("P-1", bad)


def test_a_profile_is_named_by_its_file_name_inside_profiles(room):
    folder = RoomFolder(room)
    assert folder.profile_path("t") == folder.profiles_dir / "t.yaml"
    assert folder.profile_path("t.yaml") == folder.profiles_dir / "t.yaml"


@pytest.mark.parametrize("bad", ["../t", "a/b", "", "t b", "-t"])
def test_a_profile_name_outside_the_pattern_is_an_edit_error(room, bad):
    with pytest.raises(EditError, match=r"is not a profile name$"):
        RoomFolder(room).profile_path(bad)


def test_a_missing_profile_is_not_found(room):
    with pytest.raises(NotFound, match=r"^no profile 'gone' in .*profiles$"):
        RoomFolder(room).profile_path("gone")


def test_a_command_line_names_a_profile_by_path_or_by_name(room, monkeypatch):
    folder = RoomFolder(room)
    profile = folder.profiles_dir / "t.yaml"
    monkeypatch.chdir(room / "playlists")
    assert folder.profile_file("t") == profile
    assert folder.profile_file("t.yaml") == profile
    assert folder.profile_file("profiles/t.yaml") == profile  # inside the room folder
    assert folder.profile_file(str(profile)) == profile
    (room / "playlists" / "draft.yaml").write_text(PROFILE)
    assert folder.profile_file("draft.yaml") == Path("draft.yaml")  # as given: from here


@pytest.mark.parametrize(
    ("name", "hint"),
    [("tt", " (did you mean 't'?)"), ("zzz", " (profiles: t)"), ("../t", " (did you mean 't'?)")],
)
def test_a_profile_named_nowhere_says_what_the_room_has(room, name, hint):
    folder = RoomFolder(room)
    with pytest.raises(NotFound) as missing:
        folder.profile_file(name)
    where = folder.profiles_dir
    assert str(missing.value) == f"no profile {name!r}: no such file, nor a name in {where}{hint}"


def test_tracks_are_probed_for_their_real_length(room):
    tracks = RoomFolder(room).slot_source(None, "calm").tracks
    assert [round(t.length, 2) for t in tracks] == [3.0, 3.0]
    assert [t.title for t in tracks] == ["loud", "soft"]


def test_without_a_target_tracks_play_as_mastered(room):
    compiled = RoomFolder(room).compile(room / "profiles" / "t.yaml", "P-1")
    assert [t.gain_db for t in compiled.timeline.phases[0].tracks] == [0.0, 0.0]


def test_a_loudness_target_brings_tracks_together_and_is_cached(room):
    (room / "room.yaml").write_text("audio: {loudness_target: -23 LUFS}\n")
    compiled = RoomFolder(room).compile(room / "profiles" / "t.yaml", "P-1")
    loud, soft = compiled.timeline.phases[0].tracks
    # A stereo sine at amplitude 0.5: -0.691 + 10*log10(2 * 0.5**2 / 2) = -6.71 LUFS.
    assert loud.gain_db == pytest.approx(-23 - (-6.71), abs=0.3)
    # The soft one is 20 dB quieter: boosted, but never past the peak limit.
    assert soft.gain_db > loud.gain_db + 12
    assert (room / ".cache" / "loudness.json").is_file()


def test_avoid_paths_count_from_the_patient_folder_or_the_room(room):
    """`playlist avoid --add music/x.flac` and the web UI write room-relative paths; a
    hand-written patient.yaml may count from its own folder like a playlist does."""
    music = room / "music"
    write_tone(music / "third.flac", 440.0, 3.0, amplitude=0.1)
    write_tone(music / "fourth.flac", 440.0, 3.0, amplitude=0.1)
    (room / "playlists" / "default" / "calm.yaml").write_text(
        "tracks:\n"
        + "".join(
            f"  - {{path: ../../music/{name}.flac, title: {name.title()}}}\n"
            for name in ("loud", "soft", "third", "fourth")
        )
    )
    own = room / "playlists" / "P-1"
    own.mkdir()
    (own / "patient.yaml").write_text(
        "avoid: [music/loud.flac, ../../music/soft.flac, '*Third*']\n"
    )
    timeline = RoomFolder(room).compile(room / "profiles" / "t.yaml", "P-1").timeline
    assert [t.path.name for t in timeline.phases[0].tracks] == ["fourth.flac"]
    removed = [w for w in timeline.warnings if "avoid list" in w]
    assert removed == [
        f"phase a: {title} removed (on the patient's avoid list)"
        for title in ("Loud", "Soft", "Third")
    ]


def test_an_avoided_room_path_is_kept_out_when_the_music_folder_is_a_symlink(
    room, tmp_path_factory
):
    """Track paths are resolved; an avoid entry written as the room names the file
    (`music/loud.flac`, as `playlist avoid` writes it) must still match through a symlink."""
    elsewhere = tmp_path_factory.mktemp("library") / "music"
    (room / "music").rename(elsewhere)
    (room / "music").symlink_to(elsewhere)
    own = room / "playlists" / "P-1"
    own.mkdir()
    (own / "patient.yaml").write_text("avoid: [music/loud.flac]\n")
    timeline = RoomFolder(room).compile(room / "profiles" / "t.yaml", "P-1").timeline
    assert [t.path.name for t in timeline.phases[0].tracks] == ["soft.flac"]
    removed = [w for w in timeline.warnings if "avoid list" in w]
    assert removed == ["phase a: loud removed (on the patient's avoid list)"]


def test_an_unknown_patient_is_said_with_the_likely_id_meant(tmp_path: Path) -> None:
    (tmp_path / "playlists" / "P-0042").mkdir(parents=True)
    folder = RoomFolder(tmp_path)
    assert folder.unknown_patient("P-0042") is None
    assert folder.unknown_patient("P-0024") == (
        "no patient P-0024 in this room (did you mean P-0042?): the default music and no "
        "avoid list; check the ID unless this is a new patient"
    )
