"""The clinic record in a real PostgreSQL: migrations, rooms and tokens, exact ingest."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg
import pytest

from setandsetting.clinic.schema import MIGRATIONS, SCHEMA_VERSION, SchemaError, migrate
from setandsetting.clinic.store import ClinicDown, ClinicStore, RoomTaken, token_hash
from setandsetting.clinic.wire import Batch
from tests.support.postgres import Postgres

pytestmark = pytest.mark.postgres

STARTED = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def batch(session: str, events: list[tuple[int, str]]) -> Batch:
    return Batch.model_validate(
        {
            "sessions": [
                {
                    "session": session,
                    "patient": "P-0042",
                    "profile_path": "profiles/demo.yaml",
                    "profile_name": "Demo",
                    "started_wall": STARTED.isoformat(),
                    "plan": {"phases": []},
                    "events": [
                        {"seq": seq, "event": {"type": kind, "t": float(seq), "n": seq}}
                        for seq, kind in events
                    ],
                }
            ]
        }
    )


@pytest.fixture
def store(clinic_db: str) -> ClinicStore:
    s = ClinicStore.open(clinic_db)
    yield s
    s.close()


def test_the_hub_creates_the_schema_and_migrates_forward_once(clinic_db: str) -> None:
    with psycopg.connect(clinic_db) as con:
        assert migrate(con) == 0
        assert migrate(con) == SCHEMA_VERSION
        versions = con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
        assert versions == [(n + 1,) for n in range(len(MIGRATIONS))]


def test_a_database_from_a_newer_hub_is_refused(clinic_db: str) -> None:
    with psycopg.connect(clinic_db) as con:
        migrate(con)
        con.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
        con.commit()
        with pytest.raises(SchemaError, match=f"schema {SCHEMA_VERSION + 1}"):
            migrate(con)


def test_a_room_token_is_stored_only_as_its_hash(store: ClinicStore, clinic_db: str) -> None:
    token = store.add_room("Room 2")
    with psycopg.connect(clinic_db) as con:
        assert con.execute("SELECT name, token_hash FROM rooms").fetchall() == [
            ("Room 2", token_hash(token))
        ]
    room = store.room_by_token(token)
    assert room is not None and room.name == "Room 2" and room.last_seen is not None
    assert store.room_by_token(token + "x") is None
    with pytest.raises(RoomTaken, match="'Room 2' is registered already"):
        store.add_room("Room 2")


def test_ingest_is_idempotent_and_in_order(store: ClinicStore) -> None:
    store.add_room("Room 1")
    room = store.room_by_token(store.add_room("Room 2"))
    assert room is not None
    assert store.ingest(room, batch("s1", [(1, "session_started"), (2, "note")])) == {"s1": 2}
    # Sent again with one new event: the two it has are skipped, the new one kept.
    assert store.ingest(room, batch("s1", [(1, "session_started"), (2, "note"), (3, "quiet")])) == {
        "s1": 3
    }
    # A gap (5 before 4): nothing past the gap is stored; the answer says where to go on.
    assert store.ingest(room, batch("s1", [(5, "note")])) == {"s1": 3}
    assert store.held(room) == {"s1": 3}
    assert store.room_events("Room 2") == {
        "s1": [
            {"type": "session_started", "t": 1.0, "n": 1},
            {"type": "note", "t": 2.0, "n": 2},
            {"type": "quiet", "t": 3.0, "n": 3},
        ]
    }
    assert store.room_events("Room 1") == {}


def test_a_session_the_hub_does_not_know_must_come_described(store: ClinicStore) -> None:
    room = store.room_by_token(store.add_room("Room 2"))
    assert room is not None
    bare = batch("s1", [(1, "session_started")])
    for key in ("patient", "profile_path", "profile_name", "started_wall", "plan"):
        setattr(bare.sessions[0], key, None)
    assert store.ingest(room, bare) == {"s1": 0}  # the room sends it again, described
    assert store.sessions() == []
    store.ingest(room, batch("s1", [(1, "session_started")]))
    assert store.ingest(
        room,
        Batch.model_validate(
            {
                "sessions": [
                    {"session": "s1", "events": [{"seq": 2, "event": {"type": "note", "t": 2}}]}
                ]
            }
        ),
    ) == {"s1": 2}


def test_session_ended_closes_the_session_in_the_record(store: ClinicStore) -> None:
    room = store.room_by_token(store.add_room("Room 2"))
    assert room is not None
    ended = batch("s1", [(1, "session_started")])
    ended.sessions[0].events.append(
        type(ended.sessions[0].events[0]).model_validate(
            {
                "seq": 2,
                "event": {
                    "type": "session_ended",
                    "t": 9.0,
                    "wall": "2026-12-01T09:00:09.000+00:00",
                    "reason": "stopped",
                },
            }
        )
    )
    store.ingest(room, ended)
    [listed] = store.sessions()
    assert (listed["room"], listed["session"], listed["events"]) == ("Room 2", "s1", 2)
    assert listed["reason"] == "stopped"
    assert listed["ended"] == datetime(2026, 12, 1, 9, 0, 9, tzinfo=UTC)


def test_postgresql_down_is_clinic_down_and_the_pool_recovers(
    clinic_db: str, postgres: Postgres
) -> None:
    store = ClinicStore.open(clinic_db, timeout_s=1)
    try:
        token = store.add_room("Room 2")
        postgres.stop()
        try:
            with pytest.raises(ClinicDown, match="unreachable"):
                store.room_by_token(token)
        finally:
            postgres.start()
        assert store.room_by_token(token) is not None
    finally:
        store.close()
