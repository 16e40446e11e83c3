"""The room's catalogue: `catalogue.db` (SQLite) beside the journal, one row per scanned track.

A row keeps a file's tags (title, artist, album, genre, language), the voice flag its tags
give and the one a clinician set by hand (`library tag`; kept over rescans), its length
(audio.tags, the compiler's own reading) and its loudness (audio.loudness, whose cache the
engine reads too). A rescan reads again only the files whose size or mtime changed.

The file is created 0600 (it says what a patient's music is) and every write is one
transaction: a scan commits every few files, so an interrupted scan keeps what it read and
never leaves a half-written row. A file that is not this catalogue is refused, never
rewritten.
"""

from __future__ import annotations

import math
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

from setandsetting.audio.tags import probe
from setandsetting.core.catalogue import Entry, Vocals, vocals_from_tags
from setandsetting.core.playlist import AUDIO_SUFFIXES
from setandsetting.room.errors import EditError, RoomError
from setandsetting.room.folder import RoomFolder

CATALOGUE_NAME = "catalogue.db"
APPLICATION_ID = 0x53455443  # "SETC": marks a SQLite file as a setandsetting catalogue
SCHEMA_VERSION = 1
COMMIT_EVERY = 25  # files per transaction while scanning

_COLUMNS = (
    "path, size, mtime_ns, title, artist, album, genre, language, tag_vocals, hand_vocals, "
    "duration_s, lufs, peak_db"
)


class CatalogueError(RoomError):
    """The catalogue file cannot be used; the message names it and says why."""


@dataclass(frozen=True, slots=True)
class Row:
    """A catalogue row: the file's version (size, mtime) and what was read from it."""

    path: str
    size: int
    mtime_ns: int
    title: str
    duration_s: float
    artist: str | None = None
    album: str | None = None
    genre: str | None = None
    language: str | None = None
    tag_vocals: Vocals | None = None
    hand_vocals: Vocals | None = None
    lufs: float | None = None
    peak_db: float | None = None

    def current(self, st: os.stat_result) -> bool:
        return self.size == st.st_size and self.mtime_ns == st.st_mtime_ns


@dataclass(frozen=True, slots=True)
class Scanned:
    """What a scan did: every file it found (in order), and how many it had to read."""

    rows: list[tuple[Path, Row]]  # each file found, with its row
    read: int
    unchanged: int
    removed: int
    errors: list[tuple[Path, str]]


