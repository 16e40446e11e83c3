"""journal/backup.py: a consistent copy of a journal being written, and the check of a copy."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from setandsetting.journal.backup import backup, integrity, verify
from setandsetting.journal.store import Journal, JournalError
from tests.journal.synthetic import journal_session, session_events
from tests.support.journal_rows import corrupt

NOW = datetime(2026, 12, 3, 2, 30, 0, tzinfo=UTC)


@pytest.fixture
def journal_file(tmp_path: Path) -> Path:
    path = tmp_path / "room" / "sessions.db"
    path.parent.mkdir()
    with Journal.open(path) as journal:
        journal_session(journal)
        journal_session(journal, datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    return path


def test_a_backup_is_a_private_self_contained_copy_that_verifies(
    journal_file: Path, tmp_path: Path
) -> None:
    copy = backup(journal_file, tmp_path / "copy.db", NOW)
    assert copy.path == tmp_path / "copy.db" and copy.ok
    assert copy.sessions == 2
    assert copy.events == Counter(e["type"] for e in session_events() * 2)
    assert copy.path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db", "room"]  # no -wal
    con = sqlite3.connect(copy.path)
    assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    con.close()
    with Journal.open(copy.path, create=False, read_only=True) as restored:
        session_id = restored.sessions()[-1].id
        assert restored.events(session_id) == session_events()


def test_into_a_folder_the_backup_is_named_by_its_time_and_never_overwrites(
    journal_file: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    assert backup(journal_file, folder, NOW).path == folder / "sessions-20261203-023000.db"
    with pytest.raises(JournalError) as err:
        backup(journal_file, folder, NOW)
    assert str(err.value) == (
        f"{folder / 'sessions-20261203-023000.db'}: exists already; "
        "a backup never overwrites a file"
    )
    assert sorted(p.name for p in folder.iterdir()) == ["sessions-20261203-023000.db"]


def test_what_is_not_a_journal_is_not_backed_up(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(JournalError, match="of another program, not a journal"):
        backup(other, tmp_path / "copy.db", NOW)
    with pytest.raises(JournalError, match="no such file"):
        backup(tmp_path / "none.db", tmp_path / "copy.db", NOW)
    assert not (tmp_path / "copy.db").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["other.db"]  # no partial left behind


def test_a_backup_while_a_writer_appends_holds_all_that_was_committed_before_it(
    journal_file: Path, tmp_path: Path
) -> None:
    """Another connection appends all along (WAL): the copy holds each event committed
    before the backup began, in order, none half, and the writer was never refused."""
    writer = Journal.open(journal_file)
    session_id = writer.sessions()[0].id
    stop = threading.Event()
    appended: list[int] = []

    def write() -> None:
        n = 0
        while not stop.is_set():
            writer.append(session_id, {"type": "note", "t": 4000.0 + n, "text": f"n{n}"})
            appended.append(n)
            n += 1

    thread = threading.Thread(target=write)
    thread.start()
    try:
        copies = []
        for k in range(5):
            deadline = time.monotonic() + 10
            while len(appended) < 20 * (k + 1):
                assert thread.is_alive() and time.monotonic() < deadline, "the writer stopped"
                time.sleep(0.001)
            before = len(appended)
            copies.append((before, backup(journal_file, tmp_path / f"copy{k}.db", NOW)))
    finally:
        stop.set()
        thread.join()
        writer.close()
    for before, copy in copies:
        assert copy.ok
        with Journal.open(copy.path, create=False, read_only=True) as restored:
            texts = [e["text"] for e in restored.events(session_id) if e["t"] >= 4000.0]
        assert texts == [f"n{n}" for n in range(len(texts))]
        assert len(texts) >= before


def test_verify_names_a_damaged_copy(journal_file: Path, tmp_path: Path) -> None:
    copy = backup(journal_file, tmp_path / "copy.db", NOW).path
    corrupt(copy)
    found = verify(copy)
    assert not found.ok and found.sessions == 0
    assert found.problems == ("integrity check: database disk image is malformed",)
    assert integrity(journal_file) == ()
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello")
    assert verify(not_sqlite).problems == (
        f"{not_sqlite}: is not a SQLite database, so not a journal",
    )
    with pytest.raises(JournalError, match="no such file"):
        verify(tmp_path / "none.db")


def test_verify_reads_every_session_through_the_journals_reader(tmp_path: Path) -> None:
    """Sound pages, but an event row its reader cannot parse: not sound."""
    path = tmp_path / "j.db"
    with Journal.open(path) as journal:
        session_id = journal_session(journal)
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER events_no_update")
    con.execute("UPDATE events SET data = '{not json' WHERE seq = 3")
    con.commit()
    con.close()
    found = verify(path)
    assert found.problems == (
        "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
    )
    assert session_id
    os.chmod(path, 0o400)  # verify never needs to write
    assert verify(path).problems == found.problems
    assert sorted(p.name for p in tmp_path.iterdir()) == ["j.db"]  # nor leaves a -wal
