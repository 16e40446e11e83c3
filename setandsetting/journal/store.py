"""The session journal: SQLite `sessions.db` in the room folder, the source of truth.

Events are append-only (SQL triggers refuse UPDATE/DELETE) and durable when `append`
returns (WAL + synchronous=FULL), so a control is on disk before anyone is told it was
applied. The engine's position is a heartbeat row per session, replaced, not an event.
Bad storage is a `JournalError` naming the file; a bad file is never replaced silently.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from setandsetting.core.types import check_patient_id

APPLICATION_ID = 0x53455453  # "SETS": marks a SQLite file as a setandsetting journal
SQLITE_HEADER = b"SQLite format 3\x00"
BASE_FIELDS = ("type", "t", "wall")


class JournalError(Exception):
    """The journal cannot be used; the message names the file and says why."""


class UnknownSession(JournalError, KeyError):
    """No session with that id in this journal."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One journaled session, as stored when it began (and ended)."""

    id: str
    patient: str
    profile_path: str
    profile_name: str
    started_wall: datetime
    plan: dict[str, Any]
    ended_wall: datetime | None
    end_reason: str | None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The engine's last reported position in a session."""

    session_id: str
    t: float
    wall: datetime
    state: dict[str, Any]


@dataclass(frozen=True, slots=True)
class InterruptedSession:
    """A session that never ended (no `session_ended`), with its last heartbeat if any."""

    session: SessionSummary
    heartbeat: Heartbeat | None


def _migrate_1(con: sqlite3.Connection) -> None:
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    con.execute(
        """CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            patient TEXT NOT NULL,
            profile_path TEXT NOT NULL,
            profile_name TEXT NOT NULL,
            started_wall TEXT NOT NULL,
            plan TEXT NOT NULL,
            ended_wall TEXT,
            end_reason TEXT)"""
    )
    con.execute("CREATE INDEX sessions_patient ON sessions (patient, started_wall)")
    con.execute(
        """CREATE TABLE events (
            session_id TEXT NOT NULL REFERENCES sessions (id),
            seq INTEGER NOT NULL,
            type TEXT NOT NULL,
            t REAL NOT NULL,
            wall TEXT,
            data TEXT NOT NULL,
            PRIMARY KEY (session_id, seq)) WITHOUT ROWID"""
    )
    for action in ("UPDATE", "DELETE"):
        con.execute(
            f"""CREATE TRIGGER events_no_{action.lower()} BEFORE {action} ON events
            BEGIN SELECT RAISE(ABORT, 'journal events are append-only'); END"""
        )
    con.execute(
        """CREATE TRIGGER sessions_no_delete BEFORE DELETE ON sessions
        BEGIN SELECT RAISE(ABORT, 'journaled sessions are never deleted'); END"""
    )


def _migrate_2(con: sqlite3.Connection) -> None:
    con.execute(
        """CREATE TABLE heartbeats (
            session_id TEXT PRIMARY KEY REFERENCES sessions (id),
            t REAL NOT NULL,
            wall TEXT NOT NULL,
            state TEXT NOT NULL)"""
    )
    con.execute("CREATE INDEX events_type ON events (type)")


# Schema version N is reached by running MIGRATIONS[:N] in order; only ever append here.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migrate_1, _migrate_2]
SCHEMA_VERSION = len(MIGRATIONS)


@contextmanager
def _one_preparer(path: Path, read_only: bool) -> Iterator[None]:
    """Checking, switching to WAL and migrating, one opener at a time.

    The daemon and its clinic link (or a command beside them) may open a journal that does
    not exist yet at once; each would read schema version 0 and run the migrations, or read
    the tables of a half-prepared file as another program's. A lock on the file (flock,
    which SQLite's own POSIX locks do not see) makes the later opener find it whole."""
    if read_only:
        yield
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def describe_error(path: Path, exc: BaseException) -> str:
    """A clinician-readable reason for a SQLite/OS failure on the journal at `path`."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return f"{path}: the disk is full; the journal cannot be written ({text})"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return f"{path}: the journal is locked by another process ({text})"
    if name.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")) or "malformed" in text:
        return (
            f"{path}: the journal is corrupt ({text}); it was left untouched: "
            "move it aside to start a new one"
        )
    if name.startswith("SQLITE_IOERR") or isinstance(exc, OSError):
        return f"{path}: input/output error on the journal ({text})"
    if name.startswith(("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_CANTOPEN")):
        return f"{path}: the journal cannot be written ({text})"
    return f"{path}: journal error ({text})"


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("wall times must be timezone-aware (UTC)")
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def _when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def check_event(event: dict[str, Any]) -> tuple[str, float, str | None, str]:
    """(type, t, wall, data JSON) of an event dict; a malformed event is a caller's bug."""
    kind, t, wall = event.get("type"), event.get("t"), event.get("wall")
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"an event needs a `type` string: {event!r}")
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
        raise ValueError(f"an event needs a finite number `t`: {event!r}")
    if wall is not None and not isinstance(wall, str):
        raise ValueError(f"an event's `wall` must be an ISO 8601 string: {event!r}")
    data = {k: v for k, v in event.items() if k not in BASE_FIELDS}
    return kind, float(t), wall, _dumps(data)


