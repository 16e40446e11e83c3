"""The clinic record's schema in PostgreSQL, owned by the hub: versioned, forward only.

Version N is reached by running MIGRATIONS[:N] in order, each in its own transaction with
its row in `schema_migrations`; the hub migrates when it opens the database, under an
advisory lock so two hubs starting together do not both try. Only ever append here: a
clinic's database written by an older hub is brought forward, never rebuilt.
"""

from __future__ import annotations

import psycopg

MIGRATION_LOCK = 0x53455453  # "SETS": pg_advisory_xact_lock key while migrating

MIGRATIONS: list[str] = [
    # 1: rooms, their sessions, their events as each room journaled them.
    """
    CREATE TABLE rooms (
        id serial PRIMARY KEY,
        name text NOT NULL UNIQUE,
        token_hash text NOT NULL UNIQUE,
        created timestamptz NOT NULL DEFAULT now(),
        last_seen timestamptz);
    CREATE TABLE sessions (
        id bigserial PRIMARY KEY,
        room_id integer NOT NULL REFERENCES rooms (id),
        session text NOT NULL,
        patient text NOT NULL,
        profile_path text NOT NULL,
        profile_name text NOT NULL,
        started_wall timestamptz NOT NULL,
        plan json NOT NULL,
        ended_wall timestamptz,
        end_reason text,
        held integer NOT NULL DEFAULT 0,
        UNIQUE (room_id, session));
    CREATE INDEX sessions_patient ON sessions (patient, started_wall);
    CREATE TABLE events (
        session_id bigint NOT NULL REFERENCES sessions (id),
        seq integer NOT NULL,
        type text NOT NULL,
        t double precision NOT NULL,
        wall text,
        data json NOT NULL,
        received timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (session_id, seq));
    """,
    # 2: what the dashboard asks a room to do (an ack with readings); the room fetches it.
    """
    CREATE TABLE commands (
        id bigserial PRIMARY KEY,
        room_id integer NOT NULL REFERENCES rooms (id),
        session text NOT NULL,
        kind text NOT NULL,
        payload json NOT NULL,
        created timestamptz NOT NULL DEFAULT now(),
        done timestamptz,
        outcome text);
    CREATE INDEX commands_pending ON commands (room_id) WHERE done IS NULL;
    """,
    # 3: patients' folders (playlists, patient.yaml), versioned: an edit names its base.
    """
    CREATE TABLE patient_folders (
        patient text PRIMARY KEY,
        version integer NOT NULL,
        files json NOT NULL,
        updated timestamptz NOT NULL DEFAULT now(),
        updated_by text NOT NULL);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaError(Exception):
    """The database is not one this hub can use (newer, or not a clinic record)."""


def migrate(con: psycopg.Connection) -> int:
    """Bring the database forward to SCHEMA_VERSION; the version it was at."""
    with con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            "version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())"
        )
        row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
        found = int(row[0]) if row else 0
        if found > SCHEMA_VERSION:
            raise SchemaError(
                f"the clinic database is at schema {found}, this setandsetting knows up to "
                f"{SCHEMA_VERSION}; upgrade setandsetting"
            )
        for number in range(found, SCHEMA_VERSION):
            con.execute(MIGRATIONS[number])
            con.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (number + 1,))
    return found
