"""The timeline compiler, with exact expectations; `is_avoided` first, since it keeps a
patient from a track tied to a trauma."""

from __future__ import annotations

from pathlib import PurePath

import pytest

from setandsetting.core.playlist import Patient
from setandsetting.core.profile import Profile
from setandsetting.core.timeline import (
    CheckinPlan,
    SlotSource,
    TrackInfo,
    compile_timeline,
    is_avoided,
)
from tests.support.timelines import slot, timeline

ROOM = PurePath("/srv/room")
PATIENT_DIR = ROOM / "playlists" / "P-0042"
DRIFT = TrackInfo(ROOM / "music" / "drift.flac", "Drift", length=300.0)


def avoided(entry: str, track: TrackInfo = DRIFT, patient_dir: PurePath | None = PATIENT_DIR):
    return is_avoided(track, (entry,), patient_dir)


@pytest.mark.parametrize(
    "entry",
    [
        "/srv/room/music/drift.flac",  # absolute
        "/srv/room/music/../music/./drift.flac",  # absolute, not normalised
        "music/drift.flac",  # from the room folder (`playlist avoid`, the web UI's library)
        "./music/drift.flac",
        "../../music/drift.flac",  # from the patient's folder (as playlist paths are)
        "../../../room/music/drift.flac",
    ],
)
def test_a_path_avoids_the_track_at_that_path(entry):
    assert avoided(entry)


@pytest.mark.parametrize("entry", ["drift.flac", "Drift.FLAC"])
def test_a_bare_file_name_avoids_a_file_of_that_name_in_any_folder(entry):
    assert avoided(entry)
    assert avoided(entry, TrackInfo(PATIENT_DIR / "own" / "drift.flac", "Own", length=9.0))
    assert not avoided(entry, TrackInfo(ROOM / "music" / "drift2.flac", "Drift", length=9.0))
    assert not avoided(entry, TrackInfo(ROOM / "music" / "olddrift.flac", "Old", length=9.0))


def test_a_path_from_the_patient_folder_avoids_a_track_kept_there():
    own = TrackInfo(PATIENT_DIR / "songs" / "lullaby.flac", "Lullaby", length=200.0)
    assert avoided("songs/lullaby.flac", own)
    assert avoided("/srv/room/playlists/P-0042/songs/lullaby.flac", own)
    assert not avoided("songs/lullaby.flac", DRIFT)


@pytest.mark.parametrize(
    "entry",
    [
        "music/drift2.flac",  # another file
        "music/drift.flac.bak",
        "music/drift.ogg",  # another file of the same name
        "music/Drift.flac",  # paths are case-sensitive, as the room's filesystem is
        "other/music/drift.flac",
        "/srv/room/music/sub/drift.flac",
        "/srv/music/drift.flac",
        "../music/drift.flac",  # from the patient's folder: playlists/music/drift.flac
        "playlists/music/drift.flac",
    ],
)
def test_a_path_near_the_track_does_not_avoid_it(entry):
    assert not avoided(entry)


def test_without_a_patient_folder_a_relative_path_is_taken_as_written():
    here = TrackInfo(PurePath("music/drift.flac"), "Drift", length=300.0)
    assert avoided("music/drift.flac", here, patient_dir=None)
    assert not avoided("music/drift.flac", DRIFT, patient_dir=None)


@pytest.mark.parametrize(
    "entry",
    [
        "Drift",  # a part of the title, in any case
        "drift",
        "DRIFT",
        "rif",
        "*Drift*",  # a glob, in any case
        "dr?ft",
        "[cd]rift",
        "drift.*",  # a glob with a dot and no slash: matched against the file name
    ],
)
def test_a_title_pattern_avoids_the_track_by_title_or_file_name(entry):
    assert avoided(entry)


def test_a_title_pattern_also_matches_the_file_name():
    quiet_title = TrackInfo(ROOM / "music" / "storm-03.flac", "Track 3", length=300.0)
    assert avoided("storm", quiet_title)
    assert avoided("*STORM*", quiet_title)


@pytest.mark.parametrize(
    "entry",
    [
        "Drifting",  # longer than the title
        "Drft",
        "Dr ift",
        "d?ift?",  # a glob is matched whole: one more character than the title has
        "drift?",
        "[ab]rift",
    ],
)
def test_a_title_pattern_that_is_not_in_the_title_does_not_avoid_it(entry):
    assert not avoided(entry)


