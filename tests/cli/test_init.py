"""`setandsetting init [DIR] [--force]`: what it says it wrote and what it left."""

from __future__ import annotations

from pathlib import Path

import pytest

from setandsetting.cli import main
from setandsetting.room.skeleton import example_files


def test_init_makes_a_room_that_validates_as_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room = tmp_path / "room"
    assert main(["init", str(room)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"made the room in {room}: {len(example_files())} files written"
    assert out[1].startswith("next: `setandsetting demo` there plays the demo session")
    # every format file loads (the tracks are the demo music, made by `demo`)
    assert main(["validate", str(room / "profiles"), str(room / "room.yaml")]) == 0


def test_init_into_a_room_refuses_and_force_fills_in(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--room", str(tmp_path), "init"]) == 0
    (tmp_path / "playlists/default/peak.yaml").unlink()
    capsys.readouterr()
    assert main(["--room", str(tmp_path), "init"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"setandsetting init: {tmp_path} already has .gitignore, ")
    assert main(["init", "--force", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"made the room in {tmp_path}: 1 file written"
    assert out[1].startswith("left as they were: .gitignore, playlists/P-0042/patient.yaml, ")
    assert "playlists/default/peak.yaml" not in out[1]
    assert main(["init", "--force", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path} has every file of a room already: nothing written"
    )
