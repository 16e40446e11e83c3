"""Fitting a playlist to a phase: the exact tracks the rule chooses from a small catalogue."""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePath

from setandsetting.core.catalogue import Entry, parse_conditions
from setandsetting.core.fit import fit_playlist

ROOM = PurePath("/room")
PATIENT_DIR = ROOM / "playlists" / "P-0042"
# (file name, seconds, voice): a 10-minute phase with a 10 s crossfade is the test's phase.
TRACKS = [
    ("a.flac", 200.0, "instrumental"),
    ("B.flac", 250.0, "vocals"),  # sorted case-folded: a, B, c, d, e, f
    ("c.flac", 300.0, "instrumental"),
    ("d.flac", 120.0, "instrumental"),
    ("e.flac", 180.0, None),
    ("f.flac", 15.0, "instrumental"),  # not longer than two crossfades
]


TITLES = dict(zip("abcdef", ["Alba", "Brume", "Cirrus", "Dune", "Eau", "Fern"], strict=True))


def catalogue(order: list[int] | None = None) -> list[Entry]:
    rows = [TRACKS[i] for i in order] if order else TRACKS
    return [
        Entry(
            path=f"music/{name}",
            file=ROOM / "music" / name,
            title=TITLES[name[0].lower()],
            duration_s=seconds,
            vocals=vocals,  # type: ignore[arg-type]
        )
        for name, seconds, vocals in rows
    ]


def names(entries: tuple[Entry, ...]) -> list[str]:
    return [e.path.removeprefix("music/") for e in entries]


def test_greedy_in_path_order_then_the_one_swap_that_fills_the_phase() -> None:
    # Greedy takes a, B, d (550 s: 200 + 250 + 120 - 2 crossfades) and skips c and e, which
    # would pass 610 s; B out and c in gives exactly 600 s.
    proposal = fit_playlist(catalogue(), 600.0, 10.0)
    assert names(proposal.tracks) == ["a.flac", "c.flac", "d.flac"]
    assert proposal.length_s == 600.0
    assert proposal.within and proposal.verdict == "fits"
    assert proposal.left_out == (("too short", 1),)
    assert fit_playlist(catalogue([5, 3, 1, 0, 4, 2]), 600.0, 10.0) == proposal  # any order


def test_the_avoid_list_is_honoured_as_the_compiler_judges_it() -> None:
    # c by a path from the room folder, as the web UI writes it: a, B, d, then d -> e.
    proposal = fit_playlist(
        catalogue(), 600.0, 10.0, avoid=("music/c.flac",), patient_dir=PATIENT_DIR
    )
    assert names(proposal.tracks) == ["a.flac", "B.flac", "e.flac"]
    assert proposal.length_s == 610.0  # one crossfade long: still within
    assert proposal.within and proposal.verdict == "longer"
    assert proposal.left_out == (("on the avoid list", 1), ("too short", 1))
    linked = [replace(e, file=PurePath("/srv/music") / e.file.name) for e in catalogue()]
    through_a_link = fit_playlist(
        linked, 600.0, 10.0, avoid=("music/c.flac",), patient_dir=PATIENT_DIR
    )
    assert names(through_a_link.tracks) == names(proposal.tracks)  # music/ is a symlink
    by_title = fit_playlist(catalogue(), 600.0, 10.0, avoid=("*cirrus*",), patient_dir=PATIENT_DIR)
    assert names(by_title.tracks) == names(proposal.tracks)


def test_what_the_patient_heard_lately_is_left_out_and_a_short_best_is_said() -> None:
    heard = frozenset({str(ROOM / "music" / "a.flac")})
    proposal = fit_playlist(catalogue(), 600.0, 10.0, heard=heard)
    # B, c (540 s); d and e would pass 610 s, and no swap comes closer than 60 s short.
    assert names(proposal.tracks) == ["B.flac", "c.flac"]
    assert proposal.length_s == 540.0
    assert not proposal.within and proposal.verdict == "shorter"
    assert proposal.left_out == (("heard lately", 1), ("too short", 1))


def test_a_tag_filter_keeps_only_instrumental_pieces() -> None:
    proposal = fit_playlist(catalogue(), 500.0, 10.0, conditions=parse_conditions(["instrumental"]))
    # a, c (490 s: within 10 s); B (vocals) and e (nothing known) are not instrumental.
    assert names(proposal.tracks) == ["a.flac", "c.flac"]
    assert proposal.length_s == 490.0 and proposal.within
    assert proposal.left_out == (("filtered by tag", 2), ("too short", 1))


def test_nothing_to_choose_from_is_an_empty_proposal() -> None:
    proposal = fit_playlist(
        catalogue(), 600.0, 10.0, heard=frozenset(str(e.file) for e in catalogue())
    )
    assert proposal.tracks == () and proposal.length_s == 0.0
    assert proposal.verdict == "silent" and not proposal.within
    assert proposal.left_out == (("heard lately", 6),)
