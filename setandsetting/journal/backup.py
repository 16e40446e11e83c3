"""Backups of the journal: a consistent copy while a session writes, and a check of a copy.

A file copy of a live WAL database can catch the database file and its -wal at different
moments, and miss what is still only in the -wal: a copy that looks fine and is not.
`backup` uses SQLite's online backup API instead, in one step, so the copy is the journal
as one read transaction saw it (every event committed before it began, nothing half), and
the session writing meanwhile is not held up (WAL readers never block the writer). The
copy is written under a temporary name (0600 from its first byte: it is patient data), is
made a single self-contained file (rollback journal mode, no -wal beside it), is checked
by `verify` and only then gets its name. A backup never overwrites a file.

`verify` is what a restore needs to trust a copy: SQLite's full integrity_check, and every
session read back through the journal's own reader, with the count of each event type.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from setandsetting.journal.store import (
    APPLICATION_ID,
    SQLITE_HEADER,
    Journal,
    JournalError,
    describe_error,
    read_only_uri,
)


@dataclass(frozen=True)
class Verified:
    """What `verify` found in a copy: problems (none: it is good), sessions, events by type."""

    path: Path
    problems: tuple[str, ...]
    sessions: int = 0
    events: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.problems


def backup_name(when: datetime) -> str:
    """The file name of a backup taken at `when` (UTC): it sorts by time."""
    return f"sessions-{when:%Y%m%d-%H%M%S}.db"


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A connection that only reads a SQLite file that says it is one (JournalError if not).

    Opened for writing where it may be (nothing is written through it): then it takes the
    locks a daemon starting meanwhile respects, and as the last one out it leaves no -wal
    or -shm behind. Only a file this user cannot write is opened read-only."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        raise JournalError(f"{path}: no such file") from None
    except OSError as exc:
        raise JournalError(describe_error(path, exc)) from None
    if header != SQLITE_HEADER:
        raise JournalError(f"{path}: is not a SQLite database, so not a journal")
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    uri = f"file:{quote(str(path.absolute()))}?mode=rw" if writable else read_only_uri(path)
    try:
        return sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise JournalError(describe_error(path, exc)) from None


def backup(source: Path, dest: Path, now: datetime) -> Verified:
    """Copy the journal at `source` to `dest` (a file that does not exist yet, or a folder:
    then a file named by `now` in it) and check the copy; what verify found, at its path.
    JournalError, and no file at `dest`, when the source or the copy is not sound."""
    target = dest / backup_name(now) if dest.is_dir() else dest
    if os.path.lexists(target):
        raise JournalError(f"{target}: exists already; a backup never overwrites a file")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    src = _connect_read_only(source)
    try:
        if src.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            raise JournalError(f"{source}: is a SQLite database of another program, not a journal")
        try:
            os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as exc:
            raise JournalError(f"{target}: cannot write the backup ({exc.strerror})") from None
        dst = sqlite3.connect(partial, isolation_level=None)
        try:
            src.backup(dst)  # pages=-1: all in one step, in one read transaction
            dst.execute("PRAGMA journal_mode = DELETE")
        finally:
            dst.close()
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        checked = verify(partial)
        if not checked.ok:
            raise JournalError(f"{target}: the copy is not sound: {checked.problems[0]}")
        if os.path.lexists(target):
            raise JournalError(f"{target}: exists already; a backup never overwrites a file")
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise JournalError(describe_error(source, exc)) from None
    finally:
        src.close()
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    _sync_folder(target.parent)
    return Verified(target, (), checked.sessions, checked.events)


def _sync_folder(folder: Path) -> None:
    """The new name on disk too (best effort: some file systems cannot sync a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def integrity(path: Path) -> tuple[str, ...]:
    """SQLite's full integrity_check of the file: what is wrong (its first findings, in one
    line), nothing when it is sound. JournalError when it is not a SQLite file at all."""
    con = _connect_read_only(path)
    try:
        rows = con.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return (str(exc),)
    finally:
        con.close()
    if rows == [("ok",)]:
        return ()
    found = [line.strip("* ") for row in rows for line in str(row[0]).splitlines()]
    shown = found[:3]
    more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
    return ("; ".join(shown) + more,)


def verify(path: Path) -> Verified:
    """Check a copy: integrity, then every session read through the journal's own reader.
    JournalError only when there is no file at `path`; a damaged one is a Verified with
    its problems."""
    if not path.is_file():
        raise JournalError(f"{path}: no such file")
    try:
        problems = integrity(path)
    except JournalError as exc:  # not a SQLite file: a copy gone bad
        return Verified(path, (str(exc),))
    if problems:
        return Verified(path, tuple(f"integrity check: {p}" for p in problems))
    counts: Counter[str] = Counter()
    try:
        with Journal.open(path, create=False, read_only=True) as journal:
            sessions = journal.sessions()
            for session in sessions:
                counts.update(event["type"] for event in journal.events(session.id))
    except (JournalError, ValueError) as exc:  # ValueError: a row that does not parse
        return Verified(path, (str(exc),))
    return Verified(path, (), len(sessions), counts)
