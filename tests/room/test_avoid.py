"""Editing a patient's avoid list: the rest of patient.yaml and its comments kept."""

from __future__ import annotations

import pytest

from setandsetting.room.avoid import set_avoid
from setandsetting.room.errors import EditError
from setandsetting.room.folder import RoomFolder


def test_avoid_keeps_the_rest_of_patient_yaml(folder: RoomFolder) -> None:
    path = folder.root / "playlists/P-0042/patient.yaml"
    path.write_text("# prefs\ndisplay_name: X  # shown\navoid:\n  - '*Storm*'\nnotes: calm\n")
    assert set_avoid(folder, "P-0042", ["*Rain*", "music/t1.flac"]) == [
        "*Rain*",
        "music/t1.flac",
    ]
    assert path.read_text() == (
        "# prefs\ndisplay_name: X  # shown\navoid:\n  - '*Rain*'\n  - music/t1.flac\nnotes: calm\n"
    )
    with pytest.raises(EditError):
        set_avoid(folder, "P-0042", ["", "x"])


def test_emptying_a_commented_avoid_list_leaves_valid_yaml(folder: RoomFolder) -> None:
    path = folder.root / "playlists/P-0042/patient.yaml"
    assert set_avoid(folder, "P-0042", ["music/t1.flac"]) == ["music/t1.flac"]
    assert path.read_text() == "# standing preferences\navoid:     # none yet\n  - music/t1.flac\n"
    assert set_avoid(folder, "P-0042", []) == []
    assert path.read_text() == "# standing preferences\navoid: []  # none yet\n"