def event_from_row(kind: str, t: float, wall: str | None, data: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "t": t}
    if wall is not None:
        out["wall"] = wall
    out.update(json.loads(data))
    return out


def read_only_uri(path: Path) -> str:
    """The SQLite URI that reads `path` and changes nothing. A WAL database no one has open
    has no -wal: opened read-only as such it would leave an empty -wal and -shm behind, so
    it is read as the unchanging file it then is."""
    uri = f"file:{quote(str(path.absolute()))}?mode=ro"
    return uri if os.path.lexists(f"{path}-wal") else uri + "&immutable=1"


def _open_existing_check(path: Path, writable: bool = True) -> None:
    """Check the file as the OS sees it (a readable, and unless only read, writable SQLite
    file or empty) before SQLite touches it, so a bad file is refused and never rewritten."""
    try:
        st = os.stat(path)
    except PermissionError as exc:
        raise JournalError(f"{path}: cannot reach the journal: permission denied") from exc
    if not stat.S_ISREG(st.st_mode):
        raise JournalError(f"{path}: is not a regular file, so it cannot be the journal")
    try:
        fd = os.open(path, (os.O_RDWR if writable else os.O_RDONLY) | os.O_CLOEXEC)
    except PermissionError as exc:
        what = "read and write" if writable else "read"
        raise JournalError(f"{path}: cannot {what} the journal: permission denied") from exc
    except OSError as exc:
        raise JournalError(describe_error(path, exc)) from exc
    try:
        header = os.read(fd, len(SQLITE_HEADER))
    except OSError as exc:
        raise JournalError(describe_error(path, exc)) from exc
    finally:
        os.close(fd)
    if header and header != SQLITE_HEADER:
        raise JournalError(
            f"{path}: is not a SQLite database, so not a journal; it was left untouched: "
            "move it aside to start a new one"
        )


