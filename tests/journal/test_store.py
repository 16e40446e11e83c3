import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from setandsetting.journal.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Journal,
    JournalError,
    UnknownSession,
)
from tests.journal.synthetic import PLAN, STARTED, journal_session, session_events


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_journal_and_its_wal_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    with Journal.open(path) as journal:
        session_id = journal_session(journal)
        journal.heartbeat(session_id, 12.5, STARTED, {"phase": "peak"})
        files = {p.name: _mode(p) for p in tmp_path.iterdir()}
    assert files == {"sessions.db": 0o600, "sessions.db-wal": 0o600, "sessions.db-shm": 0o600}


def test_events_come_back_exactly_and_rows_are_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    with Journal.open(path) as journal:
        session_id = journal_session(journal)
        assert journal.events(session_id) == session_events()
        # Another connection (as another process would) sees every row, in order.
        other = sqlite3.connect(path)
        rows = other.execute(
            "SELECT seq, type, t FROM events WHERE session_id = ? ORDER BY seq", (session_id,)
        ).fetchall()
        summary = other.execute(
            "SELECT patient, ended_wall, end_reason FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        other.close()
    expected = session_events()
    assert [r[0] for r in rows] == list(range(1, len(expected) + 1))
    assert [(r[1], r[2]) for r in rows] == [(e["type"], e["t"]) for e in expected]
    assert summary == ("P0042", "2026-11-26T17:00:01.250+00:00", "completed")


def test_an_append_is_durable_when_it_returns(tmp_path: Path) -> None:
    """A process that dies right after append (no close, no atexit) loses nothing."""
    path = tmp_path / "sessions.db"
    with Journal.open(path) as journal:
        session_id = journal.begin_session("P1", "p.yaml", "P", STARTED, PLAN)
    script = (
        "import os, sys; from pathlib import Path\n"
        "from setandsetting.journal.store import Journal\n"
        "j = Journal.open(Path(sys.argv[1]))\n"
        "j.append(sys.argv[2], {'type': 'note', 't': 5.0, 'wall': 'w', 'text': 'kept'})\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path), session_id], check=True)
    with Journal.open(path) as journal:
        assert journal.events(session_id) == [
            {"type": "note", "t": 5.0, "wall": "w", "text": "kept"}
        ]


def test_a_heartbeat_outlives_a_crash_and_events_stay_fsynced(tmp_path: Path) -> None:
    """Heartbeats skip the fsync (synchronous=NORMAL for their transaction only): a process
    killed right after one still leaves it in the WAL, and the next event is durable again."""
    path = tmp_path / "sessions.db"
    with Journal.open(path) as journal:
        session_id = journal.begin_session("P1", "p.yaml", "P", STARTED, PLAN)
    script = (
        "import os, signal, sys; from pathlib import Path\n"
        "from setandsetting.journal.store import Journal\n"
        "j = Journal.open(Path(sys.argv[1]))\n"
        "j.heartbeat(sys.argv[2], 42.5, '2026-11-26T16:05:12.000+00:00', {'phase': 'peak'})\n"
        "assert j._con.execute('PRAGMA synchronous').fetchone()[0] == 2  # FULL again\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(path), session_id])
    assert done.returncode == -9
    with Journal.open(path) as journal:
        [item] = journal.interrupted()
    assert item.heartbeat is not None
    assert (item.heartbeat.t, item.heartbeat.state) == (42.5, {"phase": "peak"})


def test_events_are_append_only(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    with Journal.open(path) as journal:
        journal_session(journal)
    con = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE events SET t = 0 WHERE seq = 3")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM events WHERE seq = 3")
        with pytest.raises(sqlite3.DatabaseError, match="never deleted"):
            con.execute("DELETE FROM sessions")
        assert con.execute("SELECT count(*) FROM events").fetchone() == (len(session_events()),)
    finally:
        con.close()


def test_migrations_from_an_empty_file_to_current(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    path.touch(mode=0o600)  # version 0: what a crash between create and connect leaves
    with Journal.open(path) as journal:
        assert journal.schema_version == SCHEMA_VERSION == 2
    con = sqlite3.connect(path)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    con.close()
    assert {"sessions", "events", "heartbeats", "events_type", "events_no_update"} <= names


def _open_together(path: Path, openers: int) -> list[BaseException]:
    """`openers` threads open the journal at `path` at the same instant; what each raised."""
    import threading

    start = threading.Barrier(openers)
    failures: list[BaseException] = []

    def open_it() -> None:
        start.wait()
        try:
            with Journal.open(path) as journal:
                assert journal.schema_version == SCHEMA_VERSION
        except BaseException as err:  # reported in the test's own thread
            failures.append(err)

    threads = [threading.Thread(target=open_it) for _ in range(openers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return failures


def test_openers_racing_on_a_new_journal_each_find_it_whole(tmp_path: Path) -> None:
    """The daemon and its clinic link open a journal that does not exist yet at once: each
    read schema version 0 and ran the migrations ("table sessions already exists" stopped
    serve), or took a half-prepared file for another program's."""
    for round_ in range(20):
        assert _open_together(tmp_path / f"sessions{round_}.db", 4) == []


def test_migration_from_version_1_keeps_the_record(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    con = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](con)
    con.execute("PRAGMA user_version = 1")
    con.execute(
        "INSERT INTO sessions VALUES ('old', 'P1', 'p.yaml', 'P', "
        "'2026-01-02T03:04:05.000+00:00', '{}', NULL, NULL)"
    )
    con.execute("INSERT INTO events VALUES ('old', 1, 'note', 1.5, 'w', '{\"text\":\"x\"}')")
    con.close()
    with Journal.open(path) as journal:
        assert journal.schema_version == 2
        assert journal.events("old") == [{"type": "note", "t": 1.5, "wall": "w", "text": "x"}]
        journal.heartbeat("old", 2.0, "2026-01-02T03:04:07+00:00", {"phase": "a"})
        [waiting] = journal.interrupted()
    assert waiting.session.id == "old" and waiting.heartbeat is not None
    assert (waiting.heartbeat.t, waiting.heartbeat.state) == (2.0, {"phase": "a"})


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    Journal.open(path).close()
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 99")
    con.close()
    with pytest.raises(JournalError, match=r"sessions\.db: written by a newer setandsetting"):
        Journal.open(path)


def test_session_ids_sort_by_time_and_never_clash(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "sessions.db") as journal:
        a = journal.begin_session("P_1", "p.yaml", "P", STARTED, PLAN)
        b = journal.begin_session("P_1", "p.yaml", "P", STARTED, PLAN)
        later = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
        c = journal.begin_session("A9", "p.yaml", "P", later, PLAN)
        assert (a, b, c) == ("20261126-160501-P_1", "20261126-160501-P_1.2", "20261126-170000-A9")
        assert [s.id for s in journal.sessions()] == [c, b, a]
        assert [s.id for s in journal.sessions(patient="P_1", limit=1)] == [b]
        with pytest.raises(ValueError, match="not a patient ID"):
            journal.begin_session("../etc", "p.yaml", "P", STARTED, PLAN)


def test_interrupted_sessions_and_heartbeats(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "sessions.db") as journal:
        done = journal_session(journal)
        running = journal.begin_session("P2", "p.yaml", "P", STARTED, PLAN)
        journal.heartbeat(done, 3300.0, STARTED, {})
        journal.heartbeat(running, 10.0, STARTED, {"phase": "arrival"})
        journal.heartbeat(running, 11.0, "2026-11-26T16:05:12.000+00:00", {"phase": "peak"})
        [item] = journal.interrupted()
    assert item.session.id == running
    assert item.heartbeat is not None
    assert (item.heartbeat.t, item.heartbeat.state) == (11.0, {"phase": "peak"})
    assert item.heartbeat.wall == datetime(2026, 11, 26, 16, 5, 12, tzinfo=UTC)


def test_unknown_sessions_and_bad_events_are_refused(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "sessions.db") as journal:
        with pytest.raises(UnknownSession, match="no session 'nope'"):
            journal.append("nope", {"type": "note", "t": 1.0})
        with pytest.raises(UnknownSession):
            journal.events("nope")
        session_id = journal.begin_session("P1", "p.yaml", "P", STARTED, PLAN)
        with pytest.raises(ValueError, match="finite number"):
            journal.append(session_id, {"type": "note", "t": float("nan")})
        assert journal.events(session_id) == []
