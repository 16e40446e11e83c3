"""Bad storage, for real: corrupt, foreign, locked, unreadable files and a full disk."""

import errno
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from setandsetting.journal.store import BufferedJournal, Journal, JournalError
from tests.journal.synthetic import PLAN, STARTED, journal_session
from tests.support.unavailable import unavailable


def _journal_file(tmp_path: Path) -> Path:
    path = tmp_path / "sessions.db"
    with Journal.open(path) as journal:
        journal_session(journal)
    return path


def _assert_refused_untouched(path: Path, match: str) -> None:
    """Opening fails naming the file, and the file is left exactly as it was."""
    before = path.read_bytes()
    siblings = sorted(p.name for p in path.parent.iterdir())
    with pytest.raises(JournalError, match=match) as caught:
        Journal.open(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == siblings


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    path.write_bytes(b"patient notes, definitely not SQLite\n" * 50)
    _assert_refused_untouched(path, "is not a SQLite database")


def test_a_malformed_journal(tmp_path: Path) -> None:
    path = _journal_file(tmp_path)
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) >= 3 * page
    data[page : 3 * page] = b"\xa5" * (2 * page)  # header intact, b-tree pages garbage
    path.write_bytes(bytes(data))
    _assert_refused_untouched(path, "corrupt")


def test_another_programs_database(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE contacts (name TEXT)")
    con.commit()
    con.close()
    _assert_refused_untouched(path, "another program")


def test_a_directory_in_place_of_the_journal(tmp_path: Path) -> None:
    (tmp_path / "sessions.db").mkdir()
    with pytest.raises(JournalError, match=r"sessions\.db: is not a regular file"):
        Journal.open(tmp_path / "sessions.db")


def test_an_unreadable_journal(tmp_path: Path) -> None:
    """Root reads anything, so the check runs in a child that drops to `nobody`."""
    room = Path(tempfile.mkdtemp(prefix="sas-unreadable-"))  # /tmp: traversable by nobody
    try:
        room.chmod(0o755)
        path = _journal_file(room)
        before = path.read_bytes()
        script = (
            "import os, sys; from pathlib import Path\n"
            "from setandsetting.journal.store import Journal, JournalError\n"
            "if os.getuid() == 0:\n"
            "    os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
            "else:\n"
            "    os.chmod(sys.argv[1], 0)\n"
            "try:\n"
            "    Journal.open(Path(sys.argv[1]))\n"
            "except JournalError as exc:\n"
            "    print(exc); sys.exit(3)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 3, done.stderr
        assert done.stdout.strip() == (
            f"{path}: cannot read and write the journal: permission denied"
        )
        path.chmod(0o600)
        assert path.read_bytes() == before
    finally:
        shutil.rmtree(room)


def test_a_journal_locked_by_another_process(tmp_path: Path) -> None:
    path = _journal_file(tmp_path)
    script = (
        "import sqlite3, sys\n"
        "con = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "con.execute('BEGIN EXCLUSIVE')\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    journal = Journal.open(path, busy_timeout_s=0.3)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(JournalError, match="locked by another process") as caught:
            journal.begin_session("P1", "p.yaml", "P", STARTED, PLAN)
        assert str(path) in str(caught.value)
        buffered = BufferedJournal(journal)
        session_id = journal.sessions()[0].id  # reading still works under a write lock
        count = len(journal.events(session_id))
        note = {"type": "note", "t": 4000.0, "wall": "w", "text": "while locked"}
        assert buffered.append(session_id, note) is False
        assert buffered.degraded is not None and "locked" in buffered.degraded
        holder.communicate(input="", timeout=10)  # the other process lets go
        assert buffered.flush() is True
        events = journal.events(session_id)
        assert len(events) == count + 2 and events[count] == note
        assert (events[-1]["type"], events[-1]["source"]) == ("error", "journal")
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        journal.close()


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
    buffered = BufferedJournal(journal)
    try:
        session_id = buffered.begin_session("P1", "p.yaml", "P", STARTED, PLAN)
        first = {"type": "phase_started", "t": 0.0, "wall": "w0", "phase": "a", "planned_t": 0.0}
        assert buffered.append(session_id, first) is True
        make_full(journal)
        late = [
            {"type": "note", "t": float(i), "wall": f"w{i}", "text": f"n{i} " + "x" * 6000}
            for i in (1, 2, 3)
        ]
        for event in late:
            assert buffered.append(session_id, event) is False
        assert buffered.heartbeat(session_id, 3.5, "2026-11-26T16:05:04+00:00", {}) is False
        assert buffered.pending == 3
        assert buffered.degraded is not None and "disk is full" in buffered.degraded
        assert journal.events(session_id) == [first]  # nothing half-written
        free(journal)
        last = {"type": "checkin_due", "t": 4.0, "wall": "w4", "id": "c1", "kind": "vitals"}
        assert buffered.append(session_id, last) is True
        assert buffered.degraded is None and buffered.pending == 0
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
        buffered.close()


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
