"""Bad storage, for real: corrupt, foreign, locked and unreadable files (a full disk, which
the session outlives, is test_writer_faults.py)."""

import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from setandsetting.journal.store import Journal, JournalError
from setandsetting.journal.writer import JournalWriter
from tests.journal.synthetic import PLAN, STARTED, journal_session


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
        writer = JournalWriter(journal)
        session_id = journal.sessions()[0].id  # reading still works under a write lock
        count = len(journal.events(session_id))
        note = {"type": "note", "t": 4000.0, "wall": "w", "text": "while locked"}
        writer.append(session_id, note)
        assert writer.drain() is False
        assert writer.degraded is not None and "locked" in writer.degraded
        holder.communicate(input="", timeout=10)  # the other process lets go
        assert writer.drain() is True
        writer.close()
        events = journal.events(session_id)
        assert len(events) == count + 2 and events[count] == note
        assert (events[-1]["type"], events[-1]["source"]) == ("error", "journal")
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        journal.close()