class Catalogue:
    """One connection to the room's catalogue; use as a context manager."""

    def __init__(self, path: Path, con: sqlite3.Connection) -> None:
        self.path = path
        self._con = con

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> Catalogue | None:
        """The catalogue at `path` (created 0600 with `create`); None if none yet."""
        if not os.path.lexists(path):
            if not create:
                return None
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                pass
            except OSError as exc:
                raise CatalogueError(f"{path}: cannot create the catalogue ({exc})") from exc
        if not path.is_file():
            raise CatalogueError(f"{path}: is not a regular file, so it cannot be the catalogue")
        try:
            con = sqlite3.connect(
                f"file:{quote(str(path.absolute()))}?mode=rw",
                uri=True,
                timeout=5.0,
                isolation_level=None,
            )
        except sqlite3.Error as exc:
            raise CatalogueError(f"{path}: cannot open the catalogue ({exc})") from exc
        catalogue = cls(path, con)
        try:
            catalogue._prepare()
        except BaseException:
            con.close()
            raise
        return catalogue

    def _prepare(self) -> None:
        with self._sql() as con:
            app_id = con.execute("PRAGMA application_id").fetchone()[0]
            version = con.execute("PRAGMA user_version").fetchone()[0]
            tables = con.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app_id != APPLICATION_ID and (app_id or tables):
                raise CatalogueError(
                    f"{self.path}: is not a setandsetting catalogue; it was left untouched"
                )
            if version > SCHEMA_VERSION:
                raise CatalogueError(
                    f"{self.path}: written by a newer setandsetting (catalogue schema "
                    f"{version}); upgrade setandsetting"
                )
            con.execute("PRAGMA journal_mode = WAL")  # the daemon reads while a scan writes
            if version == 0:
                with self._transaction():
                    if con.execute("PRAGMA user_version").fetchone()[0]:
                        return  # another scan made it between the look and the lock
                    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    con.execute(
                        """CREATE TABLE tracks (
                            path TEXT PRIMARY KEY,
                            size INTEGER NOT NULL,
                            mtime_ns INTEGER NOT NULL,
                            title TEXT NOT NULL,
                            artist TEXT, album TEXT, genre TEXT, language TEXT,
                            tag_vocals TEXT CHECK (tag_vocals IN ('instrumental', 'vocals')),
                            hand_vocals TEXT CHECK (hand_vocals IN ('instrumental', 'vocals')),
                            duration_s REAL NOT NULL,
                            lufs REAL, peak_db REAL)"""
                    )
                    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _sql(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._con
        except sqlite3.Error as exc:
            raise CatalogueError(f"{self.path}: catalogue error ({exc})") from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write: all of it is stored, or none."""
        with self._sql() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise

    def rows(self) -> dict[str, Row]:
        with self._sql() as con:
            found = con.execute(f"SELECT {_COLUMNS} FROM tracks ORDER BY path").fetchall()
        return {r[0]: Row(r[0], r[1], r[2], r[3], r[10], *r[4:10], r[11], r[12]) for r in found}

    def put(self, rows: Iterable[Row]) -> None:
        """Store the rows read from files; a hand-set flag already stored is kept."""
        with self._transaction() as con:
            con.executemany(
                f"INSERT INTO tracks ({_COLUMNS}) VALUES ({', '.join('?' * 13)}) "
                "ON CONFLICT (path) DO UPDATE SET size = excluded.size, "
                "mtime_ns = excluded.mtime_ns, title = excluded.title, "
                "artist = excluded.artist, album = excluded.album, genre = excluded.genre, "
                "language = excluded.language, tag_vocals = excluded.tag_vocals, "
                "duration_s = excluded.duration_s, lufs = excluded.lufs, "
                "peak_db = excluded.peak_db",
                [
                    (
                        *(r.path, r.size, r.mtime_ns, r.title, r.artist, r.album, r.genre),
                        *(r.language, r.tag_vocals, r.hand_vocals, r.duration_s, r.lufs),
                        r.peak_db,
                    )
                    for r in rows
                ],
            )

    def remove(self, paths: Iterable[str]) -> None:
        with self._transaction() as con:
            con.executemany("DELETE FROM tracks WHERE path = ?", [(p,) for p in paths])

    def set_hand(self, path: str, vocals: Vocals | None) -> None:
        """The clinician's own word on a track's voice (None: back to what its tags say)."""
        with self._transaction() as con:
            con.execute("UPDATE tracks SET hand_vocals = ? WHERE path = ?", (vocals, path))

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Catalogue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_catalogue(folder: RoomFolder, *, create: bool = True) -> Catalogue | None:
    return Catalogue.open(folder.root / CATALOGUE_NAME, create=create)


def stored_rows(folder: RoomFolder) -> dict[str, Row]:
    """Every row of the room's catalogue (none when nothing was scanned yet)."""
    catalogue = open_catalogue(folder, create=False)
    if catalogue is None:
        return {}
    with catalogue:
        return catalogue.rows()


def room_path(folder: RoomFolder, file: Path) -> str:
    """How the catalogue names a file: relative to the room folder inside it, else absolute."""
    full = Path(os.path.abspath(file))
    return os.path.relpath(full, folder.root) if full.is_relative_to(folder.root) else str(full)


def audio_files(root: Path) -> list[Path]:
    """Audio files under `root` by suffix, sorted, skipping hidden files and folders."""
    found = []
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [
            Path(here) / f
            for f in files
            if not f.startswith(".") and Path(f).suffix.lower() in AUDIO_SUFFIXES
        ]
    return sorted(found)


def tags_row(file: Path, path: str, st: os.stat_result) -> Row:
    """A file's row from its tags and length, not its loudness (EditError: unreadable)."""
    found = probe(file)
    if found.length is None:
        raise EditError(found.problem or "not readable")
    tags = dict(found.tags)
    return Row(
        path=path,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        title=tags.get("title") or file.stem,
        duration_s=found.length,
        artist=tags.get("artist"),
        album=tags.get("album"),
        genre=tags.get("genre"),
        language=tags.get("language"),
        tag_vocals=vocals_from_tags(tags),
    )


def _measured(row: Row, file: Path, measure: Callable[[Path], object]) -> Row:
    """The row with the file's loudness (`measure`: LoudnessCache.measure)."""
    from setandsetting.audio.loudness import TrackLoudness

    loudness = measure(file)
    if not isinstance(loudness, TrackLoudness) or not math.isfinite(loudness.lufs):
        return row
    peak = loudness.peak_db if math.isfinite(loudness.peak_db) else None
    return replace(row, lufs=loudness.lufs, peak_db=peak)


def scan(
    folder: RoomFolder,
    files: list[Path],
    *,
    under: Path | None = None,
    progress: Callable[[Path], None] = lambda _file: None,
) -> Scanned:
    """Bring the catalogue's rows for `files` up to date, reading only changed files.

    With `under` (the folder the files were found in), rows of files under it that are
    gone are removed. Loudness goes through the room's loudness cache, so the engine finds
    every gain there too.
    """
    from setandsetting.audio.loudness import LoudnessCache

    cache = LoudnessCache(folder.cache_dir)
    catalogue = open_catalogue(folder)
    assert catalogue is not None
    with catalogue:
        stored = catalogue.rows()
        rows: list[tuple[Path, Row]] = []
        fresh: list[Row] = []
        errors: list[tuple[Path, str]] = []
        read = unchanged = 0
        for file in files:
            progress(file)
            path = room_path(folder, file)
            try:
                st = file.stat()
            except OSError as exc:
                errors.append((file, exc.strerror or str(exc)))
                continue
            old = stored.get(path)
            if old is not None and old.current(st):
                rows.append((file, old))
                unchanged += 1
                continue
            read += 1
            try:
                row = _measured(tags_row(file, path, st), file, cache.measure)
            except EditError as err:
                errors.append((file, str(err)))
                continue
            row = replace(row, hand_vocals=old.hand_vocals) if old is not None else row
            rows.append((file, row))
            fresh.append(row)
            if len(fresh) >= COMMIT_EVERY:
                catalogue.put(fresh)
                cache.save()
                fresh = []
        catalogue.put(fresh)
        cache.save()
        gone: list[str] = []
        if under is not None:
            base = Path(os.path.abspath(under))
            seen = {row.path for _, row in rows}
            for path in stored:
                file = Path(os.path.normpath(folder.root / path))
                if path not in seen and file.is_relative_to(base) and not file.exists():
                    gone.append(path)
            catalogue.remove(gone)
    return Scanned(rows, read, unchanged, len(gone), errors)


def entry(folder: RoomFolder, row: Row, *, scanned: bool = True) -> Entry:
    """A row as the catalogue shows it: the hand-set flag over the tags' one."""
    vocals = row.hand_vocals or row.tag_vocals
    return Entry(
        path=row.path,
        file=(folder.root / row.path).resolve(),
        title=row.title,
        duration_s=row.duration_s,
        artist=row.artist,
        album=row.album,
        genre=row.genre,
        language=row.language,
        vocals=vocals,
        vocals_by=None if vocals is None else ("hand" if row.hand_vocals else "tags"),
        lufs=row.lufs,
        scanned=scanned,
    )


def set_vocals(folder: RoomFolder, file: Path, vocals: Vocals | None) -> Row:
    """Set a track's voice flag by hand (reading the file in first if it is not catalogued).

    `file` as typed: from the current folder, else from the room folder."""
    if not file.is_absolute() and not file.exists():
        file = folder.root / file
    path = room_path(folder, file)
    if path not in stored_rows(folder):
        if not file.is_file():
            raise EditError(f"{file}: no such file")
        result = scan(folder, [file])
        if result.errors:
            raise EditError(f"{file}: {result.errors[0][1]}")
    catalogue = open_catalogue(folder)
    assert catalogue is not None
    with catalogue:
        catalogue.set_hand(path, vocals)
        return catalogue.rows()[path]
