"""`setandsetting playlist ...` on a real room folder: output, files on disk, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from setandsetting.cli import main
from tests.support.daemon import PATIENT_PLAYLIST, make_api_room
from tests.support.fit_room import PEAK, journal_heard, make_fit_room


@pytest.fixture
def room(tmp_path: Path) -> Path:
    return make_api_room(tmp_path / "room")


def run(room: Path, *args: str) -> int:
    return main(["--room", str(room), "playlist", *args])


def test_show_numbers_tracks_from_one(room: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(room, "show", "P-0042") == 0
    assert capsys.readouterr().out == (
        "calm  (patient: playlists/P-0042/calm.yaml)\n"
        "   1. T1  8s  ../../music/t1.flac\n"
        "   2. T0  8s  ../../music/t0.flac\n"
    )


def test_move_add_remove_edit_the_file(room: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = room / "playlists/P-0042/calm.yaml"
    assert run(room, "move", "P-0042", "calm", "2", "1") == 0
    assert path.read_text().splitlines()[3:6] == [
        "  - path: ../../music/t0.flac",
        "    title: T0",
        "  - path: ../../music/t1.flac  # the second tone first",
    ]
    assert run(room, "add", "P-0042", "calm", "music/t2.flac", "--title", "Two") == 0
    assert path.read_text().endswith("  - path: ../../music/t2.flac\n    title: Two\n")
    assert run(room, "remove", "P-0042", "calm", "1") == 0
    out = capsys.readouterr().out
    assert out.endswith("   1. T1  8s  ../../music/t1.flac\n   2. Two  8s  ../../music/t2.flac\n")
    assert path.read_text().startswith("# The patient's own calm list: keep this comment.\n")


def test_copy_default_and_avoid(room: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert run(room, "copy-default", "P-0043", "calm", "--new-patient") == 0
    assert "(copied from playlists/default/calm.yaml)" in capsys.readouterr().out
    assert run(room, "avoid", "P-0042", "--add", "*Storm*", "--add", "music/t3.flac") == 0
    assert capsys.readouterr().out == "*Storm*\nmusic/t3.flac\n"
    assert run(room, "avoid", "P-0042", "--remove", "*Storm*") == 0
    assert capsys.readouterr().out == "music/t3.flac\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("remove", "P-0042", "calm", "9"), "there is no such track: the playlist has 2 tracks\n"),
        (("show", "../x"), "'../x' is not a patient ID"),
        (("add", "P-0042", "calm", "/etc/passwd"), "'/etc/passwd' is outside the room's library"),
        (("add", "P-0042", "../../etc", "music/t0.flac"), "'../../etc' is not a playlist slot"),
        (("copy-default", "P-0042", "calm"), "already has an own calm playlist"),
        (("avoid", "P-0042", "--remove", "nothing"), "not in the avoid list: nothing\n"),
    ],
)
def test_refusals_are_one_line_and_exit_2(room: Path, capsys, args, message) -> None:  # type: ignore[no-untyped-def]
    assert run(room, *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert (room / "playlists/P-0042/calm.yaml").read_text() == PATIENT_PLAYLIST


UNKNOWN = "no patient P-0099 in this room; add --new-patient to create one\n"


@pytest.mark.parametrize(
    "args",
    [
        ("add", "P-0099", "calm", "music/t2.flac"),
        ("remove", "P-0099", "calm", "1"),
        ("move", "P-0099", "calm", "2", "1"),
        ("copy-default", "P-0099", "calm"),
        ("avoid", "P-0099", "--add", "*Storm*"),
    ],
)
def test_an_edit_for_an_unknown_patient_is_refused_unless_new(room: Path, capsys, args) -> None:  # type: ignore[no-untyped-def]
    """A mistyped ID must not quietly become a new patient; --new-patient makes one."""
    before = sorted(p.relative_to(room) for p in room.rglob("*"))
    assert run(room, *args) == 2
    assert capsys.readouterr() == ("", UNKNOWN)
    assert sorted(p.relative_to(room) for p in room.rglob("*")) == before
    assert run(room, *args, "--new-patient") == 0
    assert (room / "playlists" / "P-0099").is_dir()


def test_looking_at_an_unknown_patient_is_no_edit(room: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    """`show` and a bare `avoid` show what would play (the room's defaults): nothing made."""
    assert run(room, "show", "P-0099", "calm") == 0
    assert capsys.readouterr().out.startswith("calm  (default: playlists/default/calm.yaml)\n")
    assert run(room, "avoid", "P-0099") == 0
    assert capsys.readouterr().out == "(nothing avoided)\n"
    assert not (room / "playlists" / "P-0099").exists()


def fit(room: Path, *args: str) -> int:
    return run(room, "fit", "P-0042", "peak", "--profile", "fit", "--phase", "peak", *args)


def test_fit_proposes_the_exact_tracks_and_saves_them_keeping_comments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room = make_fit_room(tmp_path)
    assert main(["--room", str(room), "library", "scan"]) == 0
    assert main(["--room", str(room), "library", "tag", "music/e.flac", "instrumental"]) == 0
    capsys.readouterr()
    # Instrumental only: a (4 s), c (6 s), d (3 s) = 11 s with two 1 s crossfades.
    assert fit(room, "--tag", "instrumental") == 0
    assert capsys.readouterr().out == (
        "peak for P-0042: phase peak lasts 11s (crossfade 1s)\n"
        "   1. Alba  4s  music/a.flac  [instrumental]\n"
        "   2. Cirrus  6s  music/c.flac  [instrumental]\n"
        "   3. Dune  3s  music/d.flac  [instrumental]\n"
        "  lasts 11s: fills the phase to within one crossfade\n"
        "  left out: 1 filtered by tag\n"
        "(review it, then add --save to make it P-0042's peak playlist)\n"
    )
    assert (room / "playlists/P-0042/peak.yaml").read_text() == PEAK  # nothing saved yet
    # Any voice: a, b (8 s), then c would pass 12 s, d makes 10 s.
    assert fit(room, "--save") == 0
    assert capsys.readouterr().out.splitlines()[1:4] == [
        "   1. Alba  4s  music/a.flac  [instrumental]",
        "   2. Brume  5s  music/b.flac  [vocals]",
        "   3. Dune  3s  music/d.flac  [instrumental]",
    ]
    assert (room / "playlists/P-0042/peak.yaml").read_text() == (
        "# The patient's own peak: keep this comment.\n"
        "name: Peak (P-0042)\n"
        "tracks:\n"
        "  - path: ../../music/a.flac\n    title: Alba\n"
        "  - path: ../../music/b.flac\n    title: Brume\n"
        "  - path: ../../music/d.flac\n    title: Dune\n"
    )


def test_fit_honours_the_avoid_list_and_what_was_heard_lately(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room = make_fit_room(tmp_path)
    assert main(["--room", str(room), "library", "tag", "music/e.flac", "instrumental"]) == 0
    assert run(room, "avoid", "P-0042", "--add", "music/a.flac") == 0
    capsys.readouterr()
    # Without a: c, d (8 s) and e would pass 12 s; d out and e in makes 12 s.
    assert fit(room, "--tag", "instrumental") == 0
    out = capsys.readouterr().out
    assert [line.split()[1] for line in out.splitlines()[1:3]] == ["Cirrus", "Eau"]
    assert "lasts 12s: fills the phase to within one crossfade (1s long)" in out
    assert "left out: 1 filtered by tag, 1 on the avoid list" in out

    assert run(room, "avoid", "P-0042", "--remove", "music/a.flac") == 0
    journal_heard(room, heard=["c"], in_gap=["a"])  # a passed while the program was down
    capsys.readouterr()
    assert fit(room, "--tag", "instrumental", "--not-heard", "1") == 0
    out = capsys.readouterr().out
    assert [line.split()[1] for line in out.splitlines()[1:4]] == ["Alba", "Dune", "Eau"]
    assert "left out: 1 filtered by tag, 1 heard lately" in out
    assert fit(room, "--tag", "instrumental", "--not-heard", "0") == 0
    assert "Cirrus" in capsys.readouterr().out  # the history only counts when asked


def test_fit_refusals_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room = make_fit_room(tmp_path)
    for args, message in [
        (["--phase", "nope"], "profile 'fit' has no phase 'nope' (phases: settle, peak)"),
        (["--phase", "settle"], "phase 'settle' plays slot 'calm', not 'peak'"),
        (["--tag", "loud"], "--tag: 'loud' is not a tag filter"),
        (["--not-heard", "-1"], "--not-heard: a number of sessions, 0 or more"),
        (["--tag", "genre=polka"], "no track in the library can be proposed"),
    ]:
        base = ["fit", "P-0042", "peak", "--profile", "fit", "--phase", "peak"]
        assert run(room, *base, *args) == 2, args
        assert message in capsys.readouterr().err
    assert fit(room, "--tag", "genre=polka") == 2
    assert "  lasts 0s: the closest the rule found, 11s short (not within one crossfade)\n" in (
        capsys.readouterr().out
    )
    assert run(room, "fit", "P-0042", "peak", "--profile", "nope", "--phase", "peak") == 2
    assert "--profile: no profile 'nope'" in capsys.readouterr().err
    assert (room / "playlists/P-0042/peak.yaml").read_text() == PEAK
