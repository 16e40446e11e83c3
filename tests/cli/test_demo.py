"""`setandsetting demo [DIR]` as a new user runs it in an empty folder: the room made, the
demo music there, the daemon serving the demo session, its address printed."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from setandsetting.audio.demo_music import ALL_NAMES
from setandsetting.backends.pulse import GONE
from setandsetting.room.skeleton import example_files
from tests.support.demo_music import link_demo_music
from tests.support.processes import command, spawned, status, wait_served


@pytest.mark.slow
def test_demo_in_an_empty_folder_makes_the_room_and_serves_the_demo_session(
    tmp_path: Path,
) -> None:
    """The music is the repository's, linked (tests/support/demo_music.py): the demo keeps
    complete files and makes only what is missing."""
    room = tmp_path / "new-room"
    music = link_demo_music(room)
    with spawned(tmp_path / "logs") as started:
        demo = started.spawn(command(tmp_path, "demo", str(room), "--port", "0"))
        url = wait_served(room, demo)
        now = status(url)
        demo.popen.send_signal(signal.SIGINT)
        assert demo.wait() == 0
    assert (now["running"], now["patient"], now["phase"]) == (True, "P-0042", "arrival")
    lines = demo.stdout().splitlines()
    assert lines[0] == f"made the room in {room}: {len(example_files())} files written"
    assert lines[1] == f"making the demo music in {music} (a minute or so, once)"
    assert lines[2].startswith(f"room token (shown once; stored 0600 in {room / '.room-token'}): ")
    assert lines[3].startswith("started session ") and lines[3].endswith(" for P-0042")
    assert lines[4:6] == [f"NO SOUND on {o}: {GONE}" for o in ("music", "patient chimes")]
    assert f"serving {url}/  (live session: {url}/live)" in lines
    assert all((room / rel).is_file() for rel in example_files())
    assert (music / ".generated").is_file()
    assert all((music / f"{name}.flac").is_symlink() for name in ALL_NAMES)  # kept


def test_demo_in_a_room_without_the_demo_profile_says_so(tmp_path: Path) -> None:
    (tmp_path / "room.yaml").write_text("# my own room\n")
    with spawned(tmp_path / "logs") as started:
        demo = started.spawn(command(tmp_path, "demo", "--port", "0"))
        assert demo.wait() == 2
    assert demo.stderr().startswith("setandsetting demo: --start: no profile 'demo'")
    assert (tmp_path / "room.yaml").read_text() == "# my own room\n"  # no init over a room