def test_an_explicit_glob_is_anchored_a_plain_word_is_not():
    storm = TrackInfo(ROOM / "music" / "x.flac", "The storm", length=60.0)
    assert avoided("storm", storm)
    assert avoided("*storm", storm)
    assert not avoided("storm*", storm)


def test_any_entry_of_the_list_avoids_and_an_empty_list_avoids_nothing():
    assert is_avoided(DRIFT, ("Storm", "music/other.flac", "drift"), PATIENT_DIR)
    assert not is_avoided(DRIFT, ("Storm", "music/other.flac"), PATIENT_DIR)
    assert not is_avoided(DRIFT, (), PATIENT_DIR)


# ---------------------------------------------------------------- compile_timeline

PROFILE = {
    "name": "t",
    "defaults": {"crossfade": "5s"},
    "phases": [
        {"id": "a", "duration": "60s", "music": "a"},
        {"id": "b", "duration": "60s", "music": {"slot": "b", "order": "shuffle"}},
        {
            "id": "c",
            "duration": "30s",
            "music": "c",
            "not_before": {"after": "a", "at_least": "200s"},
        },
        {"id": "d", "duration": "open", "music": "missing"},
        {"id": "e", "duration": "20s"},
    ],
}
A_TRACKS = (
    TrackInfo(PurePath("/m/a0.flac"), "A0", start=10.0, end=50.0, length=60.0),
    TrackInfo(PurePath("/m/a1.flac"), "A1", start=5.0, end=100.0, length=30.0),  # end past it
    TrackInfo(PurePath("/m/a2.flac"), "A2", start=29.5, length=30.0),
    TrackInfo(PurePath("/m/a3.flac"), "A3", problem="cannot decode"),
    TrackInfo(PurePath("/m/a4.flac"), "A4"),
    TrackInfo(PurePath("/m/storm.flac"), "Storm", length=30.0),
)
SLOTS = {
    "a": SlotSource("a", PurePath("/p/a.yaml"), "default", A_TRACKS),
    "b": slot("b", [10.0, 10.0, 10.0, 10.0]),
    "c": SlotSource("c", PurePath("/p/c.m3u"), "patient", problem="not UTF-8"),
}


def compiled(seed: int = 0):
    return compile_timeline(
        Profile.model_validate(PROFILE),
        SLOTS,
        patient_id="P-1",
        patient=Patient(avoid=["storm"]),
        patient_dir=PurePath("/p"),
        seed=seed,
    )


def test_compile_warns_of_every_track_and_playlist_it_cannot_play():
    assert compiled().warnings == (
        "phase a: A2 skipped (nothing left after its trims)",
        "phase a: /m/a3.flac skipped (cannot decode)",
        "phase a: /m/a4.flac skipped (missing or unreadable)",
        "phase a: Storm removed (on the patient's avoid list)",
        "phase b: playlist lasts 25s, shorter than the phase (1m); silence follows for the "
        "last 35s",
        "phase c: playlist /p/c.m3u cannot be read (not UTF-8); the phase will be silent",
        "phase d: no playlist for slot 'missing'; the phase will be silent",
        "phase d: open-ended; it runs until the clinician moves on",
    )


def test_compile_applies_trims_floors_and_the_planned_clock():
    tl = compiled()
    assert [(p.id, p.planned_start, p.planned_end, p.not_before) for p in tl.phases] == [
        ("a", 0.0, 60.0, None),
        ("b", 60.0, 120.0, None),
        ("c", 120.0, 200.0, (0, 200.0)),  # 30 s planned, but not before 200 s after a began
        ("d", 200.0, None, None),
        ("e", None, None, None),  # after an open phase nothing has a planned time
    ]
    a = tl.phases[0]
    assert [(t.title, t.start, t.duration, t.end) for t in a.tracks] == [
        ("A0", 10.0, 40.0, 50.0),
        ("A1", 5.0, 25.0, 30.0),  # its end lies past the file's: the file's end
    ]
    assert tl.phase_index("c") == 2
    with pytest.raises(KeyError):
        tl.phase_index("z")