class Journal:
    """The room's session journal. Thread-safe: one connection behind a lock."""

    def __init__(self, path: Path, con: sqlite3.Connection) -> None:
        self.path = path
        self._con = con
        self._lock = threading.RLock()

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = True,
        busy_timeout_s: float = 5.0,
        read_only: bool = False,
    ) -> Journal:
        """Open (or, with `create`, start) the journal at `path`; JournalError if unusable.

        `read_only` (a backup being checked): nothing in the file changes, not even its
        journal mode, and nothing can be written through it."""
        path = Path(path)
        if not os.path.lexists(path):
            if not create or read_only:
                raise JournalError(f"{path}: no journal here yet (no session was journaled)")
            try:
                # Patient data: 0600 from the first byte. SQLite gives -wal/-shm the mode
                # of the database file, so they are 0600 too.
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                pass
            except OSError as exc:
                raise JournalError(f"{path}: cannot create the journal ({exc})") from exc
        _open_existing_check(path, writable=not read_only)
        uri = read_only_uri(path) if read_only else f"file:{quote(str(path.absolute()))}?mode=rw"
        try:
            con = sqlite3.connect(
                uri,
                uri=True,
                timeout=busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise JournalError(describe_error(path, exc)) from exc
        journal = cls(path, con)
        try:
            with _one_preparer(path, read_only):
                journal._prepare(read_only)
        except BaseException:
            con.close()
            raise
        return journal

    def _prepare(self, read_only: bool = False) -> None:
        con = self._con
        try:
            check = con.execute("PRAGMA quick_check").fetchall()
            if check != [("ok",)]:
                detail = "; ".join(str(row[0]) for row in check[:3])
                raise JournalError(
                    f"{self.path}: the journal is corrupt ({detail}); it was left untouched: "
                    "move it aside to start a new one"
                )
            version = con.execute("PRAGMA user_version").fetchone()[0]
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
            tables = con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.Error as exc:
            raise JournalError(describe_error(self.path, exc)) from exc
        if app_id not in (0, APPLICATION_ID) or (version == 0 and tables):
            raise JournalError(
                f"{self.path}: is a SQLite database of another program, not a journal; "
                "it was left untouched"
            )
        if version > SCHEMA_VERSION:
            raise JournalError(
                f"{self.path}: written by a newer setandsetting (journal schema {version}, "
                f"this version knows up to {SCHEMA_VERSION}); upgrade setandsetting"
            )
        if read_only:
            return
        try:
            # Only now that the file is known to be ours may anything in it change.
            mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise JournalError(f"{self.path}: cannot switch the journal to WAL ({mode})")
            con.execute("PRAGMA synchronous = FULL")
            con.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise JournalError(describe_error(self.path, exc)) from exc
        for number in range(version, SCHEMA_VERSION):
            with self._write():
                MIGRATIONS[number](con)
                con.execute(f"PRAGMA user_version = {number + 1}")

    @property
    def schema_version(self) -> int:
        with self._read():
            return int(self._con.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def _write(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; SQLite errors become JournalError.

        Durable: on disk (fsynced) at COMMIT. Not durable (synchronous=NORMAL for this one
        transaction): in the WAL file, so it outlives a crash of this program, and on disk
        with the next durable commit; only a power cut may lose it."""
        with self._lock:
            try:
                if not durable:
                    self._con.execute("PRAGMA synchronous = NORMAL")
                try:
                    self._con.execute("BEGIN IMMEDIATE")
                    try:
                        yield self._con
                        self._con.execute("COMMIT")
                    except BaseException:
                        if self._con.in_transaction:
                            self._con.execute("ROLLBACK")
                        raise
                finally:
                    if not durable:
                        self._con.execute("PRAGMA synchronous = FULL")
            except sqlite3.Error as exc:
                raise JournalError(describe_error(self.path, exc)) from exc

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._con
            except sqlite3.Error as exc:
                raise JournalError(describe_error(self.path, exc)) from exc

    def begin_session(
        self,
        patient: str,
        profile_path: str | Path,
        profile_name: str,
        started_wall: datetime,
        plan: dict[str, Any],
    ) -> str:
        """Record a new session; its id (`20261126-160501-P0042`, `.2` on a clash) sorts by time."""
        check_patient_id(patient)
        started = _iso(started_wall)
        base = f"{started_wall.astimezone(UTC):%Y%m%d-%H%M%S}-{patient}"
        with self._write() as con:
            taken = {
                row[0]
                for row in con.execute(
                    "SELECT id FROM sessions WHERE id = ? OR id LIKE ? ESCAPE '\\'",
                    (base, base.replace("_", "\\_") + ".%"),
                )
            }
            session_id, n = base, 1
            while session_id in taken:
                n += 1
                session_id = f"{base}.{n}"
            con.execute(
                "INSERT INTO sessions (id, patient, profile_path, profile_name, started_wall, "
                "plan) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, patient, str(profile_path), profile_name, started, _dumps(plan)),
            )
        return session_id

    def append(self, session_id: str, event: dict[str, Any]) -> None:
        """Append one event; it is on disk (fsynced) when this returns."""
        self.append_many([(session_id, event)])

    def append_many(self, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Append events in order in one transaction: all are on disk, or none."""
        rows = [(sid, *check_event(event)) for sid, event in items]
        with self._write() as con:
            next_seq: dict[str, int] = {}
            for session_id, kind, t, wall, data in rows:
                if session_id not in next_seq:
                    found = con.execute(
                        "SELECT (SELECT count(*) FROM sessions WHERE id = ?), "
                        "(SELECT coalesce(max(seq), 0) FROM events WHERE session_id = ?)",
                        (session_id, session_id),
                    ).fetchone()
                    if not found[0]:
                        raise UnknownSession(f"{self.path}: no session {session_id!r}")
                    next_seq[session_id] = found[1] + 1
                seq = next_seq[session_id]
                next_seq[session_id] = seq + 1
                con.execute(
                    "INSERT INTO events (session_id, seq, type, t, wall, data) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (session_id, seq, kind, t, wall, data),
                )
                if kind == "session_ended":
                    reason = json.loads(data).get("reason")
                    con.execute(
                        "UPDATE sessions SET ended_wall = ?, end_reason = ? WHERE id = ?",
                        (wall, reason, session_id),
                    )

    def heartbeat(
        self, session_id: str, t: float, wall: datetime | str, state: dict[str, Any]
    ) -> None:
        """Replace the session's position record (where the engine is, for resume).

        Written every second, so not fsynced: an fsync costs the engine thread milliseconds
        (a chime due then would be late) and the record survives a crash of this program
        anyway; a power cut may cost the last seconds of position, never an event."""
        wall_text = _iso(wall) if isinstance(wall, datetime) else wall
        with self._write(durable=False) as con:
            con.execute(
                "INSERT OR REPLACE INTO heartbeats (session_id, t, wall, state) "
                "VALUES (?, ?, ?, ?)",
                (session_id, float(t), wall_text, _dumps(state)),
            )

    _SUMMARY = (
        "SELECT id, patient, profile_path, profile_name, started_wall, plan, ended_wall, "
        "end_reason FROM sessions"
    )

    @staticmethod
    def _summary(row: tuple[Any, ...]) -> SessionSummary:
        sid, patient, ppath, pname, started, plan, ended, reason = row
        return SessionSummary(
            id=sid,
            patient=patient,
            profile_path=ppath,
            profile_name=pname,
            started_wall=datetime.fromisoformat(started),
            plan=json.loads(plan),
            ended_wall=_when(ended),
            end_reason=reason,
        )

    def sessions(
        self, patient: str | None = None, limit: int | None = None
    ) -> list[SessionSummary]:
        """Sessions, newest first; optionally one patient's, optionally the last `limit`."""
        sql, params = self._SUMMARY, []
        if patient is not None:
            sql += " WHERE patient = ?"
            params.append(patient)
        sql += " ORDER BY started_wall DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        with self._read() as con:
            return [self._summary(row) for row in con.execute(sql, params)]

    def session(self, session_id: str) -> SessionSummary:
        with self._read() as con:
            row = con.execute(self._SUMMARY + " WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise UnknownSession(f"{self.path}: no session {session_id!r}")
        return self._summary(row)

    def events(self, session_id: str) -> list[dict[str, Any]]:
        """The session's events in the order they were appended."""
        self.session(session_id)
        with self._read() as con:
            rows = con.execute(
                "SELECT type, t, wall, data FROM events WHERE session_id = ? ORDER BY seq",
                (session_id,),
            ).fetchall()
        return [event_from_row(*row) for row in rows]

    def events_after(
        self, session_id: str, after_seq: int, limit: int
    ) -> list[tuple[int, dict[str, Any]]]:
        """(seq, event) of up to `limit` events after `after_seq`, in order: what the
        clinic outbox sends next."""
        with self._read() as con:
            rows = con.execute(
                "SELECT seq, type, t, wall, data FROM events WHERE session_id = ? AND seq > ? "
                "ORDER BY seq LIMIT ?",
                (session_id, after_seq, limit),
            ).fetchall()
        return [(row[0], event_from_row(*row[1:])) for row in rows]

    def last_seq(self, session_id: str) -> int:
        """The seq of the session's last event (0 before its first)."""
        with self._read() as con:
            row = con.execute(
                "SELECT coalesce(max(seq), 0) FROM events WHERE session_id = ?", (session_id,)
            ).fetchone()
        return int(row[0])

    def data_version(self) -> int:
        """Changes whenever another connection has committed: a cheap 'anything new?'."""
        with self._read() as con:
            return int(con.execute("PRAGMA data_version").fetchone()[0])

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of one SQL statement, for reports that aggregate in SQLite (`log stats`)."""
        with self._read() as con:
            return con.execute(sql, params).fetchall()

    def interrupted(self) -> list[InterruptedSession]:
        """Sessions without `session_ended`, oldest first, with their last heartbeat."""
        sql = (
            "SELECT s.id, s.patient, s.profile_path, s.profile_name, s.started_wall, s.plan, "
            "s.ended_wall, s.end_reason, h.t, h.wall, h.state FROM sessions s "
            "LEFT JOIN heartbeats h ON h.session_id = s.id "
            "WHERE s.ended_wall IS NULL AND NOT EXISTS (SELECT 1 FROM events e "
            "WHERE e.session_id = s.id AND e.type = 'session_ended') "
            "ORDER BY s.started_wall, s.id"
        )
        with self._read() as con:
            rows = con.execute(sql).fetchall()
        out = []
        for row in rows:
            summary = self._summary(row[:8])
            t, wall, state = row[8:]
            beat = (
                None
                if t is None
                else Heartbeat(summary.id, t, datetime.fromisoformat(wall), json.loads(state))
            )
            out.append(InterruptedSession(summary, beat))
        return out

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
