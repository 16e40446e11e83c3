"""Loaders: every problem of a file at FILE:LINE:COL, readable union errors, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from setandsetting.core.loader import (
    load_located_playlist,
    load_patient,
    load_playlist,
    load_profile,
    load_profile_doc,
    load_room,
)
from setandsetting.core.playlist import Patient, Playlist, Track
from setandsetting.core.problems import FormatError
from setandsetting.core.room import Room


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(loader, path: Path) -> list[str]:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError) as caught:
        loader(path)
    prefix = f"{path}:"
    assert all(str(p).startswith(prefix) for p in caught.value.problems)
    return [str(p).removeprefix(prefix) for p in caught.value.problems]


PHASE = "name: P\nphases:\n  - id: peak\n    duration: 30m\n"


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("{form: 35%}", "5:13: phases[0].level.form: unknown key `form` (did you mean `from`?)"),
        ("120%", "5:12: phases[0].level: '120%': a level must be between 0% and 100%"),
        ("loud", "5:12: phases[0].level: 'loud' is not a level; write e.g. 40% or -18dB"),
        ("{from: 35%}", "5:12: phases[0].level: missing required key `to`"),
        (
            "{from: 35%, to: 150%}",
            "5:28: phases[0].level.to: '150%': a level must be between 0% and 100%",
        ),
        (
            "{points: [[0, 50%], [x, 60%]], shape: linear}",
            "5:33: phases[0].level.points[1][0]: 'x' is not a duration; "
            "write e.g. 90s, 15m, 1h20m, 1h 20m 5s or 1:20:00",
        ),
        (
            "{from: 35%, to: 50%, shape: wobble}",
            "5:40: phases[0].level.shape: should be 'linear', 's-curve', 'exponential', "
            "'logarithmic' or 'hold' (got 'wobble')",
        ),
        (
            "[35%, 50%]",
            "5:12: phases[0].level: a level is `40%`, `-18dB`, `{from, to, shape}` or "
            "`{points, shape}`, not a list",
        ),
    ],
)
def test_a_bad_level_is_one_useful_message(tmp_path: Path, level: str, expected: str) -> None:
    path = write(tmp_path, "p.yaml", PHASE + f"    level: {level}\n")
    assert problems(load_profile, path) == [expected]


def test_all_problems_of_a_file_in_position_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.yaml",
        "route: IM\n"
        "phases:\n"
        "  - id: Peak One\n"
        "    duration: 0\n"
        "    checkin: []\n"
        "  - duration: 5m\n"
        "    music: Peak X\n"
        "    cues:\n"
        "      - {at: start, osc: {address: /a, args: [[1]]}}\n",
    )
    assert problems(load_profile, path) == [
        "1:1: missing required key `name`",
        "1:8: route: should be 'im', 'sublingual', 'iv', 'intranasal', 'oral' or 'other' "
        "(got 'IM')",
        "3:9: phases[0].id: 'Peak One' is not a valid id: use lower-case letters, digits, - and _ "
        "(e.g. peak, return-1)",
        "4:15: phases[0].duration: a phase needs a duration above 0, or `open`",
        "5:5: phases[0].checkin: unknown key `checkin` (did you mean `checkins`?)",
        "6:5: phases[1]: missing required key `id`",
        "7:12: phases[1].music: 'Peak X' is not a valid id: use lower-case letters, digits, "
        "- and _ (e.g. peak, return-1)",
        "9:47: phases[1].cues[0].osc.args[0]: should be a valid boolean, integer, number or "
        "string (got a list)",
    ]


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "p.yaml", "- just\n- a list\n")
    assert problems(load_profile, path) == [
        "1:1: should be a mapping of `key: value` lines, not a list"
    ]


def test_cross_field_problems_point_at_the_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "p.yaml",
        "name: P\n"
        "limits: {max_level: 50%}\n"
        "phases:\n"
        "  - id: dosing\n"
        "    duration: 5m\n"
        "    not_before: {after: retrun, at_least: 40m}\n"
        "  - id: dosing\n"
        "    duration: open\n"
        "    extendable: 10m\n"
        "    level:\n"
        "      points: [[0, 40%], [end, 60%]]\n"
        "    checkins:\n"
        "      - {every: 15m, from: later}\n",
    )
    assert problems(load_profile, path) == [
        "6:25: phases[0].not_before.after: no phase is called 'retrun' (phases: dosing, dosing)",
        "7:9: phases[1].id: phase id 'dosing' is used twice",
        "9:17: phases[1].extendable: an open phase cannot be extended",
        "11:15: phases[1].level.points: an open phase has no `end`",
        "11:32: phases[1].level.points[1][1]: level 60% is above limits.max_level 50%",
        "13:28: phases[1].checkins[0].from: no phase is called 'later' (phases: dosing, dosing)",
    ]


def test_playlist_yaml(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "peak.yaml",
        "name: Peak\ntracks:\n  - path: ../music/drift.flac\n    title: Drift\n    gain: -2dB\n"
        "    start: 10s\n    end: 8m30s\n  - path: /srv/music/b.ogg\n",
    )
    assert load_playlist(path) == Playlist(
        name="Peak",
        tracks=[
            Track(path="../music/drift.flac", title="Drift", gain=-2.0, start=10.0, end=510.0),
            Track(path="/srv/music/b.ogg"),
        ],
    )


def test_playlist_problems(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "peak.yaml",
        "tracks:\n  - path: a.flac\n    gian: -2dB\n  - path: b.flac\n    start: 5m\n    end: 1m\n"
        "  - title: no path\n",
    )
    assert problems(load_playlist, path) == [
        "3:5: tracks[0].gian: unknown key `gian` (did you mean `gain`?)",
        "4:5: tracks[1]: `end` must come after `start`",
        "7:5: tracks[2]: missing required key `path`",
    ]


def test_playlist_by_suffix_reads_m3u(tmp_path: Path) -> None:
    path = write(tmp_path, "onset.m3u8", "#EXTM3U\n#EXTINF:61,Rise\nrise.ogg\n")
    assert load_playlist(path) == Playlist(tracks=[Track(path="rise.ogg", title="Rise")])


def test_room_defaults_when_missing_or_empty(tmp_path: Path) -> None:
    assert load_room(tmp_path) == Room()
    assert load_room(tmp_path / "room.yaml") == Room()
    write(tmp_path, "room.yaml", "# every key optional\n")
    assert load_room(tmp_path) == Room()


def test_room_settings_and_problems(tmp_path: Path) -> None:
    write(tmp_path, "room.yaml", "server: {port: 8800}\nresume_window: 10m\n")
    room = load_room(tmp_path)
    assert (room.server.port, room.resume_window) == (8800, 600.0)
    path = write(
        tmp_path,
        "room.yaml",
        "audio:\n  loudnes_target: -23 LUFS\nosc:\n  targets: {lights: nowhere}\n",
    )
    assert problems(load_room, path) == [
        "2:3: audio.loudnes_target: unknown key `loudnes_target` (did you mean `loudness_target`?)",
        "4:12: osc.targets: OSC target 'lights': write host:port, e.g. 127.0.0.1:7700",
    ]


def test_patient(tmp_path: Path) -> None:
    assert load_patient(tmp_path / "patient.yaml") == Patient()
    path = write(tmp_path, "patient.yaml", "display_name: P. 42\navoid: ['*Requiem*']\n")
    assert load_patient(path) == Patient(display_name="P. 42", avoid=["*Requiem*"])
    write(tmp_path, "patient.yaml", "avoid: [x]\nnote: y\n")
    assert problems(load_patient, path) == ["2:1: note: unknown key `note` (did you mean `notes`?)"]


def test_a_problem_can_point_at_each_track_of_a_playlist(tmp_path: Path) -> None:
    yaml_file = tmp_path / "calm.yaml"
    yaml_file.write_text("tracks:\n  - path: a.flac\n  - {title: B, path: b.flac}\n")
    playlist, at = load_located_playlist(yaml_file)
    assert [t.path for t in playlist.tracks] == ["a.flac", "b.flac"]
    assert str(at(1, "gone")) == f"{yaml_file}:3:22: tracks[1].path: gone"
    m3u_file = tmp_path / "calm.m3u8"
    m3u_file.write_text("#EXTM3U\na.flac\n#EXTINF:3,B\nb.flac\n")
    playlist, at = load_located_playlist(m3u_file)
    assert [t.path for t in playlist.tracks] == ["a.flac", "b.flac"]
    assert str(at(1, "gone")) == f"{m3u_file}:4:1: gone"


def test_a_profile_comes_with_its_source_map(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("name: P\nphases:\n  - id: a\n    duration: 1m\n    music: calm\n")
    profile, doc = load_profile_doc(path)
    assert profile.phases[0].music is not None and profile.phases[0].music.slot == "calm"
    assert doc.key_pos(("phases", 0, "music")) == (5, 5)
