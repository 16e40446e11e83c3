"""The clinic record in PostgreSQL: rooms, their sessions and events, the dashboard's commands.

The rooms' journals are the source of truth; this is their union, kept exactly: an event
is stored once per (room, session, seq) however often a room sends it (a room that lost
the answer sends it again), and only in order — a batch that would leave a gap stops at
it, and the answer says how far the hub holds each session, which is where the room goes
on from. Room tokens are random (256 bits) and stored as their SHA-256: a slow password
hash buys nothing against a secret nobody chose, and a stolen table gives no token away.
A database that cannot be reached is a `ClinicDown` (the hub answers 503; the room's
outbox keeps everything and tries again).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from setandsetting.clinic.schema import migrate
from setandsetting.clinic.wire import Batch, WireSession

ROOM_NAME_MAX = 64
LAST_SEEN_EVERY_S = 5.0
Stored = list[tuple[int, WireSession, list[dict[str, Any]]]]  # hub id, session, new events


class ClinicDown(Exception):
    """PostgreSQL cannot be reached (or failed mid-way); nothing was half written."""


class UnknownRoom(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class StaleEdit(Exception):
    """An edit of a patient's folder made on a version the hub has moved past."""

    def __init__(self, patient: str, base: int, current: int, by: str | None) -> None:
        self.patient, self.base, self.current, self.by = patient, base, current, by
        where = f" (saved by {by})" if by else ""
        super().__init__(
            f"{patient}: this edit was made on version {base}, but the hub holds version "
            f"{current}{where}; it was not saved: fetch the newer version and edit that"
        )


