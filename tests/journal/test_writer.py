"""The journal writer's promises on a real journal: queueing never waits for the disk, what
waits is written in one commit, a callback runs only once what came before is on disk,
heartbeats skip the fsync, a bad event costs no other, and after close writes go at once."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from setandsetting.journal.base import SessionLog
from setandsetting.journal.store import Journal
from setandsetting.journal.writer import JournalWriter
from tests.journal.synthetic import PLAN, STARTED


def note(i: int) -> dict[str, Any]:
    return {"type": "note", "t": float(i), "wall": f"w{i}", "text": f"n{i}"}


class Rig:
    """A writer over a real journal whose commits can be held up and are written down."""

    def __init__(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.journal = Journal.open(path)
        self.session_id = self.journal.begin_session("P1", "p.yaml", "P", STARTED, PLAN)
        self.path = path
        self.gate = threading.Event()  # cleared: the disk is busy
        self.gate.set()
        self.entered = threading.Event()  # a commit has begun
        self.commits: list[list[str]] = []  # event types of each append_many
        self.durable: list[bool] = []  # each write transaction: fsynced at COMMIT?
        append_many, write = Journal.append_many, Journal._write

        def held_append_many(journal: Journal, items: Any) -> None:
            items = list(items)
            self.entered.set()
            self.gate.wait()
            self.commits.append([event["type"] for _, event in items])
            append_many(journal, items)

        def recorded_write(journal: Journal, durable: bool = True) -> Any:
            self.durable.append(durable)
            return write(journal, durable)

        monkeypatch.setattr(Journal, "append_many", held_append_many)
        monkeypatch.setattr(Journal, "_write", recorded_write)
        self.writer = JournalWriter(self.journal)

    def on_disk(self) -> list[str]:
        """Event texts as another process sees them."""
        con = sqlite3.connect(self.path)
        try:
            rows = con.execute(
                "SELECT data FROM events WHERE session_id = ? ORDER BY seq", (self.session_id,)
            ).fetchall()
        finally:
            con.close()
        return [row[0] for row in rows]


@pytest.fixture
def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    made = Rig(tmp_path / "sessions.db", monkeypatch)
    yield made
    made.gate.set()
    made.writer.close()
    made.journal.close()


def test_queueing_never_waits_for_the_disk_and_what_waits_is_one_commit(rig: Rig) -> None:
    rig.gate.clear()
    rig.writer.append(rig.session_id, note(0))
    assert rig.entered.wait(5.0)  # the disk is busy with the first write
    began = time.monotonic()
    for i in range(1, 6):
        rig.writer.append(rig.session_id, note(i))
    rig.writer.heartbeat(rig.session_id, 5.0, STARTED, {"phase": "a"})
    assert time.monotonic() - began < 0.05  # queued, not written
    time.sleep(0.1)
    assert rig.on_disk() == []
    rig.gate.set()
    assert rig.writer.drain() is True
    assert rig.commits == [["note"], ["note"] * 5]  # what waited went in one commit
    assert len(rig.on_disk()) == 6


def test_a_callback_runs_only_once_what_came_before_is_on_disk(rig: Rig) -> None:
    seen: list[int] = []
    rig.gate.clear()
    rig.writer.append(rig.session_id, note(1))
    rig.writer.append(rig.session_id, note(2))
    rig.writer.after_written(lambda: seen.append(len(rig.on_disk())))
    time.sleep(0.1)
    assert seen == []  # the disk is still busy: not acknowledged
    rig.gate.set()
    assert rig.writer.drain() is True
    assert seen == [2]


def test_a_heartbeat_is_written_without_an_fsync_and_only_the_newest(rig: Rig) -> None:
    rig.writer.heartbeat(rig.session_id, 1.0, STARTED, {"phase": "a"})
    rig.writer.heartbeat(rig.session_id, 2.0, STARTED, {"phase": "b"})
    assert rig.writer.drain() is True
    assert rig.commits == []  # no event commit for a position
    assert rig.durable[-1] is False
    [waiting] = rig.journal.interrupted()
    assert waiting.heartbeat is not None and waiting.heartbeat.state == {"phase": "b"}
    rig.durable.clear()
    rig.writer.append(rig.session_id, note(3))
    assert rig.writer.drain() is True
    assert rig.durable == [True]  # an event is fsynced


def test_a_malformed_event_is_left_out_and_the_others_are_written(rig: Rig) -> None:
    rig.writer.append(rig.session_id, note(1))
    rig.writer.append(rig.session_id, {"t": 2.0, "text": "no type: a bug"})
    rig.writer.append(rig.session_id, note(3))
    assert rig.writer.drain() is True
    assert [e["text"] for e in rig.journal.events(rig.session_id)] == ["n1", "n3"]


def test_after_close_a_write_goes_to_disk_at_once_on_the_callers_thread(rig: Rig) -> None:
    rig.writer.append(rig.session_id, note(1))
    rig.writer.close()
    assert len(rig.on_disk()) == 1  # close wrote what waited
    threads: list[str] = []
    rig.writer.append(rig.session_id, note(2))  # a device's report after the end
    rig.writer.after_written(lambda: threads.append(threading.current_thread().name))
    assert len(rig.on_disk()) == 2
    assert threads == [threading.current_thread().name]


def test_a_session_writer_is_a_session_log_bound_to_its_session(rig: Rig) -> None:
    log: SessionLog = rig.writer.session(rig.session_id)
    log.append(note(1))
    log.heartbeat(1.5, STARTED, {"phase": "a"})
    acknowledged: list[bool] = []
    log.after_written(lambda: acknowledged.append(True))
    log.close()  # every queued write tried
    assert acknowledged == [True] and log.degraded is None
    assert [e["text"] for e in rig.journal.events(rig.session_id)] == ["n1"]
    [waiting] = rig.journal.interrupted()
    assert waiting.heartbeat is not None and waiting.heartbeat.t == 1.5
