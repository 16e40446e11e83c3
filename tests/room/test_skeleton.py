"""The example room a new room folder is made from: what it holds, and never an overwrite."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from setandsetting.room.errors import RoomError
from setandsetting.room.folder import RoomFolder
from setandsetting.room.skeleton import example_files, make_room

REPO = Path(__file__).resolve().parents[2]
PROFILES = sorted(p.name for p in (REPO / "setandsetting/example_room/profiles").glob("*.yaml"))


def test_the_example_room_holds_the_room_the_profiles_the_playlists_and_a_patient() -> None:
    names = [str(rel) for rel in example_files()]
    assert names == [
        ".gitignore",
        "playlists/P-0042/patient.yaml",
        "playlists/P-0042/peak.yaml",
        *(
            f"playlists/default/{n}"
            for n in (
                "arrival.yaml",
                "building.yaml",
                "dosing.yaml",
                "integration.yaml",
                "onset.m3u8",
                "peak.yaml",
                "preonset.yaml",
                "return.yaml",
            )
        ),
        *(f"profiles/{n}" for n in PROFILES),
        "room.yaml",
    ]
    assert len(PROFILES) == 6


def test_the_repository_is_the_example_room_through_its_links() -> None:
    """The clone stays a room: each example file is at the repository's root, the same file
    (the repository's .gitignore its own, ignoring what a room's ignores)."""
    for rel, source in example_files().items():
        if rel.name == ".gitignore":
            ours = (REPO / rel).read_text().splitlines()
            lines = source.read_text().splitlines()
            assert {line for line in lines if not line.startswith("#")} <= set(ours)
        else:
            assert (REPO / rel).resolve() == Path(str(source)).resolve(), rel


def test_a_new_room_is_a_copy_of_the_example_room(tmp_path: Path) -> None:
    made = make_room(tmp_path / "new" / "room")
    root = tmp_path / "new" / "room"
    assert made.left == ()
    assert made.written == tuple(example_files())
    for rel, source in example_files().items():
        assert (root / rel).read_bytes() == source.read_bytes()
    folder = RoomFolder(root)
    assert [p.name for p in folder.profiles()] == PROFILES
    assert folder.patients() == ["P-0042"]
    assert "sessions.db*" in (root / ".gitignore").read_text().split()


def test_a_folder_with_any_of_its_files_gets_nothing(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles/demo.yaml").write_text("mine")
    with pytest.raises(RoomError) as err:
        make_room(tmp_path)
    assert str(err.value) == (
        f"{tmp_path} already has profiles/demo.yaml: nothing written "
        "(`setandsetting init --force` adds only what is missing)"
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["demo.yaml", "profiles"]


def test_force_adds_only_what_is_missing(tmp_path: Path) -> None:
    make_room(tmp_path)
    (tmp_path / "room.yaml").write_text("# my room\n")
    (tmp_path / "profiles/demo.yaml").unlink()
    made = make_room(tmp_path, force=True)
    assert made.written == (PurePosixPath("profiles/demo.yaml"),)
    assert len(made.left) == len(example_files()) - 1
    assert (tmp_path / "room.yaml").read_text() == "# my room\n"


def test_a_file_where_the_folder_should_be_is_refused(tmp_path: Path) -> None:
    (tmp_path / "room").write_text("")
    with pytest.raises(RoomError, match="is not a folder"):
        make_room(tmp_path / "room")
