"""The room lock: one holder at a time, released by the kernel however its process ends, and
the holder's PID and address beside it for the CLI to find."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from setandsetting.room import lock as lock_module
from setandsetting.room.errors import RoomError
from setandsetting.room.lock import (
    DAEMON_FILE,
    LOCK_FILE,
    Holder,
    RoomBusy,
    RoomLock,
    read_holder,
    running_daemon,
)

URL = "http://127.0.0.1:8765"


def _files(root: Path) -> dict[str, int]:
    """The room's files and their permission bits."""
    return {p.name: p.stat().st_mode & 0o777 for p in sorted(root.iterdir())}


def test_the_holder_is_written_0600_and_refuses_a_second_one(tmp_path: Path) -> None:
    with RoomLock.take(tmp_path, "serve") as held:
        assert _files(tmp_path) == {DAEMON_FILE: 0o600, LOCK_FILE: 0o600}
        mine = Holder(os.getpid(), "serve", None)
        assert read_holder(tmp_path) == running_daemon(tmp_path) == mine
        with pytest.raises(RoomBusy) as starting:  # a second open file: flock says no
            RoomLock.take(tmp_path, "run")
        assert str(starting.value) == f"this room is already run by PID {os.getpid()} " + (
            "(`setandsetting serve`, starting)"
        )
        held.publish(URL)
        assert _files(tmp_path) == {DAEMON_FILE: 0o600, LOCK_FILE: 0o600}  # no temp file left
        assert running_daemon(tmp_path) == Holder(os.getpid(), "serve", URL)
        with pytest.raises(RoomBusy) as serving:
            RoomLock.take(tmp_path, "serve")
        assert str(serving.value) == f"this room is already run by PID {os.getpid()} at {URL}"
    assert _files(tmp_path) == {}  # released: both files gone
    assert running_daemon(tmp_path) is None
    with RoomLock.take(tmp_path, "run"):
        assert running_daemon(tmp_path) == Holder(os.getpid(), "run", None)
        with pytest.raises(RoomBusy) as running:
            RoomLock.take(tmp_path, "serve")
    assert str(running.value) == (
        f"this room is already run by PID {os.getpid()} (`setandsetting run`, in its terminal)"
    )


HOLD = """
import sys
from pathlib import Path
from setandsetting.room.lock import RoomLock
held = RoomLock.take(Path(sys.argv[1]), "serve")
held.publish(sys.argv[2])
print("held", flush=True)
sys.stdin.read()
"""


def test_a_killed_holder_leaves_a_stale_file_and_no_lock(tmp_path: Path) -> None:
    """SIGKILL: the kernel drops the lock; the file the holder wrote outlives it, and is
    believed by no one (its PID is gone), and the next holder takes over."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path), URL],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert running_daemon(tmp_path) == Holder(holder.pid, "serve", URL)
        with pytest.raises(RoomBusy, match=f"^this room is already run by PID {holder.pid} at "):
            RoomLock.take(tmp_path, "serve")
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
        assert holder.stdin is not None
        holder.stdin.close()
    assert read_holder(tmp_path) == Holder(holder.pid, "serve", URL)  # stale, on disk
    assert running_daemon(tmp_path) is None
    with RoomLock.take(tmp_path, "serve"):
        assert running_daemon(tmp_path) == Holder(os.getpid(), "serve", None)


def test_a_lock_file_removed_while_it_was_being_locked_is_taken_anew(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon before ends (and removes the file) between our open and our flock: what we
    locked is no one's file, so the lock is taken again on the new one."""
    real_flock = fcntl.flock
    calls: list[int] = []

    def flock(fd: int, operation: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            (tmp_path / LOCK_FILE).unlink()
        real_flock(fd, operation)

    monkeypatch.setattr(lock_module.fcntl, "flock", flock)
    with RoomLock.take(tmp_path, "serve"):
        assert len(calls) == 2
        monkeypatch.setattr(lock_module.fcntl, "flock", real_flock)
        with pytest.raises(RoomBusy):
            RoomLock.take(tmp_path, "serve")


def test_a_folder_that_cannot_hold_a_lock_is_one_sentence(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "room.yaml"
    not_a_folder.write_text("")
    with pytest.raises(RoomError) as refused:
        RoomLock.take(not_a_folder, "serve")
    assert str(refused.value) == f"cannot lock the room folder {not_a_folder}: not a directory"
    assert not isinstance(refused.value, RoomBusy)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"pid": "x", "command": "serve", "url": null}',
        '{"pid": 0, "command": "serve", "url": null}',
        '{"pid": -1, "command": "serve", "url": null}',
        '{"pid": 1, "command": "serve", "url": 8700}',
        '{"command": "serve", "url": null}',
    ],
)
def test_a_file_no_daemon_wrote_names_no_daemon(tmp_path: Path, text: str) -> None:
    """Never a PID of 0 or below either: os.kill(0) would signal this process group."""
    (tmp_path / DAEMON_FILE).write_text(text)
    assert read_holder(tmp_path) is None and running_daemon(tmp_path) is None


def test_the_file_is_one_json_object(tmp_path: Path) -> None:
    with RoomLock.take(tmp_path, "serve") as held:
        held.publish(URL)
        data = json.loads((tmp_path / DAEMON_FILE).read_text())
    assert data == {"pid": os.getpid(), "command": "serve", "url": URL}
