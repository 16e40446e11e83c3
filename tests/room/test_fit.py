"""What a fitted playlist is built from: the phase's planned length and the journal's history."""

from __future__ import annotations

from pathlib import Path

import pytest

from setandsetting.journal.store import Journal
from setandsetting.room.errors import EditError
from setandsetting.room.fit import heard_lately, phase_length
from tests.support.fit_room import journal_heard, make_fit_room

FLOORED = """\
name: Floored
route: other
defaults: {crossfade: 4s}
phases:
  - {id: arrival, duration: 1m, music: calm, level: 30%}
  - {id: peak, duration: 2m, music: peak, level: 40%,
     not_before: {after: arrival, at_least: 5m}}
  - {id: rest, duration: open, music: calm, level: 20%}
"""


def test_the_planned_length_is_the_compilers_floor_included(tmp_path: Path) -> None:
    profile = tmp_path / "floored.yaml"
    profile.write_text(FLOORED)
    assert phase_length(profile, "peak", "peak") == (240.0, 4.0)  # 5 m after arrival began
    assert phase_length(profile, "arrival", "calm") == (60.0, 4.0)
    with pytest.raises(EditError, match="'rest' is open-ended"):
        phase_length(profile, "rest", "calm")


def test_heard_lately_counts_the_last_sessions_and_not_the_gap(tmp_path: Path) -> None:
    room = make_fit_room(tmp_path)
    journal_heard(room, heard=["a"])
    journal_heard(room, heard=["b"], in_gap=["c"])  # the newer session
    path = {name: str((room / "music" / f"{name}.flac").resolve()) for name in "abc"}
    with Journal.open(room / "sessions.db") as journal:
        assert heard_lately(journal, "P-0042", 1) == {path["b"]}
        assert heard_lately(journal, "P-0042", 2) == {path["a"], path["b"]}
        assert heard_lately(journal, "P-0043", 2) == frozenset()
        assert heard_lately(journal, "P-0042", 0) == frozenset()