def test_shuffle_is_stable_for_a_seed_and_differs_between_seeds():
    def order(seed: int) -> list[str]:
        return [t.title for t in compiled(seed).phases[1].tracks]

    assert order(0) == order(0) == ["b 0", "b 1", "b 3", "b 2"]
    assert order(1) == ["b 3", "b 0", "b 1", "b 2"]


def test_a_playlist_longer_than_its_phase_names_the_track_that_is_cut():
    profile = {
        "name": "long",
        "defaults": {"crossfade": "5s"},
        "phases": [{"id": "a", "duration": "60s", "music": "a"}],
    }
    assert timeline(profile, {"a": [40.0, 40.0, 40.0]}).warnings == (
        "phase a: playlist lasts 1m50s, longer than the phase (1m); a 1 is cut at 25s with a "
        "fade; 1 track(s) after it will not play",
    )


def checkin(rule: dict) -> CheckinPlan:
    profile = {
        "name": "c",
        "defaults": {"chime": {"audience": "patient", "level": "40%", "duck": "-6dB"}},
        "limits": {"max_level": "30%"},
        "phases": [{"id": "a", "duration": "3h", "checkins": [rule]}],
    }
    return timeline(profile, chime_s=4.0).phases[0].checkins[0]


def test_a_checkin_at_fixed_times():
    rule = checkin({"at": ["10m", "5m"], "kind": "bp", "ack": "required"})
    assert (rule.rule_id, rule.at, rule.kind, rule.ack_required) == (
        "a.0",
        (300.0, 600.0),
        "bp",
        True,
    )
    assert [rule.offset(n) for n in range(3)] == [300.0, 600.0, None]
    assert [rule.first_at_or_after(x) for x in (0.0, 300.0, 301.0, 600.0, 601.0)] == [0, 0, 1, 1, 2]
    # the room's chime defaults, its level under the cap, the duck as a factor
    assert (rule.audience, rule.sound, rule.level, rule.chime_s) == ("patient", "bowl", 0.3, 4.0)
    assert rule.duck_factor == pytest.approx(10 ** (-6 / 60))


def test_a_checkin_every_so_often_until_a_time():
    rule = checkin({"every": "15m", "until": "1h", "kind": "vitals", "audience": "staff"})
    assert (rule.start, rule.until, rule.audience) == (900.0, 3600.0, "staff")
    assert [rule.offset(n) for n in range(5)] == [900.0, 1800.0, 2700.0, 3600.0, None]
    assert [rule.first_at_or_after(x) for x in (0.0, 900.0, 901.0, 1800.0)] == [0, 0, 1, 1]
    started = checkin({"every": "15m", "start": "0s", "kind": "vitals"})
    assert [started.offset(n) for n in range(3)] == [0.0, 900.0, 1800.0]


def test_a_continuing_phase_plays_the_slot_in_the_order_it_began_and_is_judged_on_the_rest():
    """b continues a's shuffled order, c (after y) b's; the fit is judged on what the
    phases share: a and b play 2 min of the 2m20s playlist, leaving c 20 s of it."""
    profile = {
        "name": "flow",
        "defaults": {"crossfade": "5s"},
        "phases": [
            {"id": "a", "duration": "60s", "music": {"slot": "x", "order": "shuffle"}},
            {"id": "b", "duration": "60s", "music": "x"},
            {"id": "y", "duration": "60s", "music": "y"},
            {"id": "c", "duration": "60s", "music": {"slot": "x", "continue": True}},
        ],
    }
    tl = timeline(profile, {"x": [40.0, 50.0, 35.0, 30.0], "y": [60.0]})
    assert [p.continues for p in tl.phases] == [None, 0, None, 1]
    assert tl.phases[1].tracks == tl.phases[3].tracks == tl.phases[0].tracks
    assert [t.title for t in tl.phases[0].tracks] == ["x 0", "x 1", "x 3", "x 2"]
    assert tl.warnings == (
        "phase b: rest of the playlist it continues lasts 1m20s, longer than the phase (1m); "
        "x 2 is cut at 15s with a fade",
        "phase c: rest of the playlist it continues lasts 20s, shorter than the phase (1m); "
        "silence follows for the last 40s",
    )