class RoomTaken(ValueError):
    """A room of that name is registered already."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def check_room_name(name: str) -> str:
    if not name.strip() or len(name) > ROOM_NAME_MAX or not name.isprintable():
        raise ValueError(f"a room name is 1 to {ROOM_NAME_MAX} printable characters: {name!r}")
    return name


@dataclass(frozen=True, slots=True)
class Room:
    id: int
    name: str
    last_seen: datetime | None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class ClinicStore:
    """The hub's access to PostgreSQL: a small pool, each call one transaction."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool
        self._rooms: dict[str, tuple[Room, float]] = {}  # token hash -> room, when written
        self._rooms_lock = threading.Lock()

    @classmethod
    def open(cls, url: str, *, size: int = 10, timeout_s: float = 5.0) -> ClinicStore:
        """Connect and migrate; ClinicDown when PostgreSQL cannot be reached."""
        try:
            with psycopg.connect(url, connect_timeout=max(1, int(timeout_s))) as con:
                migrate(con)
        except psycopg.OperationalError as err:
            raise ClinicDown(f"cannot reach the clinic database: {_first_line(err)}") from None
        pool = ConnectionPool(
            url,
            min_size=1,
            max_size=size,
            timeout=timeout_s,
            check=ConnectionPool.check_connection,
            kwargs={"connect_timeout": max(1, int(timeout_s))},
            open=True,
            name="setandsetting-clinic",
        )
        return cls(pool)

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def _tx(self) -> Iterator[psycopg.Connection]:
        try:
            with self.pool.connection() as con, con.transaction():
                yield con
        except (psycopg.OperationalError, PoolTimeout) as err:
            raise ClinicDown(f"the clinic database is unreachable: {_first_line(err)}") from None

    # ------------------------------------------------------------------ rooms

    def add_room(self, name: str) -> str:
        """Register a room; its token (only its hash is kept)."""
        check_room_name(name)
        token = new_token()
        with self._tx() as con:
            taken = con.execute("SELECT 1 FROM rooms WHERE name = %s", (name,)).fetchone()
            if taken:
                raise RoomTaken(f"a room named {name!r} is registered already")
            con.execute(
                "INSERT INTO rooms (name, token_hash) VALUES (%s, %s)", (name, token_hash(token))
            )
        return token

    def room_by_token(self, token: str) -> Room | None:
        """The room this token is for (and it was seen now), or None.

        Every request of a room asks this, so a known token costs no round trip to
        PostgreSQL: rooms are kept in memory once found (a room is never removed), and
        `last_seen` is written at most every LAST_SEEN_EVERY_S per room."""
        digest = token_hash(token)
        now = time.monotonic()
        with self._rooms_lock:
            known = self._rooms.get(digest)
        if known is not None and now - known[1] < LAST_SEEN_EVERY_S:
            return known[0]
        with self._tx() as con:
            row = con.execute(
                "UPDATE rooms SET last_seen = now() WHERE token_hash = %s "
                "RETURNING id, name, last_seen",
                (digest,),
            ).fetchone()
        if row is None:
            return None
        room = Room(*row)
        with self._rooms_lock:
            self._rooms[digest] = (room, now)
        return room

    def rooms(self) -> list[Room]:
        with self._tx() as con:
            rows = con.execute("SELECT id, name, last_seen FROM rooms ORDER BY name").fetchall()
        return [Room(*row) for row in rows]

    # ------------------------------------------------------------------ ingest

    def held(self, room: Room) -> dict[str, int]:
        """How far the hub holds each of the room's sessions (its last seq in order)."""
        with self._tx() as con:
            rows = con.execute(
                "SELECT session, held FROM sessions WHERE room_id = %s", (room.id,)
            ).fetchall()
        return dict(rows)

    def ingest(self, room: Room, batch: Batch, stored: Stored | None = None) -> dict[str, int]:
        """Store the batch's new events in order, all in one transaction; how far the hub
        now holds each session named in it. `stored` (if given) gets, per session with
        new events, its hub id and those events (for the dashboard's feed)."""
        held: dict[str, int] = {}
        new: Stored = []
        with self._tx() as con:
            for item in batch.sessions:
                # Locked, so two pushes of one session (a daemon and a `sync`) take turns.
                row = con.execute(
                    "SELECT id, held FROM sessions WHERE room_id = %s AND session = %s FOR UPDATE",
                    (room.id, item.session),
                ).fetchone()
                if row is None and not item.described:
                    held[item.session] = 0  # unknown here: the room sends it described
                    continue
                if row is None:
                    row = con.execute(
                        "INSERT INTO sessions (room_id, session, patient, profile_path, "
                        "profile_name, started_wall, plan) VALUES (%s, %s, %s, %s, %s, %s, %s) "
                        "ON CONFLICT (room_id, session) DO UPDATE SET room_id = EXCLUDED.room_id "
                        "RETURNING id, held",
                        (
                            room.id,
                            item.session,
                            item.patient,
                            item.profile_path,
                            item.profile_name,
                            item.started_wall,
                            _dumps(item.plan),
                        ),
                    ).fetchone()
                assert row is not None
                pk, last = row
                rows, ended = [], None
                for wire in item.events:
                    if wire.seq <= last:
                        continue  # sent again: the hub has it
                    if wire.seq != last + 1:
                        break  # a gap: the room goes on from `last`
                    kind, t, wall, data = wire.parts()
                    rows.append((pk, wire.seq, kind, t, wall, data))
                    if kind == "session_ended":
                        ended = (wall, json.loads(data).get("reason"))
                    last = wire.seq
                if rows:
                    with con.cursor() as cur:
                        cur.executemany(
                            "INSERT INTO events (session_id, seq, type, t, wall, data) "
                            "VALUES (%s, %s, %s, %s, %s, %s)",
                            rows,
                        )
                    con.execute("UPDATE sessions SET held = %s WHERE id = %s", (last, pk))
                    new.append((pk, item, [json_event(r[2:]) for r in rows]))
                if ended is not None:
                    con.execute(
                        "UPDATE sessions SET ended_wall = %s, end_reason = %s WHERE id = %s",
                        (*ended, pk),
                    )
                held[item.session] = last
        if stored is not None:
            stored.extend(new)
        return held

    # ------------------------------------------------------------------ review

    _SESSION = (
        "SELECT s.id, r.name, s.session, s.patient, s.profile_path, s.profile_name, "
        "s.started_wall, s.plan, s.ended_wall, s.end_reason, s.held "
        "FROM sessions s JOIN rooms r ON r.id = s.room_id"
    )

    def sessions(self, patient: str | None = None) -> list[dict[str, Any]]:
        """Every room's sessions (or one patient's), newest first."""
        sql, params = self._SESSION, []
        if patient is not None:
            sql += " WHERE s.patient = %s"
            params.append(patient)
        sql += " ORDER BY s.started_wall DESC, s.id DESC"
        with self._tx() as con:
            rows = con.execute(sql, params).fetchall()
        return [_session_row(row) for row in rows]

    def session(self, hub_id: int) -> dict[str, Any]:
        with self._tx() as con:
            row = con.execute(self._SESSION + " WHERE s.id = %s", (hub_id,)).fetchone()
        if row is None:
            raise KeyError(f"no session {hub_id} in the clinic record")
        return _session_row(row)

    def events(self, hub_id: int, after_seq: int = 0) -> list[tuple[int, dict[str, Any]]]:
        """(seq, event) of a session after `after_seq`, in order."""
        with self._tx() as con:
            rows = con.execute(
                "SELECT seq, type, t, wall, data::text FROM events "
                "WHERE session_id = %s AND seq > %s ORDER BY seq",
                (hub_id, after_seq),
            ).fetchall()
        return [(seq, _event(kind, t, wall, data)) for seq, kind, t, wall, data in rows]

    def room_events(self, room: str) -> dict[str, list[dict[str, Any]]]:
        """Every event the hub holds from one room, by the room's session id (tests,
        the partition check)."""
        with self._tx() as con:
            rows = con.execute(
                "SELECT s.session, e.type, e.t, e.wall, e.data::text FROM events e "
                "JOIN sessions s ON s.id = e.session_id JOIN rooms r ON r.id = s.room_id "
                "WHERE r.name = %s ORDER BY s.session, e.seq",
                (room,),
            ).fetchall()
        out: dict[str, list[dict[str, Any]]] = {}
        for session, kind, t, wall, data in rows:
            out.setdefault(session, []).append(_event(kind, t, wall, data))
        return out

    def latest_sessions(self) -> dict[str, dict[str, Any]]:
        """Each room's newest session, by room name."""
        with self._tx() as con:
            rows = con.execute(
                "SELECT DISTINCT ON (s.room_id) s.id, r.name, s.session, s.patient, "
                "s.profile_path, s.profile_name, s.started_wall, s.plan, s.ended_wall, "
                "s.end_reason, s.held FROM sessions s JOIN rooms r ON r.id = s.room_id "
                "ORDER BY s.room_id, s.started_wall DESC, s.id DESC"
            ).fetchall()
        return {row[1]: _session_row(row) for row in rows}

    # ------------------------------------------------------------------ patients

    def patient_folder(self, patient: str) -> dict[str, Any] | None:
        """The hub's copy of a patient's folder: version, files, when and by whom."""
        with self._tx() as con:
            row = con.execute(
                "SELECT version, files, updated, updated_by FROM patient_folders "
                "WHERE patient = %s",
                (patient,),
            ).fetchone()
        if row is None:
            return None
        version, files, updated, by = row
        return {
            "patient": patient,
            "version": version,
            "files": files,
            "updated": updated,
            "updated_by": by,
        }

    def save_patient_folder(
        self, patient: str, base_version: int, files: dict[str, str], by: str
    ) -> int:
        """Store an edit made on `base_version` (0: the first); its new version. An edit of
        an older version than the hub's is refused (StaleEdit), never merged silently."""
        with self._tx() as con:
            row = con.execute(
                "SELECT version, updated, updated_by FROM patient_folders WHERE patient = %s "
                "FOR UPDATE",
                (patient,),
            ).fetchone()
            current = 0 if row is None else row[0]
            if base_version != current:
                raise StaleEdit(patient, base_version, current, None if row is None else row[2])
            con.execute(
                "INSERT INTO patient_folders (patient, version, files, updated_by) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (patient) DO UPDATE SET "
                "version = EXCLUDED.version, files = EXCLUDED.files, updated = now(), "
                "updated_by = EXCLUDED.updated_by",
                (patient, current + 1, _dumps(files), by),
            )
        return current + 1

    # ------------------------------------------------------------------ commands

    def queue_command(self, room: str, session: str, kind: str, payload: dict[str, Any]) -> int:
        """A dashboard's request to a room (an ack), waiting for the room to fetch it."""
        with self._tx() as con:
            row = con.execute(
                "INSERT INTO commands (room_id, session, kind, payload) "
                "SELECT id, %s, %s, %s FROM rooms WHERE name = %s RETURNING id",
                (session, kind, _dumps(payload), room),
            ).fetchone()
        if row is None:
            raise UnknownRoom(f"no room named {room!r}")
        return int(row[0])

    def pending_commands(self, room: Room) -> list[dict[str, Any]]:
        with self._tx() as con:
            rows = con.execute(
                "SELECT id, session, kind, payload FROM commands "
                "WHERE room_id = %s AND done IS NULL ORDER BY id",
                (room.id,),
            ).fetchall()
        return [{"id": i, "session": s, "kind": k, "payload": p} for i, s, k, p in rows]

    def command_done(self, room: Room, command_id: int, outcome: str) -> bool:
        with self._tx() as con:
            row = con.execute(
                "UPDATE commands SET done = now(), outcome = %s "
                "WHERE id = %s AND room_id = %s AND done IS NULL RETURNING id",
                (outcome[:500], command_id, room.id),
            ).fetchone()
        return row is not None

    def last_received(self) -> dict[str, datetime]:
        """When the hub last stored an event of each room."""
        with self._tx() as con:
            rows = con.execute(
                "SELECT r.name, max(e.received) FROM events e JOIN sessions s "
                "ON s.id = e.session_id JOIN rooms r ON r.id = s.room_id GROUP BY r.name"
            ).fetchall()
        return dict(rows)


def json_event(row: tuple[Any, ...]) -> dict[str, Any]:
    """(type, t, wall, data JSON) as an event dict."""
    return _event(*row)


def _event(kind: str, t: float, wall: str | None, data: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "t": t}
    if wall is not None:
        out["wall"] = wall
    out.update(json.loads(data))
    return out


def _session_row(row: tuple[Any, ...]) -> dict[str, Any]:
    hub_id, room, session, patient, ppath, pname, started, plan, ended, reason, held = row
    return {
        "id": hub_id,
        "room": room,
        "session": session,
        "patient": patient,
        "profile": pname,
        "profile_path": ppath,
        "started": started,
        "ended": ended,
        "reason": reason,
        "events": held,
        "plan": plan,
    }


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
