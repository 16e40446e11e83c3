"""The writer on bad storage, for real: a full disk (a real tmpfs, and SQLite's page limit)
keeps the events in memory, in order, and writes them once it can, with an error event."""

import errno
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from setandsetting.journal.store import Journal
from setandsetting.journal.writer import JournalWriter
from tests.journal.synthetic import PLAN, STARTED
from tests.support.unavailable import unavailable


def _fill(directory: Path) -> Path:
    """Fill the filesystem of `directory` to the last byte with a ballast file."""
    ballast = directory / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 1 << 12, 1):
            while True:
                try:
                    if os.write(fd, b"\0" * size) < size:
                        break
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return ballast


def _full_disk_scenario(
    path: Path, make_full: Callable[[Journal], None], free: Callable[[Journal], None]
) -> None:
    """Events during a full disk wait in memory, then land in order with an error event."""
    journal = Journal.open(path)
    writer = JournalWriter(journal)
    try:
        session_id = journal.begin_session("P1", "p.yaml", "P", STARTED, PLAN)
        first = {"type": "phase_started", "t": 0.0, "wall": "w0", "phase": "a", "planned_t": 0.0}
        writer.append(session_id, first)
        assert writer.drain() is True
        make_full(journal)
        late = [
            {"type": "note", "t": float(i), "wall": f"w{i}", "text": f"n{i} " + "x" * 6000}
            for i in (1, 2, 3)
        ]
        for event in late:
            writer.append(session_id, event)
            assert writer.drain() is False
        writer.heartbeat(session_id, 3.5, "2026-11-26T16:05:04+00:00", {})
        assert writer.drain() is False
        assert writer.pending == 3
        assert writer.degraded is not None and "disk is full" in writer.degraded
        assert journal.events(session_id) == [first]  # nothing half-written
        free(journal)
        last = {"type": "checkin_due", "t": 4.0, "wall": "w4", "id": "c1", "kind": "vitals"}
        writer.append(session_id, last)
        assert writer.drain() is True
        assert writer.degraded is None and writer.pending == 0
        events = journal.events(session_id)
        assert events[:5] == [first, *late, last]
        [note] = events[5:]
        assert (note["type"], note["t"], note["wall"], note["source"]) == (
            "error",
            4.0,
            "w4",
            "journal",
        )
        assert "disk is full" in note["message"] and "4 event(s)" in note["message"]
        [waiting] = journal.interrupted()
        assert waiting.heartbeat is not None and waiting.heartbeat.t == 3.5
    finally:
        writer.close()
        journal.close()


@pytest.fixture
def small_tmpfs() -> Iterator[Path]:
    """A real 1 MiB tmpfs (root may mount); skipped where mounting is not allowed."""
    where = Path(tempfile.mkdtemp(prefix="sas-tmpfs-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        where.rmdir()
        unavailable(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)
        where.rmdir()


def test_disk_full_on_a_real_tmpfs(small_tmpfs: Path) -> None:
    ballast: list[Path] = []
    _full_disk_scenario(
        small_tmpfs / "sessions.db",
        make_full=lambda journal: ballast.append(_fill(small_tmpfs)),
        free=lambda journal: ballast.pop().unlink(),
    )


def test_disk_full_through_sqlite_max_page_count(tmp_path: Path) -> None:
    """Portable variant: SQLite's own page limit raises the same SQLITE_FULL."""

    def make_full(journal: Journal) -> None:
        (pages,) = journal.query("PRAGMA page_count")[0]
        journal.query(f"PRAGMA max_page_count = {pages}")

    _full_disk_scenario(
        tmp_path / "sessions.db",
        make_full=make_full,
        free=lambda journal: journal.query("PRAGMA max_page_count = 1073741823"),
    )
